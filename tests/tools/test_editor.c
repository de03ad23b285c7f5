/* The editor tools: view, create, str_replace, insert, undo_edit. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

TestSuite(editor, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

#define OBS_TEXT(o) ((o).text.ptr)

static void expect_file(const char *rel, const char *want, size_t n)
{
	size_t len = 0;
	char *got = fx_read(rel, &len);

	cr_assert_not_null(got, "%s missing", rel);
	cr_assert_eq(len, n, "%s: %zu bytes, want %zu: [%s]", rel, len, n, got);
	cr_assert_eq(memcmp(got, want, n), 0, "%s content: [%s]", rel, got);
	free(got);
}

Test(editor, view_file_numbers_lines_and_range)
{
	tools_ctx *c;
	tools_obs o;

	fx_puts("a.txt", "one\ntwo\nthree\nfour\n");
	c = fx_ctx();
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "view", "{\"path\":\"a.txt\"}"), 0);
	cr_assert_str_eq(OBS_TEXT(o), "Here's the result of running `cat -n` on a.txt:\n"
				     "     1\tone\n     2\ttwo\n     3\tthree\n     4\tfour\n");
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "view", "{\"path\":\"a.txt\",\"view_range\":[2,3]}"), 0);
	cr_assert_str_eq(OBS_TEXT(o), "Here's the result of running `cat -n` on a.txt:\n     2\ttwo\n     3\tthree\n");
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "view", "{\"path\":\"a.txt\",\"view_range\":[3,-1]}"), 0);
	cr_assert_str_eq(OBS_TEXT(o), "Here's the result of running `cat -n` on a.txt:\n     3\tthree\n     4\tfour\n");
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "view", "{\"path\":\"a.txt\",\"view_range\":[9,10]}"), 0);
	cr_assert(o.is_error);
	cr_assert(strstr(OBS_TEXT(o), "Invalid `view_range`: [9, 10]. Its first element `9` should be within the range of "
				  "lines of the file: [1, 4]"),
		  "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "view", "{\"path\":\"a.txt\",\"view_range\":[3,2]}"), 0);
	cr_assert(strstr(OBS_TEXT(o), "Its second element `2` should be larger or equal than its first `3`"), "%s",
		  OBS_TEXT(o));
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "view", "{\"path\":\"a.txt\",\"view_range\":[1]}"), 0);
	cr_assert(strstr(OBS_TEXT(o), "at least 2 items"), "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	tools_ctx_free(c);
}

Test(editor, view_errors_binary_crlf_nonutf8_and_huge)
{
	tools_ctx *c;
	tools_obs o;
	static const char bin[] = { 'P', 'K', 0, 1, 2, 3 };
	const char lat1[] = "caf\xE9\r\nna\xC3\xAFve\r\n";
	size_t big = 200000, i;
	char *huge = malloc(big * 8);

	fx_write("b.bin", bin, sizeof(bin));
	fx_write("l.txt", lat1, strlen(lat1));
	for (i = 0; i < big; i++)
		memcpy(huge + i * 8, "line...\n", 8);
	fx_write("huge.txt", huge, big * 8);
	free(huge);
	c = fx_ctx();
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "view", "{\"path\":\"b.bin\"}"), 0);
	cr_assert(strstr(OBS_TEXT(o), "binary file (6 bytes)"), "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "view", "{\"path\":\"l.txt\"}"), 0);
	cr_assert_str_eq(OBS_TEXT(o), "Here's the result of running `cat -n` on l.txt:\n     1\tcaf\\xE9\n     2\tna\xC3\xAFve\n");
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "view", "{\"path\":\"huge.txt\"}"), 0);
	cr_assert(o.truncated);
	cr_assert(strstr(OBS_TEXT(o), "lines 1-1029 of 200000. View the rest with view_range [1030, 200000]"), "%s",
		  OBS_TEXT(o) + o.text.len - 200);
	cr_assert_leq(o.text.len, 16000);
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "view", "{\"path\":\"nope.txt\"}"), 0);
	cr_assert(strstr(OBS_TEXT(o), "'nope.txt' does not exist"), "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "view", "{\"path\":\"../../etc/passwd\"}"), 0);
	cr_assert(strstr(OBS_TEXT(o), "outside the repository"), "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "view", "{\"path\":7}"), 0);
	cr_assert(strstr(OBS_TEXT(o), "argument 'path' must be a string, got an integer"), "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "view", "{}"), 0);
	cr_assert(strstr(OBS_TEXT(o), "missing required argument 'path'"), "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	tools_ctx_free(c);
}

Test(editor, view_directory_skips_ignored_and_hidden)
{
	tools_ctx *c;
	tools_obs o;

	fx_puts(".gitignore", "build/\n*.log\n");
	fx_puts("src/a.c", "int a;\n");
	fx_puts("src/deep/er/x.c", "int x;\n");
	fx_puts("build/out.o", "x");
	fx_puts("run.log", "x");
	fx_git_commit_all("init");
	fx_sh(NULL, "ln -s src/a.c link.c");
	c = fx_ctx();
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "view", "{\"path\":\".\"}"), 0);
	cr_assert(strstr(OBS_TEXT(o), "src/\n"), "%s", OBS_TEXT(o));
	cr_assert(strstr(OBS_TEXT(o), "src/a.c\n"), "%s", OBS_TEXT(o));
	cr_assert(strstr(OBS_TEXT(o), "src/deep/\n"), "%s", OBS_TEXT(o));
	cr_assert(strstr(OBS_TEXT(o), "link.c@\n"), "%s", OBS_TEXT(o));
	cr_assert_null(strstr(OBS_TEXT(o), "src/deep/er"), "%s", OBS_TEXT(o));
	cr_assert_null(strstr(OBS_TEXT(o), "build"), "%s", OBS_TEXT(o));
	cr_assert_null(strstr(OBS_TEXT(o), "run.log"), "%s", OBS_TEXT(o));
	cr_assert_null(strstr(OBS_TEXT(o), ".git"), "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	tools_ctx_free(c);
}

Test(editor, str_replace_once_keeps_crlf_and_final_newline)
{
	tools_ctx *c;
	tools_obs o;
	const char crlf[] = "a = 1\r\nb = 2\r\nc = 3";

	fx_write("w.py", crlf, strlen(crlf));
	c = fx_ctx();
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "str_replace", "{\"path\":\"w.py\",\"old_str\":\"a = 1\\nb = 2\",\"new_str\":\"a = 10\\nb = 20\\nbb = 2\"}"), 0);
	cr_assert_not(o.is_error, "%s", OBS_TEXT(o));
	cr_assert_str_eq(json_string_value(json_array_get(o.files, 0)), "w.py");
	tools_obs_release(&o);
	expect_file("w.py", "a = 10\r\nb = 20\r\nbb = 2\r\nc = 3", strlen("a = 10\r\nb = 20\r\nbb = 2\r\nc = 3"));
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "str_replace", "{\"path\":\"w.py\",\"old_str\":\"bb = 2\\n\"}"), 0);
	tools_obs_release(&o);
	expect_file("w.py", "a = 10\r\nb = 20\r\nc = 3", strlen("a = 10\r\nb = 20\r\nc = 3"));
	/* undo twice: back to the original bytes */
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "undo_edit", "{\"path\":\"w.py\"}"), 0);
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "undo_edit", "{\"path\":\"w.py\"}"), 0);
	tools_obs_release(&o);
	expect_file("w.py", crlf, strlen(crlf));
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "undo_edit", "{\"path\":\"w.py\"}"), 0);
	cr_assert(strstr(OBS_TEXT(o), "No edit history found for w.py"), "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	tools_ctx_free(c);
}

