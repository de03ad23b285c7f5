/* The editor as an agent meets it (issue #12): observations within the
 * cap, rollbacks that point at the edit, long lines, refusals that keep
 * work from being lost, Latin-1 lines, ignored paths, and the observation
 * texts of the established editor tool. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

TestSuite(editor_agent, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

static char *file(const char *rel)
{
	char *s = fx_read(rel, NULL);

	cr_assert_not_null(s, "%s missing", rel);
	return s;
}

static void expect_file(const char *rel, const char *want)
{
	char *s = file(rel);

	cr_assert_str_eq(s, want, "%s", rel);
	free(s);
}

/* A Python module of n small functions: f_0 ... f_{n-1}, 4 lines each. */
static void python_module(const char *rel, int n)
{
	pl_buf b = PL_BUF_INIT;
	int i;

	for (i = 0; i < n; i++)
		pl_buf_printf(&b, "def f_%d(x):\n    y = x + %d\n    return y\n\n", i, i);
	fx_write(rel, b.ptr, b.len);
	pl_buf_release(&b);
}

/* #12.1: a one-character edit that breaks a large Python file gave the
 * whole class back (tree-sitter's error region was the rest of the file:
 * 39 KB here), past the cap and not marked truncated. */
Test(editor_agent, rollback_shows_the_edit_and_the_error_within_the_cap)
{
	pl_buf b = PL_BUF_INIT;
	tools_ctx *c;
	tools_obs o;
	char *before;
	int i;

	pl_buf_puts(&b, "import os\n\nclass Big:\n");
	for (i = 0; i < 330; i++)
		pl_buf_printf(&b, "    def f_%d(self, x):\n        \"\"\"Doc %d.\"\"\"\n        y = x + %d\n        return y\n\n", i, i, i);
	fx_write("big.py", b.ptr, b.len);
	pl_buf_release(&b);
	before = file("big.py");
	c = fx_ctx();
	o = fx_obs(c, "str_replace", "{\"path\":\"big.py\",\"old_str\":\"    def f_20(self, x):\",\"new_str\":\"    def f_20(self, x\"}");
	cr_assert(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "NOT applied"), "%.300s", o.text.ptr);
	cr_assert_leq(o.text.len, 16000, "%zu bytes", o.text.len);
	cr_assert(strstr(o.text.ptr, "   104\t    def f_20(self, x\n"), "the edit is not shown: %.2000s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "at line 104"), "%.400s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "Your edit opens 1 more '(' than it closes."), "%.400s", o.text.ptr);
	cr_assert_null(strstr(o.text.ptr, "def f_300("), "far-away lines shown: %.300s", o.text.ptr);
	expect_file("big.py", before);
	tools_obs_release(&o);
	/* a rollback of a huge create is cut, and says so */
	{
		pl_buf args = PL_BUF_INIT, body = PL_BUF_INIT;
		json_t *a;
		int i;
		for (i = 0; i < 3000; i++)
			pl_buf_printf(&body, "x_%d = [%d,\n", i, i);
		a = json_pack("{s:s,s:s}", "path", "broken.py", "file_text", body.ptr);
		tools_obs_init(&o);
		cr_assert_eq(tools_call(&o, c, "create", a, NULL), 0);
		cr_assert(o.is_error);
		cr_assert_leq(o.text.len, 16000, "%zu bytes", o.text.len);
		cr_assert(strstr(o.text.ptr, "not shown"), "%.300s", o.text.ptr + o.text.len - 300);
		cr_assert_null(fx_read("broken.py", NULL));
		tools_obs_release(&o);
		json_decref(a);
		pl_buf_release(&args);
		pl_buf_release(&body);
	}
	free(before);
	tools_ctx_free(c);
}

/* #12.2: what `python3 -m py_compile` refuses for indentation is rolled
 * back with CPython's reason (tree-sitter accepts all of these). */
