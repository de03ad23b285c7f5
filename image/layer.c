/* layer.c - applying one layer (a tar stream, plain, gzip or zstd, read by
 * libarchive) to a root directory, the way image-spec layer.md says and
 * without ever leaving the root.
 *
 * Paths.  An entry's name is cleaned ("./a//b/" is "a/b"); an absolute
 * name or a ".." component is refused.  Its parent directory is resolved
 * one component at a time from the root, each step an openat2() with
 * RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS (the kernel refuses any symlink or
 * way out of the root the step would take), and a symlink met on the way
 * is expanded by plait as the image would see it: an absolute target
 * starts again at the image's root, a relative one from its directory; a
 * target that climbs above the root is refused, naming the entry and the
 * symlink, and so is one leading to a directory the image lacks (missing
 * parents are created only on a path without symlinks).  The entry itself is never followed: what is there is
 * removed and replaced.  Hard-link targets obey the same rules.
 *
 * Inodes are never written in place.  A root starts as hard links to its
 * parent chain's root (root.c), so a regular file is always a new inode
 * (created with O_EXCL after unlinking the old name), and metadata is only
 * changed on directories, which each root has of its own.
 *
 * Whiteouts.  ".wh.NAME" removes NAME, ".wh..wh..opq" every child of its
 * directory, but only what lower layers left: what this layer itself
 * wrote (whatever the order of the tar) stays, which takes a set of the
 * layer's paths.  Other ".wh..wh." names (aufs bookkeeping) are skipped.
 *
 * Modes and owners.  Permission bits and the sticky bit are kept; setuid
 * and setgid are dropped from every non-directory (a directory's setgid
 * only passes its group on).  As root, owners are the image's shifted by
 * IMG_IDS_BASE (ids beyond IMG_IDS_COUNT become the shifted 65534, with a
 * notice); unprivileged, everything is the caller's and directories keep
 * u+rwx so that later layers can be applied.  Device nodes are skipped
 * (the sandbox mounts roots nodev and gives its own /dev); FIFOs are made;
 * extended attributes and ACLs are ignored.
 */
#define _GNU_SOURCE
#include "image/internal.h"
#include "image/libs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_SYMLINKS 40
#define READ_CHUNK   (1u << 20)

/* ---------------------------------------------------------------- a set of paths */

typedef struct pathset {
	char **slot;
	size_t cap, n;
} pathset;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static bool set_has(const pathset *ps, const char *s)
{
	size_t i;

	if (!ps->cap)
		return false;
	for (i = hash_str(s) & (ps->cap - 1); ps->slot[i]; i = (i + 1) & (ps->cap - 1))
		if (!strcmp(ps->slot[i], s))
			return true;
	return false;
}

static void set_put_owned(pathset *ps, char *s)
{
	size_t i;

	for (i = hash_str(s) & (ps->cap - 1); ps->slot[i]; i = (i + 1) & (ps->cap - 1))
		;
	ps->slot[i] = s;
	ps->n++;
}

static void set_add(pathset *ps, const char *s)
{
	if (set_has(ps, s))
		return;
	if (2 * (ps->n + 1) > ps->cap) {
		pathset bigger = { NULL, ps->cap ? 2 * ps->cap : 1024, 0 };
		size_t i;

		bigger.slot = pl_xcalloc(bigger.cap, sizeof(char *));
		for (i = 0; i < ps->cap; i++)
			if (ps->slot[i])
				set_put_owned(&bigger, ps->slot[i]);
		free(ps->slot);
		*ps = bigger;
	}
	set_put_owned(ps, pl_xstrdup(s));
}

static void set_free(pathset *ps)
{
	size_t i;

	for (i = 0; i < ps->cap; i++)
		free(ps->slot[i]);
	free(ps->slot);
	memset(ps, 0, sizeof(*ps));
}

/* ---------------------------------------------------------------- state */

