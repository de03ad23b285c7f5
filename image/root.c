/* root.c - root filesystems, one per layer chain (the OCI ChainID): the
 * root of chain N is a copy of chain N-1's made of hard links (directories
 * are its own, files are shared), with layer N applied on top; images
 * whose layers start alike share those roots and every file in them.  A
 * root is built in DIR/tmp and renamed into DIR/roots whole, under a lock
 * per chain, so a crash or a concurrent build never leaves half of one. */
#define _GNU_SOURCE
#include "image/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int img__chain_ids(char (*chains)[IMG__DIGEST_LEN + 1], const img_image *im, pl_err *err)
{
	pl_buf b = PL_BUF_INIT;
	size_t i;
	int rc = 0;

	for (i = 0; i < im->nlayers; i++) {
		if ((rc = img__digest_check(im->layers[i].diff_id, "diff_id", err)) < 0)
			break;
		if (i == 0) {
			memcpy(chains[0], im->layers[0].diff_id, IMG__DIGEST_LEN + 1);
			continue;
		}
		pl_buf_reset(&b);
		pl_buf_printf(&b, "%s %s", chains[i - 1], im->layers[i].diff_id);
		if ((rc = img__sha_buf(chains[i], b.ptr, b.len, err)) < 0)
			break;
	}
	pl_buf_release(&b);
	return rc;
}

void img__root_dir(pl_buf *out, const img_store *s, const char *chain)
{
	img__path(out, s, "roots/%s", chain + 7);
}

bool img__root_bytes(uint64_t *bytes, const img_store *s, const char *chain)
{
	pl_buf p = PL_BUF_INIT;
	json_t *j = NULL;
	bool ok = false;

	if (!img__digest_valid(chain))
		return false;
	img__root_dir(&p, s, chain);
	pl_buf_puts(&p, "/meta.json");
	if (pl_json_load_file(&j, p.ptr, NULL) == 0) {
		*bytes = (uint64_t)json_integer_value(json_object_get(j, "bytes"));
		ok = true;
	}
	json_decref(j);
	pl_buf_release(&p);
	return ok;
}

int img__rm_tree(const char *path, pl_err *err)
{
	if (img__remove_at(AT_FDCWD, path) < 0)
		return pl_err_sys(err, PL_ESYS, "removing '%s'", path);
	return 0;
}

/* ---------------------------------------------------------------- cloning */

typedef struct clone_ctx {
	bool shift;
	uint64_t copied; /* bytes copied where a link was refused */
	pl_err *err;
	const char *what;
} clone_ctx;

