/* image.c - the public operations: pull, load, get, list, remove, unpack,
 * usage and prune, and opening a run; each a few steps over the files
 * below (registry.c, load.c, root.c, record.c, run.c). */
#define _GNU_SOURCE
#include "image/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Unpack im's root, then record it. */
static int finish(img_image *im, img_store *s, const img_opts *o, pl_err *err)
{
	char(*chains)[IMG__DIGEST_LEN + 1] = NULL;
	int rc;

	if ((rc = img__root_build(NULL, &im->root_bytes, s, im, o, err)) < 0)
		return rc;
	free(im->chain);
	if (im->nlayers) {
		chains = pl_xcalloc(im->nlayers, sizeof(*chains));
		if ((rc = img__chain_ids(chains, im, err)) < 0)
			goto done;
		im->chain = pl_xstrdup(chains[im->nlayers - 1]);
	} else {
		char empty[IMG__DIGEST_LEN + 1];

		if ((rc = img__sha_buf(empty, "", 0, err)) < 0)
			goto done;
		im->chain = pl_xstrdup(empty);
	}
	im->unpacked = true;
	im->stored = (int64_t)time(NULL);
	rc = img__record_write(s, im, err);
done:
	free(chains);
	return rc;
}

int img_pull(img_image *out, img_store *s, const char *ref, const img_opts *o, pl_err *err)
{
	img_image im;
	img_ref r;
	pl_buf canon = PL_BUF_INIT;
	int rc;

	memset(&im, 0, sizeof(im));
	if ((rc = img_ref_parse(&r, ref, err)) < 0)
		return rc;
	img_ref_format(&canon, &r);
	im.ref = pl_buf_detach(&canon, NULL);
	if ((rc = img__registry_fetch(&im, s, &r, o, err)) < 0 || (rc = finish(&im, s, o, err)) < 0) {
		pl_err_prefix(err, "pulling %s", im.ref);
		goto done;
	}
	if (out) {
		*out = im;
		memset(&im, 0, sizeof(im));
	}
done:
	img_image_release(&im);
	img_ref_release(&r);
	return rc;
}

int img_load(img_image **out, size_t *n_out, img_store *s, const char *path, const char *tag,
	     const img_opts *o, pl_err *err)
{
	img_image *v = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = img__load_path(&v, &n, s, path, tag, o, err)) < 0)
		return rc;
	for (i = 0; i < n; i++)
		if ((rc = finish(&v[i], s, o, err)) < 0) {
			pl_err_prefix(err, "loading %s from '%s'", v[i].ref, path);
			goto done;
		}
	if (out) {
		*out = v;
		*n_out = n;
		v = NULL;
		n = 0;
	}
done:
	img_images_free(v, n);
	return rc;
}

int img_get(img_image *out, img_store *s, const char *ref, pl_err *err)
{
	pl_buf canon = PL_BUF_INIT;
	int rc;

	if ((rc = img__ref_canonical(&canon, ref, err)) == 0)
		rc = img__record_read(out, s, canon.ptr, err);
	pl_buf_release(&canon);
	return rc;
}

int img_list(img_image **out, size_t *n_out, img_store *s, pl_err *err)
{
	return img__records_list(out, n_out, s, err);
}

int img_remove(img_store *s, const char *ref, pl_err *err)
{
	pl_buf canon = PL_BUF_INIT;
	int rc;

	if ((rc = img__ref_canonical(&canon, ref, err)) == 0)
		rc = img__record_remove(s, canon.ptr, err);
	pl_buf_release(&canon);
	return rc;
}

int img_unpack(pl_buf *out, img_store *s, const img_image *im, const img_opts *o, pl_err *err)
{
	return img__root_build(out, NULL, s, im, o, err);
}

int img_run_open(img_run **out, img_store *s, const img_image *im, pl_err *err)
{
	pl_buf root = PL_BUF_INIT;
	int rc;

	if ((rc = img__root_build(&root, NULL, s, im, NULL, err)) == 0)
		rc = img__run_open(out, s, im, root.ptr, err);
	pl_buf_release(&root);
	return rc;
}

/* ---------------------------------------------------------------- usage and prune */

/* Bytes under path (files, not following links). */
static uint64_t du(const char *path)
{
	struct dirent *e;
	struct stat st;
	uint64_t sum = 0;
	pl_buf p = PL_BUF_INIT;
	DIR *d;

	if (lstat(path, &st) < 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return (uint64_t)st.st_blocks * 512;
	if (!(d = opendir(path)))
		return 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		pl_buf_reset(&p);
		pl_path_join(&p, path, e->d_name);
		sum += du(p.ptr);
	}
	closedir(d);
	pl_buf_release(&p);
	return sum;
}

typedef int (*entry_fn)(void *ctx, const char *dir, const char *name);

static int each_entry(const char *dir, entry_fn fn, void *ctx, pl_err *err)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int rc = 0;

	if (!d)
		return pl_err_sys(err, PL_ESYS, "reading '%s'", dir);
	while (rc == 0 && (e = readdir(d)))
		if (e->d_name[0] != '.')
			rc = fn(ctx, dir, e->d_name);
	closedir(d);
	return rc;
}

static int count_blob(void *ctx, const char *dir, const char *name)
{
	img_usage *u = ctx;
	pl_buf p = PL_BUF_INIT;
	struct stat st;

	pl_path_join(&p, dir, name);
	if (stat(p.ptr, &st) == 0) {
		u->blobs += (uint64_t)st.st_size;
		u->nblobs++;
	}
	pl_buf_release(&p);
	return 0;
}

