/* The escape and abuse suite: each probe (tests/sandbox/probes/probe.c or a
 * shell line) runs inside a real sandbox; each test asserts that the probe
 * was stopped or killed for the right reason and that the host is as it
 * was. */
#include "sbx_test.h"
#include "tests/shell.h"

#include <sys/shm.h>
#include <sys/xattr.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>

static pl_buf tmp = PL_BUF_INIT;    /* fixture root, 0755 */
static pl_buf canary = PL_BUF_INIT; /* host dir outside every bind */
static pl_buf work = PL_BUF_INIT;   /* writable workdir, owned by the sandbox user */
static pl_buf before = PL_BUF_INIT;

static void setup(void)
{
	pl_err err = { 0 };

	cr_assert_eq(pl_mkdtemp(&tmp, "plait-escape", &err), 0, "%s", err.msg);
	chmod(tmp.ptr, 0755);
	pl_path_join(&canary, tmp.ptr, "canary");
	pl_path_join(&work, tmp.ptr, "work");
	cr_assert_eq(mkdir(canary.ptr, 0755), 0);
	cr_assert_eq(mkdir(work.ptr, 0755), 0);
	give_to_sandbox(work.ptr, 0755);
	{
		pl_buf s = PL_BUF_INIT;

		pl_path_join(&s, canary.ptr, "secret");
		write_text(s.ptr, "s3cret\n");
		chmod(s.ptr, 0600);
		pl_buf_release(&s);
	}
	host_snapshot(&before, canary.ptr);
}

static void teardown(void)
{
	pl_buf after = PL_BUF_INIT;

	host_snapshot(&after, canary.ptr);
	cr_expect_str_eq(after.ptr, before.ptr, "the host changed");
	pl_buf_release(&after);
	pl_rm_rf(tmp.ptr, NULL);
	pl_buf_release(&tmp);
	pl_buf_release(&canary);
	pl_buf_release(&work);
	pl_buf_release(&before);
}

TestSuite(escape, .init = setup, .fini = teardown, .timeout = 60);

/* Run the probe in a sandbox built from cfg; returns the result. */
static void run_probe(sbx_result *res, const sbx_config *cfg, const char *mode, const char *arg)
{
	const char *argv[] = { probe_path(), mode, arg, NULL };
	pl_err err = { 0 };

	sbx_result_init(res);
	cr_assert_eq(sbx_run(res, cfg, argv, &err), 0, "%s", err.msg);
}

