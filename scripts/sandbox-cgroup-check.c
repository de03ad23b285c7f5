/* sandbox-cgroup-check.c - do the sandbox's cgroup v2 limits hold on this
 * machine?  A standalone program (the sandbox and common libraries and
 * jansson; no Criterion) for machines with a usable cgroup v2, which the
 * development machines lack: it runs the real enforcement checks of
 * tests/sandbox/test_cgroup.c and prints PASS, FAIL or SKIP per check.
 *
 *   make build/sandbox-cgroup-check
 *   sudo build/sandbox-cgroup-check [--cgroup-parent DIR]
 *
 * Exit status 0 when every check passed, 1 when one failed, 2 when no
 * usable cgroup v2 was found (the reason is printed).  It copies itself
 * into a temporary directory bound read-only into the sandboxes and runs
 * its own --hog, --reserve and --forkbomb modes there. */
#define _GNU_SOURCE
#include "sandbox/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEM_LIMIT (64ull << 20)
#define NPROC_LIMIT 32

typedef struct check_ctx {
	const char *parent; /* --cgroup-parent, or NULL */
	char dir[256];      /* the temporary directory holding our copy */
	char exe[300];      /* our copy, as seen inside the sandbox */
	sbx_cgroup_info info;
	int failed;
} check_ctx;

/* ---------------------------------------------------------------- inside */

static int mode_hog(void)
{
	size_t total = 0, chunk = 16 << 20;

	for (;;) {
		char *p = malloc(chunk);

		if (!p) {
			printf("allocation refused after %zu MiB\n", total >> 20);
			return 3;
		}
		memset(p, 1, chunk);
		total += chunk;
		if (total >= ((size_t)4 << 30)) {
			printf("ESCAPE: %zu MiB allocated and touched\n", total >> 20);
			return 1;
		}
	}
}

/* A Go runtime or a JVM reserves far more address space than it uses. */
static int mode_reserve(void)
{
	size_t size = (size_t)8 << 30;
	void *p = mmap(NULL, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		printf("reserving 8 GiB of address space failed: %s\n", strerror(errno));
		return 1;
	}
	printf("reserved 8 GiB\n");
	return 0;
}

static int mode_forkbomb(void)
{
	int n = 0;

	for (;;) {
		pid_t p = fork();

		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0) {
			printf("fork refused after %d children: %s\n", n, strerror(errno));
			return errno == EAGAIN ? 0 : 2;
		}
		if (++n > 20000) {
			printf("ESCAPE: %d processes\n", n);
			return 1;
		}
	}
}

/* ---------------------------------------------------------------- checks */

static void report(check_ctx *c, const char *name, bool ok, const char *fmt, ...) PL_PRINTF(4, 5);

static void report(check_ctx *c, const char *name, bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s %s: ", ok ? "PASS" : "FAIL", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		c->failed++;
}

static void config(check_ctx *c, sbx_config *cfg, uint64_t memory, uint64_t nproc)
{
	sbx_config_init(cfg);
	sbx_config_add_bind(cfg, c->dir, NULL, true);
	cfg->limits.timeout = 60;
	cfg->limits.memory = memory;
	cfg->limits.nproc = nproc;
	cfg->cgroup = SBX_CGUSE_REQUIRE;
	if (c->parent)
		sbx_config_set_cgroup_parent(cfg, c->parent);
}

static void describe(pl_buf *d, const sbx_result *r)
{
	pl_buf_reset(d);
	sbx_result_describe(d, r, NULL);
	pl_buf_printf(d, ", limits by %s, output: %.*s", r->cgroup ? "cgroup" : "rlimit", (int)r->out.len,
		      r->out.ptr);
	pl_buf_rtrim(d);
}

/* Entries plait-<our pid>-* left in the parent. */
static int leftovers(const check_ctx *c, pl_buf *names)
{
	char prefix[64];
	DIR *d = opendir(c->info.parent);
	struct dirent *e;
	int n = 0;

	snprintf(prefix, sizeof(prefix), "plait-%d-", (int)getpid());
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, strlen(prefix))) {
			pl_buf_printf(names, " %s", e->d_name);
			n++;
		}
	closedir(d);
	return n;
}

static bool run1(check_ctx *c, sbx_result *r, const sbx_config *cfg, const char *const *argv, const char *name)
{
	pl_err err = { 0 };

	sbx_result_init(r);
	if (sbx_run(r, cfg, argv, &err) < 0) {
		report(c, name, false, "sbx_run failed: %s", err.msg);
		return false;
	}
	return true;
}

