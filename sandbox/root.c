/* root.c - the sandbox's root, assembled by the child in its new mount
 * namespace before it enters it with pivot_root.
 *
 * Every tree the sandbox shows is copied and flagged while detached
 * (open_tree, mount_setattr): the root (the host's "/" or an image),
 * read-only, nosuid, nodev in one recursive call; each bind source and the
 * work directory, nosuid, nodev (and read-only for --ro-bind).  Then the
 * root is attached on STAGE and the rest is assembled on it: a fresh /proc,
 * a minimal /dev, private /tmp and /var/tmp, the work directory, the binds
 * in order.
 *
 * Like the rest of the child, this uses only system calls and memory the
 * caller prepared. */
#define _GNU_SOURCE
#include "sandbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define STAGE SBX__STAGE
#define INNER(staged) ((staged) + strlen(STAGE))

static int fail(sbx__fail *f, const char *what, const char *path)
{
	f->what = what;
	f->path = path;
	return -1;
}

int sbx__write_file(const char *path, const char *data)
{
	size_t len = strlen(data);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* mkdir -p of the directory part (and the last part when dir). */
static int make_path(const char *path, bool last_is_dir)
{
	char buf[PATH_MAX];
	size_t i, len = strlen(path);

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (buf[i] == '\0' && !last_is_dir)
			break;
		buf[i] = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		buf[i] = i == len ? '\0' : '/';
	}
	return 0;
}

