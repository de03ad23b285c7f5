/* root.c - the sandbox's root, assembled by the child in its new mount
 * namespace before it enters it with pivot_root.
 *
 * Every tree the sandbox shows is copied and flagged while detached
 * (open_tree, mount_setattr): the root (the host's "/" or an image),
 * read-only, nosuid, nodev in one recursive call; each bind source and the
 * work directory, nosuid, nodev (and read-only for --ro-bind; as root the
 * caller opens the writable ones itself, id-mapped, run.c).  Then the root
 * is attached on STAGE and the rest is assembled on it: a fresh /proc, a
 * minimal /dev, the private /tmp, /var/tmp, /dev/shm and /run (one tmpfs),
 * the work directory (its .git read-only), the binds in order.
 *
 * Mount points.  A destination is looked up inside the new root
 * (openat2 with RESOLVE_IN_ROOT): a symlink on the way, whether the image
 * holds it or an earlier run left it in a work directory, resolves as it
 * would inside the sandbox and cannot lead to the host's tree.  A
 * destination that does not exist is created, but never on the host or in
 * an image: only in a tmpfs of the sandbox's own.  Under /tmp that is the
 * sandbox's /tmp; under a read-only directory D (of the root or of a
 * read-only bind), D gets covered by a fresh tmpfs that holds a mount point
 * for each of D's entries, each entry bound back from D as it was (a copy
 * of its mount tree, read-only like the rest), and the new mount point
 * beside them; that tmpfs is made read-only once every bind is in place,
 * so the root stays read-only for the command.  This is bubblewrap's tmpfs
 * root, paid only where a destination is missing and only for the
 * directory that lacks it.  A destination missing from a writable bind or
 * the work directory is refused: creating it there would change the host.
 *
 * Like the rest of the child, this uses only system calls and memory the
 * caller prepared. */
#define _GNU_SOURCE
#include "sandbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
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

/* Flags set on the mount at dfd/path (on its whole tree with
 * AT_RECURSIVE), made private. */
static int set_attr_at(int dfd, const char *path, unsigned int at_flags, unsigned long set)
{
	struct mount_attr a;

	memset(&a, 0, sizeof(a));
	a.attr_set = set;
	a.propagation = MS_PRIVATE;
	return mount_setattr(dfd, path, at_flags, &a, sizeof(a));
}

static int set_attr(const char *path, unsigned long set)
{
	return set_attr_at(AT_FDCWD, path, AT_RECURSIVE, set);
}

/* A detached copy of the tree at dfd/path with flags set (recursively),
 * not yet attached anywhere; *dir says whether its root is a directory. */
