/* tools__glob_match, the glob `find` and `search`'s glob argument use. */
#include <criterion/criterion.h>
#include <fnmatch.h>
#include <string.h>

#include "tools/internal.h"

static void yes(const char *pat, const char *path)
{
	cr_expect(tools__glob_match(pat, path), "'%s' should match '%s'", pat, path);
}

static void no(const char *pat, const char *path)
{
	cr_expect_not(tools__glob_match(pat, path), "'%s' should not match '%s'", pat, path);
}

/* A pattern without '/' is matched against the base name only. */
Test(glob, pattern_without_slash_matches_the_base_name)
{
	yes("*.c", "a.c");
	yes("*.c", "src/a.c");
	yes("*.c", "src/x/y/a.c");
	no("*.c", "src/a.cc");
	no("*.c", "a.c/b.h");
	yes("Makefile", "sub/Makefile");
	no("Makefile", "sub/Makefile.am");
	no("src", "src/a.c");
	yes("a*", "x/abc");
	no("b*", "bx/abc");
}

/* '*' stops at '/', however the pattern reaches it: the basename rule is
 * decided once for the whole pattern, not again in each recursive step. */
Test(glob, star_never_crosses_a_slash)
{
	no("a/*c", "a/b/c");
	no("a/*c", "a/bb/xc");
	yes("a/*c", "a/bc");
	yes("a/*c", "a/c");
	no("src/*.c", "src/x/a.c");
	yes("src/*.c", "src/a.c");
	no("*/*.c", "a/b/c.c");
	yes("*/*.c", "a/c.c");
	no("a/*", "a/b/c");
	yes("a/*", "a/b");
	no("a/*/c", "a/x/y/c");
	yes("a/*/c", "a/x/c");
	/* inside braces too */
	no("a/{*c,z}", "a/b/c");
	yes("a/{*c,z}", "a/bc");
	no("{a/*c,q}", "a/b/c");
	/* and after a set or a '?' */
	no("a/[xb]*c", "a/b/c");
	no("a/?*c", "a/b/c");
}

Test(glob, double_star_crosses_slashes)
{
	yes("src/**/*.c", "src/a.c");
	yes("src/**/*.c", "src/x/a.c");
	yes("src/**/*.c", "src/x/y/a.c");
	no("src/**/*.c", "lib/x/a.c");
	no("src/**/*.c", "src/x/a.h");
	yes("**/test_*.py", "test_a.py");
	yes("**/test_*.py", "a/b/test_a.py");
	no("**/test_*.py", "a/b/xtest_a.py");
	yes("src/**", "src/a/b/c");
	no("src/**", "srcx/a");
	yes("a/**/b", "a/b");
	yes("a/**/b", "a/x/y/b");
	no("a/**/b", "a/xb");
}

Test(glob, question_mark_is_one_character_but_not_a_slash)
{
	yes("test_?.py", "t/test_1.py");
	no("test_?.py", "t/test_12.py");
	no("test_?.py", "t/test_.py");
	yes("a?c", "abc");
	no("a/?/c", "a//c");
	no("a?b/c", "a/b/c");
}

Test(glob, sets)
{
	yes("[ab]*.go", "b1.go");
	yes("[ab]*.go", "x/a.go");
	no("[ab]*.go", "c1.go");
	no("[!ab]*.go", "b1.go");
	yes("[!ab]*.go", "c1.go");
	no("[^ab]*.go", "a1.go");
	yes("file[0-9].txt", "file7.txt");
	no("file[0-9].txt", "filex.txt");
	yes("[]x]", "]");
	yes("[]x]", "x");
	no("x[/]y", "x/y");
	no("x[!a]y", "x/y");
	/* an unclosed set never matches */
	no("[ab", "a");
}

Test(glob, braces)
{
	yes("*.{c,h}", "a/b.h");
	yes("*.{c,h}", "b.c");
	no("*.{c,h}", "b.cc");
	yes("{src,lib}/*.c", "lib/a.c");
	no("{src,lib}/*.c", "test/a.c");
	yes("src/*.{py,txt}", "src/b.py");
	no("src/*.{py,txt}", "src/sub/b.py");
	yes("x{,y}.c", "x.c");
	yes("x{,y}.c", "xy.c");
	/* an unclosed brace is a literal '{' */
	yes("a{b", "a{b");
	no("a{b", "ab");
}

Test(glob, literals_and_empty)
{
	yes("README.md", "README.md");
	no("README.md", "README.mdx");
	yes("docs/README.md", "docs/README.md");
	no("docs/README.md", "x/docs/README.md");
	yes("*", "anything");
	yes("*", "a/b/c");
	no("", "a");
}