/* The probe must report "stopped for the expected reason" (exit 0). */
static void contained(const char *mode, const char *arg)
{
	sbx_config cfg;
	sbx_result r;

	probe_config(&cfg);
	sbx_config_set_workdir(&cfg, work.ptr);
	run_probe(&r, &cfg, mode, arg);
	cr_assert_eq(r.exit_code, 0, "probe %s %s: exit %d signal %d: %s%s", mode, arg ? arg : "", r.exit_code,
		     r.signal, r.out.ptr, r.err.ptr);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

#define SYS_PROBE(name) \
	Test(escape, name) { contained("sys", #name); }

/* Writes outside the allowed directories. */
SYS_PROBE(write_root)
SYS_PROBE(write_usr)
SYS_PROBE(sysctl)
SYS_PROBE(core_pattern)
SYS_PROBE(sysfs)
/* Mount and pivot attempts, the new mount API, chroot. */
SYS_PROBE(mount)
SYS_PROBE(umount)
SYS_PROBE(pivot_root)
SYS_PROBE(chroot)
SYS_PROBE(fsopen)
SYS_PROBE(open_tree)
/* Nested namespaces. */
SYS_PROBE(unshare_user)
SYS_PROBE(unshare_ns)
SYS_PROBE(clone_user)
SYS_PROBE(clone3)
SYS_PROBE(setns)
/* Kernel attack surface no test suite needs. */
SYS_PROBE(keyctl)
SYS_PROBE(add_key)
SYS_PROBE(bpf)
SYS_PROBE(perf_event_open)
SYS_PROBE(userfaultfd)
SYS_PROBE(init_module)
SYS_PROBE(finit_module)
SYS_PROBE(kexec_load)
SYS_PROBE(io_uring_setup)
SYS_PROBE(io_setup)
SYS_PROBE(syslog)
SYS_PROBE(open_by_handle_at)
SYS_PROBE(process_vm)
/* Devices and privileges. */
SYS_PROBE(mknod)
SYS_PROBE(sethostname)
SYS_PROBE(raw_socket)
SYS_PROBE(dev_mem)
SYS_PROBE(dev_disk)
SYS_PROBE(shadow)
/* /proc/1/root and /proc/self/exe tricks; ptrace of the init. */
SYS_PROBE(proc1_root)
SYS_PROBE(proc1_exe)
SYS_PROBE(proc_self_exe)
SYS_PROBE(ptrace_init)
/* Calls the filter learned later: the mount family's newest, quotas by
 * descriptor, openat2 (whose mode a filter cannot read). */
SYS_PROBE(open_tree_attr)
SYS_PROBE(quotactl_fd)
SYS_PROBE(openat2)
/* Socket families network namespaces do not isolate, or no suite needs. */
SYS_PROBE(vsock)
/* Kernel files and knobs, the init's memory and environment. */
SYS_PROBE(kcore)
SYS_PROBE(modprobe)
SYS_PROBE(sysrq)
SYS_PROBE(cgroup_write)
SYS_PROBE(proc1_mem)
SYS_PROBE(proc1_environ)
/* Ids, limits and process state the sandbox may not change. */
SYS_PROBE(setuid_root)
SYS_PROBE(setgroups)
SYS_PROBE(raise_rlimit)
SYS_PROBE(raise_core)
SYS_PROBE(prctl_set_mm)
SYS_PROBE(dev_tty)
/* Writes by the back door: an O_PATH descriptor reopened, /proc/self/root,
 * an O_TMPFILE file linked elsewhere. */
SYS_PROBE(o_path_write)
SYS_PROBE(proc_self_root)
SYS_PROBE(tmpfile_link)

Test(escape, socket_families_outside_the_allowlist) { contained("socket_families", NULL); }

/* Nothing left in the work directory may run with raised ids on the host:
 * no setuid or setgid bit, no file capability. */
static void no_setid_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char buf[64];
	size_t n = 0;

	cr_assert(d);
	while ((e = readdir(d))) {
		struct stat st;
		pl_buf p = PL_BUF_INIT;

		if (e->d_name[0] == '.')
			continue;
		pl_path_join(&p, dir, e->d_name);
		cr_assert_eq(lstat(p.ptr, &st), 0);
		cr_assert_eq(st.st_mode & 06000, 0, "%s has mode %o on the host", p.ptr, (unsigned)st.st_mode);
		cr_assert_lt(lgetxattr(p.ptr, "security.capability", buf, sizeof(buf)), 0, "%s has file capabilities",
			     p.ptr);
		pl_buf_release(&p);
		n++;
	}
	closedir(d);
	cr_assert_gt(n, 0, "the probe made no file");
}

Test(escape, setuid_and_setgid_bits_are_refused)
{
	contained("setid", work.ptr);
	no_setid_files(work.ptr);
}

Test(escape, file_capabilities_are_refused)
{
	contained("file_caps", work.ptr);
	no_setid_files(work.ptr);
}

Test(escape, tiocsti) { contained("tiocsti", NULL); }
Test(escape, tiocsti_high_bits) { contained("tiocsti_high", NULL); }
Test(escape, tioclinux) { contained("tioclinux", NULL); }
Test(escape, ptrace_of_a_sibling) { contained("ptrace_child", NULL); }
Test(escape, capabilities_seccomp_no_new_privs) { contained("status", NULL); }
Test(escape, internet_unreachable) { contained("connect_internet", NULL); }

Test(escape, symlink_out_of_workdir)
{
	contained("symlink", work.ptr);
	cr_assert(!pl_file_exists("/etc/plait-probe"));
}

Test(escape, hardlink_into_workdir)
{
	pl_buf p = PL_BUF_INIT;

	contained("hardlink", work.ptr);
	pl_path_join(&p, work.ptr, "passwd");
	cr_assert(!pl_file_exists(p.ptr));
	pl_buf_release(&p);
}

Test(escape, host_tmp_is_not_visible)
{
	pl_buf p = PL_BUF_INIT;

	pl_path_join(&p, canary.ptr, "secret");
	contained("read", p.ptr);
	pl_buf_release(&p);
}

Test(escape, host_secret_outside_binds_is_unreadable)
{
	if (geteuid() != 0) {
		teardown(); /* cr_skip_test leaves without .fini */
		cr_skip_test("needs root: an unprivileged caller's sandbox runs as the caller, and may read what the "
			     "caller may (docs/SANDBOX.md)");
	}
	/* A root-only file in a directory the sandbox can see: visible but
	 * unreadable. */
	pl_buf dir = PL_BUF_INIT, p = PL_BUF_INIT;

	visible_host_dir(&dir);
	pl_buf_printf(&dir, "/.plait-secret-%d", (int)getpid());
	cr_assert_eq(pl_mkdir_p(dir.ptr, 0755, NULL), 0);
	chmod(dir.ptr, 0755);
	pl_path_join(&p, dir.ptr, "key");
	write_text(p.ptr, "s3cret\n");
	cr_assert_eq(chmod(p.ptr, 0600), 0);
	contained("read_denied", p.ptr);
	pl_rm_rf(dir.ptr, NULL);
	pl_buf_release(&dir);
	pl_buf_release(&p);
}

Test(escape, read_only_bind_stays_read_only)
{
	sbx_config cfg;
	sbx_result r;
	pl_buf ro = PL_BUF_INIT, target = PL_BUF_INIT;

	pl_path_join(&ro, tmp.ptr, "ro");
	cr_assert_eq(mkdir(ro.ptr, 0777), 0);
	chmod(ro.ptr, 0777);
	pl_path_join(&target, ro.ptr, "x");
	probe_config(&cfg);
	sbx_config_add_bind(&cfg, ro.ptr, NULL, true);
	run_probe(&r, &cfg, "write_ro", target.ptr);
	cr_assert_eq(r.exit_code, 0, "%s", r.out.ptr);
	cr_assert(!pl_file_exists(target.ptr));
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&ro);
	pl_buf_release(&target);
}

Test(escape, host_loopback_server_unreachable)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	char port[16];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(s, 4), 0);
	cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
	snprintf(port, sizeof(port), "%d", ntohs(a.sin_port));
	contained("connect_tcp", port);
	cr_assert_lt(accept(s, NULL, NULL), 0, "the host's server got a connection");
	cr_assert_eq(errno, EAGAIN);
	close(s);
}