static int copy_attrs_dir(int dfd, const char *name, const struct stat *st, bool shift)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (shift && fchownat(dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -1;
	if (fchmodat(dfd, name, st->st_mode & 07777, 0) < 0)
		return -1;
	utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

/* A copy of a file that cannot take another link (EMLINK). */
static int copy_entry(clone_ctx *cc, int sfd, int dfd, const char *name, const struct stat *st)
{
	char buf[65536];
	int in, out, rc = 0;

	if (S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(sfd, name, target, sizeof(target) - 1);

		if (n < 0)
			return -1;
		target[n] = '\0';
		if (symlinkat(target, dfd, name) < 0)
			return -1;
		if (cc->shift)
			fchownat(dfd, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW);
		return 0;
	}
	if (!S_ISREG(st->st_mode)) {
		if (mknodat(dfd, name, st->st_mode & (S_IFMT | 0777), 0) < 0)
			return -1;
		return copy_attrs_dir(dfd, name, st, cc->shift);
	}
	if ((in = openat(sfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	if ((out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		close(in);
		return -1;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf)), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -1 : 0;
			break;
		}
		while (off < n) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				rc = -1;
				break;
			}
			off += w;
		}
		if (rc < 0)
			break;
	}
	if (rc == 0 && cc->shift && fchown(out, st->st_uid, st->st_gid) < 0)
		rc = -1;
	if (rc == 0 && fchmod(out, st->st_mode & 07777) < 0)
		rc = -1;
	close(in);
	close(out);
	if (rc == 0)
		cc->copied += (uint64_t)st->st_size;
	return rc;
}

/* Everything in directory sfd recreated in dfd: directories anew,
 * everything else as a hard link. */
static int clone_dir(clone_ctx *cc, int sfd, int dfd, pl_buf *path)
{
	struct dirent *e;
	size_t len = path->len;
	DIR *d;
	int fd, rc = 0;

	if ((fd = dup(sfd)) < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return pl_err_sys(cc->err, PL_ESYS, "%s: reading '%s'", cc->what, path->ptr);
	}
	while (rc == 0 && (e = readdir(d))) {
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		pl_buf_setlen(path, len);
		pl_buf_printf(path, "/%s", e->d_name);
		if (fstatat(sfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = pl_err_sys(cc->err, PL_ESYS, "%s: stat '%s'", cc->what, path->ptr);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int s2, d2;

			if (mkdirat(dfd, e->d_name, 0700) < 0) {
				rc = pl_err_sys(cc->err, PL_ESYS, "%s: mkdir '%s'", cc->what, path->ptr);
				break;
			}
			s2 = openat(sfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			d2 = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 < 0 || d2 < 0)
				rc = pl_err_sys(cc->err, PL_ESYS, "%s: opening '%s'", cc->what, path->ptr);
			else
				rc = clone_dir(cc, s2, d2, path);
			if (s2 >= 0)
				close(s2);
			if (d2 >= 0)
				close(d2);
			if (rc == 0 && copy_attrs_dir(dfd, e->d_name, &st, cc->shift) < 0)
				rc = pl_err_sys(cc->err, PL_ESYS, "%s: attributes of '%s'", cc->what,
						path->ptr);
			continue;
		}
		if (linkat(sfd, e->d_name, dfd, e->d_name, 0) == 0)
			continue;
		if (errno != EMLINK || copy_entry(cc, sfd, dfd, e->d_name, &st) < 0)
			rc = pl_err_sys(cc->err, PL_ESYS, "%s: linking '%s'", cc->what, path->ptr);
	}
	closedir(d);
	pl_buf_setlen(path, len);
	return rc;
}

/* ---------------------------------------------------------------- sizes */

typedef struct inoset {
	uint64_t *slot; /* 0 = empty; inode numbers are never 0 */
	size_t cap, n;
} inoset;

static bool ino_add(inoset *s, uint64_t ino)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		inoset b = { NULL, s->cap ? 2 * s->cap : 4096, 0 };

		b.slot = pl_xcalloc(b.cap, sizeof(uint64_t));
		for (i = 0; i < s->cap; i++)
			if (s->slot[i])
				ino_add(&b, s->slot[i]);
		free(s->slot);
		*s = b;
	}
	for (i = (ino * 0x9E3779B97F4A7C15ull) & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1))
		if (s->slot[i] == ino)
			return false;
	s->slot[i] = ino;
	s->n++;
	return true;
}

/* Bytes of the regular files under dfd, each inode once. */
static uint64_t tree_bytes(int dfd, inoset *seen)
{
	struct dirent *e;
	uint64_t sum = 0;
	DIR *d;
	int fd = dup(dfd);

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((e = readdir(d))) {
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0) {
				sum += tree_bytes(sub, seen);
				close(sub);
			}
		} else if (S_ISREG(st.st_mode) && (st.st_nlink == 1 || ino_add(seen, (uint64_t)st.st_ino))) {
			sum += (uint64_t)st.st_size;
		}
	}
	closedir(d);
	return sum;
}

/* ---------------------------------------------------------------- building */

typedef struct unpack_progress {
	const img_opts *o;
	const char *ref;
	const char *item;
	uint64_t base, total;
	unsigned done, count;
} unpack_progress;

static void on_read(void *ctx, uint64_t bytes)
{
	unpack_progress *u = ctx;
	img_progress p = { IMG_PHASE_UNPACK, u->ref, u->item, u->base + bytes, u->total, u->done, u->count };

	if (u->o && u->o->progress)
		u->o->progress(u->o->progress_ctx, &p);
}

