/* What a hostile or careless model can hand the tools ends in bounded
 * time with an error it can read, never a crash or a hang: globs that
 * made the old matcher backtrack exponentially, sources nested deeper
 * than tree-sitter survives, regular expressions that blow up, huge
 * untracked files in a snapshot.  Each suite's timeout is the deadline;
 * a crash fails the test as well. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "tools/internal.h"

TestSuite(limits, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

/* find's pattern and search's glob: 41 stars took 10 s over four files
 * and 400 KB of them crashed plait; now any pattern the schema takes
 * ends at once, and a longer one is refused by the schema. */
Test(limits, glob_patterns_end_quickly_or_are_refused)
{
	pl_buf args = PL_BUF_INIT;
	tools_ctx *c;
	tools_obs o;
	size_t i;

	fx_puts("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.txt", "x\n");
	fx_puts("b.txt", "x\n");
	fx_puts("c/d.txt", "x\n");
	fx_git_commit_all("init");
	c = fx_ctx();

	pl_buf_puts(&args, "{\"pattern\":\"");
	for (i = 0; i < 1000; i++)
		pl_buf_putc(&args, '*');
	pl_buf_puts(&args, "b.txt\"}");
	o = fx_obs(c, "find", args.ptr);
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "b.txt\n"), "%s", o.text.ptr);
	cr_assert_null(strstr(o.text.ptr, "aaaa"), "%s", o.text.ptr);
	tools_obs_release(&o);

	pl_buf_reset(&args);
	pl_buf_puts(&args, "{\"pattern\":\"x\",\"glob\":\"");
	for (i = 0; i < 300; i++)
		pl_buf_puts(&args, "{,}");
	pl_buf_puts(&args, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*ab\"}");
	o = fx_obs(c, "search", args.ptr);
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "No match"), "%s", o.text.ptr);
	tools_obs_release(&o);

	/* 400 KB: the schema refuses it, naming the argument and the limit */
	pl_buf_reset(&args);
	pl_buf_puts(&args, "{\"pattern\":\"");
	for (i = 0; i < 400000; i++)
		pl_buf_putc(&args, '*');
	pl_buf_puts(&args, "b\"}");
	o = fx_obs(c, "find", args.ptr);
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "argument 'pattern' must be at most 1024 characters long, got 400001"), "%s",
		  o.text.ptr);
	tools_obs_release(&o);
	pl_buf_reset(&args);
	pl_buf_puts(&args, "{\"pattern\":\"x\",\"glob\":\"");
	for (i = 0; i < 1025; i++)
		pl_buf_puts(&args, "\xc3\xa9");
	pl_buf_puts(&args, "\"}");
	o = fx_obs(c, "search", args.ptr);
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "argument 'glob' must be at most 1024 characters long, got 1025"), "%s",
		  o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
	pl_buf_release(&args);
}
