/* What is left once a run is over: no process of the sandbox, and no
 * zombie for whoever reaps orphans (a container's PID 1, a harness that is
 * a subreaper). */
#include "sbx_test.h"
#include "tests/shell.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <time.h>

TestSuite(lifecycle, .timeout = 60);

/* True when this process has no child left, running or zombie. */
static bool no_children(void)
{
	int st;

	return waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD;
}

Test(lifecycle, the_cli_leaves_no_zombie_under_a_subreaper)
{
	const char *args[] = { "sandbox", "run", "--", "/bin/true", NULL };
	int i;

	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	cr_assert(no_children());
	for (i = 0; i < 5; i++) {
		test_run r = test_plait_argv(args, NULL);

		cr_assert_eq(r.status, 0, "plait: status %d: %s", r.status, r.err.ptr);
		test_run_release(&r);
		/* plait's own children came to us when it exited: none may be
		 * left, neither running nor waiting to be reaped */
		cr_assert(no_children(), "plait left a child (its sandbox's init) to the subreaper");
	}
}

Test(lifecycle, sbx_run_and_sessions_reap_their_init)
{
	const char *argv[] = { "/bin/sh", "-c", "sleep 100 & echo started", NULL };
	sbx_config cfg;
	sbx_session *s = NULL;
	sbx_result r;
	pl_err err = { 0 };

	sbx_config_init(&cfg);
	sbx_result_init(&r);
	cr_assert(no_children());
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), 0, "%s", err.msg);
	cr_assert_str_eq(r.out.ptr, "started\n");
	cr_assert(no_children(), "sbx_run returned before reaping its init");
	cr_assert_eq(sbx_session_open(&s, &cfg, &err), 0, "%s", err.msg);
	cr_assert_eq(sbx_session_exec(&r, s, argv, NULL, &err), 0, "%s", err.msg);
	sbx_session_close(s);
	cr_assert(no_children(), "sbx_session_close returned before reaping its init");
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

/* A sandbox's first process is a raw clone() of the caller, which may have
 * threads: one being created at that moment once made the child wait for
 * it forever (glibc's setgroups and setresuid wrappers signal every thread
 * on the parent's list; the benchmark harness's workers hung).  Threads
 * come and go here while sandboxes start, as root through the path that
 * switches ids. */
static atomic_int churn_stop;

static void *nothing(void *arg)
{
	return arg;
}

static void *churn(void *arg)
{
	(void)arg;
	while (!atomic_load(&churn_stop)) {
		pthread_t t;

		if (pthread_create(&t, NULL, nothing, NULL) == 0)
			pthread_join(t, NULL);
	}
	return NULL;
}