static int detached_tree(int dfd, const char *path, unsigned long set, bool *dir)
{
	struct stat st;
	int fd = open_tree(dfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | (*path ? 0 : AT_EMPTY_PATH));

	if (fd < 0)
		return -1;
	if (set_attr_at(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, set) < 0 || fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	if (dir)
		*dir = S_ISDIR(st.st_mode);
	return fd;
}

/* An overlay's layer path for fsconfig: ':' separates layers and '\\'
 * escapes, so both are escaped. */
static void layer_path(char *out, size_t n, const char *path)
{
	size_t k = 0;

	for (; *path && k + 2 < n; path++) {
		if (*path == ':' || *path == '\\')
			out[k++] = '\\';
		out[k++] = *path;
	}
	out[k] = '\0';
}

/*
 * The root as an overlay: rootfs the lower layer (never written), dir/upper
 * this sandbox's changes, dir/work overlayfs's own; mounted in the
 * sandbox's mount namespace (Linux 5.11+ allows it in a user namespace),
 * so nothing of it exists on the host but the two directories.  A new
 * upper directory takes rootfs's owner and mode: they are the merged
 * root's.  Returns the detached mount, or -1 with *f.
 */
static int overlay_tree(const sbx__spec *sp, sbx__fail *f)
{
	const sbx_config *cfg = sp->cfg;
	char upper[PATH_MAX], work[PATH_MAX], opt[2 * PATH_MAX];
	struct stat st;
	int fs, mnt;

	if (snprintf(upper, sizeof(upper), "%s/upper", cfg->rootfs_overlay) >= (int)sizeof(upper) ||
	    snprintf(work, sizeof(work), "%s/work", cfg->rootfs_overlay) >= (int)sizeof(work)) {
		errno = ENAMETOOLONG;
		return fail(f, "overlay directory", cfg->rootfs_overlay);
	}
	if (stat(cfg->rootfs, &st) < 0)
		return fail(f, "reading the root", cfg->rootfs);
	if (mkdir(upper, 0700) == 0) {
		if (lchown(upper, st.st_uid, st.st_gid) < 0 || chmod(upper, st.st_mode & 07777) < 0)
			return fail(f, "setting the owner and mode of", upper);
	} else if (errno != EEXIST) {
		return fail(f, "creating", upper);
	}
	if (mkdir(work, 0700) < 0 && errno != EEXIST)
		return fail(f, "creating", work);
	if ((fs = fsopen("overlay", FSOPEN_CLOEXEC)) < 0)
		return fail(f, "opening an overlay file system (Linux 5.11+ mounts one in a user namespace)", NULL);
	layer_path(opt, sizeof(opt), cfg->rootfs);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir", opt, 0) < 0) {
		close(fs);
		return fail(f, "overlay: lower layer", cfg->rootfs);
	}
	layer_path(opt, sizeof(opt), upper);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", opt, 0) < 0) {
		close(fs);
		return fail(f, "overlay: upper layer", upper);
	}
	layer_path(opt, sizeof(opt), work);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "workdir", opt, 0) < 0) {
		close(fs);
		return fail(f, "overlay: work directory", work);
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		close(fs);
		return fail(f,
			    "creating the overlay (a kernel before Linux 5.11 refuses one in a user namespace) "
			    "over",
			    cfg->rootfs);
	}
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	close(fs);
	if (mnt < 0)
		return fail(f, "mounting the overlay over", cfg->rootfs);
	return mnt;
}

/* Whether a is a proper ancestor of path, both normalized. */
static bool ancestor(const char *a, const char *path)
{
	size_t n = strlen(a);

	if (!strcmp(a, "/"))
		return strcmp(path, "/") != 0;
	return strlen(path) > n && !strncmp(path, a, n) && path[n] == '/';
}

bool sbx__first_symlink(char *out, size_t cap, const char *path)
{
	size_t len = strlen(path), i;
	struct stat st;

	if (len >= cap)
		return false;
	memcpy(out, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (out[i] != '/' && out[i] != '\0')
			continue;
		out[i] = '\0';
		if (lstat(out, &st) == 0 && S_ISLNK(st.st_mode))
			return true;
		out[i] = path[i];
	}
	return false;
}

int sbx__source_open(const sbx__spec *sp, const char *path, bool writable)
{
	const sbx_config *cfg = sp->cfg;
	const char *anchor = NULL;
	size_t i;
	int dfd, fd;

	if (writable)
		anchor = "/";
	/* The deepest writable tree the path lies in: the sandbox (this run
	 * or an earlier one) may have left symlinks anywhere below it. */
	else if (sp->work_src && ancestor(sp->work_src, path))
		anchor = sp->work_src;
	for (i = 0; i < cfg->nbinds; i++)
		if (!cfg->binds[i].ro && ancestor(sp->bind_src[i], path) &&
		    (!anchor || strlen(sp->bind_src[i]) > strlen(anchor)))
			anchor = sp->bind_src[i];
	if (!anchor)
		return open(path, O_PATH | O_CLOEXEC);
	/* the anchor itself, a writable source, resolves by the same rule */
	if ((dfd = !strcmp(anchor, "/") ? open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)
					: sbx__source_open(sp, anchor, true)) < 0)
		return -1;
	if (!strcmp(path, "/")) {
		/* nothing below the anchor to resolve */
		return dfd;
	}
	/* openat2, or where it is refused (plait inside a sandbox of its
	 * own) a walk without symlinks: both refuse any symlink on the way */
	fd = pl_open_beneath(dfd, path + strlen(anchor) + (strcmp(anchor, "/") ? 1 : 0), O_PATH, PL_OPEN_NO_SYMLINKS);
	close(dfd);
	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

/* Bind k's source as a detached tree, unless the caller opened it already
 * (id-mapped, run.c). */