Test(editor_agent, python_indentation_errors_roll_back)
{
	static const struct {
		const char *new_str, *reason;
	} cases[] = {
		{ "    y = x + 0\n  return y\n", "IndentationError: unindent does not match any outer indentation level at line 3" },
		{ "    y = x + 0\n\treturn y\n", "TabError: inconsistent use of tabs and spaces in indentation at line 3" },
		{ "    y = x + 0\n        return y\n", "IndentationError: unexpected indent at line 3" },
		{ "y = x + 0\nreturn y\n", "IndentationError: expected an indented block after function definition on line 1 at line 2" },
	};
	tools_ctx *c;
	size_t i;
	char *before;

	python_module("m.py", 2);
	before = file("m.py");
	c = fx_ctx();
	for (i = 0; i < PL_ARRAY_LEN(cases); i++) {
		json_t *a = json_pack("{s:s,s:s,s:s}", "path", "m.py", "old_str", "    y = x + 0\n    return y\n", "new_str",
				      cases[i].new_str);
		tools_obs o;
		tools_obs_init(&o);
		cr_assert_eq(tools_call(&o, c, "str_replace", a, NULL), 0);
		cr_assert(o.is_error, "case %zu accepted: %s", i, o.text.ptr);
		cr_assert(strstr(o.text.ptr, cases[i].reason), "case %zu: %s", i, o.text.ptr);
		expect_file("m.py", before);
		tools_obs_release(&o);
		json_decref(a);
	}
	/* a file already broken that way can still be edited */
	fx_puts("old.py", "def f():\n    x = 1\n  y = 2\nz = 3\n");
	{
		tools_obs o = fx_obs(c, "str_replace", "{\"path\":\"old.py\",\"old_str\":\"z = 3\",\"new_str\":\"z = 4\"}");
		cr_assert_not(o.is_error, "%s", o.text.ptr);
		tools_obs_release(&o);
	}
	free(before);
	tools_ctx_free(c);
}

/* #12.2: C reports an unclosed '{' at the end of the file; the message
 * says what the edit did and shows the edit, wherever the error lands. */
Test(editor_agent, unbalanced_brace_is_reported_at_the_edit)
{
	pl_buf src = PL_BUF_INIT;
	tools_ctx *c;
	tools_obs o;
	int i;

	pl_buf_puts(&src, "int check(int x)\n{\n\treturn x > 0;\n}\n");
	for (i = 0; i < 40; i++)
		pl_buf_printf(&src, "\nint f%d(void)\n{\n\treturn %d;\n}\n", i, i);
	fx_write("a.c", src.ptr, src.len);
	c = fx_ctx();
	o = fx_obs(c, "str_replace",
		   "{\"path\":\"a.c\",\"old_str\":\"\\treturn x > 0;\\n\",\"new_str\":\"\\tif (x > 0) {\\n\\treturn 1;\\n\"}");
	cr_assert(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "Your edit opens 1 more '{' than it closes."), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "     3\t\tif (x > 0) {\n     4\t\treturn 1;\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "missing \"}\""), "%s", o.text.ptr);
	cr_assert_leq(o.text.len, 16000);
	tools_obs_release(&o);
	pl_buf_release(&src);
	tools_ctx_free(c);
}

/* #12.3: a line longer than the cap (minified code) is shown cut in its
 * middle with its length, and following each clipped view's hint always
 * gets further through the file. */
