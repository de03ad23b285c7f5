#include <criterion/criterion.h>
#include <signal.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

Test(err, set_returns_code_and_formats)
{
	pl_err err = { 0 };
	int rc = pl_err_set(&err, PL_EFORMAT, "bad %s at %d\n\n", "thing", 7);

	cr_assert_eq(rc, PL_EFORMAT);
	cr_assert_eq(err.code, PL_EFORMAT);
	cr_assert_str_eq(err.msg, "bad thing at 7"); /* trailing newlines dropped */
}

Test(err, null_err_is_allowed)
{
	cr_assert_eq(pl_err_set(NULL, PL_EIO, "x"), PL_EIO);
	cr_assert_eq(pl_err_sys(NULL, PL_ESYS, "x"), PL_ESYS);
	pl_err_clear(NULL);
}

Test(err, sys_appends_strerror_and_keeps_errno)
{
	pl_err err = { 0 };

	errno = ENOENT;
	pl_err_sys(&err, PL_ENOTFOUND, "cannot open '%s'", "f");
	cr_assert_str_eq(err.msg, "cannot open 'f': No such file or directory");
	cr_assert_eq(errno, ENOENT);
}

Test(err, prefix_adds_context)
{
	pl_err err = { 0 };

	pl_err_set(&err, PL_EFORMAT, "tensor 'x' has a bad shape");
	pl_err_prefix(&err, "loading %s", "model");
	cr_assert_eq(err.code, PL_EFORMAT);
	cr_assert_str_eq(err.msg, "loading model: tensor 'x' has a bad shape");
	pl_err_prefix(NULL, "nothing to prefix"); /* a caller without an err */
}

Test(err, prefix_of_a_full_message_stays_terminated)
{
	pl_err err = { 0 };
	char big[2 * PL_ERR_MSG_MAX];

	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pl_err_set(&err, PL_EIO, "%s", big);
	cr_assert_eq(strlen(err.msg), PL_ERR_MSG_MAX - 1);
	pl_err_prefix(&err, "%s", big);
	cr_assert_lt(strlen(err.msg), PL_ERR_MSG_MAX);
	cr_assert_not_null(strstr(err.msg, ": "));
}

Test(err, clear_and_code_names)
{
	pl_err err = { 0 };

	pl_err_set(&err, PL_ETIMEOUT, "late");
	pl_err_clear(&err);
	cr_assert_eq(err.code, 0);
	cr_assert_str_eq(err.msg, "");
	cr_assert_str_eq(pl_code_name(PL_OK), "ok");
	cr_assert_str_eq(pl_code_name(PL_ENOTFOUND), "not-found");
	cr_assert_str_eq(pl_code_name(PL_EINTERNAL), "internal");
	cr_assert_str_eq(pl_code_name(-999), "unknown");
}

Test(err, die_aborts_with_message, .signal = SIGABRT)
{
	PL_BUG("broken invariant %d", 1);
}

Test(err, assert_aborts, .signal = SIGABRT)
{
	int x = 1;

	PL_ASSERT(x == 2);
}

Test(err, xalloc_helpers)
{
	char *s = pl_xstrdup("hello"), *t = pl_xstrndup("hello", 3);
	int *z = pl_xcalloc(4, sizeof(int));

	cr_assert_str_eq(s, "hello");
	cr_assert_str_eq(t, "hel");
	cr_assert_eq(z[3], 0);
	z = pl_xrealloc(z, 100 * sizeof(int));
	z[99] = 5;
	cr_assert_eq(z[99], 5);
	free(s);
	free(t);
	free(z);
}
