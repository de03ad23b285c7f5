/* ids.c - the host ids a sandbox runs as, and the user namespaces that map
 * a writable bind's owner onto them.
 *
 * As root, each sandbox takes a uid (and the gid of the same number) of its
 * own from a pool, so that concurrent sandboxes cannot read each other's
 * work (one run's 0700 work directory, its files in a shared bind): slot k
 * of the pool is held, while the sandbox lives, by an flock on
 * /run/plait/uid-<k>.lock, released by the kernel whatever way the holder
 * ends.  The pool is the range of user "plait" in /etc/subuid and
 * /etc/subgid when both give one (the same), else 2130706432 (0x7f000000)
 * and the 65536 ids above it: above the ranges systemd hands out to
 * containers (up to 0x6fffffff) and below its own reserved ranges.  A uid
 * of the pool owns nothing on the host: the sandbox writes only through
 * binds whose owner is mapped onto it (sbx__idmap_userns) and into its own
 * tmpfs mounts.
 *
 * An unprivileged caller's sandboxes run as the caller's own ids: they are
 * the only ones it may map, and without id-mapped mounts (which need
 * privilege) no other id could write the caller's files. */
#define _GNU_SOURCE
#include "sandbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define POOL_BASE 2130706432u /* 0x7f000000 */
#define POOL_COUNT 65536u
#define LOCK_DIR "/run/plait"

/* The range of user "plait" in a subordinate-id file ("name:start:count"),
 * or false. */
static bool sub_range(const char *file, unsigned *start, unsigned *count)
{
	pl_buf text = PL_BUF_INIT;
	char *line, *save = NULL;
	bool found = false;

	if (pl_file_read(&text, file, 0, NULL) < 0)
		return false;
	for (line = strtok_r(text.ptr, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long s, c;
		char end;

		if (strncmp(line, "plait:", 6))
			continue;
		if (sscanf(line + 6, "%llu:%llu%c", &s, &c, &end) == 2 && c > 0 && s > 0 && s + c - 1 < 0xffffffffull) {
			*start = (unsigned)s;
			*count = (unsigned)c;
			found = true;
		}
	}
	pl_buf_release(&text);
	return found;
}

void sbx__ids_init(sbx__ids *ids)
{
	ids->uid = (uid_t)-1;
	ids->gid = (gid_t)-1;
	ids->lock_fd = -1;
}

/* The lock directory: made by root for root alone; anything else there
 * (a directory another user made first, a symlink) is refused. */
static int lock_dir(pl_err *err)
{
	struct stat st;

	if (mkdir(LOCK_DIR, 0700) < 0 && errno != EEXIST)
		return pl_err_sys(err, PL_ESYS, "creating '%s' for the sandboxes' id locks", LOCK_DIR);
	if (lstat(LOCK_DIR, &st) < 0)
		return pl_err_sys(err, PL_ESYS, "'%s'", LOCK_DIR);
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 077))
		return pl_err_set(err, PL_ESYS, "'%s' must be a directory owned by root with mode 0700 (it holds the "
						"sandboxes' id locks)",
				  LOCK_DIR);
	return 0;
}

int sbx__ids_acquire(sbx__ids *ids, const sbx_config *cfg, pl_err *err)
{
	unsigned start = POOL_BASE, count = POOL_COUNT, gstart, gcount, k;
	char path[64];
	int rc, fd;

	sbx__ids_init(ids);
	if (geteuid() != 0) {
		ids->uid = cfg->uid >= 0 ? (uid_t)cfg->uid : geteuid();
		ids->gid = cfg->gid >= 0 ? (gid_t)cfg->gid : getegid();
		return 0;
	}
	if (cfg->uid >= 0) {
		ids->uid = (uid_t)cfg->uid;
		ids->gid = cfg->gid >= 0 ? (gid_t)cfg->gid : (gid_t)cfg->uid;
		return 0;
	}
	if (sub_range("/etc/subuid", &start, &count)) {
		if (!sub_range("/etc/subgid", &gstart, &gcount) || gstart != start || gcount != count)
			return pl_err_set(err, PL_EINVAL,
					  "/etc/subuid and /etc/subgid give user 'plait' different ranges: the sandboxes' "
					  "uid and gid pools must be the same");
	}
	if ((rc = lock_dir(err)) < 0)
		return rc;
	/* The lowest free slot: the lock files in use stay few. */
	for (k = 0; k < count; k++) {
		snprintf(path, sizeof(path), LOCK_DIR "/uid-%u.lock", k);
		fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0)
			return pl_err_sys(err, PL_ESYS, "opening '%s'", path);
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			ids->uid = (uid_t)(start + k);
			ids->gid = cfg->gid >= 0 ? (gid_t)cfg->gid : (gid_t)(start + k);
			ids->lock_fd = fd;
			return 0;
		}
		close(fd);
		if (errno != EWOULDBLOCK)
			return pl_err_sys(err, PL_ESYS, "locking '%s'", path);
	}
	return pl_err_set(err, PL_ELIMIT, "all %u sandbox uids from %u are in use", count, start);
}

void sbx__ids_release(sbx__ids *ids)
{
	if (ids->lock_fd >= 0)
		close(ids->lock_fd);
	ids->lock_fd = -1;
}

int sbx__idmap_userns(int *fd_out, uid_t from_uid, gid_t from_gid, uid_t to_uid, gid_t to_gid, pl_err *err)
{
	char path[64], map[64];
	int p[2], fd = -1, rc = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return pl_err_sys(err, PL_ESYS, "creating a pipe");
	/* A process in a new user namespace that waits while its maps are
	 * written and the namespace is opened; it touches nothing else, so a
	 * caller with threads may fork it. */
	pid = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, 0UL);
	if (pid == 0) {
		char c;

		close(p[1]);
		(void)!read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return pl_err_sys(err, PL_ESYS, "creating a user namespace for an id-mapped mount");
	}
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)from_uid, (unsigned)to_uid);
	if (sbx__write_file(path, map) < 0) {
		rc = pl_err_sys(err, PL_ESYS, "writing the uid map of an id-mapped mount");
		goto done;
	}
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)from_gid, (unsigned)to_gid);
	if (sbx__write_file(path, map) < 0) {
		rc = pl_err_sys(err, PL_ESYS, "writing the gid map of an id-mapped mount");
		goto done;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		rc = pl_err_sys(err, PL_ESYS, "opening the user namespace of an id-mapped mount");
done:
	close(p[1]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (rc == 0)
		*fd_out = fd;
	return rc;
}