/* Build the root of chain j of im (the one below, chains[j-1], exists). */
static int build_one(img_store *s, const img_image *im, size_t j, char (*chains)[IMG__DIGEST_LEN + 1],
		     unpack_progress *up, pl_err *err)
{
	const img_layer *L = &im->layers[j];
	pl_buf stage = PL_BUF_INIT, final = PL_BUF_INIT, p = PL_BUF_INIT, what = PL_BUF_INIT,
	       meta = PL_BUF_INIT;
	img__applied ap;
	img__apply a;
	clone_ctx cc = { s->shift, 0, err, NULL };
	inoset seen = { NULL, 0, 0 };
	struct stat st;
	json_t *mj = NULL;
	int lockfd = -1, sfd = -1, dfd = -1, rc = 0;
	uint64_t bytes;

	memset(&ap, 0, sizeof(ap));
	img__root_dir(&final, s, chains[j]);
	pl_buf_printf(&p, "root-%s", chains[j] + 7);
	if ((rc = img__lock(&lockfd, s, p.ptr, err)) < 0)
		goto done;
	if (pl_dir_exists(final.ptr))
		goto done; /* another process built it meanwhile */
	pl_buf_printf(&what, "layer %zu (%s) of %s", j + 1, L->digest, im->ref ? im->ref : "the image");
	img__path(&stage, s, "tmp/root-%.16s-XXXXXX", chains[j] + 7);
	if (!mkdtemp(stage.ptr)) {
		rc = pl_err_sys(err, PL_ESYS, "creating a staging directory in '%s/tmp'", s->dir);
		goto done;
	}
	pl_buf_reset(&p);
	pl_path_join(&p, stage.ptr, "rootfs");
	if (mkdir(p.ptr, 0755) < 0) {
		rc = pl_err_sys(err, PL_ESYS, "creating '%s'", p.ptr);
		goto done;
	}
	if ((dfd = open(p.ptr, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = pl_err_sys(err, PL_ESYS, "opening '%s'", p.ptr);
		goto done;
	}
	if (j > 0) {
		pl_buf src = PL_BUF_INIT;

		img__root_dir(&src, s, chains[j - 1]);
		pl_buf_puts(&src, "/rootfs");
		cc.what = what.ptr;
		if ((sfd = open(src.ptr, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(sfd, &st) < 0) {
			rc = pl_err_sys(err, PL_ESYS, "opening the root below, '%s'", src.ptr);
		} else {
			pl_buf rel = PL_BUF_INIT;

			rc = clone_dir(&cc, sfd, dfd, &rel);
			pl_buf_release(&rel);
			if (rc == 0 && ((s->shift && fchown(dfd, st.st_uid, st.st_gid) < 0) ||
					fchmod(dfd, st.st_mode & 07777) < 0))
				rc = pl_err_sys(err, PL_ESYS, "attributes of '%s'", p.ptr);
		}
		pl_buf_release(&src);
		if (rc < 0)
			goto done;
	} else if (s->shift && fchown(dfd, IMG_IDS_BASE, IMG_IDS_BASE) < 0) {
		rc = pl_err_sys(err, PL_ESYS, "chown '%s'", p.ptr);
		goto done;
	}
	a.shift = s->shift;
	a.log = s->log;
	a.opts = up->o;
	a.on_read = on_read;
	a.ctx = up;
	up->item = L->digest;
	pl_buf_reset(&p);
	img__blob_path(&p, s, L->digest);
	if ((rc = img__layer_apply(&ap, dfd, p.ptr, what.ptr, &a, err)) < 0)
		goto done;
	if (strcmp(ap.diff_id, L->diff_id)) {
		rc = pl_err_set(err, PL_EFORMAT,
				"%s: its content has diff_id %s but the image config says %s: the layer or "
				"the config "
				"is not what the image was built from",
				what.ptr, ap.diff_id, L->diff_id);
		goto done;
	}
	bytes = tree_bytes(dfd, &seen);
	mj = json_object();
	pl_json_set(mj, "chain", json_string(chains[j]));
	pl_json_set(mj, "parent", j ? json_string(chains[j - 1]) : json_null());
	pl_json_set(mj, "diff_id", json_string(L->diff_id));
	pl_json_set(mj, "layer", json_string(L->digest));
	pl_json_set(mj, "bytes", json_integer((json_int_t)bytes));
	pl_json_set(mj, "new_bytes", json_integer((json_int_t)(ap.new_bytes + cc.copied)));
	pl_json_set(mj, "entries", json_integer((json_int_t)ap.entries));
	pl_json_set(mj, "skipped_devices", json_integer((json_int_t)ap.skipped_devices));
	pl_json_dump(&meta, mj, true);
	pl_buf_reset(&p);
	pl_path_join(&p, stage.ptr, "meta.json");
	if ((rc = pl_file_write_atomic(p.ptr, meta.ptr, meta.len, 0600, err)) < 0)
		goto done;
	/* what was written reaches the disk before the root is published */
	if (syncfs(dfd) < 0) {
		rc = pl_err_sys(err, PL_EIO, "syncing '%s'", stage.ptr);
		goto done;
	}
	if (rename(stage.ptr, final.ptr) < 0) {
		rc = pl_err_sys(err, PL_ESYS, "moving '%s' to '%s'", stage.ptr, final.ptr);
		goto done;
	}
	pl_buf_reset(&stage);
done:
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	if (stage.len)
		img__rm_tree(stage.ptr, NULL);
	img__unlock(lockfd);
	json_decref(mj);
	free(seen.slot);
	pl_buf_release(&stage);
	pl_buf_release(&final);
	pl_buf_release(&p);
	pl_buf_release(&what);
	pl_buf_release(&meta);
	return rc;
}

/* An image without layers has the empty root: chain sha256(""). */
static int empty_root(pl_buf *out, uint64_t *bytes, img_store *s, pl_err *err)
{
	char chain[IMG__DIGEST_LEN + 1];
	pl_buf d = PL_BUF_INIT, p = PL_BUF_INIT;
	int rc;

	if ((rc = img__sha_buf(chain, "", 0, err)) < 0)
		return rc;
	img__root_dir(&d, s, chain);
	pl_path_join(&p, d.ptr, "rootfs");
	if (!pl_dir_exists(p.ptr)) {
		if ((rc = pl_mkdir_p(p.ptr, 0755, err)) == 0) {
			pl_buf m = PL_BUF_INIT;

			if (s->shift && chown(p.ptr, IMG_IDS_BASE, IMG_IDS_BASE) < 0)
				rc = pl_err_sys(err, PL_ESYS, "chown '%s'", p.ptr);
			pl_path_join(&m, d.ptr, "meta.json");
			if (rc == 0)
				rc = pl_file_write_atomic(m.ptr, "{\"bytes\": 0}\n", 13, 0600, err);
			pl_buf_release(&m);
		}
	}
	if (rc == 0 && out)
		pl_buf_puts(out, p.ptr);
	if (bytes)
		*bytes = 0;
	pl_buf_release(&d);
	pl_buf_release(&p);
	return rc;
}

int img__root_build(pl_buf *out, uint64_t *bytes, img_store *s, const img_image *im, const img_opts *o,
		    pl_err *err)
{
	char(*chains)[IMG__DIGEST_LEN + 1] = NULL;
	unpack_progress up = { o, im->ref, NULL, 0, 0, 0, 0 };
	pl_buf d = PL_BUF_INIT;
	size_t n = im->nlayers, start, j;
	int rc = 0;

	if (!n)
		return empty_root(out, bytes, s, err);
	chains = pl_xcalloc(n, sizeof(*chains));
	if ((rc = img__chain_ids(chains, im, err)) < 0)
		goto done;
	/* the highest chain already built */
	for (start = n; start > 0; start--) {
		pl_buf_reset(&d);
		img__root_dir(&d, s, chains[start - 1]);
		if (pl_dir_exists(d.ptr))
			break;
	}
	for (j = start; j < n; j++) {
		up.total += im->layers[j].size;
		up.count++;
	}
	for (j = start; j < n; j++) {
		if (img__cancelled(o)) {
			rc = pl_err_set(err, PL_ECANCELED, "unpacking %s: interrupted", im->ref);
			goto done;
		}
		if ((rc = build_one(s, im, j, chains, &up, err)) < 0)
			goto done;
		up.base += im->layers[j].size;
		up.done++;
	}
	if (out) {
		img__root_dir(out, s, chains[n - 1]);
		pl_buf_puts(out, "/rootfs");
	}
	if (bytes && !img__root_bytes(bytes, s, chains[n - 1]))
		*bytes = 0;
done:
	free(chains);
	pl_buf_release(&d);
	return rc;
}
