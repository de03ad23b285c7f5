/* search and find: regex over tracked + untracked-not-ignored files. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "tools/internal.h"
#include "tests/shell.h"

TestSuite(search, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

static void make_tree(void)
{
	static const char bin[] = { 'f', 'o', 'o', 0, 'b', 'a', 'r', '\n' };
	size_t i;
	pl_buf big = PL_BUF_INIT;

	fx_puts(".gitignore", "build/\n*.tmp\n");
	fx_puts("src/a.c", "int foo(void);\nint bar(void) { return foo(); }\n/* foo again */\n");
	fx_puts("src/b.py", "def foo():\n    pass\n\n\nclass Foo:\n    pass\n");
	fx_puts("src/crlf.txt", "one foo\r\ntwo\r\n");
	fx_write("src/bin.dat", bin, sizeof(bin));
	fx_puts("src/lat1.txt", "caf\xE9 foo\n");
	fx_puts("docs/readme.md", "nothing here\n");
	for (i = 0; i < 50000; i++)
		pl_buf_printf(&big, "line %zu%s\n", i, i == 45678 ? " needle" : "");
	fx_write("big/huge.txt", big.ptr, big.len);
	pl_buf_release(&big);
	fx_git_commit_all("init");
	fx_puts("src/untracked.c", "int foo_untracked;\n");
	fx_puts("build/gen.c", "int foo_ignored;\n");
	fx_puts("src/x.tmp", "foo ignored too\n");
	cr_assert_eq(fx_sh(NULL, "ln -s a.c src/link.c && git update-index --add --cacheinfo 160000,1111111111111111111111111111111111111111,vendor/sub"), 0);
}

Test(search, finds_in_tracked_and_untracked_not_ignored_nor_binary)
{
	tools_ctx *c;
	tools_obs o;

	make_tree();
	c = fx_ctx();
	o = fx_obs(c, "search", "{\"pattern\":\"foo\"}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "src/a.c\n1:int foo(void);\n2:int bar(void) { return foo(); }\n3:/* foo again */\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "src/b.py\n1:def foo():\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "src/crlf.txt\n1:one foo\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "src/lat1.txt\n1:caf\\xE9 foo\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "src/untracked.c\n1:int foo_untracked;\n"), "%s", o.text.ptr);
	cr_assert_null(strstr(o.text.ptr, "src/link.c"), "%s", o.text.ptr);
	cr_assert_null(strstr(o.text.ptr, "ignored"), "%s", o.text.ptr);
	cr_assert_null(strstr(o.text.ptr, "bin.dat"), "%s", o.text.ptr);
	cr_assert_eq(json_integer_value(json_object_get(o.data, "binary_skipped")), 1);
	tools_obs_release(&o);

	o = fx_obs(c, "search", "{\"pattern\":\"needle\"}");
	cr_assert(strstr(o.text.ptr, "big/huge.txt\n45679:line 45678 needle\n"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

Test(search, regex_glob_path_context_case_and_cap)
{
	tools_ctx *c;
	tools_obs o;

	make_tree();
	c = fx_ctx();
	o = fx_obs(c, "search", "{\"pattern\":\"^(def|class) [A-Za-z]+\",\"glob\":\"*.py\"}");
	cr_assert_str_eq(o.text.ptr, "src/b.py\n1:def foo():\n5:class Foo:\n");
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"FOO\",\"case_insensitive\":true,\"path\":\"src/b.py\"}");
	cr_assert_str_eq(o.text.ptr, "src/b.py\n1:def foo():\n5:class Foo:\n");
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"class\",\"path\":\"src\",\"context\":1}");
	cr_assert_str_eq(o.text.ptr, "src/b.py\n4-\n5:class Foo:\n6-    pass\n");
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"pass\",\"path\":\"src\",\"context\":2}");
	cr_assert_str_eq(o.text.ptr, "src/b.py\n1-def foo():\n2:    pass\n3-\n4-\n5-class Foo:\n6:    pass\n");
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"line [0-9]+\",\"max_results\":3}");
	cr_assert(o.truncated);
	cr_assert(strstr(o.text.ptr, "1:line 0\n2:line 1\n3:line 2\n[49997 more matching lines in this file]\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "[50000 matching lines in 1 files in all; 3 lines in 1 files shown"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"zzz_nothing\",\"glob\":\"*.c\"}");
	cr_assert(strstr(o.text.ptr, "No matches for 'zzz_nothing' in"), "%s", o.text.ptr);
	tools_obs_release(&o);
	/* a required literal inside a regex, plus a quantified char */
	o = fx_obs(c, "search", "{\"pattern\":\"return fo+\\\\(\\\\)\"}");
	cr_assert_str_eq(o.text.ptr, "src/a.c\n2:int bar(void) { return foo(); }\n");
	tools_obs_release(&o);
	/* alternation inside a group keeps the literal after it required;
	 * at the top level nothing is required (and bracketed '|' is a member) */
	o = fx_obs(c, "search", "{\"pattern\":\"(class|def) [Ff]oo\",\"path\":\"src\"}");
	cr_assert_str_eq(o.text.ptr, "src/b.py\n1:def foo():\n5:class Foo:\n");
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"class Foo|return foo\",\"path\":\"src\"}");
	cr_assert_str_eq(o.text.ptr, "src/a.c\n2:int bar(void) { return foo(); }\nsrc/b.py\n5:class Foo:\n");
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"[|]|class Foo\",\"path\":\"src/b.py\"}");
	cr_assert_str_eq(o.text.ptr, "src/b.py\n5:class Foo:\n");
	tools_obs_release(&o);
	tools_ctx_free(c);
}