Test(editor, str_replace_keeps_non_utf8_bytes)
{
	tools_ctx *c;
	tools_obs o;
	const char lat1[] = "x = 'caf\xE9'\ny = 1\n";
	const char want[] = "x = 'caf\xE9'\ny = 2\n";

	fx_write("l.py", lat1, strlen(lat1));
	c = fx_ctx();
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "str_replace", "{\"path\":\"l.py\",\"old_str\":\"y = 1\",\"new_str\":\"y = 2\"}"), 0);
	cr_assert_not(o.is_error, "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	expect_file("l.py", want, strlen(want));
	tools_ctx_free(c);
}

Test(editor, str_replace_zero_and_many_matches_explain)
{
	tools_ctx *c;
	tools_obs o;
	const char src[] = "def f():\n    x = 1\n    return x\n\ndef g():\n    x = 1\n    return x\n";

	fx_puts("m.py", src);
	c = fx_ctx();
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "str_replace", "{\"path\":\"m.py\",\"old_str\":\"x = 1\",\"new_str\":\"x = 2\"}"), 0);
	cr_assert(o.is_error);
	cr_assert(strstr(OBS_TEXT(o), "No replacement was performed. Multiple occurrences of old_str `x = 1` in lines [2, 6]. "
				  "Please ensure it is unique"),
		  "%s", OBS_TEXT(o));
	cr_assert_eq(json_array_size(o.files), 0);
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "str_replace", "{\"path\":\"m.py\",\"old_str\":\"def g():\\n  x = 1\",\"new_str\":\"\"}"), 0);
	cr_assert(o.is_error);
	cr_assert(strstr(OBS_TEXT(o), "matches if whitespace is ignored at lines 5-6"), "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "str_replace", "{\"path\":\"m.py\",\"old_str\":\"    return x\\n    pass\",\"new_str\":\"\"}"), 0);
	cr_assert(o.is_error);
	cr_assert(strstr(OBS_TEXT(o), "Its first line occurs at:\n     3\t    return x\n     7\t    return x\n"), "%s",
		  OBS_TEXT(o));
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "str_replace", "{\"path\":\"m.py\",\"old_str\":\"\"}"), 0);
	cr_assert(strstr(OBS_TEXT(o), "old_str is empty"), "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	expect_file("m.py", src, strlen(src));
	tools_ctx_free(c);
}

