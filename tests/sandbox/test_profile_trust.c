/* Where profiles come from: never from beside the program (a plait binary
 * in a work directory would read what the sandboxed code wrote there), and
 * never from a file that others may write or another user owns. */
#include "sbx_test.h"
#include "tests/shell.h"

static pl_buf dir = PL_BUF_INIT;

static void setup(void)
{
	cr_assert_eq(pl_mkdtemp(&dir, "plait-profile-trust", NULL), 0);
	chmod(dir.ptr, 0755);
}

static void teardown(void)
{
	pl_rm_rf(dir.ptr, NULL);
	pl_buf_release(&dir);
}

TestSuite(profile_trust, .init = setup, .fini = teardown, .timeout = 60);

Test(profile_trust, a_profile_beside_a_plait_binary_is_not_read)
{
	pl_buf out = PL_BUF_INIT;

	/* a checkout the sandbox could write: bin/plait and configs/sandbox
	 * beside it, a profile that shares the host's network */
	cr_assert_eq(test_sh(NULL,
			     "cd '%s' && mkdir -p bin configs/sandbox build && cp '%s' bin/plait && cp '%s' build/plait && "
			     "echo '{\"network\": true}' > configs/sandbox/planted.json",
			     dir.ptr, test_plait_bin(), test_plait_bin()),
		     0);
	cr_assert_eq(test_sh(&out, "cd / && env -u PLAIT_ROOT -u PLAIT_SANDBOX_PROFILES '%s/bin/plait' sandbox run --profile "
				   "planted -- /bin/true 2>&1",
			     dir.ptr),
		     125, "%s", out.ptr);
	cr_assert(strstr(out.ptr, "sandbox profile 'planted' not found"), "%s", out.ptr);
	pl_buf_reset(&out);
	cr_assert_eq(test_sh(&out, "cd / && env -u PLAIT_ROOT -u PLAIT_SANDBOX_PROFILES '%s/build/plait' sandbox run --profile "
				   "planted -- /bin/true 2>&1",
			     dir.ptr),
		     125, "%s", out.ptr);
	cr_assert(strstr(out.ptr, "not found"), "%s", out.ptr);
	/* with PLAIT_ROOT naming the tree, a user's deliberate choice, it is */
	pl_buf_reset(&out);
	cr_assert_eq(test_sh(&out, "cd / && PLAIT_ROOT='%s' '%s/bin/plait' sandbox run --profile planted -- /bin/true 2>&1",
			     dir.ptr, dir.ptr),
		     0, "%s", out.ptr);
	pl_buf_release(&out);
}

Test(profile_trust, a_profile_others_may_write_or_another_user_owns_is_refused)
{
	pl_buf p = PL_BUF_INIT, sub = PL_BUF_INIT;
	sbx_config cfg;
	pl_err err = { 0 };

	pl_path_join(&p, dir.ptr, "p.json");
	write_text(p.ptr, "{\"network\": true}\n");
	cr_assert_eq(chmod(p.ptr, 0666), 0);
	sbx_config_init(&cfg);
	cr_assert_lt(sbx_profile_load(&cfg, p.ptr, &err), 0);
	cr_assert(strstr(err.msg, "may be written by other users"), "%s", err.msg);
	cr_assert(strstr(err.msg, p.ptr), "%s", err.msg);
	cr_assert(!cfg.network, "the refused profile was applied");
	/* its directory, the same */
	cr_assert_eq(chmod(p.ptr, 0644), 0);
	cr_assert_eq(chmod(dir.ptr, 0777), 0);
	cr_assert_lt(sbx_profile_load(&cfg, p.ptr, &err), 0);
	cr_assert(strstr(err.msg, "may be written by other users"), "%s", err.msg);
	cr_assert_eq(chmod(dir.ptr, 0755), 0);
	/* as it should be */
	cr_assert_eq(sbx_profile_load(&cfg, p.ptr, &err), 0, "%s", err.msg);
	cr_assert(cfg.network);
	sbx_config_release(&cfg);
	if (geteuid() != 0) {
		pl_buf_release(&p);
		pl_buf_release(&sub);
		cr_skip_test("giving a file to another user needs root");
	}
	pl_path_join(&sub, dir.ptr, "other.json");
	write_text(sub.ptr, "{\"network\": true}\n");
	cr_assert_eq(chown(sub.ptr, 12345, 12345), 0);
	sbx_config_init(&cfg);
	cr_assert_lt(sbx_profile_load(&cfg, sub.ptr, &err), 0);
	cr_assert(strstr(err.msg, "is owned by uid 12345"), "%s", err.msg);
	cr_assert(!cfg.network);
	sbx_config_release(&cfg);
	pl_buf_release(&p);
	pl_buf_release(&sub);
}