Test(lifecycle, sandboxes_start_while_threads_are_created)
{
	const char *argv[] = { "/bin/true", NULL };
	sbx_config cfg;
	sbx_result r;
	pthread_t th;
	pl_err err = { 0 };
	int i;

	sbx_config_init(&cfg);
	sbx_result_init(&r);
	atomic_store(&churn_stop, 0);
	cr_assert_eq(pthread_create(&th, NULL, churn, NULL), 0);
	for (i = 0; i < 40; i++) {
		sbx_result_release(&r);
		sbx_result_init(&r);
		cr_assert_eq(sbx_run(&r, &cfg, argv, &err), 0, "%s", err.msg);
		cr_assert_eq(r.exit_code, 0, "run %d: %s", i, r.out.ptr);
	}
	atomic_store(&churn_stop, 1);
	pthread_join(th, NULL);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

/* ---------------------------------------------------------------- statuses */

static int plait_sh(pl_buf *out, const char *args)
{
	pl_buf_reset(out);
	return test_sh(out, "'%s' %s 2>&1 </dev/null", test_plait_bin(), args);
}

Test(lifecycle, the_cli_tells_a_missing_command_a_setup_failure_and_a_timeout_apart)
{
	pl_buf out = PL_BUF_INIT;
	json_t *j = NULL;

	cr_assert_eq(plait_sh(&out, "sandbox run -- no-such-command-plait"), 127, "%s", out.ptr);
	cr_assert_eq(plait_sh(&out, "sandbox run -- /etc/passwd"), 126, "%s", out.ptr);
	cr_assert(strstr(out.ptr, "Permission denied"), "%s", out.ptr);
	cr_assert_eq(plait_sh(&out, "sandbox run --bind /no/such/dir -- /bin/true"), 125, "%s", out.ptr);
	cr_assert_eq(plait_sh(&out, "sandbox run -- /bin/sh -c 'exit 1'"), 1, "%s", out.ptr);
	cr_assert_str_eq(out.ptr, "");
	/* a command's own 124 is not a timeout: nothing said */
	cr_assert_eq(plait_sh(&out, "sandbox run -- /bin/sh -c 'exit 124'"), 124);
	cr_assert_str_eq(out.ptr, "");
	cr_assert_eq(plait_sh(&out, "sandbox run --json -- /bin/sh -c 'exit 124'"), 124);
	cr_assert_eq(pl_json_parse(&j, out.ptr, out.len, "output", NULL), 0, "%s", out.ptr);
	cr_assert(json_is_false(json_object_get(j, "timed_out")));
	json_decref(j);
	/* a timeout is said on stderr and in the result */
	cr_assert_eq(plait_sh(&out, "sandbox run --timeout 0.2 -- sleep 30"), 124);
	cr_assert(strstr(out.ptr, "plait sandbox: timed out after 0.2s, process tree killed"), "%s", out.ptr);
	cr_assert_eq(plait_sh(&out, "sandbox run --json --timeout 0.2 -- sleep 30"), 124);
	cr_assert_eq(pl_json_parse(&j, out.ptr, out.len, "output", NULL), 0, "%s", out.ptr);
	cr_assert(json_is_true(json_object_get(j, "timed_out")));
	cr_assert(pl_str_starts_with(json_string_value(json_object_get(j, "status")), "timed out after 0.2s"));
	json_decref(j);
	pl_buf_release(&out);
}

Test(lifecycle, a_sandbox_inside_a_sandbox_is_refused_on_purpose)
{
	pl_buf out = PL_BUF_INIT, dir = PL_BUF_INIT, bin = PL_BUF_INIT;
	pl_err err = { 0 };

	/* the program where the sandbox's user may run it */
	cr_assert_eq(pl_mkdtemp(&dir, "plait-nest", &err), 0, "%s", err.msg);
	cr_assert_eq(chmod(dir.ptr, 0755), 0);
	pl_path_join(&bin, dir.ptr, "plait");
	cr_assert_eq(test_sh(NULL, "cp '%s' '%s' && chmod 755 '%s'", test_plait_bin(), bin.ptr, bin.ptr), 0);
	/* a sanitizer build of plait inside: --memory 0, no RLIMIT_AS, under
	 * which it could not reserve its shadow memory, and no leak check,
	 * whose ptrace the filter refuses */
	cr_assert_eq(test_sh(&out, "'%s' sandbox run --memory 0 --env ASAN_OPTIONS=detect_leaks=0 --ro-bind '%s' -- '%s' "
				   "sandbox run -- /bin/true 2>&1",
			     test_plait_bin(), dir.ptr, bin.ptr),
		     125, "%s", out.ptr);
	cr_assert(strstr(out.ptr, "inside a plait sandbox, nested sandboxes are refused on purpose"), "%s", out.ptr);
	pl_rm_rf(dir.ptr, NULL);
	pl_buf_release(&out);
	pl_buf_release(&dir);
	pl_buf_release(&bin);
}

/* ---------------------------------------------------------------- a caller that dies */

/* Start plait sandbox run with args (a NULL-terminated list after "run");
 * its pid. */
static pid_t spawn_plait(const char *const *args)
{
	const char *argv[32];
	size_t n = 0;
	pid_t pid;

	argv[n++] = test_plait_bin();
	argv[n++] = "sandbox";
	argv[n++] = "run";
	while (*args && n < PL_ARRAY_LEN(argv) - 1)
		argv[n++] = *args++;
	argv[n] = NULL;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Wait until a process with token runs (want true) or none does; false
 * when the deadline passed first. */
static bool wait_token(const char *token, bool want, double seconds)
{
	double end = pl_now() + seconds;

	while (process_with_token(token) != want) {
		if (pl_now() > end)
			return false;
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return true;
}

/* The sandbox's init: the one child of the caller pid. */
static pid_t child_of(pid_t pid)
{
	char path[64];
	pl_buf b = PL_BUF_INIT;
	int c = -1;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	if (pl_file_read(&b, path, 0, NULL) == 0)
		sscanf(b.ptr, "%d", &c);
	pl_buf_release(&b);
	return (pid_t)c;
}

/* The uid lock file pid holds open, into path; false when none. */
static bool held_uid_lock(pid_t pid, char *path, size_t cap)
{
	char dir[64], link[PATH_MAX];
	DIR *d;
	struct dirent *e;
	bool found = false;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	if (!(d = opendir(dir)))
		return false;
	while (!found && (e = readdir(d))) {
		char p[320];
		ssize_t n;

		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if ((n = readlink(p, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (pl_str_starts_with(link, "/run/plait/uid-")) {
			snprintf(path, cap, "%s", link);
			found = true;
		}
	}
	closedir(d);
	return found;
}

Test(lifecycle, a_sandbox_dies_with_a_caller_killed_by_sigkill_and_keeps_its_uid_until_then)
{
	char token[64], env[64], lock[PATH_MAX] = "";
	const char *args[] = { "--env", env, "--", "/bin/bash", "-c",
			       "(exec -a \"sbxorphan-$T\" sleep 1000) & exec -a \"sbxorphan-$T\" sleep 1000", NULL };
	double end;
	bool gone = false;
	pid_t plait, init;
	bool held = true;
	int st;

	snprintf(token, sizeof(token), "sbxorphan-%d-k", (int)getpid());
	snprintf(env, sizeof(env), "T=%d-k", (int)getpid());
	plait = spawn_plait(args);
	cr_assert(wait_token(token, true, 20), "the sandbox's command did not start");
	init = child_of(plait);
	cr_assert_gt(init, 0);
	/* the init holds the pool uid's lock itself: it stays taken whatever
	 * becomes of the caller, while anything of the sandbox lives */
	if (geteuid() == 0)
		held = held_uid_lock(init, lock, sizeof(lock));
	cr_assert_eq(kill(plait, SIGKILL), 0);
	cr_assert_eq(waitpid(plait, &st, 0), plait);
	if (!held)
		kill(init, SIGKILL); /* the failure below leaves nothing running */
	cr_assert(held, "the sandbox's init does not hold its uid's lock");
	end = pl_now() + 10;
	while (pl_now() < end) {
		int fd = lock[0] ? open(lock, O_RDWR | O_CLOEXEC) : -1;

		/* once the uid is free again, nothing of the sandbox runs */
		if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
			close(fd);
			cr_assert(!process_with_token(token), "the uid was freed while the sandbox still ran");
			gone = true;
			break;
		}
		if (fd >= 0)
			close(fd);
		if (!lock[0] && !process_with_token(token)) {
			gone = true;
			break;
		}
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	cr_assert(gone || !process_with_token(token), "the sandbox outlived its killed caller");
}

Test(lifecycle, a_terminated_cli_tears_its_sandbox_down_before_it_exits)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	char token[64], env[64];
	const char *args[] = { "--env", env, "--", "/bin/bash", "-c",
			       "(exec -a \"sbxterm-$T\" sleep 1000) & exec -a \"sbxterm-$T\" sleep 1000", NULL };
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(sigs); i++) {
		pid_t plait;
		int st;

		snprintf(token, sizeof(token), "sbxterm-%d-%zu", (int)getpid(), i);
		snprintf(env, sizeof(env), "T=%d-%zu", (int)getpid(), i);
		plait = spawn_plait(args);
		cr_assert(wait_token(token, true, 20), "the sandbox's command did not start");
		cr_assert_eq(kill(plait, sigs[i]), 0);
		cr_assert_eq(waitpid(plait, &st, 0), plait);
		/* plait stopped the sandbox, reaped it, then exited as a shell
		 * reports a signal */
		cr_assert(WIFEXITED(st), "plait died of signal %d instead of stopping its sandbox",
			  WIFSIGNALED(st) ? WTERMSIG(st) : 0);
		cr_assert_eq(WEXITSTATUS(st), 128 + sigs[i]);
		cr_assert(!process_with_token(token), "the sandbox outlived plait");
	}
}

Test(lifecycle, a_session_dies_with_a_caller_killed_by_sigkill)
{
	char token[64], script[160];
	int p[2];
	pid_t caller;
	char c;

	snprintf(token, sizeof(token), "sbxsess-%d", (int)getpid());
	snprintf(script, sizeof(script), "(exec -a %s sleep 1000) >/dev/null 2>&1 & echo started", token);
	cr_assert_eq(pipe(p), 0);
	caller = fork();
	cr_assert_geq(caller, 0);
	if (caller == 0) {
		const char *argv[] = { "/bin/bash", "-c", script, NULL };
		sbx_config cfg;
		sbx_session *s = NULL;
		sbx_result r;

		sbx_config_init(&cfg);
		sbx_result_init(&r);
		if (sbx_session_open(&s, &cfg, NULL) < 0 || sbx_session_exec(&r, s, argv, NULL, NULL) < 0)
			_exit(1);
		(void)!write(p[1], "r", 1);
		pause();
		_exit(0);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &c, 1), 1, "the session did not start");
	close(p[0]);
	cr_assert(wait_token(token, true, 20));
	cr_assert_eq(kill(caller, SIGKILL), 0);
	cr_assert_eq(waitpid(caller, NULL, 0), caller);
	cr_assert(wait_token(token, false, 10), "the session outlived its killed caller");
}

/* on_output of the caller below: once the command runs, a process that
 * keeps every descriptor of the caller's open (its end of the control
 * socket too) is forked, and the test told. */
static int holder_note = -1;
static pid_t holder;

static void fork_holder(void *ctx, int stream, const char *data, size_t n)
{
	(void)ctx;
	(void)stream;
	(void)data;
	(void)n;
	if (holder)
		return;
	holder = fork();
	if (holder == 0) {
		for (;;)
			pause();
	}
	(void)!write(holder_note, &holder, sizeof(holder));
}

Test(lifecycle, a_sandbox_dies_with_its_caller_even_when_the_control_socket_stays_open)
{
	char token[64], script[256];
	int p[2];
	pid_t caller, kept = 0;
	bool gone;

	/* the caller's end of the control socket outlives it in a process it
	 * forked: only the parent-death signal tells the init, and a process
	 * inside sends that signal to init meanwhile, in vain */
	snprintf(token, sizeof(token), "sbxpdeath-%d", (int)getpid());
	snprintf(script, sizeof(script),
		 "(while :; do kill -s RTMAX 1 2>/dev/null; done) & (exec -a %s sleep 1000) & echo started; wait", token);
	cr_assert_eq(pipe(p), 0);
	caller = fork();
	cr_assert_geq(caller, 0);
	if (caller == 0) {
		const char *argv[] = { "/bin/bash", "-c", script, NULL };
		sbx_exec_opts o;
		sbx_config cfg;
		sbx_result r;

		close(p[0]);
		holder_note = p[1];
		memset(&o, 0, sizeof(o));
		o.on_output = fork_holder;
		sbx_config_init(&cfg);
		sbx_result_init(&r);
		sbx_run_opts(&r, &cfg, argv, &o, NULL);
		_exit(0);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &kept, sizeof(kept)), (ssize_t)sizeof(kept), "the sandbox did not start");
	close(p[0]);
	cr_assert(wait_token(token, true, 20));
	cr_assert_eq(kill(caller, SIGKILL), 0);
	cr_assert_eq(waitpid(caller, NULL, 0), caller);
	gone = wait_token(token, false, 10);
	kill(kept, SIGKILL); /* first: it holds the test's output open */
	cr_assert(gone, "the sandbox outlived its killed caller");
}