typedef struct ctx {
	int rootfd;
	const char *what;
	const img__apply *a;
	pl_err *err;
	pathset seen;	  /* what this layer wrote, ancestors included */
	char *cached_dir; /* the parent directory last resolved ... */
	int cached_fd;	  /* ... and its descriptor */
	uint64_t entries, new_bytes;
	unsigned skipped_devices;
	bool warned_ids;
	/* the stream: raw (decompressed bytes, hashed) feeding tar */
	struct archive *raw, *tar;
	int blobfd;
	img__sha sha;
	uint64_t unpacked, reported;
	char *buf;
	int stream_rc; /* an error of the raw stream, in err */
} ctx;

static int entry_fail(ctx *c, int code, const char *entry, const char *fmt, ...) PL_PRINTF(4, 5);
static int entry_fail(ctx *c, int code, const char *entry, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pl_err_set(c->err, code, "%s: entry '%.300s': %s", c->what, entry, msg);
}

static int entry_sys(ctx *c, const char *entry, const char *what)
{
	int e = errno;

	return pl_err_set(c->err, e == ENOSPC ? PL_EIO : PL_ESYS, "%s: entry '%.300s': %s: %s", c->what,
			  entry, what, strerror(e));
}

static void uncache(ctx *c)
{
	if (c->cached_fd >= 0)
		close(c->cached_fd);
	c->cached_fd = -1;
	free(c->cached_dir);
	c->cached_dir = NULL;
}

/* ---------------------------------------------------------------- paths */

/* name cleaned into out; refuses absolute names and "..".  entry: the
 * entry whose name (or hard link's target) it is, for messages. */
static int clean_name(pl_buf *out, ctx *c, const char *name, const char *kind, const char *entry)
{
	const char *p = name, *e;

	pl_buf_reset(out);
	if (name[0] == '/')
		return entry_fail(c, PL_EFORMAT, entry,
				  "%s is an absolute path: a layer holds paths relative to the root", kind);
	while (*p) {
		size_t n;

		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == 2 && !strncmp(p, "..", 2))
			return entry_fail(c, PL_EFORMAT, entry,
					  "%s has a '..' component, which would leave the root", kind);
		if (n && !(n == 1 && *p == '.')) {
			if (out->len)
				pl_buf_putc(out, '/');
			pl_buf_add(out, p, n);
		}
		if (!e)
			break;
		p = e + 1;
	}
	if (out->len > 4000)
		return entry_fail(c, PL_EFORMAT, entry, "%s is longer than 4000 bytes", kind);
	return 0;
}

/* rel (clean, no symlink on the way: plait resolved them) opened beneath
 * the root by the kernel, which refuses any symlink or escape. */
static int open_beneath(int rootfd, const char *rel, int flags)
{
	struct open_how how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	return (int)syscall(SYS_openat2, rootfd, *rel ? rel : ".", &how, sizeof(how));
}

static void set_owner(ctx *c, int dfd, const char *name, int64_t uid, int64_t gid, const char *entry)
{
	if (!c->a->shift)
		return;
	if (uid < 0 || uid >= (int64_t)IMG_IDS_COUNT || gid < 0 || gid >= (int64_t)IMG_IDS_COUNT) {
		if (!c->warned_ids)
			pl_log_warn(c->a->log,
				    "%s: entry '%s' belongs to %lld:%lld, beyond the %u ids an image may use "
				    "here; "
				    "such entries belong to 65534 (nobody) of the image",
				    c->what, entry, (long long)uid, (long long)gid, IMG_IDS_COUNT);
		c->warned_ids = true;
		if (uid < 0 || uid >= (int64_t)IMG_IDS_COUNT)
			uid = 65534;
		if (gid < 0 || gid >= (int64_t)IMG_IDS_COUNT)
			gid = 65534;
	}
	/* a failure here leaves the owner root's: nothing is lost but the
	 * image's owner, and only root gets here */
	if (fchownat(dfd, name, (uid_t)(IMG_IDS_BASE + uid), (gid_t)(IMG_IDS_BASE + gid),
		     AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) < 0)
		pl_log_warn(c->a->log, "%s: entry '%s': chown: %s", c->what, entry, strerror(errno));
}

