/* The whole sandbox suite again, as an unprivileged user: run as root, this
 * test copies what the suite needs (this binary, plait, the probe's source,
 * the profiles) into a tree the user owns, where sandboxes can see it, and
 * runs every other suite there as user nobody.  Tests that need root skip
 * there with their reason; every other one must pass.  Run unprivileged,
 * the suite already is that run, and this test says so. */
#include "sbx_test.h"
#include "tests/shell.h"

#include <sys/prctl.h>

TestSuite(unprivileged, .timeout = 600);

static bool reachable_by(uid_t uid, const char *path)
{
	pid_t pid = fork();
	int st;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
			_exit(2);
		_exit(access(path, X_OK) == 0 ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* The counts of Criterion's synthesis line in log. */
static void synthesis(const char *log, int *tested, int *passing, int *failing, int *crashing)
{
	const char *l = strstr(log, "Synthesis: Tested: ");

	cr_assert_not_null(l, "no synthesis line in:\n%s", log);
	cr_assert_eq(sscanf(l, "Synthesis: Tested: %d | Passing: %d | Failing: %d | Crashing: %d", tested, passing,
			    failing, crashing),
		     4, "%s", l);
}

Test(unprivileged, every_other_suite_passes_as_user_nobody)
{
	const char *root = getenv("PLAIT_ROOT");
	pl_buf tree = PL_BUF_INIT, self = PL_BUF_INIT, log = PL_BUF_INIT, parent = PL_BUF_INIT;
	char exe[PATH_MAX];
	ssize_t n;
	int p[2], st, tested, passing, failing, crashing;
	pid_t pid;
	char buf[4096];

	if (geteuid() != 0)
		cr_skip_test("running as uid %d: this run is already the unprivileged one", (int)geteuid());
	cr_assert_not_null(root, "PLAIT_ROOT is not set");
	pl_buf_printf(&parent, "%s/build/tests", root);
	if (private_in_sandbox(root) || !reachable_by(NOBODY, parent.ptr))
		cr_skip_test("user nobody cannot reach %s (the checkout is under /tmp, or under a directory others "
			     "cannot traverse): the unprivileged run needs a tree there that sandboxes can see",
			     parent.ptr);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert_gt(n, 0);
	exe[n] = '\0';
	/* the tree: PLAIT_ROOT for the inner run, nobody's own */
	pl_buf_printf(&tree, "%s/.plait-unprivileged-%d", parent.ptr, (int)getpid());
	pl_rm_rf(tree.ptr, NULL);
	cr_assert_eq(test_sh(NULL,
			     "set -e; t='%s'; mkdir -p \"$t/tests/sandbox/probes\" \"$t/configs\" \"$t/build/tests\"; "
			     "cp '%s/tests/sandbox/probes/probe.c' \"$t/tests/sandbox/probes/\"; "
			     "cp -r '%s/configs/sandbox' \"$t/configs/\"; cp '%s' \"$t/build/plait\"; "
			     "cp '%s' \"$t/build/tests/test-sandbox\"; chown -R %d:%d \"$t\"; chmod -R go+rX \"$t\"",
			     tree.ptr, root, root, test_plait_bin(), exe, NOBODY, NOBODY),
		     0);
	pl_buf_printf(&self, "%s/build/tests/test-sandbox", tree.ptr);
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		pl_buf plait_root = PL_BUF_INIT, plait_bin = PL_BUF_INIT;
		const char *lsan = getenv("LSAN_OPTIONS");
		char *envp[8];
		int k = 0;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		pl_buf_printf(&plait_root, "PLAIT_ROOT=%s", tree.ptr);
		pl_buf_printf(&plait_bin, "PLAIT_BIN=%s/build/plait", tree.ptr);
		envp[k++] = plait_root.ptr;
		envp[k++] = plait_bin.ptr;
		envp[k++] = "PATH=/usr/local/bin:/usr/bin:/bin";
		envp[k++] = "HOME=/nonexistent";
		envp[k++] = "LANG=C.UTF-8";
		if (lsan) {
			static char l[1024];

			snprintf(l, sizeof(l), "LSAN_OPTIONS=%s", lsan);
			envp[k++] = l;
		}
		envp[k] = NULL;
		if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0 || chdir(tree.ptr) < 0)
			_exit(126);
		/* a login user's processes are dumpable; setresuid cleared it */
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		execle(self.ptr, "test-sandbox", "--filter", "!(unprivileged)/*", "--color=never", "--verbose", (char *)NULL,
		       envp);
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			pl_buf_add(&log, buf, (size_t)n);
	close(p[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	synthesis(log.ptr, &tested, &passing, &failing, &crashing);
	/* what skipped, and why, for whoever reads the log */
	{
		const char *l = log.ptr;

		while ((l = strstr(l, "[SKIP]"))) {
			const char *e = strchr(l, '\n');

			if (!strstr(l, "Test is disabled") || (e && strstr(l, "Test is disabled") > e))
				cr_log_info("as nobody: %.*s", (int)(e ? e - l : (long)strlen(l)), l);
			l = e ? e : l + strlen(l);
		}
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0 && failing == 0 && crashing == 0,
		  "the suite failed as nobody (%d failing, %d crashing of %d):\n%s", failing, crashing, tested, log.ptr);
	cr_assert_geq(passing, 150, "only %d tests passed as nobody:\n%s", passing, log.ptr);
	pl_rm_rf(tree.ptr, NULL);
	pl_buf_release(&tree);
	pl_buf_release(&self);
	pl_buf_release(&log);
	pl_buf_release(&parent);
}
