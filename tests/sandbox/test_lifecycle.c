/* What is left once a run is over: no process of the sandbox, and no
 * zombie for whoever reaps orphans (a container's PID 1, a harness that is
 * a subreaper). */
#include "sbx_test.h"
#include "tests/shell.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/resource.h>

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
