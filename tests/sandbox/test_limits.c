/* Limits every sandbox has without asking (processes, memory, open files,
 * output), and the private tmpfs (/tmp, /var/tmp, /dev/shm, /run) sized by
 * the memory limit: memory no rlimit counts. */
#include "sbx_test.h"
#include "tests/shell.h"

TestSuite(limits, .timeout = 60);

static void run_sh(sbx_result *r, const sbx_config *cfg, const char *script)
{
	const char *argv[] = { "/bin/bash", "-c", script, NULL };
	pl_err err = { 0 };

	sbx_result_init(r);
	cr_assert_eq(sbx_run(r, cfg, argv, &err), 0, "%s", err.msg);
}

Test(limits, a_config_bounds_processes_memory_files_and_output_by_default)
{
	const char *bomb[] = { probe_path(), "fork_bomb", NULL };
	sbx_config cfg;
	sbx_result r;
	unsigned n = 0;

	sbx_config_init(&cfg);
	cr_assert_eq(cfg.limits.nproc, 1024);
	cr_assert_eq(cfg.limits.memory, (uint64_t)4 << 30);
	cr_assert_eq(cfg.limits.nofile, 1024);
	cr_assert_eq(cfg.output_cap, 1 << 20);
	/* as rlimits where no cgroup v2 takes memory and processes */
	cfg.cgroup = SBX_CGUSE_OFF;
	run_sh(&r, &cfg, "ulimit -u; ulimit -v; ulimit -n; head -c 3000000 /dev/zero");
	cr_assert(pl_str_starts_with(r.out.ptr, "1024\n4194304\n1024\n"), "%.40s", r.out.ptr);
	cr_assert(r.out_truncated);
	cr_assert_lt(r.out.len, (1 << 20) + 100);
	sbx_result_release(&r);
	/* a fork bomb with nothing asked stops short of the default */
	sbx_config_add_bind(&cfg, probe_dir(), NULL, true);
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, bomb, NULL), 0);
	cr_assert_eq(sscanf(r.out.ptr, "fork refused after %u children", &n), 1, "%s", r.out.ptr);
	cr_assert_lt(n, 1024);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(limits, the_cli_and_every_profile_have_limits)
{
	static const char *const profiles[] = { "agent", "test", "eval" };
	sbx_config cfg;
	pl_buf out = PL_BUF_INIT;
	pl_err err = { 0 };
	size_t i;

	cr_assert_eq(test_sh(&out, "'%s' sandbox run --cgroup off -- /bin/bash -c 'ulimit -u; ulimit -v; ulimit -n' 2>&1",
			     test_plait_bin()),
		     0);
	cr_assert_str_eq(out.ptr, "1024\n4194304\n1024\n");
	for (i = 0; i < PL_ARRAY_LEN(profiles); i++) {
		sbx_config_init(&cfg);
		cr_assert_eq(sbx_profile_load(&cfg, profiles[i], &err), 0, "%s", err.msg);
		cr_assert_gt(cfg.limits.nproc, 0, "%s", profiles[i]);
		cr_assert_gt(cfg.limits.memory, 0, "%s", profiles[i]);
		cr_assert_gt(cfg.limits.nofile, 0, "%s", profiles[i]);
		cr_assert_gt(cfg.output_cap, 0, "%s", profiles[i]);
		cr_assert_gt(cfg.limits.timeout, 0, "%s", profiles[i]);
		sbx_config_release(&cfg);
	}
	/* and each is overridable */
	pl_buf_reset(&out);
	cr_assert_eq(test_sh(&out,
			     "'%s' sandbox run --cgroup off --nproc 77 --memory 1G --nofile 99 -- "
			     "/bin/bash -c 'ulimit -u; ulimit -v; ulimit -n' 2>&1",
			     test_plait_bin()),
		     0);
	cr_assert_str_eq(out.ptr, "77\n1048576\n99\n");
	pl_buf_release(&out);
}

Test(limits, the_private_tmpfs_is_bounded_by_the_memory_limit)
{
	sbx_config cfg;
	sbx_result r;

	/* 400 MiB of /tmp once fitted under --memory 32M: tmpfs pages are
	 * memory that RLIMIT_AS does not count.  Now /tmp, /var/tmp, /dev/shm
	 * and /run share one tmpfs of that size. */
	sbx_config_init(&cfg);
	cfg.limits.memory = 32 << 20;
	cfg.cgroup = SBX_CGUSE_OFF;
	run_sh(&r, &cfg,
	       "for d in /tmp /var/tmp /dev/shm /run; do df -k --output=size $d | tail -1 | tr -d ' '; done; "
	       "head -c 20000000 /dev/zero > /tmp/a && echo tmp-ok; "
	       "head -c 20000000 /dev/zero > /dev/shm/b 2>/dev/null || echo shm-full; "
	       "rm /tmp/a; head -c 20000000 /dev/zero > /dev/shm/b && echo shm-ok; "
	       "head -c 40000000 /dev/zero > /var/tmp/c 2>/dev/null || echo var-tmp-full");
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out.ptr, r.err.ptr);
	cr_assert_str_eq(r.out.ptr, "32768\n32768\n32768\n32768\ntmp-ok\nshm-full\nshm-ok\nvar-tmp-full\n", "%s",
			 r.err.ptr);
	sbx_result_release(&r);
	/* by default, the default memory limit */
	sbx_config_release(&cfg);
	sbx_config_init(&cfg);
	run_sh(&r, &cfg, "df -k --output=size /tmp | tail -1 | tr -d ' '");
	cr_assert_str_eq(r.out.ptr, "4194304\n");
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}