static int count_root(void *ctx, const char *dir, const char *name)
{
	img_usage *u = ctx;
	pl_buf p = PL_BUF_INIT;
	json_t *j = NULL;

	pl_buf_printf(&p, "%s/%s/meta.json", dir, name);
	if (pl_json_load_file(&j, p.ptr, NULL) == 0) {
		u->roots += (uint64_t)json_integer_value(json_object_get(j, "new_bytes"));
		u->nroots++;
	}
	json_decref(j);
	pl_buf_release(&p);
	return 0;
}

int img_store_usage(img_usage *out, img_store *s, pl_err *err)
{
	img_usage u;
	pl_buf p = PL_BUF_INIT;
	int rc;

	memset(&u, 0, sizeof(u));
	img__path(&p, s, "blobs/sha256");
	if ((rc = each_entry(p.ptr, count_blob, &u, err)) < 0)
		goto done;
	pl_buf_reset(&p);
	img__path(&p, s, "roots");
	if ((rc = each_entry(p.ptr, count_root, &u, err)) < 0)
		goto done;
	pl_buf_reset(&p);
	img__path(&p, s, "tmp");
	u.partial = du(p.ptr);
	pl_buf_reset(&p);
	img__path(&p, s, "runs");
	u.runs = du(p.ptr);
	*out = u;
done:
	pl_buf_release(&p);
	return rc;
}

typedef struct live {
	char **digests; /* blobs and chains in use */
	size_t n, cap;
	img_usage freed;
	pl_err *err;
} live;

static void live_add(live *l, const char *d)
{
	if (!d)
		return;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->digests = pl_xrealloc(l->digests, l->cap * sizeof(char *));
	}
	l->digests[l->n++] = pl_xstrdup(d + (strncmp(d, "sha256:", 7) ? 0 : 7));
}

static bool live_has(const live *l, const char *hex)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (!strcmp(l->digests[i], hex))
			return true;
	return false;
}

static int prune_blob(void *ctx, const char *dir, const char *name)
{
	live *l = ctx;
	pl_buf p = PL_BUF_INIT;
	struct stat st;
	int rc = 0;

	if (live_has(l, name))
		return 0;
	pl_path_join(&p, dir, name);
	if (lstat(p.ptr, &st) == 0 && unlink(p.ptr) == 0) {
		l->freed.blobs += (uint64_t)st.st_size;
		l->freed.nblobs++;
	} else if (errno != ENOENT) {
		rc = pl_err_sys(l->err, PL_ESYS, "removing '%s'", p.ptr);
	}
	pl_buf_release(&p);
	return rc;
}

static int prune_root(void *ctx, const char *dir, const char *name)
{
	live *l = ctx;
	pl_buf p = PL_BUF_INIT;
	int rc;

	if (live_has(l, name))
		return 0;
	count_root(&l->freed, dir, name);
	pl_path_join(&p, dir, name);
	rc = img__rm_tree(p.ptr, l->err);
	pl_buf_release(&p);
	return rc;
}

static int prune_all(void *ctx, const char *dir, const char *name)
{
	live *l = ctx;
	pl_buf p = PL_BUF_INIT;
	int rc;

	pl_path_join(&p, dir, name);
	rc = img__rm_tree(p.ptr, l->err);
	pl_buf_release(&p);
	return rc;
}

int img_prune(img_usage *out, img_store *s, pl_err *err)
{
	char(*chains)[IMG__DIGEST_LEN + 1] = NULL;
	live l;
	img_image *v = NULL;
	size_t n = 0, i, k;
	pl_buf p = PL_BUF_INIT;
	int rc = 0;

	memset(&l, 0, sizeof(l));
	l.err = err;
	/* alone with the store: the others' shared locks are gone */
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		pl_log_warn(s->log, "waiting for the other plait processes using the store '%s'", s->dir);
		while (flock(s->lock_fd, LOCK_EX) < 0)
			if (errno != EINTR) {
				rc = pl_err_sys(err, PL_ESYS, "locking the store '%s'", s->dir);
				goto done;
			}
	}
	if ((rc = img__records_list(&v, &n, s, err)) < 0)
		goto done;
	for (i = 0; i < n; i++) {
		live_add(&l, v[i].digest);
		live_add(&l, v[i].config_digest);
		for (k = 0; k < v[i].nlayers; k++)
			live_add(&l, v[i].layers[k].digest);
		if (v[i].nlayers) {
			chains = pl_xrealloc(chains, v[i].nlayers * sizeof(*chains));
			if ((rc = img__chain_ids(chains, &v[i], err)) < 0)
				goto done;
			for (k = 0; k < v[i].nlayers; k++)
				live_add(&l, chains[k]);
		} else {
			live_add(&l, v[i].chain);
		}
	}
	img__path(&p, s, "blobs/sha256");
	if ((rc = each_entry(p.ptr, prune_blob, &l, err)) < 0)
		goto done;
	pl_buf_reset(&p);
	img__path(&p, s, "roots");
	if ((rc = each_entry(p.ptr, prune_root, &l, err)) < 0)
		goto done;
	pl_buf_reset(&p);
	img__path(&p, s, "tmp");
	l.freed.partial = du(p.ptr);
	if ((rc = each_entry(p.ptr, prune_all, &l, err)) < 0)
		goto done;
	pl_buf_reset(&p);
	img__path(&p, s, "runs");
	l.freed.runs = du(p.ptr);
	if ((rc = each_entry(p.ptr, prune_all, &l, err)) < 0)
		goto done;
	if (out)
		*out = l.freed;
done:
	flock(s->lock_fd, LOCK_SH);
	for (i = 0; i < l.n; i++)
		free(l.digests[i]);
	free(l.digests);
	free(chains);
	img_images_free(v, n);
	pl_buf_release(&p);
	return rc;
}