Test(search, bad_inputs)
{
	tools_ctx *c;
	tools_obs o;

	make_tree();
	c = fx_ctx();
	o = fx_obs(c, "search", "{\"pattern\":\"foo(\"}");
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "pattern 'foo(' is not a valid regular expression"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"\"}");
	cr_assert(strstr(o.text.ptr, "pattern is empty"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"x\",\"path\":\"nope\"}");
	cr_assert(strstr(o.text.ptr, "path 'nope' does not exist"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"x\",\"path\":\"../..\"}");
	cr_assert(strstr(o.text.ptr, "outside the repository"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"x\",\"context\":-1}");
	cr_assert(strstr(o.text.ptr, "'context' must be at least 0"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "find", "{\"pattern\":\"\"}");
	cr_assert(strstr(o.text.ptr, "pattern is empty"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

Test(search, find_by_glob)
{
	tools_ctx *c;
	tools_obs o;

	make_tree();
	c = fx_ctx();
	o = fx_obs(c, "find", "{\"pattern\":\"*.c\"}");
	cr_assert_str_eq(o.text.ptr, "src/a.c\nsrc/link.c\nsrc/untracked.c\n");
	tools_obs_release(&o);
	o = fx_obs(c, "find", "{\"pattern\":\"src/*.{py,txt}\"}");
	cr_assert_str_eq(o.text.ptr, "src/b.py\nsrc/crlf.txt\nsrc/lat1.txt\n");
	tools_obs_release(&o);
	o = fx_obs(c, "find", "{\"pattern\":\"*\",\"path\":\"docs\"}");
	cr_assert_str_eq(o.text.ptr, "docs/readme.md\n");
	tools_obs_release(&o);
	o = fx_obs(c, "find", "{\"pattern\":\"*\",\"max_results\":2}");
	cr_assert(o.truncated);
	cr_assert(strstr(o.text.ptr, "files match; "), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "find", "{\"pattern\":\"*.rs\"}");
	cr_assert(strstr(o.text.ptr, "No file matches '*.rs'"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

Test(search, plain_directory_without_git)
{
	tools_ctx *c;
	tools_obs o;

	fx_puts("a/x.txt", "hello world\n");
	fx_puts(".hidden/y.txt", "hello hidden\n");
	c = fx_ctx();
	o = fx_obs(c, "search", "{\"pattern\":\"hello\"}");
	cr_assert_str_eq(o.text.ptr, "a/x.txt\n1:hello world\n");
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* The file list equals git's own (`git ls-files --cached --others
 * --exclude-standard`) on a tree full of ignore-rule corners: negation,
 * directory-only patterns, nested .gitignore files, a tracked file inside
 * an ignored directory, info/exclude, a nested repository, an untracked
 * directory tree, names with spaces, and `path` narrowing to a directory,
 * to an ignored directory and to one file. */
Test(search, file_list_equals_git_ls_files)
{
	static const char *const subs[] = { "", "a", "logs", "a/keep.log", "deep/x" };
	tools_ctx *c;
	size_t i;

	fx_puts(".gitignore", "*.log\n!keep.log\nlogs/\n/top-only.txt\ntmp*/\n");
	fx_puts("a/.gitignore", "*.gen\n!important.gen\n");
	fx_puts("a/keep.log", "k\n");
	fx_puts("a/x.c", "x\n");
	fx_puts("a/top-only.txt", "not ignored here\n");
	fx_puts("top-only.txt", "ignored\n");
	fx_puts("logs/tracked.txt", "tracked\n");
	fx_puts("with space/f g.txt", "s\n");
	fx_git_commit_all("init");
	cr_assert_eq(fx_sh(NULL, "git add -f logs/tracked.txt && git -c user.name=t -c user.email=t@t commit -qm logs"),
		     0);
	fx_puts("a/b.gen", "ignored\n");
	fx_puts("a/important.gen", "kept\n");
	fx_puts("a/new.log", "ignored\n");
	fx_puts("logs/new.txt", "ignored dir\n");
	fx_puts("logs/keep.log", "a negated rule does not bring it back from an ignored dir\n");
	fx_puts("logs/deeper/n.txt", "under an ignored dir that holds tracked files\n");
	fx_puts("tmp1/x.txt", "ignored dir pattern\n");
	fx_puts("deep/x/y/z.txt", "untracked tree\n");
	fx_puts("deep/excluded.txt", "info/exclude\n");
	fx_puts(".git/info/exclude", "excluded.txt\n");
	cr_assert_eq(fx_sh(NULL, "mkdir -p nested && cd nested && git init -q && echo n > n.txt"), 0);
	c = fx_ctx();
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		pl_buf want = PL_BUF_INIT, args = PL_BUF_INIT;
		char **got;
		size_t n, k;
		pl_err err = { 0 };
		pl_buf have = PL_BUF_INIT;

		/* git lists a nested repository as "nested/"; plait lists files. */
		cr_assert_eq(test_sh(&want, "cd '%s' && git ls-files --cached --others --exclude-standard -- %s%s%s | "
					    "grep -v '/$' | LC_ALL=C sort",
				     fx_root.ptr, *subs[i] ? "'" : "", subs[i], *subs[i] ? "'" : ""),
			     0);
		cr_assert_eq(tools__list_files(&got, &n, c, *subs[i] ? subs[i] : NULL, &err), 0, "%s", err.msg);
		for (k = 0; k < n; k++)
			pl_buf_printf(&have, "%s\n", got[k]);
		tools__free_list(got, n);
		cr_assert_str_eq(have.ptr, want.ptr, "path '%s'", subs[i]);
		pl_buf_release(&want);
		pl_buf_release(&have);
		pl_buf_release(&args);
	}
	tools_ctx_free(c);
}

/* Matching lines shown: the "N:" lines of a search's text. */
static size_t match_lines(const char *t)
{
	size_t n = 0;
	const char *p = t;

	while (*p) {
		const char *d = p;
		while (*d >= '0' && *d <= '9')
			d++;
		if (d > p && *d == ':')
			n++;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	return n;
}

/* #12.4: asking for more results never shows fewer.  A file whose group
 * overflows the cap used to be dropped whole, with every file after it
 * (max_results 1000 showed 10 lines where 300 showed 310). */
Test(search, more_results_never_show_fewer)
{
	pl_buf b = PL_BUF_INIT;
	tools_ctx *c;
	tools_obs o;
	size_t i, with300, with1000;

	for (i = 0; i < 10; i++)
		pl_buf_printf(&b, "needle %zu in a\n", i);
	fx_write("a.txt", b.ptr, b.len);
	pl_buf_reset(&b);
	for (i = 0; i < 2000; i++)
		pl_buf_printf(&b, "needle %zu in b, with enough text to make the group large\n", i);
	fx_write("b.txt", b.ptr, b.len);
	fx_puts("c.txt", "needle in c\n");
	pl_buf_release(&b);
	c = fx_ctx();
	o = fx_obs(c, "search", "{\"pattern\":\"needle\",\"max_results\":300}");
	with300 = match_lines(o.text.ptr);
	cr_assert_leq(o.text.len, 16000);
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"needle\",\"max_results\":1000}");
	with1000 = match_lines(o.text.ptr);
	cr_assert_geq(with1000, with300, "300 showed %zu lines, 1000 showed %zu", with300, with1000);
	cr_assert_gt(with1000, 100, "%zu", with1000);
	cr_assert(strstr(o.text.ptr, "b.txt\n1:needle 0 in b"), "%.300s", o.text.ptr);
	cr_assert(o.truncated);
	cr_assert(strstr(o.text.ptr, "more matching lines in this file]"), "%s", o.text.ptr + o.text.len - 300);
	cr_assert(strstr(o.text.ptr, "[2011 matching lines in 3 files in all;"), "%s", o.text.ptr + o.text.len - 300);
	cr_assert_leq(o.text.len, 16000);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* #12.4: the escapes agents write (ripgrep/PCRE style) mean what they
 * mean there, or are refused with a message; never a silent wrong
 * answer.  fixed_strings searches for the text as it is. */
Test(search, pcre_style_patterns_and_fixed_strings)
{
	static const struct {
		const char *args, *want;
	} cases[] = {
		{ "{\"pattern\":\"\\\\d+\"}", "p.txt\n1:abc 123\n5:a.b(c) 42\n" },
		{ "{\"pattern\":\"\\\\bbaz\\\\b\"}", "p.txt\n2:foo_bar baz\n" },
		{ "{\"pattern\":\"\\\\w+_\\\\w+\\\\s\"}", "p.txt\n2:foo_bar baz\n" },
		{ "{\"pattern\":\"x\\\\ty\"}", "p.txt\n3:x\ty\n" },
		{ "{\"pattern\":\"[\\\\d]{3}\"}", "p.txt\n1:abc 123\n" },
		{ "{\"pattern\":\"(?:qux|foo)_bar\"}", "p.txt\n2:foo_bar baz\n" },
		{ "{\"pattern\":\"a.*?c\\\\b\"}", "p.txt\n1:abc 123\n5:a.b(c) 42\n" },
		{ "{\"pattern\":\"f() {\",\"fixed_strings\":true}", "p.txt\n4:function f() {\n" },
		{ "{\"pattern\":\"function f\\\\(\\\\) {\"}", "p.txt\n4:function f() {\n" },
		{ "{\"pattern\":\"a.b(c)\",\"fixed_strings\":true}", "p.txt\n5:a.b(c) 42\n" },
		{ "{\"pattern\":\"(?i)ABC\"}", "p.txt\n1:abc 123\n" },
		{ "{\"pattern\":\"\\\\D\\\\d\\\\d\\\\d$\"}", "p.txt\n1:abc 123\n" },
	};
	tools_ctx *c;
	tools_obs o;
	size_t i;

	fx_puts("p.txt", "abc 123\nfoo_bar baz\nx\ty\nfunction f() {\na.b(c) 42\nddd\n");
	c = fx_ctx();
	for (i = 0; i < PL_ARRAY_LEN(cases); i++) {
		o = fx_obs(c, "search", cases[i].args);
		cr_expect_str_eq(o.text.ptr, cases[i].want, "%s", cases[i].args);
		tools_obs_release(&o);
	}
	o = fx_obs(c, "search", "{\"pattern\":\"\\\\p{L}+\"}");
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "uses \\p, which search does not support"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"foo(?=_)\"}");
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "lookaround"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* #12.4: searching (or finding in) an ignored directory by name says it
 * is ignored, instead of "No matches ... in 0 files". */
Test(search, an_ignored_directory_says_it_is_ignored)
{
	tools_ctx *c;
	tools_obs o;

	make_tree();
	c = fx_ctx();
	o = fx_obs(c, "search", "{\"pattern\":\"foo\",\"path\":\"build\"}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "'build' is ignored by git"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "grep -rn"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"foo\",\"path\":\"src/x.tmp\"}");
	cr_assert(strstr(o.text.ptr, "'src/x.tmp' is ignored by git"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "find", "{\"pattern\":\"*.c\",\"path\":\"build\"}");
	cr_assert(strstr(o.text.ptr, "'build' is ignored by git"), "%s", o.text.ptr);
	tools_obs_release(&o);
	/* a directory that is not ignored still answers as before */
	o = fx_obs(c, "search", "{\"pattern\":\"zzz\",\"path\":\"docs\"}");
	cr_assert(strstr(o.text.ptr, "No matches for 'zzz' in 1 files"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* tools__find_text gives memmem's answer: every needle length from 1 to
 * 40 (the vector loop, its tail and the short cases), needles taken from
 * the haystack and random ones, at every start offset, over a small
 * alphabet so that partial matches abound. */
Test(find_text, same_as_memmem)
{
	char h[300], nd[41];
	unsigned seed = 12345;
	size_t m, start, round;

	for (round = 0; round < 20; round++) {
		size_t k;
		for (k = 0; k < sizeof(h); k++) {
			seed = seed * 1103515245u + 12345u;
			h[k] = "ab_ \n"[(seed >> 16) % (round < 10 ? 2 : 5)];
		}
		for (m = 1; m <= 40; m++) {
			for (k = 0; k < m; k++) {
				seed = seed * 1103515245u + 12345u;
				nd[k] = round % 2 ? "ab_ \n"[(seed >> 16) % 5] : "ab_ \n"[(seed >> 16) % 2];
			}
			if (round % 2 == 0) /* a piece of the haystack: found somewhere */
				memcpy(nd, h + (seed >> 16) % (sizeof(h) - m), m);
			for (start = 0; start < sizeof(h); start++) {
				const char *want = memmem(h + start, sizeof(h) - start, nd, m);
				const char *got = tools__find_text(h + start, sizeof(h) - start, nd, m);
				cr_assert_eq(got, want, "needle length %zu, start %zu, round %zu", m, start, round);
			}
		}
	}
}

/* A regex with several required literals: lines holding only some of
 * them, or all of them in the wrong order, do not match; regexec decides
 * where all are present. */
Test(search, several_required_literals)
{
	static const struct {
		const char *args, *want;
	} cases[] = {
		{ "{\"pattern\":\"struct [a-z_]+ \\\\{\"}", "s.h\n1:struct foo {\n4:  struct bar_baz { int x; };\n" },
		{ "{\"pattern\":\"(uint|int)(8|16)_t [a-z]+;\"}", "s.h\n6:uint8_t abc;\n" },
		{ "{\"pattern\":\"ab+c\\\\.d\"}", "s.h\n8:abbbc.d\n" },
	};
	tools_ctx *c;
	tools_obs o;
	size_t i;

	fx_puts("s.h", "struct foo {\nstruct foo *p;\nx { struct\n  struct bar_baz { int x; };\nstruct X {\nuint8_t abc;\nint16_t ;\n"
		       "abbbc.d\nac.d abc\n");
	c = fx_ctx();
	for (i = 0; i < PL_ARRAY_LEN(cases); i++) {
		o = fx_obs(c, "search", cases[i].args);
		cr_expect_str_eq(o.text.ptr, cases[i].want, "%s", cases[i].args);
		tools_obs_release(&o);
	}
	tools_ctx_free(c);
}

/* The counts of an interval are not text a match must hold: a{3} finds
 * "aaa" (the literal pre-filter once took the 3 for a required literal). */
Test(search, intervals_are_not_literals)
{
	tools_ctx *c;
	tools_obs o;

	fx_puts("n.txt", "aaa\nab12\nx10y\n");
	fx_git_commit_all("init");
	c = fx_ctx();
	o = fx_obs(c, "search", "{\"pattern\":\"a{3}\"}");
	cr_assert_str_eq(o.text.ptr, "n.txt\n1:aaa\n");
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"ab[0-9]{1,2}\"}");
	cr_assert_str_eq(o.text.ptr, "n.txt\n2:ab12\n");
	tools_obs_release(&o);
	o = fx_obs(c, "search", "{\"pattern\":\"x1{1,}0y\"}");
	cr_assert_str_eq(o.text.ptr, "n.txt\n3:x10y\n");
	tools_obs_release(&o);
	tools_ctx_free(c);
}