/*
 * The directory rel (clean) of the root, symlinks on the way resolved as
 * inside the image; missing directories created (when create) as the
 * image's root would own them.  An O_PATH descriptor in *out.  ENOENT
 * without create: *out = -1, returns 0.
 */
static int resolve_dir(int *out, ctx *c, const char *rel, bool create, const char *entry)
{
	pl_buf rest = PL_BUF_INIT, res = PL_BUF_INIT, next = PL_BUF_INIT, via = PL_BUF_INIT;
	char target[4096];
	int links = 0, dfd = -1, rc = 0;

	*out = -1;
	pl_buf_puts(&rest, rel);
	while (rest.len) {
		char *slash = strchr(rest.ptr, '/'), *comp;
		struct stat st;
		ssize_t n;

		if (slash)
			*slash = '\0';
		comp = pl_xstrdup(rest.ptr);
		pl_buf_reset(&next);
		if (slash)
			pl_buf_puts(&next, slash + 1);
		pl_buf_reset(&rest);
		pl_buf_add(&rest, next.ptr, next.len);
		if (!*comp || !strcmp(comp, ".")) {
			free(comp);
			continue;
		}
		if (!strcmp(comp, "..")) {
			char *up = strrchr(res.ptr, '/');

			free(comp);
			if (!res.len) {
				rc = entry_fail(c, PL_EFORMAT, entry,
						"the symlink %s on its way climbs above the root; refused",
						via.len ? via.ptr : "(none)");
				goto done;
			}
			pl_buf_setlen(&res, up ? (size_t)(up - res.ptr) : 0);
			continue;
		}
		if (dfd >= 0)
			close(dfd);
		if ((dfd = open_beneath(c->rootfd, res.ptr, O_PATH | O_DIRECTORY)) < 0) {
			free(comp);
			rc = entry_sys(c, entry, "opening a directory on its way");
			goto done;
		}
		if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT) {
				free(comp);
				rc = entry_sys(c, entry, "looking up its directory");
				goto done;
			}
			if (!create) {
				free(comp);
				close(dfd);
				dfd = -1;
				goto done; /* *out = -1 */
			}
			if (via.len) {
				/* never a directory made through a symlink */
				rc = entry_fail(c, PL_EFORMAT, entry,
						"the symlink %s on its way leads to '%s', which the image "
						"does not have",
						via.ptr, comp);
				free(comp);
				goto done;
			}
			if (mkdirat(dfd, comp, 0755) < 0) {
				free(comp);
				rc = entry_sys(c, entry, "creating a directory on its way");
				goto done;
			}
			set_owner(c, dfd, comp, 0, 0, entry);
			if (!c->a->shift)
				fchmodat(dfd, comp, 0755, 0);
			st.st_mode = S_IFDIR;
		}
		if (S_ISLNK(st.st_mode)) {
			if (++links > MAX_SYMLINKS) {
				free(comp);
				rc = entry_fail(c, PL_EFORMAT, entry, "more than %d symlinks on its way",
						MAX_SYMLINKS);
				goto done;
			}
			if ((n = readlinkat(dfd, comp, target, sizeof(target) - 1)) < 0) {
				free(comp);
				rc = entry_sys(c, entry, "reading a symlink on its way");
				goto done;
			}
			target[n] = '\0';
			if (!via.len)
				pl_buf_printf(&via, "'%s' -> '%s'", comp, target);
			free(comp);
			/* the image's view: absolute targets start at its root */
			if (target[0] == '/')
				pl_buf_reset(&res);
			pl_buf_reset(&next);
			pl_buf_puts(&next, target);
			if (rest.len) {
				pl_buf_putc(&next, '/');
				pl_buf_add(&next, rest.ptr, rest.len);
			}
			pl_buf_reset(&rest);
			pl_buf_add(&rest, next.ptr, next.len);
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc = entry_fail(c, PL_EFORMAT, entry, "'%s' on its way is not a directory", comp);
			free(comp);
			goto done;
		}
		if (res.len)
			pl_buf_putc(&res, '/');
		pl_buf_puts(&res, comp);
		free(comp);
	}
	if (dfd >= 0)
		close(dfd);
	if ((dfd = open_beneath(c->rootfd, res.ptr, O_PATH | O_DIRECTORY)) < 0) {
		rc = entry_sys(c, entry, "opening its directory");
		goto done;
	}
	*out = dfd;
	dfd = -1;