/* A listening unix socket on the host at path; returns its descriptor. */
static int unix_server(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	cr_assert_lt(strlen(path), sizeof(a.sun_path));
	strcpy(a.sun_path, path);
	unlink(path);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(chmod(path, 0777), 0);
	cr_assert_eq(listen(s, 4), 0);
	return s;
}

Test(escape, host_unix_sockets_in_run_are_out_of_sight)
{
	pl_buf dir = PL_BUF_INIT, sock = PL_BUF_INIT, bus = PL_BUF_INIT;
	int s1, s2;

	/* docker.sock and the system bus live in /run; a user's session bus in
	 * /run/user/UID; /var/run leads to /run */
	pl_buf_printf(&sock, "/run/plait-probe-%d.sock", (int)getpid());
	pl_buf_printf(&dir, "/run/user/plait-probe-%d", (int)getpid());
	if (access("/run", W_OK) < 0 || (mkdir("/run/user", 0755) < 0 && errno != EEXIST) ||
	    mkdir(dir.ptr, 0700) < 0) {
		teardown(); /* cr_skip_test leaves without .fini */
		cr_skip_test("cannot make a socket in the host's /run as uid %d", (int)geteuid());
	}
	pl_path_join(&bus, dir.ptr, "bus");
	s1 = unix_server(sock.ptr);
	s2 = unix_server(bus.ptr);
	contained("connect_unix", sock.ptr);
	contained("connect_unix", bus.ptr);
	pl_buf_reset(&sock);
	pl_buf_printf(&sock, "/var/run/plait-probe-%d.sock", (int)getpid());
	contained("connect_unix", sock.ptr);
	cr_assert_lt(accept(s1, NULL, NULL), 0, "the host's server got a connection");
	cr_assert_lt(accept(s2, NULL, NULL), 0, "the host's session bus got a connection");
	close(s1);
	close(s2);
	pl_buf_reset(&sock);
	pl_buf_printf(&sock, "/run/plait-probe-%d.sock", (int)getpid());
	unlink(sock.ptr);
	pl_rm_rf(dir.ptr, NULL);
	pl_buf_release(&dir);
	pl_buf_release(&sock);
	pl_buf_release(&bus);
}

