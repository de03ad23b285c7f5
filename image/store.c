/* store.c - the store's directory: opening and locking it, paths, blobs
 * (content-addressed, written atomically, read back verified) and the
 * per-item locks that keep two processes from fetching or building the
 * same thing twice. */
#define _GNU_SOURCE
#include "image/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int img_store_default_dir(pl_buf *out, pl_err *err)
{
	const char *v;

	if ((v = getenv("PLAIT_IMAGE_STORE")) && *v) {
		pl_buf_puts(out, v);
		return 0;
	}
	if ((v = getenv("XDG_CACHE_HOME")) && *v == '/') {
		pl_path_join(out, v, "plait/images");
		return 0;
	}
	if ((v = getenv("HOME")) && *v == '/') {
		pl_path_join(out, v, ".cache/plait/images");
		return 0;
	}
	return pl_err_set(err, PL_EINVAL,
			  "no image store: HOME is not set; give --store DIR or set PLAIT_IMAGE_STORE");
}

void img__path(pl_buf *out, const img_store *s, const char *fmt, ...)
{
	va_list ap;

	pl_buf_puts(out, s->dir);
	pl_buf_putc(out, '/');
	va_start(ap, fmt);
	pl_buf_vprintf(out, fmt, ap);
	va_end(ap);
}