static int open_bind(const sbx__spec *sp, size_t k, const char *src, bool ro, sbx__fail *f)
{
	int fd;

	if (sp->bind_fd[k] >= 0)
		return 0;
	if ((fd = sbx__source_open(sp, src, !ro)) < 0)
		return fail(f, errno == ELOOP ? "bind source (no symlink may lead through the work directory or a "
						"writable bind, nor to a writable source: it may have been left there "
						"by an earlier run)"
					      : "bind source",
			    src);
	sp->bind_fd[k] = detached_tree(fd, "", (ro ? MOUNT_ATTR_RDONLY : 0) | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
				       &sp->bind_dir[k]);
	close(fd);
	if (sp->bind_fd[k] < 0)
		return fail(f, "bind source", src);
	return 0;
}

/* The assembly's state: where the root is, which tmpfs mounts are the
 * sandbox's own (written while assembling, by st_dev), and the tmpfs copies
 * of read-only directories to make read-only at the end. */
typedef struct assembly {
	const sbx__spec *sp;
	int root;    /* O_PATH descriptor of the new root, as it is now */
	dev_t *own;  /* sp->own_dev */
	size_t nown;
	int *mirror; /* sp->mirror_fd */
	size_t nmirror;
	dev_t reserved[3]; /* /proc, /dev, /dev/pts: no bind lands there */
	size_t nreserved;
	uint64_t shm_mnt;  /* /dev/shm's mount (its tmpfs is /tmp's: by mount) */
	char path[PATH_MAX]; /* a path for a message */
} assembly;

/* inner (absolute, inside the sandbox) looked up in the new root: symlinks
 * resolve as inside, ".." stops at the root, /proc magic links are
 * refused.  An O_PATH descriptor, or -1 with errno. */
static int lookup(const assembly *a, const char *inner, uint64_t flags)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = O_PATH | O_CLOEXEC | flags;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	while (*inner == '/')
		inner++;
	return (int)syscall(SYS_openat2, a->root, *inner ? inner : ".", &how, sizeof(how));
}

static void add_own(assembly *a, int fd)
{
	struct stat st;

	if (fstat(fd, &st) == 0)
		a->own[a->nown++] = st.st_dev;
}

static bool is_own(const assembly *a, int fd)
{
	struct stat st;
	size_t i;

	if (fstat(fd, &st) < 0)
		return false;
	for (i = 0; i < a->nown; i++)
		if (a->own[i] == st.st_dev)
			return true;
	return false;
}

static bool is_reserved(const assembly *a, int fd)
{
	struct statx sx;
	size_t i;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0)
		return true;
	for (i = 0; i < a->nreserved; i++)
		if (a->reserved[i] == makedev(sx.stx_dev_major, sx.stx_dev_minor))
			return true;
	return (sx.stx_mask & STATX_MNT_ID) && sx.stx_mnt_id == a->shm_mnt;
}

