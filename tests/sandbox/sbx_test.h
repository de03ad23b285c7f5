/* sbx_test.h - fixtures shared by the sandbox tests: a temporary tree the
 * sandbox user can use, the compiled escape probe, and a snapshot of host
 * state that no probe may change. */
#ifndef PLAIT_SBX_TEST_H
#define PLAIT_SBX_TEST_H

#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "tests/shell.h"

#define NOBODY 65534
/* The pool the sandboxes' uids come from as root, when /etc/subuid gives
 * user "plait" no range (sandbox/ids.c). */
#define POOL_BASE 2130706432u
#define POOL_COUNT 65536u

/* Whether u is a uid a sandbox may run as here: as root, one of the pool
 * (never root, never the caller's); unprivileged, the caller's. */
static inline bool sandbox_uid_ok(unsigned u)
{
	pl_buf sub = PL_BUF_INIT;
	unsigned base = POOL_BASE, count = POOL_COUNT;
	const char *l;

	if (geteuid() != 0)
		return u == (unsigned)geteuid();
	if (pl_file_read(&sub, "/etc/subuid", 0, NULL) == 0 && (l = strstr(sub.ptr, "plait:")) &&
	    (l == sub.ptr || l[-1] == '\n'))
		sscanf(l + 6, "%u:%u", &base, &count);
	pl_buf_release(&sub);
	return u >= base && u - base < count;
}

/* Make path open to all (mode); writable ones need no owner change: as
 * root, a writable bind or work directory is mapped from its owner onto
 * the sandbox's user. */
static inline void give_to_sandbox(const char *path, int mode)
{
	cr_assert_eq(chmod(path, (mode_t)mode), 0, "chmod %s: %s", path, strerror(errno));
}

static inline void write_text(const char *path, const char *text)
{
	pl_err err = { 0 };

	cr_assert_eq(pl_file_write_atomic(path, text, strlen(text), 0644, &err), 0, "%s", err.msg);
}

static inline void read_text(pl_buf *b, const char *path)
{
	pl_err err = { 0 };

	pl_buf_reset(b);
	cr_assert_eq(pl_file_read(b, path, 0, &err), 0, "%s", err.msg);
}

/* Run a shell command on the host; returns its exit status (128 + N when
 * signal N ended it). */
static inline int host_sh(const char *cmd)
{
	return test_sh(NULL, "%s", cmd);
}

/* The escape probe, compiled once per test run into a directory everyone
 * may read (the unprivileged tests run it as nobody). */
static inline const char *probe_dir(void)
{
	static char dir[128];

	if (!dir[0]) /* the runner's pid: Criterion forks each test from it */
		snprintf(dir, sizeof(dir), "/tmp/plait-sbx-probe-%d", (int)getppid());
	return dir;
}

static inline const char *probe_path(void)
{
	static char path[192];
	char cmd[1024], tmp[192];
	const char *root = getenv("PLAIT_ROOT");

	snprintf(path, sizeof(path), "%s/probe", probe_dir());
	if (access(path, X_OK) == 0)
		return path;
	cr_assert(root, "PLAIT_ROOT is not set (run through make test)");
	mkdir(probe_dir(), 0755);
	chmod(probe_dir(), 0755);
	snprintf(tmp, sizeof(tmp), "%s/probe.%d", probe_dir(), (int)getpid());
	snprintf(cmd, sizeof(cmd), "cc -O1 -o %s %s/tests/sandbox/probes/probe.c", tmp, root);
	cr_assert_eq(host_sh(cmd), 0, "compiling the probe failed");
	cr_assert_eq(rename(tmp, path), 0);
	return path;
}

/* A config for probes: defaults plus the probe directory, read-only. */
static inline void probe_config(sbx_config *cfg)
{
	sbx_config_init(cfg);
	probe_path();
	sbx_config_add_bind(cfg, probe_dir(), NULL, true);
	cfg->limits.timeout = 20;
}

static inline bool private_in_sandbox(const char *dir)
{
	return !dir || dir[0] != '/' || !strncmp(dir, "/tmp/", 5) || !strcmp(dir, "/tmp") ||
	       !strncmp(dir, "/var/tmp/", 9) || !strcmp(dir, "/var/tmp");
}

/* A host directory every sandbox shows (read-only), for fixtures the
 * sandbox must see through the host's root: not under /tmp or /var/tmp,
 * which are the sandbox's own.  The build tree (ignored by git) unless the
 * checkout itself is under /tmp, as a CI clone may be; then $HOME, then /. */
static inline void visible_host_dir(pl_buf *out)
{
	const char *root = getenv("PLAIT_ROOT"), *home = getenv("HOME");

	if (!private_in_sandbox(root))
		pl_buf_printf(out, "%s/build/tests", root);
	else
		pl_buf_printf(out, "%s", !private_in_sandbox(home) ? home : "");
}

/* A fresh directory under visible_host_dir() (mode 0755), removed by the
 * caller with pl_rm_rf. */
static inline void visible_fixture(pl_buf *out, const char *name)
{
	pl_buf_reset(out);
	visible_host_dir(out);
	pl_buf_printf(out, "/.plait-%s-%d", name, (int)getpid());
	pl_rm_rf(out->ptr, NULL);
	cr_assert_eq(pl_mkdir_p(out->ptr, 0755, NULL), 0, "%s: %s", out->ptr, strerror(errno));
	cr_assert_eq(chmod(out->ptr, 0755), 0);
}

/* Host state no probe may change. */
static inline void host_snapshot(pl_buf *b, const char *canary)
{
	char host[256] = "";
	pl_buf c = PL_BUF_INIT;
	DIR *d;
	struct dirent *e;

	gethostname(host, sizeof(host));
	pl_buf_printf(b, "hostname=%s\n", host);
	pl_buf_printf(b, "etc-probe=%d usr-probe=%d\n", access("/etc/plait-probe", F_OK) == 0,
		      access("/usr/plait-probe", F_OK) == 0);
	if (canary) {
		d = opendir(canary);
		cr_assert(d);
		while ((e = readdir(d)))
			pl_buf_printf(b, "canary/%s\n", e->d_name);
		closedir(d);
		pl_buf_printf(b, "%s/secret:", canary);
		pl_buf_reset(&c);
		{
			pl_buf p = PL_BUF_INIT;

			pl_buf_printf(&p, "%s/secret", canary);
			if (pl_file_read(&c, p.ptr, 0, NULL) == 0)
				pl_buf_add(b, c.ptr, c.len);
			pl_buf_release(&p);
		}
	}
	pl_buf_release(&c);
}

/* True when a process whose command line holds token is still running. */
static inline bool process_with_token(const char *token)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	bool found = false;

	cr_assert(d);
	while ((e = readdir(d)) && !found) {
		char path[300];
		pl_buf b = PL_BUF_INIT;
		size_t i;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		if (pl_file_read(&b, path, 0, NULL) == 0 && b.len) {
			for (i = 0; i < b.len; i++)
				if (!b.ptr[i])
					b.ptr[i] = ' ';
			if (strstr(b.ptr, token)) {
				char st[300];
				pl_buf s = PL_BUF_INIT;

				/* zombies waiting to be reaped are not running */
				snprintf(st, sizeof(st), "/proc/%s/stat", e->d_name);
				if (pl_file_read(&s, st, 0, NULL) == 0 && !strstr(s.ptr, ") Z "))
					found = true;
				pl_buf_release(&s);
			}
		}
		pl_buf_release(&b);
	}
	closedir(d);
	return found;
}

#endif /* PLAIT_SBX_TEST_H */