Test(editor, syntax_errors_roll_back_in_every_language)
{
	static const struct {
		const char *path, *good, *old, *bad;
	} cases[] = {
		{ "a.py", "def f(x):\n    return x\n", "return x", "return (x" },
		{ "a.c", "int f(int x) { return x; }\n", "return x;", "return (x;" },
		{ "a.cpp", "struct S { int f() { return 1; } };\n", "return 1;", "return {1;" },
		{ "A.java", "class A { int f() { return 1; } }\n", "return 1;", "return 1 +;" },
		{ "a.js", "function f(x) { return x; }\n", "return x;", "return [x;" },
		{ "a.ts", "function f(x: number): number { return x; }\n", "x: number)", "x: number" },
		{ "a.tsx", "const e = <div>{1}</div>;\n", "</div>", "</span" },
		{ "a.go", "package p\nfunc f() int { return 1 }\n", "return 1 }", "return 1" },
		{ "a.rs", "fn f() -> i32 { 1 }\n", "{ 1 }", "{ 1 " },
	};
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(cases); i++)
		fx_puts(cases[i].path, cases[i].good);
	fx_puts("broken.py", "def f(:\n    pass\nx = 1\n");
	{
		tools_ctx *c = fx_ctx();
		for (i = 0; i < PL_ARRAY_LEN(cases); i++) {
			tools_obs o;
			json_t *a = json_pack("{s:s,s:s,s:s}", "path", cases[i].path, "old_str", cases[i].old, "new_str",
					      cases[i].bad);
			tools_obs_init(&o);
			cr_assert_eq(tools_call(&o, c, "str_replace", a, NULL), 0);
			cr_assert(o.is_error, "%s: a syntax error was accepted: %s", cases[i].path, OBS_TEXT(o));
			cr_assert(strstr(OBS_TEXT(o), "NOT applied"), "%s", OBS_TEXT(o));
			expect_file(cases[i].path, cases[i].good, strlen(cases[i].good));
			json_decref(a);
			tools_obs_release(&o);
		}
		/* A file broken before the edit can still be edited elsewhere. */
		{
			tools_obs o;
			tools_obs_init(&o);
			cr_assert_eq(fx_call(&o, c, "str_replace", "{\"path\":\"broken.py\",\"old_str\":\"x = 1\",\"new_str\":\"x = 2\"}"), 0);
			cr_assert_not(o.is_error, "%s", OBS_TEXT(o));
			tools_obs_release(&o);
			tools_obs_init(&o);
			cr_assert_eq(fx_call(&o, c, "create", "{\"path\":\"new/bad.rs\",\"file_text\":\"fn x( {\"}"), 0);
			cr_assert(o.is_error);
			cr_assert_null(fx_read("new/bad.rs", NULL));
			tools_obs_release(&o);
		}
		tools_ctx_free(c);
	}
}

