/* record.c - images as the store records them: refs/KEY.json, one file per
 * reference, written atomically. */
#define _GNU_SOURCE
#include "image/internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void img__layers_free(img_layer *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].digest);
		free(v[i].media_type);
		free(v[i].diff_id);
	}
	free(v);
}

void img_image_release(img_image *im)
{
	if (!im)
		return;
	free(im->ref);
	free(im->digest);
	free(im->config_digest);
	free(im->source);
	free(im->platform);
	free(im->chain);
	img__layers_free(im->layers, im->nlayers);
	json_decref(im->config);
	memset(im, 0, sizeof(*im));
}

void img_images_free(img_image *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		img_image_release(&v[i]);
	free(v);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *img__image_json(const img_image *im)
{
	json_t *o = json_object(), *layers = json_array();
	size_t i;

	pl_json_set(o, "ref", str_or_null(im->ref));
	pl_json_set(o, "digest", str_or_null(im->digest));
	pl_json_set(o, "config_digest", str_or_null(im->config_digest));
	pl_json_set(o, "source", str_or_null(im->source));
	pl_json_set(o, "platform", str_or_null(im->platform));
	pl_json_set(o, "chain", str_or_null(im->chain));
	for (i = 0; i < im->nlayers; i++) {
		json_t *l = json_object();

		pl_json_set(l, "digest", str_or_null(im->layers[i].digest));
		pl_json_set(l, "media_type", str_or_null(im->layers[i].media_type));
		pl_json_set(l, "size", json_integer((json_int_t)im->layers[i].size));
		pl_json_set(l, "diff_id", str_or_null(im->layers[i].diff_id));
		json_array_append_new(layers, l);
	}
	pl_json_set(o, "layers", layers);
	pl_json_set(o, "config", im->config ? json_incref(im->config) : json_object());
	pl_json_set(o, "stored", json_integer((json_int_t)im->stored));
	return o;
}

static int opt_dup(char **out, const json_t *j, const char *key, const char *what, pl_err *err)
{
	const char *s = NULL;
	int rc;

	if ((rc = pl_json_opt_str(&s, j, key, what, err)) < 0)
		return rc;
	*out = s ? pl_xstrdup(s) : NULL;
	return 0;
}

int img__image_from_json(img_image *out, const json_t *j, const char *what, pl_err *err)
{
	img_image im;
	const json_t *layers, *cfg;
	int64_t v = 0;
	size_t i;
	int rc = 0;

	memset(&im, 0, sizeof(im));
	if (!json_is_object(j))
		return pl_err_set(err, PL_EFORMAT, "%s: must be an object, found %s", what,
				  pl_json_type_name(j));
	if ((rc = opt_dup(&im.ref, j, "ref", what, err)) < 0 ||
	    (rc = opt_dup(&im.digest, j, "digest", what, err)) < 0 ||
	    (rc = opt_dup(&im.config_digest, j, "config_digest", what, err)) < 0 ||
	    (rc = opt_dup(&im.source, j, "source", what, err)) < 0 ||
	    (rc = opt_dup(&im.platform, j, "platform", what, err)) < 0 ||
	    (rc = opt_dup(&im.chain, j, "chain", what, err)) < 0 ||
	    (rc = pl_json_opt_int(&v, j, "stored", what, err)) < 0)
		goto done;
	im.stored = v;
	if (!im.ref || !im.config_digest) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: 'ref' and 'config_digest' are required", what);
		goto done;
	}
	layers = json_object_get(j, "layers");
	if (!json_is_array(layers)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: 'layers' must be an array", what);
		goto done;
	}
	im.nlayers = json_array_size(layers);
	im.layers = pl_xcalloc(im.nlayers ? im.nlayers : 1, sizeof(*im.layers));
	for (i = 0; i < im.nlayers; i++) {
		const json_t *l = json_array_get(layers, i);
		img_layer *L = &im.layers[i];

		v = 0;
		if ((rc = opt_dup(&L->digest, l, "digest", what, err)) < 0 ||
		    (rc = opt_dup(&L->media_type, l, "media_type", what, err)) < 0 ||
		    (rc = opt_dup(&L->diff_id, l, "diff_id", what, err)) < 0 ||
		    (rc = pl_json_opt_int(&v, l, "size", what, err)) < 0)
			goto done;
		L->size = (uint64_t)v;
		if (!img__digest_valid(L->digest) || !img__digest_valid(L->diff_id)) {
			rc = pl_err_set(err, PL_EFORMAT, "%s: layer %zu lacks a valid digest or diff_id",
					what, i);
			goto done;
		}
		im.blob_bytes += L->size;
	}
	cfg = json_object_get(j, "config");
	im.config = json_is_object(cfg) ? json_deep_copy(cfg) : json_object();
	*out = im;
	memset(&im, 0, sizeof(im));
done:
	img_image_release(&im);
	return rc;
}