done:
	if (dfd >= 0)
		close(dfd);
	pl_buf_release(&rest);
	pl_buf_release(&res);
	pl_buf_release(&next);
	pl_buf_release(&via);
	return rc;
}

/* The parent of a clean path, through the one-entry cache (entries of a
 * directory come together in a tar).  Borrowed descriptor, or -1 when it
 * does not exist and create is false. */
static int parent_dir(int *out, ctx *c, const char *dir, bool create, const char *entry)
{
	int fd, rc;

	if (c->cached_dir && !strcmp(c->cached_dir, dir)) {
		*out = c->cached_fd;
		return 0;
	}
	if ((rc = resolve_dir(&fd, c, dir, create, entry)) < 0)
		return rc;
	if (fd < 0) {
		*out = -1;
		return 0;
	}
	uncache(c);
	c->cached_dir = pl_xstrdup(dir);
	c->cached_fd = fd;
	*out = fd;
	return 0;
}

/* ---------------------------------------------------------------- removal */

int img__remove_at(int dfd, const char *name)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	int fd, rc = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	if ((st.st_mode & 0700) != 0700 && st.st_uid == geteuid())
		fchmodat(dfd, name, (st.st_mode & 07777) | 0700, 0);
	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -1;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (img__remove_at(fd, e->d_name) < 0) {
			rc = -1;
			break;
		}
	}
	closedir(d);
	if (rc == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

/* Opaque: remove the children of dir (a clean path) that this layer did not
 * write, descending into the directories it did. */
static int prune_unseen(ctx *c, int dfd, pl_buf *path, const char *entry)
{
	struct dirent *e;
	size_t len = path->len;
	DIR *d;
	int fd, rc = 0;

	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return entry_sys(c, entry, "opening the opaque directory");
	if (!(d = fdopendir(fd))) {
		close(fd);
		return entry_sys(c, entry, "reading the opaque directory");
	}
	while ((e = readdir(d)) && rc == 0) {
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		pl_buf_setlen(path, len);
		if (len)
			pl_buf_putc(path, '/');
		pl_buf_puts(path, e->d_name);
		if (!set_has(&c->seen, path->ptr)) {
			if (img__remove_at(fd, e->d_name) < 0)
				rc = entry_sys(c, entry,
					       "removing what lower layers left in the opaque directory");
			continue;
		}
		if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			int sub = openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0) {
				rc = entry_sys(c, entry, "opening a directory in the opaque directory");
				continue;
			}
			rc = prune_unseen(c, sub, path, entry);
			close(sub);
		}
	}
	closedir(d);
	pl_buf_setlen(path, len);
	return rc;
}

/* ---------------------------------------------------------------- entries */

static void set_times(int dfd, const char *name, struct archive_entry *ae)
{
	struct timespec ts[2];

	if (!archive_entry_mtime_is_set(ae))
		return;
	ts[0].tv_sec = ts[1].tv_sec = (time_t)archive_entry_mtime(ae);
	ts[0].tv_nsec = ts[1].tv_nsec = archive_entry_mtime_nsec(ae);
	utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
}

static mode_t file_mode(struct archive_entry *ae)
{
	return (mode_t)archive_entry_perm(ae) & 07777 & ~(mode_t)(S_ISUID | S_ISGID);
}

static mode_t dir_mode(const ctx *c, struct archive_entry *ae)
{
	mode_t m = (mode_t)archive_entry_perm(ae) & 07777 & ~(mode_t)S_ISUID;

	return c->a->shift ? m : m | 0700;
}

/* Copy the regular file sfd/sname to dfd/dname (a hard link the file
 * system refused: too many links). */