static bool dir_empty(const char *path)
{
	struct dirent *e;
	DIR *d = opendir(path);
	bool empty = true;

	if (!d)
		return false;
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

int img_store_open(img_store **out, const char *dir, const pl_log *log, pl_err *err)
{
	static const char *const subdirs[] = { "blobs", "blobs/sha256", "refs", "roots", "runs", "tmp" };
	pl_buf d = PL_BUF_INIT, p = PL_BUF_INIT;
	img_store *s = NULL;
	char *abs = NULL;
	size_t i;
	int rc = 0;

	if (dir)
		pl_buf_puts(&d, dir);
	else if ((rc = img_store_default_dir(&d, err)) < 0)
		goto done;
	/* an existing directory must be a store, or empty: never a directory
	 * of other files plait would fill (a mistyped --store /tmp) */
	if (pl_dir_exists(d.ptr)) {
		pl_path_join(&p, d.ptr, "lock");
		if (!pl_file_exists(p.ptr) && !dir_empty(d.ptr)) {
			rc = pl_err_set(
				err, PL_EINVAL,
				"'%s' is not an image store: it holds other files (give a new or empty "
				"directory)",
				d.ptr);
			goto done;
		}
		pl_buf_reset(&p);
	}
	if ((rc = pl_mkdir_p(d.ptr, 0700, err)) < 0) {
		pl_err_prefix(err, "image store");
		goto done;
	}
	if (!(abs = realpath(d.ptr, NULL))) {
		rc = pl_err_sys(err, PL_ESYS, "image store '%s'", d.ptr);
		goto done;
	}
	s = pl_xcalloc(1, sizeof(*s));
	s->dir = abs;
	abs = NULL;
	s->log = log;
	s->lock_fd = -1;
	s->shift = geteuid() == 0;
	for (i = 0; i < PL_ARRAY_LEN(subdirs); i++) {
		pl_buf_reset(&p);
		img__path(&p, s, "%s", subdirs[i]);
		if (mkdir(p.ptr, 0700) < 0 && errno != EEXIST) {
			rc = pl_err_sys(err, PL_ESYS, "image store: creating '%s'", p.ptr);
			goto done;
		}
	}
	pl_buf_reset(&p);
	img__path(&p, s, "lock");
	if ((s->lock_fd = open(p.ptr, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		rc = pl_err_sys(err, PL_ESYS, "image store: opening '%s'", p.ptr);
		goto done;
	}
	while (flock(s->lock_fd, LOCK_SH) < 0) {
		if (errno != EINTR) {
			rc = pl_err_sys(err, PL_ESYS, "image store: locking '%s'", p.ptr);
			goto done;
		}
	}
	*out = s;
	s = NULL;
done:
	img_store_close(s);
	free(abs);
	pl_buf_release(&d);
	pl_buf_release(&p);
	return rc;
}

void img_store_close(img_store *s)
{
	if (!s)
		return;
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->dir);
	free(s);
}

const char *img_store_dir(const img_store *s)
{
	return s->dir;
}

bool img__cancelled(const img_opts *o)
{
	return o && o->cancel && *o->cancel;
}

void img__blob_path(pl_buf *out, const img_store *s, const char *digest)
{
	img__path(out, s, "blobs/sha256/%s", digest + 7);
}

bool img__blob_has(const img_store *s, const char *digest)
{
	pl_buf p = PL_BUF_INIT;
	bool ok;

	if (!img__digest_valid(digest))
		return false;
	img__blob_path(&p, s, digest);
	ok = pl_file_exists(p.ptr);
	pl_buf_release(&p);
	return ok;
}

int img__blob_read(pl_buf *out, const img_store *s, const char *digest, size_t max, pl_err *err)
{
	char got[IMG__DIGEST_LEN + 1];
	pl_buf p = PL_BUF_INIT, b = PL_BUF_INIT;
	int rc;

	if ((rc = img__digest_check(digest, "blob", err)) < 0)
		return rc;
	img__blob_path(&p, s, digest);
	if ((rc = pl_file_read(&b, p.ptr, max, err)) < 0)
		goto done;
	if ((rc = img__sha_buf(got, b.ptr, b.len, err)) < 0)
		goto done;
	if (strcmp(got, digest)) {
		rc = pl_err_set(
			err, PL_EFORMAT,
			"blob %s in the store has digest %s: the store is damaged; remove the file '%s' and "
			"pull or load the image again",
			digest, got, p.ptr);
		goto done;
	}
	pl_buf_add(out, b.ptr, b.len);
done:
	pl_buf_release(&p);
	pl_buf_release(&b);
	return rc;
}

int img__tmp_file(int *fd, pl_buf *path, const img_store *s, const char *prefix, pl_err *err)
{
	img__path(path, s, "tmp/%s-XXXXXX", prefix);
	if ((*fd = mkostemp(path->ptr, O_CLOEXEC)) < 0)
		return pl_err_sys(err, PL_ESYS, "creating a file in '%s/tmp'", s->dir);
	return 0;
}

int img__blob_commit(const img_store *s, const char *tmp, const char *digest, pl_err *err)
{
	pl_buf p = PL_BUF_INIT;
	int rc = 0;

	img__blob_path(&p, s, digest);
	if (chmod(tmp, 0444) < 0) {
		rc = pl_err_sys(err, PL_ESYS, "blob %s: chmod '%s'", digest, tmp);
		goto done;
	}
	/* A blob that is there is the same bytes: keep it, drop ours. */
	if (pl_file_exists(p.ptr)) {
		unlink(tmp);
		goto done;
	}
	if (rename(tmp, p.ptr) < 0)
		rc = pl_err_sys(err, PL_ESYS, "blob %s: moving '%s' to '%s'", digest, tmp, p.ptr);
done:
	pl_buf_release(&p);
	return rc;
}

int img__blob_put(const img_store *s, const char *digest, const void *data, size_t n, pl_err *err)
{
	char got[IMG__DIGEST_LEN + 1];
	pl_buf tmp = PL_BUF_INIT;
	const char *c = data;
	size_t off = 0;
	int fd = -1, rc;

	if ((rc = img__sha_buf(got, data, n, err)) < 0)
		return rc;
	if (strcmp(got, digest))
		return pl_err_set(err, PL_EFORMAT, "content expected to be %s has digest %s", digest, got);
	if (img__blob_has(s, digest))
		return 0;
	if ((rc = img__tmp_file(&fd, &tmp, s, "blob", err)) < 0)
		goto done;
	while (off < n) {
		ssize_t w = write(fd, c + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = pl_err_sys(err, PL_EIO, "writing '%s'", tmp.ptr);
			goto done;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		rc = pl_err_sys(err, PL_EIO, "fsync '%s'", tmp.ptr);
		goto done;
	}
	close(fd);
	fd = -1;
	rc = img__blob_commit(s, tmp.ptr, digest, err);
done:
	if (fd >= 0)
		close(fd);
	if (rc < 0 && tmp.len)
		unlink(tmp.ptr);
	pl_buf_release(&tmp);
	return rc;
}

int img__lock(int *fd, const img_store *s, const char *name, pl_err *err)
{
	pl_buf p = PL_BUF_INIT;
	int rc = 0;

	img__path(&p, s, "tmp/%s.lock", name);
	if ((*fd = open(p.ptr, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		rc = pl_err_sys(err, PL_ESYS, "opening the lock '%s'", p.ptr);
		goto done;
	}
	while (flock(*fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			rc = pl_err_sys(err, PL_ESYS, "locking '%s'", p.ptr);
			close(*fd);
			*fd = -1;
			goto done;
		}
	}
done:
	pl_buf_release(&p);
	return rc;
}

void img__unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int img__writer_open(img__writer *w, const img_store *s, pl_err *err)
{
	int rc;

	memset(w, 0, sizeof(*w));
	w->fd = -1;
	pl_buf_init(&w->path, 0);
	if ((rc = img__sha_init(&w->sha, err)) < 0)
		return rc;
	if ((rc = img__tmp_file(&w->fd, &w->path, s, "import", err)) < 0) {
		img__sha_release(&w->sha);
		return rc;
	}
	return 0;
}

int img__writer_add(img__writer *w, const void *p, size_t n, pl_err *err)
{
	const char *c = p;
	size_t off = 0;

	img__sha_update(&w->sha, p, n);
	while (off < n) {
		ssize_t k = write(w->fd, c + off, n - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return pl_err_sys(err, PL_EIO, "writing '%s'", w->path.ptr);
		off += (size_t)k;
	}
	w->size += n;
	return 0;
}

int img__writer_commit(img__writer *w, char *digest, const img_store *s, const char *expect, const char *what,
		       pl_err *err)
{
	int rc = 0;

	img__sha_final(&w->sha, digest);
	if (expect && strcmp(expect, digest)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: content has digest %s, expected %s", what, digest,
				expect);
		goto done;
	}
	if (fsync(w->fd) < 0) {
		rc = pl_err_sys(err, PL_EIO, "fsync '%s'", w->path.ptr);
		goto done;
	}
	close(w->fd);
	w->fd = -1;
	w->existed = img__blob_has(s, digest);
	rc = img__blob_commit(s, w->path.ptr, digest, err);
	if (rc == 0)
		pl_buf_reset(&w->path);
done:
	img__writer_abort(w);
	return rc;
}

void img__writer_abort(img__writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->path.len)
		unlink(w->path.ptr);
	pl_buf_release(&w->path);
	img__sha_release(&w->sha);
}

int img__blob_import_fd(char *digest, uint64_t *size, const img_store *s, int fd, const char *expect,
			const char *what, const img_opts *o, pl_err *err)
{
	img__writer w;
	char *buf = NULL;
	int rc;

	if (expect && img__blob_has(s, expect)) {
		struct stat st;

		memcpy(digest, expect, IMG__DIGEST_LEN + 1);
		if (size)
			*size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
		return 0;
	}
	if ((rc = img__writer_open(&w, s, err)) < 0)
		return rc;
	buf = pl_xmalloc(1 << 20);
	for (;;) {
		ssize_t n = read(fd, buf, 1 << 20);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = pl_err_sys(err, PL_EIO, "%s: reading", what);
			goto done;
		}
		if (n == 0)
			break;
		if (img__cancelled(o)) {
			rc = pl_err_set(err, PL_ECANCELED, "%s: interrupted", what);
			goto done;
		}
		if ((rc = img__writer_add(&w, buf, (size_t)n, err)) < 0)
			goto done;
	}
	if (size)
		*size = w.size;
	rc = img__writer_commit(&w, digest, s, expect, what, err);
done:
	free(buf);
	img__writer_abort(&w);
	return rc;
}