/* The matcher runs in time bounded by the pattern's length times the
 * path's, with no recursion: a backtracking matcher took 10 s for 41
 * stars over four paths, overflowed the stack at 400,000, and expanded
 * {,} forty times into 2^40 alternatives.  The test's timeout is the
 * deadline; a crash fails it too. */
Test(glob, hostile_patterns_end_quickly, .timeout = 20)
{
	pl_buf pat = PL_BUF_INIT, path = PL_BUF_INIT;
	size_t i;

	for (i = 0; i < 41; i++)
		pl_buf_putc(&pat, '*');
	pl_buf_putc(&pat, 'b');
	for (i = 0; i < 200; i++)
		pl_buf_putc(&path, 'a');
	no(pat.ptr, path.ptr);
	pl_buf_putc(&path, 'b');
	yes(pat.ptr, path.ptr);

	/* 400,000 stars: no recursion, so no stack to overflow */
	pl_buf_reset(&pat);
	for (i = 0; i < 400000; i++)
		pl_buf_putc(&pat, '*');
	pl_buf_putc(&pat, 'b');
	yes(pat.ptr, path.ptr);
	path.ptr[path.len - 1] = 'c';
	no(pat.ptr, path.ptr);

	/* "*a" many times over a path of a's that ends wrong */
	pl_buf_reset(&pat);
	for (i = 0; i < 300; i++)
		pl_buf_puts(&pat, "*a");
	pl_buf_puts(&pat, "*b");
	no(pat.ptr, path.ptr);

	/* {,} forty times: 2^40 alternatives if expanded */
	pl_buf_reset(&pat);
	for (i = 0; i < 40; i++)
		pl_buf_puts(&pat, "{,}");
	pl_buf_puts(&pat, "x*");
	yes(pat.ptr, "xyz");
	no(pat.ptr, "yxz");

	/* '**' many times across many directories */
	pl_buf_reset(&pat);
	for (i = 0; i < 200; i++)
		pl_buf_puts(&pat, "**/");
	pl_buf_puts(&pat, "z");
	pl_buf_reset(&path);
	for (i = 0; i < 500; i++)
		pl_buf_puts(&path, "d/");
	pl_buf_puts(&path, "y");
	no(pat.ptr, path.ptr);
	path.ptr[path.len - 1] = 'z';
	yes(pat.ptr, path.ptr);
	pl_buf_release(&pat);
	pl_buf_release(&path);
}

/* Against glibc's fnmatch (FNM_PATHNAME: '*', '?' and sets never match
 * '/') on random patterns with a slash (so both take the whole path)
 * and no "**", which plait reads differently: the same verdict on every
 * pair. */
Test(glob, agrees_with_fnmatch)
{
	static const char *const atoms[] = { "a", "b", "/", "*", "?", "[ab]", "[!a]", "[a-b]", "{a,b}" };
	unsigned seed = 12345;
	int i, k, checked = 0;

	for (i = 0; i < 20000; i++) {
		char pat[64] = "", path[32] = "", brace[64] = "";
		int n = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 7;
		bool has_brace = false;

		for (k = 0; k < n; k++) {
			const char *a = atoms[((seed = seed * 1103515245u + 12345u) >> 16) % PL_ARRAY_LEN(atoms)];
			size_t l = strlen(pat);
			if (!strcmp(a, "*") && l && pat[l - 1] == '*')
				a = "?";
			if (!strcmp(a, "{a,b}")) {
				if (has_brace)
					a = "a";
				has_brace = true;
			}
			strcat(pat, a);
		}
		if (!strchr(pat, '/'))
			strcat(pat, "/*");
		n = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 8;
		for (k = 0; k < n; k++)
			path[k] = "ab/"[((seed = seed * 1103515245u + 12345u) >> 16) % 3];
		path[n] = 0;
		{
			/* fnmatch knows no braces: {a,b} is [ab] there */
			const char *b = strstr(pat, "{a,b}");
			if (b) {
				memcpy(brace, pat, (size_t)(b - pat));
				strcat(brace, "[ab]");
				strcat(brace, b + 5);
			} else
				strcpy(brace, pat);
		}
		cr_expect_eq(tools__glob_match(pat, path), fnmatch(brace, path, FNM_PATHNAME) == 0,
			     "'%s' against '%s': plait says %d", pat, path, tools__glob_match(pat, path));
		checked++;
	}
	cr_assert_eq(checked, 20000);
}