static int copy_file(ctx *c, int sdfd, const char *sname, int dfd, const char *dname, const char *entry)
{
	struct stat st;
	char *buf = NULL; /* not c->buf: the tar reader may still hold bytes there */
	int in, out = -1, rc = 0;

	if ((in = openat(sdfd, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return entry_sys(c, entry, "opening the hard link's target to copy it");
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(in);
		return entry_fail(c, PL_EFORMAT, entry, "too many links to a file that cannot be copied");
	}
	if ((out = openat(dfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		rc = entry_sys(c, entry, "creating a copy");
		goto done;
	}
	buf = pl_xmalloc(READ_CHUNK);
	for (;;) {
		ssize_t n = read(in, buf, READ_CHUNK), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = entry_sys(c, entry, "reading the hard link's target");
			goto done;
		}
		if (n == 0)
			break;
		while (off < n) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = entry_sys(c, entry, "writing a copy");
				goto done;
			}
			off += w;
		}
	}
	if (c->a->shift && fchown(out, st.st_uid, st.st_gid) < 0)
		pl_log_warn(c->a->log, "%s: entry '%s': chown: %s", c->what, entry, strerror(errno));
	fchmod(out, st.st_mode & 07777);
	c->new_bytes += (uint64_t)st.st_size;
done:
	free(buf);
	close(in);
	if (out >= 0)
		close(out);
	return rc;
}

/* Write the data of the current entry into fd (sparse holes kept). */
static int write_data(ctx *c, int fd, struct archive_entry *ae, const char *entry)
{
	const void *p;
	size_t n;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(c->tar, &p, &n, &off)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		size_t done = 0;

		while (done < n) {
			ssize_t w = pwrite(fd, (const char *)p + done, n - done, (off_t)off + (off_t)done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return entry_sys(c, entry, "writing");
			done += (size_t)w;
		}
	}
	if (r != ARCHIVE_EOF) {
		if (c->stream_rc < 0)
			return c->stream_rc;
		return entry_fail(c, PL_EFORMAT, entry, "reading its data: %s", archive_error_string(c->tar));
	}
	if (ftruncate(fd, (off_t)archive_entry_size(ae)) < 0)
		return entry_sys(c, entry, "setting its size");
	return 0;
}

/* Make room for the entry at dfd/base: what is there goes, unless both are
 * directories (then *keep_dir). */
static int clear_place(ctx *c, int dfd, const char *base, bool is_dir, bool *keep_dir, const char *entry)
{
	struct stat st;

	*keep_dir = false;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return entry_sys(c, entry, "looking it up");
	}
	if (S_ISDIR(st.st_mode) && is_dir) {
		*keep_dir = true;
		return 0;
	}
	if (img__remove_at(dfd, base) < 0)
		return entry_sys(c, entry, "removing what it replaces");
	/* a directory or a symlink may be on the way of the cached path */
	if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))
		uncache(c);
	return 0;
}

static void mark_seen(ctx *c, const char *rel)
{
	pl_buf p = PL_BUF_INIT;
	const char *s;

	set_add(&c->seen, rel);
	pl_buf_puts(&p, rel);
	while ((s = strrchr(p.ptr, '/'))) {
		pl_buf_setlen(&p, (size_t)(s - p.ptr));
		if (set_has(&c->seen, p.ptr))
			break;
		set_add(&c->seen, p.ptr);
	}
	pl_buf_release(&p);
}

static bool aufs_name(const char *rel)
{
	const char *p = rel;

	for (;;) {
		if (!strncmp(p, ".wh..wh.", 8) && strncmp(p, ".wh..wh..opq", 12))
			return true;
		if (!(p = strchr(p, '/')))
			return false;
		p++;
	}
}