Test(escape, host_abstract_socket_unreachable)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char name[64];
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	snprintf(name, sizeof(name), "plait-probe-%d", (int)getpid());
	strcpy(a.sun_path + 1, name);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, (socklen_t)(sizeof(sa_family_t) + 1 + strlen(name))), 0);
	cr_assert_eq(listen(s, 4), 0);
	contained("connect_abstract", name);
	cr_assert_lt(accept(s, NULL, NULL), 0, "the host's server got a connection");
	close(s);
}

Test(escape, fork_bomb_is_bounded)
{
	sbx_config cfg;
	sbx_result r;

	char token[64];

	/* a token of this run's own on the bomb's command line: other tests
	 * run the probe meanwhile */
	snprintf(token, sizeof(token), "plait-bomb-%d", (int)getpid());
	probe_config(&cfg);
	cfg.limits.nproc = 64;
	cfg.cgroup = SBX_CGUSE_OFF; /* the rlimits; test_cgroup.c checks pids.max */
	run_probe(&r, &cfg, "fork_bomb", token);
	cr_assert_eq(r.exit_code, 0, "%s", r.out.ptr);
	cr_assert(!r.timed_out);
	/* the children it left paused died with the sandbox */
	cr_assert(!process_with_token(token), "a child of the bomb outlived its sandbox");
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(escape, shell_fork_bomb_is_bounded)
{
	const char *argv[] = { "/bin/sh", "-c", "b() { b | b & }; b; sleep 1; echo survived", NULL };
	sbx_config cfg;
	sbx_result r;

	probe_config(&cfg);
	cfg.limits.nproc = 64;
	cfg.limits.timeout = 10;
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, NULL), 0);
	/* bounded: fork failures show, and nothing outlives the run */
	cr_assert(strstr(r.err.ptr, "fork") || strstr(r.err.ptr, "Resource temporarily unavailable") || r.timed_out,
		  "%s", r.err.ptr);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(escape, memory_hog_is_refused)
{
	sbx_config cfg;
	sbx_result r;

	probe_config(&cfg);
	cfg.limits.memory = 256 << 20;
	cfg.cgroup = SBX_CGUSE_OFF; /* RLIMIT_AS; test_cgroup.c checks memory.max */
	run_probe(&r, &cfg, "memory_hog", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.out.ptr);
	cr_assert_lt(r.peak_rss, (uint64_t)256 << 20);
	cr_assert_gt(r.peak_rss, (uint64_t)64 << 20, "the hog did not run");
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(escape, infinite_loop_hits_the_cpu_limit)
{
	sbx_config cfg;
	sbx_result r;

	probe_config(&cfg);
	cfg.limits.cpu_seconds = 1;
	run_probe(&r, &cfg, "spin", NULL);
	cr_assert_eq(r.signal, SIGXCPU);
	cr_assert(r.limits_hit & SBX_LIMIT_CPU);
	cr_assert(!r.timed_out);
	cr_assert_gt(r.cpu_time, 0);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(escape, sleeping_forever_hits_the_timeout)
{
	const char *argv[] = { "/bin/sh", "-c", "sleep 1000 & sleep 1000", NULL };
	sbx_config cfg;
	sbx_result r;
	char token[64];

	probe_config(&cfg);
	cfg.limits.timeout = 0.3;
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, NULL), 0);
	cr_assert(r.timed_out);
	cr_assert(r.limits_hit & SBX_LIMIT_TIMEOUT);
	cr_assert_eq(r.signal, SIGKILL);
	snprintf(token, sizeof(token), "sleep 1000");
	(void)token;
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(escape, double_forked_daemon_dies_with_the_run)
{
	char script[512], token[64];
	const char *argv[] = { "/bin/bash", "-c", script, NULL };
	sbx_config cfg;
	sbx_result r;

	snprintf(token, sizeof(token), "plait-daemon-%d", (int)getpid());
	/* setsid + double fork, stdio detached: a classic daemon */
	snprintf(script, sizeof(script),
		 "(setsid bash -c 'exec -a %s sleep 300' </dev/null >/dev/null 2>&1 &) ; "
		 "for i in $(seq 100); do n=$(ps -eo args | grep -c '^%s'); [ $n -ge 1 ] && break; sleep 0.1; done; "
		 "echo $n",
		 token, token);
	probe_config(&cfg);
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, NULL), 0);
	cr_assert_eq(r.exit_code, 0, "%s", r.err.ptr);
	cr_assert_str_eq(r.out.ptr, "1\n", "the daemon did not start inside: %s", r.out.ptr);
	cr_assert(!process_with_token(token), "the daemon outlived the sandbox");
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(escape, ptrace_and_kill_of_a_host_process)
{
	pid_t host = fork();
	char pid[16];
	int st;

	cr_assert_geq(host, 0);
	if (host == 0) {
		/* gone with the test's worker even when an assertion ends it
		 * before the kill below */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pause();
		_exit(0);
	}
	snprintf(pid, sizeof(pid), "%d", (int)host);
	contained("ptrace_host", pid);
	contained("kill_all", pid);
	cr_assert_eq(waitpid(host, &st, WNOHANG), 0, "the host process died");
	kill(host, SIGKILL);
	waitpid(host, &st, 0);
}

