/* shell.h - one way for every test binary to run a shell command and keep
 * what it prints (the built plait as a user runs it, git, make, pytest). */
#ifndef PLAIT_TESTS_SHELL_H
#define PLAIT_TESTS_SHELL_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/wait.h>

#include "common/common.h"

/* Runs `sh -c CMD` (CMD formatted like printf), appends its standard output
 * to out (when non-NULL; stderr goes where CMD sends it) and returns its
 * exit status, or -1 when a signal ended it. */
static inline int test_sh(pl_buf *out, const char *fmt, ...) PL_PRINTF(2, 3);
static inline int test_sh(pl_buf *out, const char *fmt, ...)
{
	pl_buf cmd = PL_BUF_INIT;
	char buf[4096];
	size_t n;
	va_list ap;
	FILE *f;
	int st;

	va_start(ap, fmt);
	pl_buf_vprintf(&cmd, fmt, ap);
	va_end(ap);
	f = popen(cmd.ptr, "r");
	cr_assert_not_null(f, "cannot run %s", cmd.ptr);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (out)
			pl_buf_add(out, buf, n);
	st = pclose(f);
	pl_buf_release(&cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The built plait (PLAIT_BIN, which `make test` sets). */
static inline const char *test_plait_bin(void)
{
	const char *bin = getenv("PLAIT_BIN");

	cr_assert_not_null(bin, "PLAIT_BIN is not set (run the tests through make test)");
	return bin;
}

/* What a run of plait printed, stdout and stderr apart, and its status. */
typedef struct test_run {
	int status;
	pl_buf out, err;
} test_run;

/* Runs `ENV plait ARGS` (env: shell assignments, or NULL), its output kept
 * apart through two files in dir; fails the test unless plait exits
 * normally.  Release with test_run_release. */
static inline test_run test_plait(const char *dir, const char *env, const char *args)
{
	test_run r = { 0, PL_BUF_INIT, PL_BUF_INIT };
	pl_buf o = PL_BUF_INIT, e = PL_BUF_INIT;

	pl_path_join(&o, dir, "stdout");
	pl_path_join(&e, dir, "stderr");
	r.status = test_sh(NULL, "%s '%s' %s >'%s' 2>'%s'", env ? env : "", test_plait_bin(), args, o.ptr, e.ptr);
	cr_assert_geq(r.status, 0, "plait %s did not exit normally", args);
	cr_assert_eq(pl_file_read(&r.out, o.ptr, 0, NULL), 0);
	cr_assert_eq(pl_file_read(&r.err, e.ptr, 0, NULL), 0);
	pl_buf_release(&o);
	pl_buf_release(&e);
	return r;
}

static inline void test_run_release(test_run *r)
{
	pl_buf_release(&r->out);
	pl_buf_release(&r->err);
}

#endif