static int apply_entry(ctx *c, struct archive_entry *ae, pl_buf *rel, pl_buf *dir, pl_buf *tgt)
{
	const char *name = archive_entry_pathname(ae), *base;
	mode_t type = archive_entry_filetype(ae);
	bool keep_dir;
	int dfd, fd, rc;

	if (!name)
		name = archive_entry_pathname_utf8(ae);
	if (!name)
		return pl_err_set(c->err, PL_EFORMAT, "%s: an entry without a name", c->what);
	if ((rc = clean_name(rel, c, name, "its name", name)) < 0)
		return rc;
	if (!rel->len) {
		/* "./": the root itself; directories of the root are ours to set */
		if (type == AE_IFDIR) {
			set_owner(c, c->rootfd, "", archive_entry_uid(ae), archive_entry_gid(ae), name);
			fchmodat(c->rootfd, ".", dir_mode(c, ae), 0);
		}
		return 0;
	}
	if (aufs_name(rel->ptr))
		return 0;
	base = strrchr(rel->ptr, '/');
	pl_buf_reset(dir);
	if (base) {
		pl_buf_add(dir, rel->ptr, (size_t)(base - rel->ptr));
		base++;
	} else {
		base = rel->ptr;
	}

	/* whiteouts: lower layers only */
	if (!strncmp(base, ".wh.", 4)) {
		const char *victim = base + 4;

		uncache(c);
		if ((rc = parent_dir(&dfd, c, dir->ptr, false, name)) < 0)
			return rc;
		if (dfd < 0)
			return 0;
		if (!strcmp(victim, ".wh..opq")) {
			int d = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			pl_buf path = PL_BUF_INIT;

			if (d < 0)
				return entry_sys(c, name, "opening the opaque directory");
			pl_buf_puts(&path, dir->ptr);
			rc = prune_unseen(c, d, &path, name);
			pl_buf_release(&path);
			close(d);
			uncache(c);
			return rc;
		}
		if (!*victim || !strcmp(victim, ".") || !strcmp(victim, ".."))
			return entry_fail(c, PL_EFORMAT, name, "a whiteout that names nothing");
		pl_buf_reset(tgt);
		if (dir->len)
			pl_buf_printf(tgt, "%s/", dir->ptr);
		pl_buf_puts(tgt, victim);
		if (set_has(&c->seen, tgt->ptr))
			return 0;
		if (img__remove_at(dfd, victim) < 0)
			return entry_sys(c, name, "removing what it whites out");
		uncache(c);
		return 0;
	}

	if ((rc = parent_dir(&dfd, c, dir->ptr, true, name)) < 0)
		return rc;
	mark_seen(c, rel->ptr);
	c->entries++;

	if (archive_entry_hardlink(ae)) {
		const char *tname = archive_entry_hardlink(ae), *tbase;
		int tdfd = -1;
		struct stat st;

		if ((rc = clean_name(tgt, c, tname, "its hard link's target", name)) < 0)
			return rc;
		if (!tgt->len)
			return entry_fail(c, PL_EFORMAT, name, "a hard link to the root");
		if (!strcmp(tgt->ptr, rel->ptr))
			return 0;
		tbase = strrchr(tgt->ptr, '/');
		if (tbase) {
			pl_buf tdir = PL_BUF_INIT;

			pl_buf_add(&tdir, tgt->ptr, (size_t)(tbase - tgt->ptr));
			tbase++;
			rc = resolve_dir(&tdfd, c, tdir.ptr, false, name);
			pl_buf_release(&tdir);
			if (rc < 0)
				return rc;
		} else {
			tbase = tgt->ptr;
			tdfd = open_beneath(c->rootfd, "", O_PATH | O_DIRECTORY);
		}
		if (tdfd < 0 || fstatat(tdfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode)) {
			if (tdfd >= 0)
				close(tdfd);
			return entry_fail(c, PL_EFORMAT, name, "hard link to '%s', which %s", tname,
					  tdfd < 0 || errno == ENOENT ? "does not exist" : "is a directory");
		}
		if ((rc = clear_place(c, dfd, base, false, &keep_dir, name)) < 0 ||
		    (rc = parent_dir(&dfd, c, dir->ptr, true, name)) < 0) {
			close(tdfd);
			return rc;
		}
		if (linkat(tdfd, tbase, dfd, base, 0) < 0) {
			if (errno == EMLINK)
				rc = copy_file(c, tdfd, tbase, dfd, base, name);
			else
				rc = entry_sys(c, name, "making the hard link");
		}
		close(tdfd);
		return rc;
	}

	if ((rc = clear_place(c, dfd, base, type == AE_IFDIR, &keep_dir, name)) < 0)
		return rc;
	/* removing a directory may have closed the cached descriptor */
	if ((rc = parent_dir(&dfd, c, dir->ptr, true, name)) < 0)
		return rc;

	switch (type) {
	case AE_IFREG:
		if ((fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
			return entry_sys(c, name, "creating the file");
		if ((rc = write_data(c, fd, ae, name)) < 0) {
			close(fd);
			return rc;
		}
		set_owner(c, fd, "", archive_entry_uid(ae), archive_entry_gid(ae), name);
		if (fchmod(fd, file_mode(ae)) < 0)
			rc = entry_sys(c, name, "chmod");
		close(fd);
		set_times(dfd, base, ae);
		c->new_bytes += (uint64_t)archive_entry_size(ae);
		return rc;
	case AE_IFDIR:
		if (!keep_dir && mkdirat(dfd, base, 0700) < 0)
			return entry_sys(c, name, "creating the directory");
		set_owner(c, dfd, base, archive_entry_uid(ae), archive_entry_gid(ae), name);
		if (fchmodat(dfd, base, dir_mode(c, ae), 0) < 0)
			return entry_sys(c, name, "chmod");
		set_times(dfd, base, ae);
		return 0;
	case AE_IFLNK: {
		const char *target = archive_entry_symlink(ae);

		if (!target)
			return entry_fail(c, PL_EFORMAT, name, "a symlink without a target");
		if (symlinkat(target, dfd, base) < 0)
			return entry_sys(c, name, "creating the symlink");
		set_owner(c, dfd, base, archive_entry_uid(ae), archive_entry_gid(ae), name);
		set_times(dfd, base, ae);
		return 0;
	}
	case AE_IFIFO:
		if (mkfifoat(dfd, base, 0600) < 0)
			return entry_sys(c, name, "creating the FIFO");
		set_owner(c, dfd, base, archive_entry_uid(ae), archive_entry_gid(ae), name);
		fchmodat(dfd, base, file_mode(ae), 0);
		set_times(dfd, base, ae);
		return 0;
	case AE_IFCHR:
	case AE_IFBLK:
		c->skipped_devices++;
		pl_log_debug(c->a->log, "%s: entry '%s': device node skipped (the sandbox has its own /dev)",
			     c->what, name);
		return 0;
	default:
		pl_log_warn(c->a->log, "%s: entry '%s': a file of type 0%o skipped", c->what, name,
			    (unsigned)type);
		return 0;
	}
}

/* ---------------------------------------------------------------- the stream */

/* libarchive's tar reader pulls the decompressed bytes from the raw reader
 * through this, and they are hashed on the way: the diff_id. */
static la_ssize_t pull_raw(struct archive *tar, void *data, const void **out)
{
	ctx *c = data;
	la_ssize_t n;

	(void)tar;
	n = archive_read_data(c->raw, c->buf, READ_CHUNK);
	if (n < 0) {
		c->stream_rc =
			pl_err_set(c->err, PL_EFORMAT, "%s: %s", c->what, archive_error_string(c->raw));
		return -1;
	}
	img__sha_update(&c->sha, c->buf, (size_t)n);
	c->unpacked += (uint64_t)n;
	if (c->a->on_read && c->unpacked - c->reported >= (16u << 20)) {
		off_t pos = lseek(c->blobfd, 0, SEEK_CUR);

		c->reported = c->unpacked;
		if (pos >= 0)
			c->a->on_read(c->a->ctx, (uint64_t)pos);
	}
	*out = c->buf;
	return n;
}

int img__layer_apply(img__applied *out, int rootfd, const char *blob_path, const char *what,
		     const img__apply *a, pl_err *err)
{
	ctx c;
	struct archive_entry *ae;
	struct archive_entry *raw_entry;
	pl_buf rel = PL_BUF_INIT, dir = PL_BUF_INIT, tgt = PL_BUF_INIT;
	int r, rc;

	memset(&c, 0, sizeof(c));
	c.rootfd = rootfd;
	c.what = what;
	c.a = a;
	c.err = err;
	c.cached_fd = -1;
	c.blobfd = -1;
	if ((rc = img__archive_load(err)) < 0 || (rc = img__sha_init(&c.sha, err)) < 0)
		return rc;
	c.buf = pl_xmalloc(READ_CHUNK);
	if ((c.blobfd = open(blob_path, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = pl_err_sys(err, PL_ESYS, "%s: opening '%s'", what, blob_path);
		goto done;
	}
	c.raw = archive_read_new();
	c.tar = archive_read_new();
	if (!c.raw || !c.tar) {
		rc = pl_err_set(err, PL_ENOMEM, "%s: creating libarchive readers", what);
		goto done;
	}
	archive_read_support_filter_gzip(c.raw);
	archive_read_support_filter_zstd(c.raw);
	archive_read_support_format_raw(c.raw);
	archive_read_support_format_tar(c.tar);
	if (archive_read_open_fd(c.raw, c.blobfd, 1 << 16) != ARCHIVE_OK ||
	    (r = archive_read_next_header(c.raw, &raw_entry)) < ARCHIVE_WARN) {
		/* an empty blob is an empty layer */
		struct stat st;

		if (fstat(c.blobfd, &st) == 0 && st.st_size == 0)
			goto finish;
		rc = pl_err_set(err, PL_EFORMAT, "%s: not a tar, gzip or zstd stream: %s", what,
				archive_error_string(c.raw));
		goto done;
	}
	if (r == ARCHIVE_EOF)
		goto finish;
	if (archive_read_open(c.tar, &c, NULL, pull_raw, NULL) != ARCHIVE_OK) {
		if (c.stream_rc < 0) {
			rc = c.stream_rc;
		} else if (c.unpacked == 0) {
			goto finish; /* nothing but an empty stream */
		} else {
			rc = pl_err_set(err, PL_EFORMAT, "%s: not a tar archive: %s", what,
					archive_error_string(c.tar));
		}
		goto done;
	}
	for (;;) {
		if (img__cancelled(a->opts)) {
			rc = pl_err_set(err, PL_ECANCELED, "%s: interrupted", what);
			goto done;
		}
		r = archive_read_next_header(c.tar, &ae);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			rc = c.stream_rc < 0
				     ? c.stream_rc
				     : pl_err_set(err, PL_EFORMAT, "%s: after %llu entries: %s", what,
						  (unsigned long long)c.entries, archive_error_string(c.tar));
			goto done;
		}
		if ((rc = apply_entry(&c, ae, &rel, &dir, &tgt)) < 0)
			goto done;
	}
finish:
	/* the tar reader stops at the end-of-archive blocks: hash the rest */
	if (c.raw) {
		la_ssize_t n;

		while ((n = archive_read_data(c.raw, c.buf, READ_CHUNK)) > 0) {
			img__sha_update(&c.sha, c.buf, (size_t)n);
			c.unpacked += (uint64_t)n;
		}
		if (n < 0) {
			rc = pl_err_set(err, PL_EFORMAT, "%s: %s", what, archive_error_string(c.raw));
			goto done;
		}
	}
	img__sha_final(&c.sha, out->diff_id);
	out->entries = c.entries;
	out->new_bytes = c.new_bytes;
	out->skipped_devices = c.skipped_devices;
	if (a->on_read) {
		struct stat st;

		if (fstat(c.blobfd, &st) == 0)
			a->on_read(a->ctx, (uint64_t)st.st_size);
	}
done:
	uncache(&c);
	set_free(&c.seen);
	if (c.tar)
		archive_read_free(c.tar);
	if (c.raw)
		archive_read_free(c.raw);
	if (c.blobfd >= 0)
		close(c.blobfd);
	img__sha_release(&c.sha);
	free(c.buf);
	pl_buf_release(&rel);
	pl_buf_release(&dir);
	pl_buf_release(&tgt);
	return rc;
}
