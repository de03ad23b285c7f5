/* Limits every sandbox has without asking (processes, memory, open files,
 * output), and the private tmpfs (/tmp, /var/tmp, /dev/shm, /run) sized by
 * the memory limit: memory no rlimit counts. */
#include "sbx_test.h"
#include "tests/shell.h"

#include <mqueue.h>
#include <sys/inotify.h>

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

/* ---------------------------------------------------------------- red team 2: what rlimits do not count */

Test(limits, the_private_tmpfs_has_an_inode_limit_too)
{
	sbx_config cfg;
	sbx_result r;

	/* empty files cost no tmpfs size, but kernel memory each */
	sbx_config_init(&cfg);
	cfg.limits.memory = 32 << 20;
	cfg.cgroup = SBX_CGUSE_OFF;
	run_sh(&r, &cfg,
	       "df --output=itotal /tmp | tail -1 | tr -d ' '; cd /tmp; i=0; "
	       "while [ $i -lt 5000 ] && : 2>/dev/null > f$i; do i=$((i+1)); done; echo $i");
	unsigned total = 0, made = 0;

	cr_assert_eq(r.exit_code, 0, "%s", r.err.ptr);
	cr_assert_eq(sscanf(r.out.ptr, "%u %u", &total, &made), 2, "%s", r.out.ptr);
	cr_assert_eq(total, 4096, "%s", r.out.ptr);
	/* the tmpfs's root and the private directories take a few */
	cr_assert(made >= 4080 && made < 4096, "%u files made", made);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(limits, sysv_ipc_is_bounded_by_the_memory_limit)
{
	sbx_config cfg;
	sbx_result r;

	if (geteuid() != 0)
		cr_skip_test("an IPC namespace's sysctls are writable by its root alone, which an unprivileged "
			     "caller's sandbox cannot map");
	sbx_config_init(&cfg);
	cfg.limits.memory = 32 << 20;
	cfg.cgroup = SBX_CGUSE_OFF;
	run_sh(&r, &cfg,
	       "cd /proc/sys/kernel; echo $(cat shmmax shmall shmmni msgmni msgmnb sem); "
	       "ipcmk -M 16M >/dev/null && echo shm-16M-ok; "
	       "ipcmk -M 16M >/dev/null && echo shm-32M-ok; "
	       "ipcmk -M 16M >/dev/null 2>&1 || echo shm-48M-refused; "
	       "ipcmk -M 64M >/dev/null 2>&1 || echo shm-64M-refused");
	cr_assert_eq(r.exit_code, 0, "%s", r.err.ptr);
	cr_assert_str_eq(r.out.ptr,
			 "33554432 8192 64 32 16384 250 8000 32 128\nshm-16M-ok\nshm-32M-ok\nshm-48M-refused\n"
			 "shm-64M-refused\n",
			 "%s", r.err.ptr);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(limits, files_and_memfds_have_a_size_limit_by_default)
{
	sbx_config cfg;
	sbx_result r;

	sbx_config_init(&cfg);
	cr_assert_eq(cfg.limits.fsize, cfg.limits.memory);
	cfg.limits.fsize = 1 << 20;
	run_sh(&r, &cfg,
	       "ulimit -f; /usr/bin/python3 -c 'import os\n"
	       "fd = os.memfd_create(\"x\")\n"
	       "try:\n os.ftruncate(fd, 2 << 20); print(\"grown\")\n"
	       "except OSError as e: print(\"refused\", e.errno)'");
	cr_assert_str_eq(r.out.ptr, "1024\nrefused 27\n", "%s", r.err.ptr);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(limits, ptys_are_bounded)
{
	sbx_config cfg;
	sbx_result r;

	sbx_config_init(&cfg);
	run_sh(&r, &cfg,
	       "/usr/bin/python3 -c 'import os\n"
	       "n = 0\n"
	       "try:\n"
	       " while n < 500: os.open(\"/dev/ptmx\", os.O_RDWR | os.O_NOCTTY); n += 1\n"
	       "except OSError as e: print(n, e.errno)'");
	cr_assert_str_eq(r.out.ptr, "64 28\n", "%s", r.err.ptr);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

/* fs.file-max, as this machine has it */
static uint64_t file_max(void)
{
	pl_buf b = PL_BUF_INIT;
	unsigned long long v = 0;

	cr_assert_eq(pl_file_read(&b, "/proc/sys/fs/file-max", 0, NULL), 0);
	sscanf(b.ptr, "%llu", &v);
	pl_buf_release(&b);
	return v;
}

Test(limits, open_files_times_processes_stay_within_half_the_host_file_table)
{
	static const char *const profiles[] = { "agent", "test", "eval" };
	uint64_t fmax = file_max(), want;
	sbx_config cfg;
	sbx_result r;
	pl_err err = { 0 };
	size_t i;

	/* the defaults and every profile, as written */
	for (i = 0; i < PL_ARRAY_LEN(profiles); i++) {
		sbx_config_init(&cfg);
		cr_assert_leq(cfg.limits.nofile * cfg.limits.nproc, (uint64_t)1 << 20);
		cr_assert_eq(sbx_profile_load(&cfg, profiles[i], &err), 0, "%s", err.msg);
		cr_assert_leq(cfg.limits.nofile * cfg.limits.nproc, (uint64_t)1 << 20, "%s", profiles[i]);
		sbx_config_release(&cfg);
	}
	/* and whatever is asked, on this machine */
	sbx_config_init(&cfg);
	cfg.cgroup = SBX_CGUSE_OFF;
	cfg.limits.nproc = 1024;
	cfg.limits.nofile = 1 << 20;
	want = fmax / 2 / 1024;
	if (want < 256)
		want = 256;
	if (want > cfg.limits.nofile)
		want = cfg.limits.nofile;
	run_sh(&r, &cfg, "ulimit -n");
	cr_assert_eq(strtoull(r.out.ptr, NULL, 10), want, "%s (fs.file-max %llu)", r.out.ptr, (unsigned long long)fmax);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

/* A flood of per-user kernel objects inside (held by a background process
 * of a session), then the check on the host while the flood holds them. */
static void flood_then(const char *flood, unsigned most, void (*check)(void))
{
	char script[1024];
	const char *argv[] = { "/bin/bash", "-c", script, NULL };
	const char *wait_argv[] = { "/bin/bash", "-c",
				    "for i in $(seq 200); do [ -s /tmp/count ] && break; sleep 0.05; done; cat /tmp/count",
				    NULL };
	sbx_config cfg;
	sbx_session *s = NULL;
	sbx_result r;
	pl_err err = { 0 };
	unsigned n = 0;

	snprintf(script, sizeof(script), "/usr/bin/python3 -c '%s' > /tmp/log 2>&1 </dev/null & ", flood);
	sbx_config_init(&cfg);
	sbx_result_init(&r);
	cr_assert_eq(sbx_session_open(&s, &cfg, &err), 0, "%s", err.msg);
	cr_assert_eq(sbx_session_exec(&r, s, argv, NULL, &err), 0, "%s", err.msg);
	/* the flood writes its count once it has taken all it could */
	cr_assert_eq(sbx_session_exec(&r, s, wait_argv, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(sscanf(r.out.ptr, "%u", &n), 1, "the flood said: %s", r.out.ptr);
	cr_assert_gt(n, 0, "%s", r.out.ptr);
	cr_assert_leq(n, most, "the flood took %u", n);
	check();
	sbx_session_close(s);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

#define FLOOD_HEAD                                                                                                    \
	"import ctypes, os, time\n"                                                                                   \
	"libc = ctypes.CDLL(None, use_errno=True)\n"                                                                  \
	"n = 0\n"
#define FLOOD_TAIL                                                                                                    \
	"f = open(\"/tmp/count.tmp\", \"w\"); f.write(\"%d\\n\" % n); f.close(); os.rename(\"/tmp/count.tmp\", "    \
	"\"/tmp/count\")\n"                                                                                          \
	"time.sleep(120)\n"

static void host_inotify_works(void)
{
	int fd = inotify_init1(IN_CLOEXEC);

	cr_assert_geq(fd, 0, "the host's inotify_init failed while a sandbox held its instances: %s", strerror(errno));
	close(fd);
}

Test(limits, an_inotify_flood_leaves_the_host_its_own_instances)
{
	flood_then(FLOOD_HEAD "while n < 100000 and libc.inotify_init1(0) >= 0: n += 1\n" FLOOD_TAIL, 32,
		   host_inotify_works);
}

static void host_mqueue_works(void)
{
	char name[64];
	mqd_t q;

	snprintf(name, sizeof(name), "/plait-test-%d", (int)getpid());
	q = mq_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, NULL);
	cr_assert_neq(q, (mqd_t)-1, "the host's mq_open failed while a sandbox held its queue bytes: %s",
		      strerror(errno));
	mq_close(q);
	mq_unlink(name);
}

Test(limits, a_message_queue_flood_leaves_the_host_its_own_quota)
{
	flood_then(FLOOD_HEAD "while n < 100000 and libc.mq_open(b\"/q%d\" % n, 0o102, 0o600, None) >= 0: n += 1\n"
			      FLOOD_TAIL,
		   /* 256 KiB of queues of about 80 KiB each */
		   3, host_mqueue_works);
}

Test(limits, message_queues_and_pending_signals_have_rlimits)
{
	sbx_config cfg;
	sbx_result r;

	sbx_config_init(&cfg);
	run_sh(&r, &cfg, "ulimit -q; ulimit -i");
	cr_assert_str_eq(r.out.ptr, "262144\n4096\n", "%s", r.err.ptr);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}
