/* A bad profile loaded without an error value keeps its real error code:
 * pl_err_prefix once returned PL_EINTERNAL when err was NULL, and the
 * loader returned that instead of what went wrong. */
#include <criterion/criterion.h>

#include "sandbox/sandbox.h"

static pl_buf dir = PL_BUF_INIT;

static void setup(void)
{
	cr_assert_eq(pl_mkdtemp(&dir, "plait-test-profile", NULL), 0);
}

static void teardown(void)
{
	pl_rm_rf(dir.ptr, NULL);
	pl_buf_release(&dir);
}

TestSuite(profile_errors, .init = setup, .fini = teardown);

/* Loads a profile holding text, with err NULL, and returns the code. */
static int load_without_err(const char *text)
{
	pl_buf p = PL_BUF_INIT;
	sbx_config cfg;
	int rc;

	pl_path_join(&p, dir.ptr, "p.json");
	cr_assert_eq(pl_file_write_atomic(p.ptr, text, strlen(text), 0644, NULL), 0);
	sbx_config_init(&cfg);
	rc = sbx_profile_load(&cfg, p.ptr, NULL);
	sbx_config_release(&cfg);
	pl_buf_release(&p);
	return rc;
}

Test(profile_errors, codes_survive_a_null_err)
{
	pl_err err = { 0 };
	pl_buf p = PL_BUF_INIT;
	sbx_config cfg;
	int with_err;

	/* each case: the code with an error value equals the code without */
	static const char *const cases[] = {
		"{\"cgroup\": \"sometimes\"}",
		"{\"limits\": {\"memory\": \"lots\"}}",
		"{\"env\": {\"\": \"1\"}}",
	};
	for (size_t i = 0; i < PL_ARRAY_LEN(cases); i++) {
		int rc = load_without_err(cases[i]);

		pl_buf_reset(&p);
		pl_path_join(&p, dir.ptr, "p.json");
		sbx_config_init(&cfg);
		with_err = sbx_profile_load(&cfg, p.ptr, &err);
		sbx_config_release(&cfg);
		cr_assert_lt(with_err, 0, "%s was accepted", cases[i]);
		cr_assert_neq(rc, PL_EINTERNAL, "%s: the code was lost without an err", cases[i]);
		cr_assert_eq(rc, with_err, "%s: %d without an err, %d with one (%s)", cases[i], rc, with_err, err.msg);
	}
	pl_buf_release(&p);
}