Test(editor_agent, long_lines_are_cut_and_hints_lead_somewhere_new)
{
	pl_buf b = PL_BUF_INIT;
	tools_ctx *c;
	tools_obs o;
	size_t start = 1, calls = 0, i, k;

	pl_buf_puts(&b, "var a=1;\n");
	for (i = 0; i < 100000; i++)
		pl_buf_putc(&b, "abcdefghij"[i % 10]);
	pl_buf_puts(&b, "END;\nvar z=2;\n");
	fx_write("min.js", b.ptr, b.len);
	pl_buf_reset(&b);
	for (i = 0; i < 60; i++) {
		pl_buf_printf(&b, "%zu:", i + 1);
		for (k = 0; k < 3000; k++)
			pl_buf_putc(&b, 'x');
		pl_buf_putc(&b, '\n');
	}
	fx_write("wide.txt", b.ptr, b.len);
	pl_buf_release(&b);
	c = fx_ctx();
	o = fx_obs(c, "view", "{\"path\":\"min.js\",\"view_range\":[2,2]}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "     2\tabcdefghij"), "%.300s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "line 2 is 100004 bytes long"), "%.300s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "hijEND;\n"), "%s", o.text.ptr + o.text.len - 100);
	cr_assert_leq(o.text.len, 16000);
	tools_obs_release(&o);
	o = fx_obs(c, "view", "{\"path\":\"min.js\"}");
	cr_assert(strstr(o.text.ptr, "     3\tvar z=2;\n"), "%s", o.text.ptr + o.text.len - 300);
	cr_assert_not(o.truncated);
	tools_obs_release(&o);
	/* follow the hints: each starts after the last line shown */
	for (;;) {
		char args[96];
		const char *h;
		size_t next, last_line;
		snprintf(args, sizeof(args), "{\"path\":\"wide.txt\",\"view_range\":[%zu,-1]}", start);
		o = fx_obs(c, "view", args);
		cr_assert_not(o.is_error, "%s", o.text.ptr);
		cr_assert_leq(o.text.len, 16000);
		cr_assert_lt(++calls, 30, "the hints go round in circles");
		if (!o.truncated) {
			cr_assert(strstr(o.text.ptr, "    60\t60:xxx"), "%.200s", o.text.ptr);
			tools_obs_release(&o);
			break;
		}
		h = strstr(o.text.ptr, "view_range [");
		cr_assert_not_null(h, "%s", o.text.ptr + o.text.len - 300);
		cr_assert_eq(sscanf(h, "view_range [%zu, %zu]", &next, &last_line), 2, "%.60s", h);
		cr_assert_gt(next, start, "the hint repeats the range: %.60s", h);
		start = next;
		tools_obs_release(&o);
	}
	tools_ctx_free(c);
}