static int reopen_root(assembly *a)
{
	int fd = open(STAGE, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (a->root >= 0)
		close(a->root);
	a->root = fd;
	return 0;
}

/* One entry of D (dfd, the directory below the new tmpfs) given a place in
 * the tmpfs (mnt): a symlink copied, anything else bound back as it was. */
static int mirror_entry(int dfd, int mnt, const char *name)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1; /* gone meanwhile */
	if (S_ISLNK(st.st_mode)) {
		if ((n = readlinkat(dfd, name, target, sizeof(target) - 1)) < 0)
			return -1;
		target[n] = '\0';
		return symlinkat(target, mnt, name);
	}
	if (S_ISDIR(st.st_mode)) {
		if (mkdirat(mnt, name, 0755) < 0)
			return -1;
	} else {
		if ((fd = openat(mnt, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
			return -1;
		close(fd);
	}
	/* The entry's own mount tree, flags included (it comes from the
	 * read-only root or bind); lookups from dfd start below the tmpfs. */
	fd = open_tree(dfd, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW);
	if (fd < 0)
		/* what the caller may not see stays an empty mount point */
		return errno == EACCES || errno == EPERM ? 0 : -1;
	if (move_mount(fd, "", mnt, name, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

/* Cover the read-only directory D (dfd, at inner) with a tmpfs of the
 * sandbox's own holding D's entries, so that mount points can be added to
 * it without writing D. */
static int mirror(assembly *a, int dfd, const char *inner, sbx__fail *f)
{
	char buf[8192], mode[16];
	struct stat st;
	int list = -1, fs = -1, mnt = -1, rc = -1;
	long n, off;

	snprintf(a->path, sizeof(a->path), "%s", inner);
	if (fstat(dfd, &st) < 0 || (list = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fail(f, "reading the directory to add a mount point to", a->path);
		goto done;
	}
	snprintf(mode, sizeof(mode), "%o", (unsigned)(st.st_mode & 01777));
	if ((fs = fsopen("tmpfs", FSOPEN_CLOEXEC)) < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "mode", mode, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "size", "1m", 0) < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
	    (mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)) < 0 ||
	    move_mount(mnt, "", dfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		fail(f, "covering with a tmpfs, to add a mount point to it,", a->path);
		goto done;
	}
	while ((n = syscall(SYS_getdents64, list, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n;) {
			const char *name = buf + off + 19; /* struct linux_dirent64: d_name */
			unsigned short reclen;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			off += reclen;
			if (!strcmp(name, ".") || !strcmp(name, ".."))
				continue;
			if (mirror_entry(dfd, mnt, name) < 0) {
				snprintf(a->path, sizeof(a->path), "%.3800s%s%.255s", inner, strcmp(inner, "/") ? "/" : "", name);
				fail(f, "binding into the tmpfs that covers its directory", a->path);
				goto done;
			}
		}
	}
	if (n < 0) {
		fail(f, "reading the directory to add a mount point to", a->path);
		goto done;
	}
	add_own(a, mnt);
	a->mirror[a->nmirror++] = mnt;
	mnt = -1;
	/* a tmpfs over the root itself: lookups must now start on top of it */
	rc = !strcmp(inner, "/") && reopen_root(a) < 0 ? fail(f, "opening the new root", NULL) : 0;
done:
	if (list >= 0)
		close(list);
	if (fs >= 0)
		close(fs);
	if (mnt >= 0)
		close(mnt);
	return rc;
}

/* Create the missing destination inner (a directory or a file, as dir
 * says) in a tmpfs of the sandbox's own; returns an O_PATH descriptor of
 * it, or -1 with *f. */
static int make_mount_point(assembly *a, const char *inner, bool dir, sbx__fail *f)
{
	char buf[PATH_MAX], *name, *next;
	size_t len = strlen(inner);
	struct stat st;
	struct statvfs sv;
	int dfd = -1, fd;

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return fail(f, "bind destination", inner);
	}
	/* The deepest ancestor that exists: D = buf, the rest after it. */
	memcpy(buf, inner, len + 1);
	for (;;) {
		char *slash = strrchr(buf, '/');

		if (slash == buf) {
			buf[1] = '\0';
			dfd = lookup(a, "/", O_DIRECTORY);
			break;
		}
		*slash = '\0';
		if ((dfd = lookup(a, buf, O_DIRECTORY)) >= 0 || errno != ENOENT)
			break;
	}
	snprintf(a->path, sizeof(a->path), "%s", buf);
	if (dfd < 0)
		return fail(f, "bind destination: looking up", a->path);
	if (is_reserved(a, dfd)) {
		close(dfd);
		errno = EPERM;
		snprintf(a->path, sizeof(a->path), "%s", inner);
		return fail(f, "bind destination (it leads into /proc or /dev, the sandbox's own)", a->path);
	}
	if (!is_own(a, dfd)) {
		if (fstatvfs(dfd, &sv) < 0 || !(sv.f_flag & ST_RDONLY)) {
			close(dfd);
			errno = ENOENT;
			snprintf(a->path, sizeof(a->path), "%s", inner);
			return fail(f, "bind destination missing from a writable bind or the work directory, where plait "
				       "makes no mount point (that would change the host: create it there first)",
				    a->path);
		}
		if (mirror(a, dfd, buf, f) < 0) {
			close(dfd);
			return -1;
		}
		close(dfd);
		/* D is now the tmpfs on it */
		if ((dfd = lookup(a, buf, O_DIRECTORY)) < 0)
			return fail(f, "bind destination: looking up", a->path);
	}
	/* Each missing component, in the tmpfs: directories, then the last
	 * one of the source's kind. */
	name = buf + strlen(buf) + (strcmp(buf, "/") ? 1 : 0);
	memcpy(buf, inner, len + 1);
	for (; name; name = next) {
		bool last;

		while (*name == '/')
			name++;
		next = strchr(name, '/');
		if (next)
			*next++ = '\0';
		last = !next || !*next;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			/* present but not found: a symlink that leads nowhere */
			close(dfd);
			errno = ENOENT;
			snprintf(a->path, sizeof(a->path), "%s", inner);
			return fail(f, "bind destination: a symlink on its way leads nowhere", a->path);
		}
		if (!last || dir)
			fd = mkdirat(dfd, name, 0755);
		else if ((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) >= 0)
			close(fd);
		if (fd < 0 || (fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			close(dfd);
			snprintf(a->path, sizeof(a->path), "%s", inner);
			return fail(f, "creating the bind destination", a->path);
		}
		close(dfd);
		dfd = fd;
		if (last)
			break;
	}
	return dfd;
}

/* Whether the sandbox's user may search a directory: its mode for the
 * owner, group or others as the ids compare (this namespace maps the
 * host's root and the sandbox's ids; ACLs are not read). */
static bool searchable(const sbx__spec *sp, const struct stat *st)
{
	if (st->st_uid == sp->host_uid)
		return st->st_mode & S_IXUSR;
	if (st->st_gid == sp->host_gid)
		return st->st_mode & S_IXGRP;
	return st->st_mode & S_IXOTH;
}

/* Cover the directory at dfd (inner) with an empty tmpfs of the sandbox's
 * own, mode 0755: what was there stays out of sight, and mount points made
 * in it can be reached. */
static int mask(assembly *a, int dfd, const char *inner, sbx__fail *f)
{
	int fs, mnt = -1;

	snprintf(a->path, sizeof(a->path), "%s", inner);
	if ((fs = fsopen("tmpfs", FSOPEN_CLOEXEC)) < 0 || fsconfig(fs, FSCONFIG_SET_STRING, "mode", "755", 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "size", "1m", 0) < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
	    (mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)) < 0 ||
	    move_mount(mnt, "", dfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		if (fs >= 0)
			close(fs);
		if (mnt >= 0)
			close(mnt);
		return fail(f, "covering with a tmpfs a directory the sandbox's user cannot search,", a->path);
	}
	close(fs);
	add_own(a, mnt);
	a->mirror[a->nmirror++] = mnt;
	return 0;
}

/* As root, a destination is made reachable by the sandbox's user: the
 * first ancestor it could not search (a 0700 home directory, /root) is
 * covered by an empty tmpfs in which the way to the destination is then
 * made.  Only what the user could not have seen is hidden. */
static int reach(assembly *a, const char *inner, sbx__fail *f)
{
	char buf[PATH_MAX];
	size_t len = strlen(inner), i;
	struct stat st;
	int fd, rc;

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return fail(f, "bind destination", inner);
	}
	memcpy(buf, inner, len + 1);
	for (i = 1; i < len; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		fd = lookup(a, buf, O_DIRECTORY);
		if (fd < 0) /* missing: made later, in a tmpfs of our own */
			return 0;
		if (fstat(fd, &st) == 0 && !searchable(a->sp, &st) && !is_own(a, fd)) {
			rc = mask(a, fd, buf, f);
			close(fd);
			return rc;
		}
		close(fd);
		buf[i] = '/';
	}
	return 0;
}

/* Bind tree k (the detached copy open_bind made) at inner. */
static int attach_bind(assembly *a, size_t k, const char *inner, sbx__fail *f)
{
	const sbx__spec *sp = a->sp;
	struct stat st;
	int fd;

	if (sp->drop_to && reach(a, inner, f) < 0)
		return -1;
	fd = lookup(a, inner, 0);
	if (fd >= 0 && is_reserved(a, fd)) {
		close(fd);
		errno = EPERM;
		return fail(f, "bind destination (it leads into /proc or /dev, the sandbox's own)", inner);
	}
	if (fd < 0 && errno == ENOENT)
		fd = make_mount_point(a, inner, sp->bind_dir[k], f);
	else if (fd < 0)
		return fail(f, "bind destination", inner);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode) != sp->bind_dir[k]) {
		close(fd);
		errno = sp->bind_dir[k] ? ENOTDIR : EISDIR;
		return fail(f, sp->bind_dir[k] ? "bind destination (the source is a directory)"
					       : "bind destination (the source is not a directory)",
			    inner);
	}
	if (move_mount(sp->bind_fd[k], "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		close(fd);
		return fail(f, "bind mounting", inner);
	}
	close(fd);
	close(sp->bind_fd[k]);
	sp->bind_fd[k] = -1;
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
	/* max=: kernel.pty.max is one count for the whole host */
	if (mount("devpts", STAGE "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=620,max=64") < 0)
		return fail(f, "mounting devpts on", "/dev/pts");
	if (set_attr(STAGE "/dev", MOUNT_ATTR_NOSUID) < 0)
		return fail(f, "setting flags on", "/dev");
	return 0;
}

/* Kernel objects that no rlimit counts, bounded where the kernel keeps
 * their limits per namespace (docs/SANDBOX.md, "Limits").  Each write may
 * fail (an older kernel, an unprivileged caller whose namespace does not
 * map root: IPC sysctls are writable by the namespace's root alone); what
 * is then not bounded is said in SANDBOX.md. */
static void write_sysctls(const sbx__spec *sp)
{
	static const char *const fixed[][2] = {
		/* System V IPC, this sandbox's own IPC namespace: segments,
		 * queues (16 KiB each), semaphores; kernel memory that neither
		 * RLIMIT_AS nor a tmpfs size counts */
		{ "kernel/shmmni", "64" },
		{ "kernel/msgmni", "32" },
		{ "kernel/msgmnb", "16384" },
		{ "kernel/sem", "250 8000 32 128" },
		/* per-user counts of the set-up user namespace: every process
		 * of the sandbox is charged here and, above, to the user who
		 * made the namespace (the caller: root), whose own limits on
		 * the host (128 inotify instances) are one count for all */
		{ "user/max_inotify_instances", "32" },
		{ "user/max_inotify_watches", "65536" },
		{ "user/max_fanotify_groups", "8" },
		{ "user/max_fanotify_marks", "8192" },
	};
	uint64_t mem = sp->cfg->limits.memory;
	char path[96], v[32];
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(fixed); i++) {
		snprintf(path, sizeof(path), STAGE "/proc/sys/%s", fixed[i][0]);
		(void)sbx__write_file(path, fixed[i][1]);
	}
	if (!mem)
		return;
	/* shared memory: as much as the sandbox may use, like its tmpfs */
	snprintf(v, sizeof(v), "%llu", (unsigned long long)mem);
	(void)sbx__write_file(STAGE "/proc/sys/kernel/shmmax", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)(mem / 4096));
	(void)sbx__write_file(STAGE "/proc/sys/kernel/shmall", v);
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
	write_sysctls(sp);
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

/* The sandbox's writable places.  One tmpfs, sized by the memory limit
 * (its pages are memory that no rlimit counts: 400 MiB of /tmp under
 * --memory 32M otherwise), holds a directory for each, bound where it
 * goes; a place the root lacks is skipped, and one that is another's alias
 * (/var/run -> /run) is bound once.  /run and its kin hide the host's
 * unix sockets (D-Bus, docker.sock, /run/user/UID) and pid files. */
static int private_dirs(assembly *a, sbx__fail *f)
{
	static const struct {
		const char *path, *dir;
		mode_t mode;
	} dirs[] = {
		{ "/run", "run", 0755 },	  { "/var/run", "var-run", 0755 }, { "/var/tmp", "var-tmp", 01777 },
		{ "/dev/shm", "shm", 01777 }, { "/tmp", "tmp", 01777 },
	};
	struct stat seen[PL_ARRAY_LEN(dirs)];
	size_t i, j, nseen = 0;
	int t, fd, clone;

	if (mount("tmpfs", STAGE "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, a->sp->tmpfs_opts) < 0)
		return fail(f, "mounting tmpfs on", "/tmp");
	if ((t = open(STAGE "/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return fail(f, "opening", "/tmp");
	add_own(a, t);
	/* /tmp last: its directory is then bound over the tmpfs itself */
	for (i = 0; i < PL_ARRAY_LEN(dirs); i++) {
		struct stat st;

		if ((fd = lookup(a, dirs[i].path, O_DIRECTORY)) < 0)
			continue;
		for (j = 0; j < nseen && fstat(fd, &st) == 0; j++)
			if (seen[j].st_dev == st.st_dev && seen[j].st_ino == st.st_ino)
				break;
		if (j < nseen) {
			close(fd);
			continue;
		}
		if (mkdirat(t, dirs[i].dir, 0700) < 0 || fchmodat(t, dirs[i].dir, dirs[i].mode, 0) < 0 ||
		    /* /run/lock, where /var/lock leads, for lock files */
		    (!strcmp(dirs[i].dir, "run") &&
		     (mkdirat(t, "run/lock", 0700) < 0 || fchmodat(t, "run/lock", 01777, 0) < 0)) ||
		    (clone = open_tree(t, dirs[i].dir, OPEN_TREE_CLOEXEC | OPEN_TREE_CLONE)) < 0) {
			close(fd);
			close(t);
			return fail(f, "making a private directory for", dirs[i].path);
		}
		if (move_mount(clone, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0 ||
		    fstat(clone, &seen[nseen]) < 0) {
			close(clone);
			close(fd);
			close(t);
			return fail(f, "mounting a private directory on", dirs[i].path);
		}
		nseen++;
		if (!strcmp(dirs[i].path, "/dev/shm")) {
			struct statx sx;

			if (statx(clone, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) == 0 && (sx.stx_mask & STATX_MNT_ID))
				a->shm_mnt = sx.stx_mnt_id;
		}
		close(clone);
		close(fd);
	}
	close(t);
	return 0;
}

/* With the host's network (--net), a /etc/resolv.conf that leads into
 * /run (systemd-resolved's stub) would lead nowhere once /run is the
 * sandbox's own: the file is bound at its place in the new /run.  *clone
 * holds it meanwhile (-1: nothing to keep). */
static int resolv_conf_open(assembly *a, int *clone, char *inner, size_t cap)
{
	char link[64], path[PATH_MAX];
	struct stat st, run;
	ssize_t n;
	int fd, rfd;

	*clone = -1;
	if (!a->sp->cfg->network || (fd = lookup(a, "/etc/resolv.conf", 0)) < 0)
		return 0;
	rfd = lookup(a, "/run", O_DIRECTORY);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if (rfd < 0 || fstat(fd, &st) < 0 || fstat(rfd, &run) < 0 || st.st_dev != run.st_dev || !S_ISREG(st.st_mode) ||
	    (n = readlink(link, path, sizeof(path) - 1)) <= 0) {
		close(fd);
		if (rfd >= 0)
			close(rfd);
		return 0;
	}
	close(rfd);
	path[n] = '\0';
	/* as this namespace sees it: under STAGE */
	if (strncmp(path, STAGE "/run/", strlen(STAGE "/run/")) || strlen(path) - strlen(STAGE) >= cap) {
		close(fd);
		return 0;
	}
	snprintf(inner, cap, "%s", path + strlen(STAGE));
	*clone = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	close(fd);
	return *clone < 0 ? -1 : 0;
}

/* The work directory's .git, read-only inside: git on the host runs what
 * a repository's configuration says (core.fsmonitor, core.hooksPath,
 * hooks/, a commondir leading to another configuration), so nothing run in
 * the sandbox may write any of it.  .git becomes a mount point of its own
 * (a copy of itself, read-only): it cannot be renamed or removed either.
 * A .git that is a symlink is left alone (a mount cannot cover a symlink);
 * one that is a file (a worktree's or submodule's gitfile) is covered like
 * a directory. */
static int protect_git(assembly *a, sbx__fail *f)
{
	struct stat st;
	int wfd, gfd, tree;

	if ((wfd = lookup(a, a->sp->work_dst, O_DIRECTORY)) < 0)
		return fail(f, "opening the work directory", a->sp->work_dst);
	gfd = pl_open_beneath(wfd, ".git", O_PATH | O_NOFOLLOW, PL_OPEN_NO_SYMLINKS);
	close(wfd);
	if (gfd < 0) {
		errno = -gfd;
		return errno == ENOENT ? 0 : fail(f, "opening the work directory's .git", a->sp->work_dst);
	}
	if (fstat(gfd, &st) < 0 || S_ISLNK(st.st_mode)) {
		close(gfd);
		return 0;
	}
	tree = detached_tree(gfd, "", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, NULL);
	if (tree < 0 || move_mount(tree, "", gfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		if (tree >= 0)
			close(tree);
		close(gfd);
		return fail(f, "making the work directory's .git read-only", a->sp->work_dst);
	}
	close(tree);
	close(gfd);
	return 0;
}

int sbx__root_assemble(const sbx__spec *sp, sbx__fail *f)
{
	const sbx_config *cfg = sp->cfg;
	assembly a = { sp, -1, sp->own_dev, 0, sp->mirror_fd, 0, { 0 }, 0, 0, "" };
	char resolv_at[PATH_MAX];
	size_t i;
	int root, fd, resolv = -1, rc = -1;

	/* Every tree the sandbox shows, copied and flagged while detached;
	 * then the root is attached on STAGE and the rest assembled on it. */
	if (cfg->rootfs && cfg->rootfs_overlay) {
		if ((root = overlay_tree(sp, f)) < 0)
			return -1;
	} else if ((root = detached_tree(AT_FDCWD, sp->root_src, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
					 NULL)) < 0) {
		return fail(f, "copying the root", sp->root_src);
	}
	for (i = 0; i < cfg->nbinds; i++)
		if (open_bind(sp, i, sp->bind_src[i], cfg->binds[i].ro, f) < 0)
			return -1;
	if (sp->work_dst && open_bind(sp, cfg->nbinds, sp->work_src, false, f) < 0)
		return -1;
	if (move_mount(root, "", AT_FDCWD, STAGE, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return fail(f, "attaching the root on", STAGE);
	close(root);
	if (reopen_root(&a) < 0)
		return fail(f, "opening the new root", NULL);
	/* an overlay root is this sandbox's own: mount points go in it */
	if (cfg->rootfs && cfg->rootfs_overlay)
		add_own(&a, a.root);
	if (make_proc(sp, f) < 0 || make_dev(f) < 0)
		goto done;
	if (resolv_conf_open(&a, &resolv, resolv_at, sizeof(resolv_at)) < 0) {
		fail(f, "keeping /etc/resolv.conf, which leads into /run, for --net", NULL);
		goto done;
	}
	/* No bind may land in these, even through a symlink. */
	{
		static const char *const res[] = { "/proc", "/dev", "/dev/pts" };

		for (i = 0; i < PL_ARRAY_LEN(res); i++)
			if ((fd = lookup(&a, res[i], O_DIRECTORY)) >= 0) {
				struct stat st;

				if (fstat(fd, &st) == 0)
					a.reserved[a.nreserved++] = st.st_dev;
				close(fd);
			}
	}
	if (private_dirs(&a, f) < 0)
		goto done;
	if (resolv >= 0) {
		if ((fd = make_mount_point(&a, resolv_at, false, f)) < 0)
			goto done;
		if (move_mount(resolv, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
			close(fd);
			fail(f, "binding /etc/resolv.conf's target at", resolv_at);
			goto done;
		}
		close(fd);
	}
	if (sp->work_dst && (attach_bind(&a, cfg->nbinds, sp->work_dst, f) < 0 ||
			     (cfg->protect_git && protect_git(&a, f) < 0)))
		goto done;
	for (i = 0; i < cfg->nbinds; i++)
		if (attach_bind(&a, i, sp->bind_dst[i], f) < 0)
			goto done;
	/* The tmpfs copies were written only to add mount points: read-only
	 * now, themselves only (the binds in them keep their own flags). */
	for (i = 0; i < a.nmirror; i++)
		if (set_attr_at(a.mirror[i], "", AT_EMPTY_PATH, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) <
		    0) {
			fail(f, "making read-only the tmpfs that holds new mount points", NULL);
			goto done;
		}
	rc = 0;
done:
	if (resolv >= 0)
		close(resolv);
	for (i = 0; i < a.nmirror; i++)
		close(a.mirror[i]);
	if (a.root >= 0)
		close(a.root);
	return rc;
}