static void record_path(pl_buf *out, const img_store *s, const char *canonical)
{
	img__path(out, s, "refs/");
	img__ref_key(out, canonical);
	pl_buf_puts(out, ".json");
}

int img__record_write(const img_store *s, const img_image *im, pl_err *err)
{
	pl_buf p = PL_BUF_INIT, text = PL_BUF_INIT;
	json_t *j = img__image_json(im);
	int rc;

	record_path(&p, s, im->ref);
	pl_json_dump(&text, j, true);
	pl_buf_putc(&text, '\n');
	rc = pl_file_write_atomic(p.ptr, text.ptr, text.len, 0600, err);
	json_decref(j);
	pl_buf_release(&p);
	pl_buf_release(&text);
	return rc;
}

static int read_file(img_image *out, const img_store *s, const char *path, pl_err *err)
{
	json_t *j = NULL;
	int rc;

	if ((rc = pl_json_load_file(&j, path, err)) < 0)
		return rc;
	rc = img__image_from_json(out, j, path, err);
	json_decref(j);
	if (rc == 0)
		out->unpacked = out->chain && img__root_bytes(&out->root_bytes, s, out->chain);
	return rc;
}

int img__record_read(img_image *out, const img_store *s, const char *canonical, pl_err *err)
{
	pl_buf p = PL_BUF_INIT;
	int rc;

	record_path(&p, s, canonical);
	if (!pl_file_exists(p.ptr))
		rc = pl_err_set(err, PL_ENOTFOUND,
				"image '%s' is not in the store '%s' (plait image pull or load it)",
				canonical, s->dir);
	else
		rc = read_file(out, s, p.ptr, err);
	pl_buf_release(&p);
	return rc;
}

static int by_ref(const void *a, const void *b)
{
	return strcmp(((const img_image *)a)->ref, ((const img_image *)b)->ref);
}

int img__records_list(img_image **out, size_t *n_out, const img_store *s, pl_err *err)
{
	pl_buf dir = PL_BUF_INIT, p = PL_BUF_INIT;
	img_image *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d = NULL;
	int rc = 0;

	img__path(&dir, s, "refs");
	if (!(d = opendir(dir.ptr))) {
		rc = pl_err_sys(err, PL_ESYS, "reading '%s'", dir.ptr);
		goto done;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !pl_str_ends_with(e->d_name, ".json"))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			v = pl_xrealloc(v, cap * sizeof(*v));
		}
		pl_buf_reset(&p);
		pl_path_join(&p, dir.ptr, e->d_name);
		if ((rc = read_file(&v[n], s, p.ptr, err)) < 0)
			goto done;
		n++;
	}
	if (n)
		qsort(v, n, sizeof(*v), by_ref);
	*out = v;
	*n_out = n;
	v = NULL;
	n = 0;
done:
	if (d)
		closedir(d);
	img_images_free(v, n);
	pl_buf_release(&dir);
	pl_buf_release(&p);
	return rc;
}

int img__record_remove(const img_store *s, const char *canonical, pl_err *err)
{
	pl_buf p = PL_BUF_INIT;
	int rc = 0;

	record_path(&p, s, canonical);
	if (unlink(p.ptr) < 0) {
		if (errno == ENOENT)
			rc = pl_err_set(err, PL_ENOTFOUND, "image '%s' is not in the store '%s'", canonical,
					s->dir);
		else
			rc = pl_err_sys(err, PL_ESYS, "removing '%s'", p.ptr);
	}
	pl_buf_release(&p);
	return rc;
}