static void check_within_limits(check_ctx *c)
{
	const char *argv[] = { "/bin/sh", "-c", "echo ok", NULL };
	sbx_config cfg;
	sbx_result r;
	pl_buf d = PL_BUF_INIT;

	config(c, &cfg, MEM_LIMIT, NPROC_LIMIT);
	if (run1(c, &r, &cfg, argv, "within_limits")) {
		describe(&d, &r);
		report(c, "within_limits", r.exit_code == 0 && r.cgroup && !r.limits_hit && !strcmp(r.out.ptr, "ok\n"),
		       "a small command under memory.max and pids.max: %s", d.ptr);
	}
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&d);
}

static void check_memory_hog(check_ctx *c)
{
	const char *argv[] = { c->exe, "--hog", NULL };
	sbx_config cfg;
	sbx_result r;
	pl_buf d = PL_BUF_INIT;

	config(c, &cfg, MEM_LIMIT, 0);
	if (run1(c, &r, &cfg, argv, "memory_hog_killed")) {
		describe(&d, &r);
		report(c, "memory_hog_killed",
		       r.cgroup && r.signal == SIGKILL && (r.limits_hit & SBX_LIMIT_MEMORY) && !strstr(r.out.ptr, "ESCAPE"),
		       "64 MiB memory.max, a process touching up to 4 GiB: %s", d.ptr);
	}
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&d);
}

static void check_no_rlimit_as(check_ctx *c)
{
	const char *argv[] = { c->exe, "--reserve", NULL };
	sbx_config cfg;
	sbx_result r;
	pl_buf d = PL_BUF_INIT;

	config(c, &cfg, MEM_LIMIT, 0);
	if (run1(c, &r, &cfg, argv, "no_rlimit_as")) {
		describe(&d, &r);
		report(c, "no_rlimit_as", r.cgroup && r.exit_code == 0 && !r.limits_hit,
		       "with a 64 MiB memory.max, 8 GiB of address space can still be reserved: %s", d.ptr);
	}
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&d);
}

static void check_fork_bomb(check_ctx *c)
{
	const char *argv[] = { c->exe, "--forkbomb", NULL };
	sbx_config cfg;
	sbx_result r;
	pl_buf d = PL_BUF_INIT;
	int n = -1;
	const char *p;

	config(c, &cfg, 0, NPROC_LIMIT);
	if (run1(c, &r, &cfg, argv, "fork_bomb_stopped")) {
		describe(&d, &r);
		if ((p = strstr(r.out.ptr, "after ")))
			n = atoi(p + 6);
		report(c, "fork_bomb_stopped",
		       r.cgroup && r.exit_code == 0 && (r.limits_hit & SBX_LIMIT_NPROC) && n >= 0 && n < NPROC_LIMIT,
		       "pids.max %d: %s", NPROC_LIMIT, d.ptr);
	}
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&d);
}

static void check_teardown(check_ctx *c)
{
	const char *argv[] = { "/bin/sh", "-c", "sleep 1000 & sleep 1000 & echo started", NULL };
	sbx_config cfg;
	sbx_result r;
	pl_buf names = PL_BUF_INIT;
	int n;

	config(c, &cfg, MEM_LIMIT, NPROC_LIMIT);
	if (run1(c, &r, &cfg, argv, "teardown")) {
		n = leftovers(c, &names);
		report(c, "teardown", r.cgroup && r.exit_code == 0 && n == 0,
		       "background processes left by the command; cgroups left in %s: %d%s", c->info.parent, n,
		       names.ptr);
	}
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&names);
}