Test(editor, insert_positions_and_final_newline)
{
	tools_ctx *c;
	tools_obs o;

	fx_puts("i.txt", "a\nb");
	fx_puts("j.txt", "a\r\nb\r\n");
	c = fx_ctx();
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "insert", "{\"path\":\"i.txt\",\"insert_line\":0,\"new_str\":\"top\"}"), 0);
	tools_obs_release(&o);
	expect_file("i.txt", "top\na\nb", 7);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "insert", "{\"path\":\"i.txt\",\"insert_line\":3,\"new_str\":\"end\\n\"}"), 0);
	tools_obs_release(&o);
	expect_file("i.txt", "top\na\nb\nend", 11);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "insert", "{\"path\":\"j.txt\",\"insert_line\":1,\"new_str\":\"m1\\nm2\"}"), 0);
	tools_obs_release(&o);
	expect_file("j.txt", "a\r\nm1\r\nm2\r\nb\r\n", 14);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "insert", "{\"path\":\"j.txt\",\"insert_line\":9,\"new_str\":\"x\"}"), 0);
	cr_assert(strstr(OBS_TEXT(o), "Invalid `insert_line` parameter: 9. It should be within the range of lines of the "
				  "file: [0, 4]"),
		  "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "insert", "{\"path\":\"j.txt\",\"insert_line\":-1,\"new_str\":\"x\"}"), 0);
	cr_assert(strstr(OBS_TEXT(o), "'insert_line' must be at least 0"), "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "insert", "{\"path\":\"j.txt\",\"insert_line\":\"2\",\"new_str\":\"x\"}"), 0);
	cr_assert(strstr(OBS_TEXT(o), "'insert_line' must be an integer, got a string"), "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	tools_ctx_free(c);
}

Test(editor, create_then_undo_removes_and_symlinks)
{
	tools_ctx *c;
	tools_obs o;

	fx_puts("t.txt", "target\n");
	cr_assert_eq(fx_sh(NULL, "ln -s t.txt l.txt && ln -s /etc/hostname out.txt"), 0);
	c = fx_ctx();
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "create", "{\"path\":\"d/e/n.py\",\"file_text\":\"x = 1\\n\"}"), 0);
	cr_assert(strstr(OBS_TEXT(o), "File created successfully at: d/e/n.py (1 lines)"), "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	expect_file("d/e/n.py", "x = 1\n", 6);
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "undo_edit", "{\"path\":\"d/e/n.py\"}"), 0);
	tools_obs_release(&o);
	cr_assert_null(fx_read("d/e/n.py", NULL));
	/* editing through a link edits its target, and the link stays a link */
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "str_replace", "{\"path\":\"l.txt\",\"old_str\":\"target\",\"new_str\":\"changed\"}"), 0);
	tools_obs_release(&o);
	expect_file("t.txt", "changed\n", 8);
	cr_assert_eq(fx_sh(NULL, "test -L l.txt"), 0);
	/* a link out of the repository is refused */
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "create", "{\"path\":\"out.txt\",\"file_text\":\"x\"}"), 0);
	cr_assert(strstr(OBS_TEXT(o), "through a symlink"), "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "create", "{\"path\":\"d\",\"file_text\":\"x\"}"), 0);
	cr_assert(strstr(OBS_TEXT(o), "is a directory"), "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* What git on the host would run (hooks, core.fsmonitor in .git/config)
 * must not be writable through the editor: any path component named .git,
 * a link leading into it, and the git directory a gitfile names. */
Test(editor, writes_into_the_git_directory_are_refused)
{
	static const char *const bad[] = {
		"{\"path\":\".git/config\",\"old_str\":\"[core]\",\"new_str\":\"[core]\\n\\tfsmonitor = touch /tmp/pwned\"}",
		"{\"path\":\".git/hooks/pre-commit\",\"file_text\":\"#!/bin/sh\\n\"}",
		"{\"path\":\"sub/.git/hooks/x\",\"file_text\":\"x\\n\"}",
		"{\"path\":\".GIT/x\",\"file_text\":\"x\\n\"}",
		"{\"path\":\"hooks/post-checkout\",\"file_text\":\"#!/bin/sh\\n\"}",
		"{\"path\":\".git/config\",\"insert_line\":0,\"new_str\":\"[core]\\n\"}",
		"{\"path\":\".git/config\"}",
	};
	static const char *const tool[] = { "str_replace", "create", "create", "create", "create", "insert", "undo_edit" };
	tools_ctx *c;
	tools_obs o;
	char *before, *after;

	fx_puts("a.txt", "a\n");
	fx_git_commit_all("init");
	cr_assert_eq(fx_sh(NULL, "ln -s .git/hooks hooks"), 0);
	before = fx_read(".git/config", NULL);
	c = fx_ctx();
	for (size_t i = 0; i < PL_ARRAY_LEN(bad); i++) {
		tools_obs_init(&o);
		cr_assert_lt(fx_call(&o, c, tool[i], bad[i]), 0, "%s %s was allowed", tool[i], bad[i]);
		cr_assert(strstr(OBS_TEXT(o), "git directory"), "%s %s: %s", tool[i], bad[i], OBS_TEXT(o));
		tools_obs_release(&o);
	}
	after = fx_read(".git/config", NULL);
	cr_assert_str_eq(after, before);
	cr_assert_eq(fx_sh(NULL, "test ! -e .git/hooks/pre-commit && test ! -e .git/hooks/post-checkout && test ! -e .GIT"),
		     0);
	free(after);
	/* an absolute path into it too */
	{
		pl_buf args = PL_BUF_INIT;

		pl_buf_printf(&args, "{\"path\":\"%s/.git/description\",\"file_text\":\"x\\n\",\"overwrite\":true}",
			      fx_root.ptr);
		tools_obs_init(&o);
		cr_assert_lt(fx_call(&o, c, "create", args.ptr), 0);
		cr_assert(strstr(OBS_TEXT(o), "git directory"), "%s", OBS_TEXT(o));
		tools_obs_release(&o);
		pl_buf_release(&args);
	}
	/* reading it is fine */
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "view", "{\"path\":\".git/config\"}"), 0, "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	tools_ctx_free(c);

	/* a gitfile's git directory, wherever it sits inside the tree */
	cr_assert_eq(fx_sh(NULL, "mv .git .realgit && printf 'gitdir: .realgit\\n' > .git"), 0);
	c = fx_ctx();
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "str_replace",
			     "{\"path\":\".realgit/config\",\"old_str\":\"[core]\",\"new_str\":\"[core]\\n\\tfsmonitor = x\"}"),
		     0);
	cr_assert(strstr(OBS_TEXT(o), "git directory"), "%s", OBS_TEXT(o));
	tools_obs_release(&o);
	after = fx_read(".realgit/config", NULL);
	cr_assert_str_eq(after, before);
	free(after);
	/* the project's own files stay editable */
	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "str_replace", "{\"path\":\"a.txt\",\"old_str\":\"a\",\"new_str\":\"b\"}"), 0, "%s",
		     OBS_TEXT(o));
	tools_obs_release(&o);
	tools_ctx_free(c);
	free(before);
}