Test(escape, setuid_binary_gives_nothing)
{
	const char *argv[] = { NULL, "-u", NULL };
	pl_buf dir = PL_BUF_INIT, bin = PL_BUF_INIT, cmd = PL_BUF_INIT, want = PL_BUF_INIT;
	sbx_config cfg;
	sbx_result r;

	pl_path_join(&dir, tmp.ptr, "suid");
	cr_assert_eq(mkdir(dir.ptr, 0755), 0);
	pl_path_join(&bin, dir.ptr, "id");
	pl_buf_printf(&cmd, "cp /usr/bin/id %s && chmod 4755 %s", bin.ptr, bin.ptr);
	cr_assert_eq(host_sh(cmd.ptr), 0);
	argv[0] = bin.ptr;
	probe_config(&cfg);
	sbx_config_add_bind(&cfg, dir.ptr, NULL, true);
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, NULL), 0);
	{
		unsigned uid = 0;

		cr_assert_eq(sscanf(r.out.ptr, "%u", &uid), 1, "%s%s", r.out.ptr, r.err.ptr);
		cr_assert(sandbox_uid_ok(uid), "a setuid binary changed the effective uid to %u", uid);
	}
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&dir);
	pl_buf_release(&bin);
	pl_buf_release(&cmd);
	pl_buf_release(&want);
}

Test(escape, output_flood_is_capped)
{
	const char *argv[] = { "/bin/sh", "-c", "head -c 50000000 /dev/zero | tr '\\0' x; echo done >&2", NULL };
	sbx_config cfg;
	sbx_result r;

	probe_config(&cfg);
	cfg.output_cap = 64 << 10;
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, NULL), 0);
	cr_assert_eq(r.exit_code, 0);
	cr_assert_eq(r.out_bytes, 50000000);
	cr_assert(r.out_truncated);
	cr_assert(r.limits_hit & SBX_LIMIT_OUTPUT);
	cr_assert_lt(r.out.len, (64 << 10) + 100);
	cr_assert(strstr(r.out.ptr, "bytes cut"));
	cr_assert_str_eq(r.err.ptr, "done\n");
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(escape, inherited_descriptors_are_closed)
{
	pl_buf p = PL_BUF_INIT;
	int fd;

	pl_path_join(&p, canary.ptr, "secret");
	fd = open(p.ptr, O_RDONLY); /* no O_CLOEXEC on purpose */
	cr_assert_geq(fd, 0);
	cr_assert_geq(dup2(fd, 100), 0);
	contained("fds", NULL);
	close(fd);
	close(100);
	pl_buf_release(&p);
}

Test(escape, pidfds_reach_no_host_process_and_not_the_init)
{
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	contained("pidfd", pid);
}

Test(escape, host_ipc_objects_are_not_visible)
{
	char key[16];
	int id;

	snprintf(key, sizeof(key), "%d", 0x504c0000 | (getpid() & 0xffff));
	id = shmget((key_t)atoi(key), 4096, IPC_CREAT | 0666);
	cr_assert_geq(id, 0, "%s", strerror(errno));
	contained("ipc", key);
	shmctl(id, IPC_RMID, NULL);
}

