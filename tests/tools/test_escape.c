/* Observations never carry terminal control sequences: what a command
 * printed or a file holds shows its control characters as \xNN, so that
 * `plait chat` printing an observation cannot rewrite the user's
 * terminal; the exact bytes stay where a patch needs them. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

TestSuite(escape, .init = fx_setup, .fini = fx_teardown, .timeout = 120);

/* No byte a terminal acts on, but \n and \t (and \r before \n), and no
 * C1 control (U+0080..U+009F, which some terminals take as CSI). */
static void assert_inert(const char *what, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		cr_assert(*p >= 0x20 || *p == '\n' || *p == '\t' || (*p == '\r' && p[1] == '\n'),
			  "%s: control byte 0x%02x at %zu: %s", what, *p, (size_t)(p - (const unsigned char *)s), s);
		cr_assert(*p != 0x7f, "%s: DEL at %zu", what, (size_t)(p - (const unsigned char *)s));
		cr_assert(!(*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f), "%s: a C1 control at %zu", what,
			  (size_t)(p - (const unsigned char *)s));
	}
}

Test(escape, file_text_in_view_search_and_edits)
{
	static const char evil[] = "x = 1  # \x1b]0;pwned\x07\x1b[2J\rhidden\b \xc2\x9b" "31m\x7f end\n";
	tools_ctx *c;
	tools_obs o;
	char *got;

	fx_puts("a.py", evil);
	fx_puts("ok.txt", "tab\there\r\nnext\r\n");
	fx_git_commit_all("init");
	c = fx_ctx();
	o = fx_obs(c, "view", "{\"path\":\"a.py\"}");
	assert_inert("view", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "# \\x1B]0;pwned\\x07\\x1B[2J\\x0Dhidden\\x08 \\xC2\\x9B31m\\x7F end"), "%s",
		  o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"pwned\"}");
	assert_inert("search", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "\\x1B]0;pwned"), "%s", o.text.ptr);
	tools_obs_release(&o);
	/* tabs and line ends stay as they are */
	o = fx_obs(c, "view", "{\"path\":\"ok.txt\"}");
	cr_assert(strstr(o.text.ptr, "tab\there\n"), "%s", o.text.ptr);
	tools_obs_release(&o);
	/* old_str spelled as view showed it matches the bytes, which stay */
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "str_replace", "{\"path\":\"a.py\",\"old_str\":\"x = 1  # \\\\x1B]0;pwned\","
						   "\"new_str\":\"x = 2  # \\\\x1B]0;pwned\"}"),
		     0, "%s", o.text.ptr);
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	assert_inert("str_replace", o.text.ptr);
	assert_inert("str_replace's diff", json_string_value(json_object_get(o.data, "diff")));
	tools_obs_release(&o);
	got = fx_read("a.py", NULL);
	cr_assert_str_eq(got + 5, evil + 5);
	cr_assert_eq(got[4], '2');
	free(got);
	tools_ctx_free(c);
}

Test(escape, command_output_and_the_patch)
{
	static const char evil[] = "x = 1\x1b[2J\n";
	tools_ctx *c;
	tools_obs o;
	json_t *args;

	fx_puts("a.txt", "a\n");
	fx_git_commit_all("init");
	c = fx_ctx();
	args = json_pack("{s:s}", "command", "printf 'safe\\033]0;title\\007\\033[2J\\rspoof\\r\\nline2\\n'");
	tools_obs_init(&o);
	cr_assert_eq(tools_call(&o, c, "bash", args, NULL), 0, "%s", o.text.ptr);
	json_decref(args);
	assert_inert("bash", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "safe\\x1B]0;title\\x07\\x1B[2J\\x0Dspoof\r\nline2\n"), "%s", o.text.ptr);
	tools_obs_release(&o);
	/* the patch: shown inert, kept exact in data.patch */
	fx_puts("a.txt", evil);
	o = fx_obs(c, "diff", "{}");
	assert_inert("diff", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "+x = 1\\x1B[2J"), "%s", o.text.ptr);
	cr_assert(strstr(json_string_value(json_object_get(o.data, "patch")), "+x = 1\x1b[2J\n"));
	tools_obs_release(&o);
	tools_ctx_free(c);
}