/* #12.6: create never overwrites silently. */
Test(editor_agent, create_refuses_an_existing_file_unless_overwrite)
{
	tools_ctx *c;
	tools_obs o;

	fx_puts("keep.py", "important = 1\n");
	c = fx_ctx();
	o = fx_obs(c, "create", "{\"path\":\"keep.py\",\"file_text\":\"x = 1\\n\"}");
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "File already exists at: keep.py. Cannot overwrite files using command `create`"), "%s",
		  o.text.ptr);
	cr_assert(strstr(o.text.ptr, "overwrite: true"), "%s", o.text.ptr);
	expect_file("keep.py", "important = 1\n");
	tools_obs_release(&o);
	o = fx_obs(c, "create", "{\"path\":\"keep.py\",\"file_text\":\"x = 1\\n\",\"overwrite\":true}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "File overwritten successfully at: keep.py"), "%s", o.text.ptr);
	expect_file("keep.py", "x = 1\n");
	tools_obs_release(&o);
	o = fx_obs(c, "undo_edit", "{\"path\":\"keep.py\"}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	expect_file("keep.py", "important = 1\n");
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* #12.6: undo_edit after a command changed the file would throw the
 * command's change away: refused, and the file is left alone.  When it
 * succeeds it shows the restored lines. */
Test(editor_agent, undo_refuses_when_the_file_changed_since_and_shows_what_it_restored)
{
	tools_ctx *c;
	tools_obs o;

	python_module("u.py", 5);
	c = fx_ctx();
	o = fx_obs(c, "str_replace", "{\"path\":\"u.py\",\"old_str\":\"y = x + 3\",\"new_str\":\"y = x * 3\"}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	tools_obs_release(&o);
	/* a command (bash, a formatter) rewrites the file */
	fx_sh(NULL, "sed -i 's/y = x + 4/y = x + 40/' u.py");
	o = fx_obs(c, "undo_edit", "{\"path\":\"u.py\"}");
	cr_assert(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "'u.py' has changed since your last edit of it"), "%s", o.text.ptr);
	{
		char *u = file("u.py");
		cr_assert(strstr(u, "y = x + 40") && strstr(u, "y = x * 3"), "%s", u);
		free(u);
	}
	tools_obs_release(&o);
	/* a file deleted since is not brought back */
	o = fx_obs(c, "str_replace", "{\"path\":\"u.py\",\"old_str\":\"y = x + 1\\n\",\"new_str\":\"y = x - 1\\n\"}");
	tools_obs_release(&o);
	o = fx_obs(c, "undo_edit", "{\"path\":\"u.py\"}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "Last edit to u.py undone successfully. Here's the result of running `cat -n` on a "
				     "snippet of u.py:\n"),
		  "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "     6\t    y = x + 1\n"), "%s", o.text.ptr);
	cr_assert_null(strstr(o.text.ptr, "y = x + 40"), "the whole file was shown: %s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "create", "{\"path\":\"n.py\",\"file_text\":\"n = 1\\n\"}");
	tools_obs_release(&o);
	fx_sh(NULL, "rm n.py");
	o = fx_obs(c, "undo_edit", "{\"path\":\"n.py\"}");
	cr_assert(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "has been deleted since your last edit"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* #12.6: edits that change nothing, or a binary file, are refused rather
 * than reported as edits. */
Test(editor_agent, no_op_and_binary_edits_are_refused)
{
	static const char bin[] = { 'a', 'b', 0, 'c', '\n' };
	tools_ctx *c;
	tools_obs o;

	fx_puts("s.txt", "one\ntwo\n");
	fx_write("b.dat", bin, sizeof(bin));
	c = fx_ctx();
	o = fx_obs(c, "str_replace", "{\"path\":\"s.txt\",\"old_str\":\"one\",\"new_str\":\"one\"}");
	cr_assert(o.is_error);
	cr_assert_str_eq(o.text.ptr, "error: No replacement was performed, old_str `one` is the same as new_str `one`.");
	cr_assert_eq(json_array_size(o.files), 0);
	tools_obs_release(&o);
	o = fx_obs(c, "insert", "{\"path\":\"s.txt\",\"insert_line\":1,\"new_str\":\"\"}");
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "new_str is empty"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "str_replace", "{\"path\":\"b.dat\",\"old_str\":\"ab\",\"new_str\":\"xy\"}");
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "'b.dat' is a binary file (5 bytes); the editor changes text files only"), "%s",
		  o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "insert", "{\"path\":\"b.dat\",\"insert_line\":0,\"new_str\":\"x\"}");
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "is a binary file"), "%s", o.text.ptr);
	tools_obs_release(&o);
	expect_file("s.txt", "one\ntwo\n");
	{
		size_t n;
		char *d = fx_read("b.dat", &n);
		cr_assert_eq(n, sizeof(bin));
		cr_assert_eq(memcmp(d, bin, n), 0);
		free(d);
	}
	o = fx_obs(c, "undo_edit", "{\"path\":\"s.txt\"}");
	cr_assert(strstr(o.text.ptr, "No edit history found for s.txt"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* #12.6: a Latin-1 line, which `view` shows with \xNN, can be matched as
 * view showed it or with the characters it stands for; the file stays
 * Latin-1. */
Test(editor_agent, a_latin1_line_can_be_matched)
{
	tools_ctx *c;
	tools_obs o;

	fx_puts("l.py", "nom = 'caf\xE9'\nx = 1\n");
	c = fx_ctx();
	o = fx_obs(c, "str_replace", "{\"path\":\"l.py\",\"old_str\":\"nom = 'caf\xC3\xA9'\",\"new_str\":\"nom = 'caf\xC3\xA9s'\"}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "matched as Latin-1"), "%s", o.text.ptr);
	expect_file("l.py", "nom = 'caf\xE9s'\nx = 1\n");
	tools_obs_release(&o);
	o = fx_obs(c, "str_replace", "{\"path\":\"l.py\",\"old_str\":\"caf\\\\xE9s\",\"new_str\":\"th\\\\xE9\"}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	expect_file("l.py", "nom = 'th\xE9'\nx = 1\n");
	tools_obs_release(&o);
	o = fx_obs(c, "str_replace", "{\"path\":\"l.py\",\"old_str\":\"th\xC3\xA9\",\"new_str\":\"\xE2\x82\xAC\"}");
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "Latin-1 cannot hold"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* #12.10: view_range [0, n] says lines start at 1, and an end past the
 * file is read as its end. */
Test(editor_agent, view_range_errors_say_how_lines_count)
{
	tools_ctx *c;
	tools_obs o;

	fx_puts("a.txt", "1\n2\n3\n4\n");
	c = fx_ctx();
	o = fx_obs(c, "view", "{\"path\":\"a.txt\",\"view_range\":[0,3]}");
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "Invalid `view_range`: [0, 3]. Its first element `0` should be within the range of "
				     "lines of the file: [1, 4] (lines are numbered from 1)"),
		  "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "view", "{\"path\":\"a.txt\",\"view_range\":[3,40]}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "     4\t4\n[the file ends at line 4]\n"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* #12.10 and #12.5: an ignored directory viewed by name is listed with a
 * note that git ignores it; a file created in an ignored path says the
 * patch leaves it out. */
Test(editor_agent, ignored_paths_say_so)
{
	tools_ctx *c;
	tools_obs o;

	fx_puts(".gitignore", "build/\n*.log\n");
	fx_puts("src/a.py", "a = 1\n");
	fx_puts("build/out.txt", "x\n");
	fx_git_commit_all("init");
	c = fx_ctx();
	o = fx_obs(c, "view", "{\"path\":\"build\"}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "build/out.txt\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "'build' is ignored by git"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "create", "{\"path\":\"build/fix.py\",\"file_text\":\"x = 1\\n\"}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "'build/fix.py' is ignored by git"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "leaves it out"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "create", "{\"path\":\"src/fix.py\",\"file_text\":\"x = 1\\n\"}");
	cr_assert_null(strstr(o.text.ptr, "ignored"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* The observations follow the texts of the editor SWE-agent and OpenHands
 * share (Anthropic's str_replace_editor), which models were trained on. */
Test(editor_agent, observation_texts_follow_the_established_editor)
{
	tools_ctx *c;
	tools_obs o;

	python_module("e.py", 3);
	c = fx_ctx();
	o = fx_obs(c, "str_replace", "{\"path\":\"e.py\",\"old_str\":\"y = x + 1\",\"new_str\":\"y = x + 100\"}");
	cr_assert_str_eq(o.text.ptr, "The file e.py has been edited. Here's the result of running `cat -n` on a snippet of "
				     "e.py:\n"
				     "     2\t    y = x + 0\n"
				     "     3\t    return y\n"
				     "     4\t\n"
				     "     5\tdef f_1(x):\n"
				     "     6\t    y = x + 100\n"
				     "     7\t    return y\n"
				     "     8\t\n"
				     "     9\tdef f_2(x):\n"
				     "    10\t    y = x + 2\n"
				     "Review the changes and make sure they are as expected. Edit the file again if necessary.");
	tools_obs_release(&o);
	o = fx_obs(c, "insert", "{\"path\":\"e.py\",\"insert_line\":12,\"new_str\":\"z = 1\\n\"}");
	cr_assert_str_eq(o.text.ptr, "The file e.py has been edited. Here's the result of running `cat -n` on a snippet of "
				     "the edited file:\n"
				     "     9\tdef f_2(x):\n"
				     "    10\t    y = x + 2\n"
				     "    11\t    return y\n"
				     "    12\t\n"
				     "    13\tz = 1\n"
				     "Review the changes and make sure they are as expected (correct indentation, no duplicate "
				     "lines, etc). Edit the file again if necessary.");
	tools_obs_release(&o);
	o = fx_obs(c, "str_replace", "{\"path\":\"e.py\",\"old_str\":\"y = x + 7\",\"new_str\":\"\"}");
	cr_assert(pl_str_starts_with(o.text.ptr, "error: No replacement was performed, old_str `y = x + 7` did not appear "
						 "verbatim in e.py."),
		  "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "create", "{\"path\":\"new.py\",\"file_text\":\"a = 1\\n\"}");
	cr_assert_str_eq(o.text.ptr, "File created successfully at: new.py (1 lines).");
	tools_obs_release(&o);
	o = fx_obs(c, "view", "{\"path\":\".\"}");
	cr_assert(pl_str_starts_with(o.text.ptr, "Here's the files and directories up to 2 levels deep in ., excluding "
						 "hidden items"),
		  "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}
