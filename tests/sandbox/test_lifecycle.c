/* What is left once a run is over: no process of the sandbox, and no
 * zombie for whoever reaps orphans (a container's PID 1, a harness that is
 * a subreaper). */
#include "sbx_test.h"
#include "tests/shell.h"

#include <sys/prctl.h>

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