Test(escape, int80_system_calls_kill)
{
	sbx_config cfg;
	sbx_result r;

	probe_config(&cfg);
	run_probe(&r, &cfg, "int80", NULL);
	cr_assert_eq(r.signal, SIGSYS, "exit %d: %s", r.exit_code, r.out.ptr);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(escape, a_crash_leaves_no_core_file)
{
	sbx_config cfg;
	sbx_result r;
	DIR *d;
	struct dirent *e;

	probe_config(&cfg);
	sbx_config_set_workdir(&cfg, work.ptr);
	run_probe(&r, &cfg, "core", NULL);
	cr_assert_eq(r.signal, SIGABRT, "exit %d: %s", r.exit_code, r.out.ptr);
	d = opendir(work.ptr);
	cr_assert(d);
	while ((e = readdir(d)))
		cr_assert(strncmp(e->d_name, "core", 4), "a core file was left: %s", e->d_name);
	closedir(d);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	contained("sys", "raise_core");
}

Test(escape, the_init_survives_signals_from_inside)
{
	contained("kill_init", NULL);
}

Test(escape, the_callers_environment_stays_outside)
{
	setenv("PLAIT_PROBE_SECRET", "s3cret", 1);
	contained("env", "PLAIT_PROBE_SECRET");
}

/* What a timeout must kill whatever it does: a tree ignoring the polite
 * signals, a stopped child, a vfork'ed child left running. */
static void killed_by_the_timeout(const char *script, const char *token)
{
	const char *argv[] = { "/bin/bash", "-c", script, NULL };
	sbx_config cfg;
	sbx_result r;

	probe_config(&cfg);
	cfg.limits.timeout = 0.5;
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, NULL), 0);
	cr_assert(r.timed_out, "exit %d: %s%s", r.exit_code, r.out.ptr, r.err.ptr);
	cr_assert(!process_with_token(token), "a process outlived the timeout");
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(escape, a_timeout_kills_a_tree_that_ignores_signals)
{
	char s[256], token[64];

	snprintf(token, sizeof(token), "plait-ign-%d", (int)getpid());
	snprintf(s, sizeof(s), "trap '' TERM HUP INT QUIT USR1; (trap '' TERM HUP INT; exec -a %s sleep 300) & "
			       "exec -a %s sleep 300",
		 token, token);
	killed_by_the_timeout(s, token);
}

Test(escape, a_timeout_kills_stopped_and_vforked_children)
{
	char s[320], token[64];

	snprintf(token, sizeof(token), "plait-stop-%d", (int)getpid());
	/* a child that stops itself, and one started through vfork (the
	 * shell's own spawning) that setsid's away */
	snprintf(s, sizeof(s), "(exec -a %s sleep 300) & kill -STOP $!; setsid -f bash -c 'exec -a %s sleep 300'; "
			       "sleep 300",
		 token, token);
	killed_by_the_timeout(s, token);
}

Test(escape, x32_system_calls_kill)
{
	sbx_config cfg;
	sbx_result r;

	probe_config(&cfg);
	run_probe(&r, &cfg, "x32", NULL);
	cr_assert_eq(r.signal, SIGSYS, "exit %d: %s", r.exit_code, r.out.ptr);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(escape, file_size_limit)
{
	const char *argv[] = { "/bin/sh", "-c", "head -c 10000000 /dev/zero > /tmp/big", NULL };
	sbx_config cfg;
	sbx_result r;

	probe_config(&cfg);
	cfg.limits.fsize = 1 << 20;
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, NULL), 0);
	/* the shell reports its child's SIGXFSZ as 128+25 */
	cr_assert(r.exit_code == 128 + SIGXFSZ || r.signal == SIGXFSZ, "exit %d signal %d", r.exit_code, r.signal);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(escape, open_file_limit)
{
	sbx_config cfg;
	sbx_result r;

	probe_config(&cfg);
	cfg.limits.nofile = 64;
	run_probe(&r, &cfg, "nofile", NULL);
	cr_assert_eq(r.exit_code, 0, "%s", r.out.ptr);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	char dir[128];

	(void)stats;
	snprintf(dir, sizeof(dir), "/tmp/plait-sbx-probe-%d", (int)getpid());
	pl_rm_rf(dir, NULL);
}
