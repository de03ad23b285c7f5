/* make check (scripts/check.sh) on doctored copies of a real archive: it
 * passes on the archive as built and fails, naming the culprit, on each
 * kind of violation added to it. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/common.h"
#include "tests/shell.h"

static pl_buf tmp = PL_BUF_INIT;

static void setup(void)
{
	const char *root = getenv("PLAIT_ROOT"), *bin = getenv("PLAIT_BIN");

	cr_assert_not_null(root, "PLAIT_ROOT is not set (run the tests through make test)");
	cr_assert_not_null(bin, "PLAIT_BIN is not set (run the tests through make test)");
	cr_assert_eq(pl_mkdtemp(&tmp, "plait-test-check", NULL), 0);
	/* the archive the program was built from: BUILD/plait -> BUILD/lib */
	cr_assert_eq(test_sh(NULL, "mkdir -p '%s/lib' && cp \"$(dirname '%s')/lib/libplait-common.a\" '%s/lib/'",
			     tmp.ptr, bin, tmp.ptr),
		     0);
}

static void teardown(void)
{
	pl_rm_rf(tmp.ptr, NULL);
	pl_buf_release(&tmp);
}

TestSuite(check, .init = setup, .fini = teardown, .timeout = 60);

/* Runs the check on the copy; its messages (stderr and stdout) in out. */
static int check(pl_buf *out)
{
	pl_buf_reset(out);
	return test_sh(out, "CHECK_MODULES=common '%s/scripts/check.sh' '%s' 2>&1", getenv("PLAIT_ROOT"), tmp.ptr);
}

/* Compiles C source text into NAME.o and adds it to the copied archive. */
static void add_object(const char *name, const char *src)
{
	pl_buf path = PL_BUF_INIT;

	pl_buf_printf(&path, "%s/%s.c", tmp.ptr, name);
	cr_assert_eq(pl_file_write_atomic(path.ptr, src, strlen(src), 0644, NULL), 0);
	cr_assert_eq(test_sh(NULL, "cd '%s' && cc -c -o %s.o %s.c && ar r lib/libplait-common.a %s.o 2>/dev/null",
			     tmp.ptr, name, name, name),
		     0, "cannot build %s", name);
	pl_buf_release(&path);
}

Test(check, passes_on_the_archive_as_built)
{
	pl_buf out = PL_BUF_INIT;

	cr_assert_eq(check(&out), 0, "%s", out.ptr);
	cr_assert(strstr(out.ptr, "check: 1 libraries"), "%s", out.ptr);
	pl_buf_release(&out);
}

Test(check, fails_on_an_unprefixed_global)
{
	pl_buf out = PL_BUF_INIT;

	add_object("extra", "int unprefixed_counter = 1;\nint pl__fine(void) { return unprefixed_counter; }\n");
	cr_assert_eq(check(&out), 1, "%s", out.ptr);
	cr_assert(strstr(out.ptr, "common: unprefixed_counter (extra.o) lacks the prefix pl_"), "%s", out.ptr);
	cr_assert_null(strstr(out.ptr, "pl__fine"), "an internal helper was reported: %s", out.ptr);
	pl_buf_release(&out);
}

Test(check, fails_on_a_public_name_the_header_does_not_declare)
{
	pl_buf out = PL_BUF_INIT;

	add_object("extra", "int pl_not_in_the_header(void) { return 1; }\n");
	cr_assert_eq(check(&out), 1, "%s", out.ptr);
	cr_assert(strstr(out.ptr, "pl_not_in_the_header (extra.o) has the public prefix but common/common.h does not "
				  "declare it"),
		  "%s", out.ptr);
	pl_buf_release(&out);
}

Test(check, fails_on_files_that_call_each_other)
{
	pl_buf out = PL_BUF_INIT;

	add_object("up", "int pl__down(int);\nint pl__up(int n) { return n ? pl__down(n - 1) : 0; }\n");
	add_object("down", "int pl__up(int);\nint pl__down(int n) { return n ? pl__up(n - 1) : 1; }\n");
	cr_assert_eq(check(&out), 1, "%s", out.ptr);
	cr_assert(strstr(out.ptr, "common: its source files call each other in a loop: down.o up.o"), "%s", out.ptr);
	cr_assert(strstr(out.ptr, "up.o -> down.o (pl__down)"), "%s", out.ptr);
	pl_buf_release(&out);
}

Test(check, fails_on_a_library_that_prints_to_stdout)
{
	pl_buf out = PL_BUF_INIT;

	add_object("chatty", "#include <stdio.h>\nvoid pl__chatty(void) { fputs(\"hi\", stdout); }\n");
	cr_assert_eq(check(&out), 1, "%s", out.ptr);
	cr_assert(strstr(out.ptr, "common: chatty.o uses stdout"), "%s", out.ptr);
	pl_buf_release(&out);
}

Test(check, fails_when_the_archive_is_missing)
{
	pl_buf out = PL_BUF_INIT;

	cr_assert_eq(test_sh(NULL, "rm '%s/lib/libplait-common.a'", tmp.ptr), 0);
	cr_assert_eq(check(&out), 1, "%s", out.ptr);
	cr_assert(strstr(out.ptr, "libplait-common.a is missing"), "%s", out.ptr);
	pl_buf_release(&out);
}
