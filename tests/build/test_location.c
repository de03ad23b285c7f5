/* The suite does not depend on where the checkout lives: the sandbox-
 * dependent suites pass from a copy of the checkout under a directory only
 * its owner may enter (mktemp -d makes one 0700, as home directories often
 * are), where the sandbox's unprivileged user cannot reach the checkout. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common.h"
#include "tests/shell.h"

static pl_buf tmp = PL_BUF_INIT;

static void setup(void)
{
	cr_assert_eq(pl_mkdtemp(&tmp, "plait-test-location", NULL), 0);
}

static void teardown(void)
{
	pl_rm_rf(tmp.ptr, NULL);
	pl_buf_release(&tmp);
}

TestSuite(location, .init = setup, .fini = teardown, .timeout = 900);

/* Runs one test binary of the copy with a filter; fails with its output. */
static void run_suite(const char *copy, const char *bin, const char *filter)
{
	pl_buf out = PL_BUF_INIT;
	int st;

	/* BXFI_MAP tells a Criterion binary it is a worker of another one: the
	 * inner runner must start as a runner of its own. */
	st = test_sh(&out,
		     "unset BXFI_MAP; cd '%s' && PLAIT_ROOT='%s' PLAIT_BIN='%s/build/plait' './build/tests/%s' "
		     "--filter '%s' --jobs 2 2>&1",
		     copy, copy, copy, bin, filter);
	cr_assert_eq(st, 0, "%s --filter '%s' failed under a 0700 parent:\n%s", bin, filter, out.ptr);
	cr_assert(strstr(out.ptr, "Failing: 0 | Crashing: 0"), "%s: %s", bin, out.ptr);
	pl_buf_release(&out);
}

Test(location, sandbox_suites_pass_under_a_0700_parent)
{
	const char *root = getenv("PLAIT_ROOT"), *bin = getenv("PLAIT_BIN");
	pl_buf copy = PL_BUF_INIT;
	struct stat st;

	cr_assert_not_null(root, "PLAIT_ROOT is not set (run the tests through make test)");
	cr_assert_not_null(bin, "PLAIT_BIN is not set (run the tests through make test)");
	cr_assert_eq(stat(tmp.ptr, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0700, "the parent is %o, not 0700", st.st_mode & 0777);
	pl_path_join(&copy, tmp.ptr, "checkout");
	/* the sources the tests read, and the program and test binaries as
	 * built (build/ or build/san/), at the same places */
	cr_assert_eq(test_sh(NULL,
			     "set -e; mkdir -p '%s/build/tests'; "
			     "tar -C '%s' --exclude=./build --exclude=./.deps --exclude=./.git -cf - . | tar -C '%s' -xf -; "
			     "b=$(dirname '%s'); cp \"$b/plait\" '%s/build/'; "
			     "cp \"$b/tests/test-sandbox\" \"$b/tests/test-tools\" \"$b/tests/test-cli\" '%s/build/tests/'",
			     copy.ptr, root, copy.ptr, bin, copy.ptr, copy.ptr),
		     0);
	run_suite(copy.ptr, "test-tools", "shell/*");
	run_suite(copy.ptr, "test-cli", "sandbox_cmd/*");
	run_suite(copy.ptr, "test-sandbox", "*/*");
	pl_buf_release(&copy);
}
