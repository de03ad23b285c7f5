/* bench-sandbox.c - `make bench-sandbox`: how long /bin/true takes in a
 * fresh plait sandbox, in a reused session, and under bubblewrap, measured
 * in one run, interleaved so that machine load hits all alike.
 *
 *   build/bench-sandbox PLAIT_BIN [ROUNDS]
 *
 * Prints a Markdown table (median, mean, p10, p90 in milliseconds) and the
 * ratios the sandbox issue asks for. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

extern char **environ;

enum { CLI, CLI_NOCG, BWRAP, BWRAP_SAME, RUN, RUN_NOCG, RUN_WORK, RUN_MISSING, SESSION, SPAWN, START, NKIND };
static const char *const names[NKIND] = {
	"`plait sandbox run -- /bin/true` (fresh sandbox, new process)",
	"`plait sandbox run --cgroup off -- /bin/true` (the default limits as rlimits even where a cgroup v2 is usable)",
	"`bwrap --unshare-all --ro-bind / / /bin/true`",
	"bwrap as above plus `--proc /proc --dev /dev --tmpfs /tmp` (what plait also sets up)",
	"`sbx_run(/bin/true)` (fresh sandbox, in process)",
	"`sbx_run(/bin/true)`, cgroup off (the default limits as rlimits)",
	"`sbx_run(/bin/true)` with a work directory (as root: id-mapped from its owner)",
	"`sbx_run(/bin/true)` with a read-only bind onto a missing `/plait-bench` (a tmpfs covers `/`)",
	"`sbx_session_exec(/bin/true)` (reused session)",
	"`posix_spawn(/bin/true)`, no sandbox (the floor)",
	"`plait --version` (the program's start alone, no sandbox)",
};

static int spawn_wait(char *const *argv)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, rc;

	posix_spawn_file_actions_init(&fa);
	/* stdout and stderr to /dev/null for every command alike (plait hands
	 * non-terminal output to the command directly, bwrap always does) */
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		return -1;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *const truev[] = { "/bin/true", NULL };
	char *cli[] = { argc > 1 ? argv[1] : "build/plait", "sandbox", "run", "--", "/bin/true", NULL };
	char *cli_nocg[] = { cli[0], "sandbox", "run", "--cgroup", "off", "--", "/bin/true", NULL };
	char work[] = "/tmp/plait-bench-work-XXXXXX";
	char *version[] = { cli[0], "--version", NULL };
	char *bwrap[] = { "/usr/bin/bwrap", "--unshare-all", "--ro-bind", "/", "/", "/bin/true", NULL };
	char *bwrap_same[] = { "/usr/bin/bwrap", "--unshare-all", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
			       "--tmpfs", "/tmp", "/bin/true", NULL };
	int rounds = argc > 2 ? atoi(argv[2]) : 200, i, k;
	double *t[NKIND], med[NKIND];
	sbx_config cfg, missing, nocg, workcfg;
	sbx_session *s = NULL;
	pl_err err = { 0 };
	pl_sysinfo si;

	if (rounds < 10)
		rounds = 10;
	sbx_config_init(&cfg);
	sbx_config_init(&missing);
	sbx_config_add_bind(&missing, "/etc", "/plait-bench", true);
	sbx_config_init(&nocg);
	nocg.cgroup = SBX_CGUSE_OFF;
	sbx_config_init(&workcfg);
	if (!mkdtemp(work)) {
		fprintf(stderr, "bench-sandbox: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	sbx_config_set_workdir(&workcfg, work);
	if (sbx_session_open(&s, &cfg, &err) < 0) {
		fprintf(stderr, "bench-sandbox: %s\n", err.msg);
		return 1;
	}
	for (k = 0; k < NKIND; k++)
		t[k] = pl_xcalloc((size_t)rounds, sizeof(double));
	for (i = -3; i < rounds; i++) { /* three warm-up rounds */
		for (k = 0; k < NKIND; k++) {
			sbx_result r;
			double t0 = pl_now();
			int rc;

			sbx_result_init(&r);
			if (k == CLI)
				rc = spawn_wait(cli);
			else if (k == CLI_NOCG)
				rc = spawn_wait(cli_nocg);
			else if (k == RUN_NOCG)
				rc = sbx_run(&r, &nocg, truev, &err) < 0 || r.exit_code ? -1 : 0;
			else if (k == RUN_WORK)
				rc = sbx_run(&r, &workcfg, truev, &err) < 0 || r.exit_code ? -1 : 0;
			else if (k == BWRAP)
				rc = spawn_wait(bwrap);
			else if (k == BWRAP_SAME)
				rc = spawn_wait(bwrap_same);
			else if (k == START)
				rc = spawn_wait(version);
			else if (k == SPAWN)
				rc = spawn_wait((char **)truev);
			else if (k == RUN)
				rc = sbx_run(&r, &cfg, truev, &err) < 0 || r.exit_code ? -1 : 0;
			else if (k == RUN_MISSING)
				rc = sbx_run(&r, &missing, truev, &err) < 0 || r.exit_code ? -1 : 0;
			else
				rc = sbx_session_exec(&r, s, truev, NULL, &err) < 0 || r.exit_code ? -1 : 0;
			if (i >= 0)
				t[k][i] = (pl_now() - t0) * 1e3;
			sbx_result_release(&r);
			if (rc < 0) {
				fprintf(stderr, "bench-sandbox: %s failed: %s\n", names[k], err.msg[0] ? err.msg : strerror(errno));
				return 1;
			}
		}
	}
	pl_sysinfo_read(&si, NULL);
	printf("machine: %s, %d cores, %s; kernel %s\n", si.cpu_model, si.cores_online, si.os, si.kernel);
	printf("rounds: %d of each, interleaved, after 3 warm-up rounds; euid %d\n\n", rounds, (int)geteuid());
	printf("| command | median ms | mean ms | p10 ms | p90 ms |\n| --- | ---: | ---: | ---: | ---: |\n");
	for (k = 0; k < NKIND; k++) {
		double sum = 0;

		for (i = 0; i < rounds; i++)
			sum += t[k][i];
		qsort(t[k], (size_t)rounds, sizeof(double), cmp);
		med[k] = t[k][rounds / 2];
		printf("| %s | %.3f | %.3f | %.3f | %.3f |\n", names[k], med[k], sum / rounds, t[k][rounds / 10],
		       t[k][rounds * 9 / 10]);
	}
	printf("\nfresh plait (CLI) vs bwrap, median: %.2fx the time of bwrap (%s)\n", med[CLI] / med[BWRAP],
	       med[CLI] <= med[BWRAP] ? "goal met: no slower" : "goal missed: slower");
	printf("fresh plait (CLI) vs bwrap setting up /proc, /dev and /tmp too, median: %.2fx\n",
	       med[CLI] / med[BWRAP_SAME]);
	printf("fresh plait (CLI) minus the program's start vs bwrap, median: %.2fx\n",
	       (med[CLI] - med[START]) / med[BWRAP]);
	printf("fresh sbx_run vs bwrap, median: %.2fx the time of bwrap\n", med[RUN] / med[BWRAP]);
	printf("a missing bind destination (tmpfs over /) adds, median: %.3f ms to a fresh sbx_run\n",
	       med[RUN_MISSING] - med[RUN]);
	printf("a work directory adds, median: %.3f ms to a fresh sbx_run\n", med[RUN_WORK] - med[RUN]);
	printf("the default limits' cgroup (where one is usable) costs, median: %.3f ms (sbx_run), %.3f ms (CLI)\n",
	       med[RUN] - med[RUN_NOCG], med[CLI] - med[CLI_NOCG]);
	printf("session command vs fresh CLI, median: %.1fx faster (%s)\n", med[CLI] / med[SESSION],
	       med[CLI] / med[SESSION] >= 5 ? "goal met: >= 5x" : "goal missed: < 5x");
	printf("session command vs fresh sbx_run, median: %.1fx faster\n", med[RUN] / med[SESSION]);
	printf("session command vs a plain posix_spawn, median: %.2fx the time\n", med[SESSION] / med[SPAWN]);
	/* Both goals at once need 5 x session <= fresh <= bwrap.  A session
	 * command costs about what a plain posix_spawn of the same program
	 * does (the exec is most of it), so this ratio says whether the two
	 * can hold together on this machine at all. */
	printf("bwrap vs a plain posix_spawn, median: %.2fx (both goals together need the session command at or "
	       "under bwrap/5 = %.3f ms)\n",
	       med[BWRAP] / med[SPAWN], med[BWRAP] / 5);
	for (k = 0; k < NKIND; k++)
		free(t[k]);
	sbx_session_close(s);
	sbx_config_release(&cfg);
	sbx_config_release(&missing);
	sbx_config_release(&nocg);
	sbx_config_release(&workcfg);
	rmdir(work);
	return 0;
}