/* Make sure a mount point of the right kind exists at dst. */
static int mount_point(const char *dst, bool dir)
{
	struct stat st;
	int fd;

	if (stat(dst, &st) == 0)
		return 0;
	if (make_path(dst, dir) < 0)
		return -1;
	if (dir)
		return 0;
	fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* Flags set on the tree at dfd/path (recursively), made private. */
static int set_attr_at(int dfd, const char *path, unsigned int at_flags, unsigned long set)
{
	struct mount_attr a;

	memset(&a, 0, sizeof(a));
	a.attr_set = set;
	a.propagation = MS_PRIVATE;
	return mount_setattr(dfd, path, at_flags | AT_RECURSIVE, &a, sizeof(a));
}

static int set_attr(const char *path, unsigned long set)
{
	return set_attr_at(AT_FDCWD, path, 0, set);
}

/* A detached copy of the tree at src with flags set (recursively), not
 * yet attached anywhere; *dir says whether its root is a directory. */
static int detached_tree(const char *src, unsigned long set, bool *dir)
{
	struct stat st;
	int fd = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	if (fd < 0)
		return -1;
	if (set_attr_at(fd, "", AT_EMPTY_PATH, set) < 0 || fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	if (dir)
		*dir = S_ISDIR(st.st_mode);
	return fd;
}

static int open_bind(const sbx__spec *sp, size_t k, const char *src, bool ro, sbx__fail *f)
{
	sp->bind_fd[k] = detached_tree(src, (ro ? MOUNT_ATTR_RDONLY : 0) | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
				       &sp->bind_dir[k]);
	if (sp->bind_fd[k] < 0)
		return fail(f, "bind source", src);
	return 0;
}

static int attach_bind(const sbx__spec *sp, size_t k, const char *dst, sbx__fail *f)
{
	if (mount_point(dst, sp->bind_dir[k]) < 0)
		return fail(f, "creating the bind destination (it must exist in a read-only root)", INNER(dst));
	if (move_mount(sp->bind_fd[k], "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return fail(f, "bind mounting", INNER(dst));
	close(sp->bind_fd[k]);
	return 0;
}

static int make_dev(sbx__fail *f)
{
	static const char *const nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const char *const links[][2] = { { "pts/ptmx", STAGE "/dev/ptmx" },
						{ "/proc/self/fd", STAGE "/dev/fd" },
						{ "/proc/self/fd/0", STAGE "/dev/stdin" },
						{ "/proc/self/fd/1", STAGE "/dev/stdout" },
						{ "/proc/self/fd/2", STAGE "/dev/stderr" } };
	static const char *const host[] = { "/dev/null", "/dev/zero", "/dev/full",
					    "/dev/random", "/dev/urandom", "/dev/tty" };
	char dst[64];
	size_t i;
	int fd;

	if (mount("tmpfs", STAGE "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
		return fail(f, "mounting tmpfs on", "/dev");
	/* The host's nodes, bound onto empty files of the fresh tmpfs. */
	for (i = 0; i < PL_ARRAY_LEN(nodes); i++) {
		snprintf(dst, sizeof(dst), STAGE "/dev/%s", nodes[i]);
		if ((fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
			return fail(f, "creating", host[i]);
		close(fd);
		if (mount(host[i], dst, NULL, MS_BIND, NULL) < 0)
			return fail(f, "binding", host[i]);
	}
	for (i = 0; i < PL_ARRAY_LEN(links); i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			return fail(f, "creating", INNER(links[i][1]));
	if (mkdir(STAGE "/dev/pts", 0755) < 0 || mkdir(STAGE "/dev/shm", 01777) < 0)
		return fail(f, "creating /dev/pts and /dev/shm", NULL);
	if (mount("devpts", STAGE "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620") <
	    0)
		return fail(f, "mounting devpts on", "/dev/pts");
	if (mount("tmpfs", STAGE "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		return fail(f, "mounting tmpfs on", "/dev/shm");
	if (set_attr(STAGE "/dev", MOUNT_ATTR_NOSUID) < 0)
		return fail(f, "setting flags on", "/dev");
	return 0;
}

static int make_proc(const sbx__spec *sp, sbx__fail *f)
{
	static const char *const ro[] = { STAGE "/proc/sys", STAGE "/proc/sysrq-trigger", STAGE "/proc/irq",
					  STAGE "/proc/bus" };
	size_t i;

	if (mount("proc", STAGE "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return fail(f, "mounting", "/proc");
	/* The PID namespace's own pid_max (Linux 6.14+) bounds the number of
	 * processes whatever the uid; older kernels refuse and the rlimit
	 * alone applies. */
	if (sp->pid_max[0])
		(void)sbx__write_file(STAGE "/proc/sys/kernel/pid_max", sp->pid_max);
	/* Kernel tunables stay read-only even for a root-mapped sandbox. */
	for (i = 0; i < PL_ARRAY_LEN(ro); i++) {
		if (access(ro[i], F_OK) < 0)
			continue;
		if (mount(ro[i], ro[i], NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    set_attr(ro[i], MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC) < 0)
			return fail(f, "making read-only", INNER(ro[i]));
	}
	return 0;
}

int sbx__root_assemble(const sbx__spec *sp, sbx__fail *f)
{
	const sbx_config *cfg = sp->cfg;
	size_t i;
	int root;

	/* Every tree the sandbox shows, copied and flagged while detached;
	 * then the root is attached on STAGE and the rest assembled on it. */
	root = detached_tree(sp->root_src, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, NULL);
	if (root < 0)
		return fail(f, "copying the root", sp->root_src);
	for (i = 0; i < cfg->nbinds; i++)
		if (open_bind(sp, i, cfg->binds[i].src, cfg->binds[i].ro, f) < 0)
			return -1;
	if (sp->work_dst && open_bind(sp, cfg->nbinds, cfg->workdir, false, f) < 0)
		return -1;
	if (move_mount(root, "", AT_FDCWD, STAGE, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return fail(f, "attaching the root on", STAGE);
	close(root);
	if (make_proc(sp, f) < 0 || make_dev(f) < 0)
		return -1;
	if (mount("tmpfs", STAGE "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		return fail(f, "mounting tmpfs on", "/tmp");
	if (access(STAGE "/var/tmp", F_OK) == 0 &&
	    mount("tmpfs", STAGE "/var/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		return fail(f, "mounting tmpfs on", "/var/tmp");
	if (sp->work_dst && attach_bind(sp, cfg->nbinds, sp->work_dst, f) < 0)
		return -1;
	for (i = 0; i < cfg->nbinds; i++)
		if (attach_bind(sp, i, sp->bind_dst[i], f) < 0)
			return -1;
	return 0;
}