/* Each edit hands back its own diff (data.diff), so that a caller shows
 * the change without reading the file around the call. */
Test(editor, edits_report_their_diff)
{
	tools_ctx *c;
	tools_obs o;

	fx_puts("f.txt", "1\n2\n3\n4\n5\n6\n7\n8\n9\n");
	c = fx_ctx();
	o = fx_obs(c, "str_replace", "{\"path\":\"f.txt\",\"old_str\":\"5\\n\",\"new_str\":\"five\\n\"}");
	cr_assert_not(o.is_error, "%s", OBS_TEXT(o));
	cr_assert_str_eq(json_string_value(json_object_get(o.data, "diff")),
			 "--- a/f.txt\n+++ b/f.txt\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
	tools_obs_release(&o);
	o = fx_obs(c, "create", "{\"path\":\"n.txt\",\"file_text\":\"x\"}");
	cr_assert_str_eq(json_string_value(json_object_get(o.data, "diff")),
			 "--- a/n.txt\n+++ b/n.txt\n@@ -0,0 +1,1 @@\n+x\n\\ No newline at end of file\n");
	tools_obs_release(&o);
	o = fx_obs(c, "insert", "{\"path\":\"f.txt\",\"insert_line\":0,\"new_str\":\"zero\"}");
	cr_assert(strstr(json_string_value(json_object_get(o.data, "diff")), "@@ -1,3 +1,4 @@\n+zero\n 1\n"), "%s",
		  json_string_value(json_object_get(o.data, "diff")));
	tools_obs_release(&o);
	o = fx_obs(c, "undo_edit", "{\"path\":\"f.txt\"}");
	cr_assert(strstr(json_string_value(json_object_get(o.data, "diff")), "-zero\n 1\n"), "%s",
		  json_string_value(json_object_get(o.data, "diff")));
	tools_obs_release(&o);
	/* a failed edit has none; bytes that are not UTF-8 show as \xNN */
	o = fx_obs(c, "str_replace", "{\"path\":\"f.txt\",\"old_str\":\"nope\",\"new_str\":\"x\"}");
	cr_assert(o.is_error);
	cr_assert_null(json_object_get(o.data, "diff"));
	tools_obs_release(&o);
	fx_write("l.txt", "caf\xE9\n", 5);
	o = fx_obs(c, "str_replace", "{\"path\":\"l.txt\",\"old_str\":\"caf\",\"new_str\":\"the caf\"}");
	cr_assert_not(o.is_error, "%s", OBS_TEXT(o));
	cr_assert(strstr(json_string_value(json_object_get(o.data, "diff")), "+the caf\\xE9\n"), "%s",
		  json_string_value(json_object_get(o.data, "diff")));
	tools_obs_release(&o);
	tools_ctx_free(c);
}
