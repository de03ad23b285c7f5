/* tools__glob_match, the glob `find` and `search`'s glob argument use. */
#include <criterion/criterion.h>

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
