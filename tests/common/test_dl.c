/* test_dl.c - shared libraries opened at first use: the errors a user sees
 * when one is missing or is another version. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/common.h"

Test(dl, missing_library_names_it_and_its_package)
{
	void *h = (void *)1;
	pl_err err = { 0 };

	cr_assert_eq(pl_dl_open(&h, "libplait-no-such.so.9", "libplait-no-such9", &err), PL_ENOTFOUND);
	cr_assert_null(h);
	cr_assert(strstr(err.msg, "libplait-no-such.so.9"), "%s", err.msg);
	cr_assert(strstr(err.msg, "install the Debian package libplait-no-such9"), "%s", err.msg);
}

Test(dl, missing_symbol_names_library_and_symbol)
{
	void *h = NULL;
	pl_err err = { 0 };

	/* libm is always there (the engine links it). */
	cr_assert_eq(pl_dl_open(&h, "libm.so.6", "libc6", &err), 0, "%s", err.msg);
	cr_assert_not_null(pl_dl_sym(h, "libm.so.6", "cos", &err));
	cr_assert_null(pl_dl_sym(h, "libm.so.6", "plait_no_such_symbol", &err));
	cr_assert_eq(err.code, PL_EUNSUPPORTED);
	cr_assert(strstr(err.msg, "libm.so.6 has no symbol plait_no_such_symbol"), "%s", err.msg);
}