static void check_session(check_ctx *c)
{
	const char *hog[] = { c->exe, "--hog", NULL }, *bomb[] = { c->exe, "--forkbomb", NULL },
		   *echo[] = { "/bin/sh", "-c", "echo alive", NULL };
	sbx_config cfg;
	sbx_session *s = NULL;
	sbx_result r;
	pl_err err = { 0 };
	pl_buf d = PL_BUF_INIT, names = PL_BUF_INIT;
	int n;

	config(c, &cfg, MEM_LIMIT, NPROC_LIMIT);
	if (sbx_session_open(&s, &cfg, &err) < 0) {
		report(c, "session", false, "sbx_session_open failed: %s", err.msg);
		goto done;
	}
	n = leftovers(c, &names);
	report(c, "session_cgroup_created", n == 1, "an open session has its cgroup:%s", names.ptr);
	sbx_result_init(&r);
	if (sbx_session_exec(&r, s, hog, NULL, &err) < 0) {
		report(c, "session_memory_hog", false, "%s", err.msg);
	} else {
		describe(&d, &r);
		report(c, "session_memory_hog", r.cgroup && r.signal == SIGKILL && (r.limits_hit & SBX_LIMIT_MEMORY),
		       "%s", d.ptr);
	}
	sbx_result_release(&r);
	sbx_result_init(&r);
	if (sbx_session_exec(&r, s, echo, NULL, &err) < 0) {
		report(c, "session_survives", false, "%s", err.msg);
	} else {
		describe(&d, &r);
		report(c, "session_survives", r.exit_code == 0 && !r.limits_hit && !strcmp(r.out.ptr, "alive\n"),
		       "the next command runs and hits no limit: %s", d.ptr);
	}
	sbx_result_release(&r);
	sbx_result_init(&r);
	if (sbx_session_exec(&r, s, bomb, NULL, &err) < 0) {
		report(c, "session_fork_bomb", false, "%s", err.msg);
	} else {
		describe(&d, &r);
		report(c, "session_fork_bomb", r.exit_code == 0 && (r.limits_hit & SBX_LIMIT_NPROC), "%s", d.ptr);
	}
	sbx_result_release(&r);
	sbx_session_close(s);
	pl_buf_reset(&names);
	n = leftovers(c, &names);
	report(c, "session_teardown", n == 0, "cgroups left after sbx_session_close: %d%s", n, names.ptr);
done:
	sbx_config_release(&cfg);
	pl_buf_release(&d);
	pl_buf_release(&names);
}

/* Copy ourselves to a directory every user may read. */
static int install_self(check_ctx *c)
{
	pl_buf b = PL_BUF_INIT;
	pl_err err = { 0 };
	int rc;

	snprintf(c->dir, sizeof(c->dir), "/tmp/plait-cgcheck-XXXXXX");
	if (!mkdtemp(c->dir) || chmod(c->dir, 0755) < 0) {
		fprintf(stderr, "sandbox-cgroup-check: creating a temporary directory: %s\n", strerror(errno));
		return -1;
	}
	snprintf(c->exe, sizeof(c->exe), "%s/check", c->dir);
	if ((rc = pl_file_read(&b, "/proc/self/exe", 0, &err)) == 0)
		rc = pl_file_write_atomic(c->exe, b.ptr, b.len, 0755, &err);
	pl_buf_release(&b);
	if (rc < 0) {
		fprintf(stderr, "sandbox-cgroup-check: copying the program: %s\n", err.msg);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	check_ctx c;
	int i;

	memset(&c, 0, sizeof(c));
	if (argc == 2 && !strcmp(argv[1], "--hog"))
		return mode_hog();
	if (argc == 2 && !strcmp(argv[1], "--reserve"))
		return mode_reserve();
	if (argc == 2 && !strcmp(argv[1], "--forkbomb"))
		return mode_forkbomb();
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cgroup-parent") && i + 1 < argc) {
			c.parent = argv[++i];
		} else {
			fprintf(stderr, "usage: %s [--cgroup-parent DIR]\n", argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sbx_cgroup_probe(&c.info, NULL, c.parent);
	printf("cgroup hierarchy: %s, mount: %s, plait's cgroup: %s\n", sbx_cgroup_kind_name(c.info.kind),
	       c.info.mount[0] ? c.info.mount : "-", c.info.own[0] ? c.info.own : "-");
	if (c.info.mode == SBX_CGMODE_NONE) {
		printf("SKIP all: no usable cgroup v2: %s\n", c.info.why);
		return 2;
	}
	printf("sandbox cgroups go in %s (mode %s%s), uid %u\n", c.info.parent, sbx_cgroup_mode_name(c.info.mode),
	       c.info.enable ? ", controllers to enable" : "", (unsigned)geteuid());
	if (install_self(&c) < 0)
		return 1;
	check_within_limits(&c);
	/* the leaf move (mode leaf) happened on the first run: where now? */
	sbx_cgroup_probe(&c.info, NULL, c.parent);
	check_memory_hog(&c);
	check_no_rlimit_as(&c);
	check_fork_bomb(&c);
	check_teardown(&c);
	check_session(&c);
	pl_rm_rf(c.dir, NULL);
	printf("%s: %d check%s failed\n", c.failed ? "FAIL" : "PASS", c.failed, c.failed == 1 ? "" : "s");
	return c.failed ? 1 : 0;
}
