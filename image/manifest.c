/* manifest.c - the OCI and Docker documents that describe an image: an
 * index (Docker: manifest list) of per-platform manifests, a manifest
 * (config + layers), and the image config (diff_ids, Env, User, ...).
 * opencontainers/image-spec: image-index.md, manifest.md, config.md. */
#include "image/internal.h"

#include <string.h>

void img__descs_free(img__desc *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].media_type);
		free(v[i].digest);
		free(v[i].platform);
		free(v[i].ref_name);
	}
	free(v);
}

static bool mt_is(const char *mt, const char *want)
{
	size_t n = strlen(want);

	/* "application/...+json; charset=utf-8" */
	return mt && !strncmp(mt, want, n) && (mt[n] == '\0' || mt[n] == ';' || mt[n] == ' ');
}

bool img__layer_type_known(const char *mt)
{
	static const char *const known[] = {
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.v1.tar+gzip",
		"application/vnd.oci.image.layer.v1.tar+zstd",
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
		"application/vnd.docker.image.rootfs.diff.tar",
		"application/vnd.docker.image.rootfs.diff.tar.gzip",
		"application/vnd.docker.image.rootfs.diff.tar.zstd",
		"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	};
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(known); i++)
		if (mt_is(mt, known[i]))
			return true;
	return false;
}

static int parse_body(json_t **out, const char *body, size_t len, const char *what, pl_err *err)
{
	int rc = pl_json_parse(out, body, len, what, err);

	if (rc == 0 && !json_is_object(*out)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: must be a JSON object, found %s", what,
				pl_json_type_name(*out));
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

static int parse_desc(img__desc *d, const json_t *j, const char *what, size_t k, pl_err *err)
{
	const char *mt = NULL, *dg = NULL, *os = NULL, *arch = NULL, *variant = NULL;
	const json_t *plat, *ann;
	int64_t size = -1;
	int rc;

	memset(d, 0, sizeof(*d));
	if (!json_is_object(j))
		return pl_err_set(err, PL_EFORMAT, "%s: entry %zu must be an object", what, k);
	if ((rc = pl_json_opt_str(&mt, j, "mediaType", what, err)) < 0 ||
	    (rc = pl_json_get_str(&dg, j, "digest", what, err)) < 0 ||
	    (rc = pl_json_opt_int(&size, j, "size", what, err)) < 0)
		return rc;
	if ((rc = img__digest_check(dg, what, err)) < 0)
		return rc;
	plat = json_object_get(j, "platform");
	if (json_is_object(plat) && ((rc = pl_json_opt_str(&os, plat, "os", what, err)) < 0 ||
				     (rc = pl_json_opt_str(&arch, plat, "architecture", what, err)) < 0 ||
				     (rc = pl_json_opt_str(&variant, plat, "variant", what, err)) < 0))
		return rc;
	d->media_type = mt ? pl_xstrdup(mt) : NULL;
	d->digest = pl_xstrdup(dg);
	d->size = size > 0 ? (uint64_t)size : 0;
	if (json_is_object(plat)) {
		pl_buf p = PL_BUF_INIT;

		pl_buf_printf(&p, "%s/%s", os ? os : "?", arch ? arch : "?");
		if (variant && *variant)
			pl_buf_printf(&p, "/%s", variant);
		d->platform = pl_buf_detach(&p, NULL);
	}
	ann = json_object_get(j, "annotations");
	if (json_is_object(ann)) {
		const char *name = json_string_value(json_object_get(ann, "io.containerd.image.name"));

		if (!name)
			name = json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
		if (name)
			d->ref_name = pl_xstrdup(name);
	}
	return 0;
}

int img__index_parse(bool *is_index, img__desc **descs, size_t *n_out, const char *body, size_t len,
		     const char *content_type, const char *what, pl_err *err)
{
	json_t *j = NULL;
	const json_t *ms;
	const char *mt = NULL;
	img__desc *v = NULL;
	size_t n = 0, i;
	int64_t schema = 0;
	int rc;

	if ((rc = parse_body(&j, body, len, what, err)) < 0)
		return rc;
	if ((rc = pl_json_opt_int(&schema, j, "schemaVersion", what, err)) < 0 ||
	    (rc = pl_json_opt_str(&mt, j, "mediaType", what, err)) < 0)
		goto done;
	if (schema == 1 || mt_is(content_type, "application/vnd.docker.distribution.manifest.v1+json") ||
	    mt_is(content_type, "application/vnd.docker.distribution.manifest.v1+prettyjws")) {
		rc = pl_err_set(err, PL_EUNSUPPORTED,
				"%s: a Docker schema 1 manifest (deprecated since 2017); plait reads schema "
				"2 and OCI",
				what);
		goto done;
	}
	if (!mt)
		mt = content_type;
	ms = json_object_get(j, "manifests");
	*is_index = mt_is(mt, IMG__MT_OCI_INDEX) || mt_is(mt, IMG__MT_DOCKER_LIST) ||
		    (!json_object_get(j, "layers") && json_is_array(ms));
	if (!*is_index)
		goto done;
	if (!json_is_array(ms)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: an index without a 'manifests' array", what);
		goto done;
	}
	n = json_array_size(ms);
	v = pl_xcalloc(n ? n : 1, sizeof(*v));
	for (i = 0; i < n; i++)
		if ((rc = parse_desc(&v[i], json_array_get(ms, i), what, i, err)) < 0)
			goto done;
	*descs = v;
	*n_out = n;
	v = NULL;
	n = 0;
done:
	img__descs_free(v, n);
	json_decref(j);
	return rc;
}

/* "linux/arm64" matches "linux/arm64/v8": a missing variant matches any. */
static bool platform_matches(const char *have, const char *want)
{
	size_t n = strlen(want);

	if (!have)
		return false;
	if (!strcmp(have, want))
		return true;
	return !strncmp(have, want, n) && have[n] == '/' && !strchr(want + strcspn(want, "/") + 1, '/');
}

const img__desc *img__index_pick(const img__desc *descs, size_t n, const char *platform, const char *what,
				 pl_err *err)
{
	pl_buf seen = PL_BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		if (platform_matches(descs[i].platform, platform) &&
		    (!descs[i].media_type || mt_is(descs[i].media_type, IMG__MT_OCI_MANIFEST) ||
		     mt_is(descs[i].media_type, IMG__MT_DOCKER_MANIFEST)))
			return &descs[i];
	for (i = 0; i < n; i++)
		if (descs[i].platform && !strstr(seen.ptr, descs[i].platform))
			pl_buf_printf(&seen, "%s%s", seen.len ? ", " : "", descs[i].platform);
	pl_err_set(err, PL_ENOTFOUND, "%s: no image for %s (the index has: %s); choose one with --platform",
		   what, platform, seen.len ? seen.ptr : "no platforms");
	pl_buf_release(&seen);
	return NULL;
}

int img__manifest_parse(img_image *im, uint64_t *config_size, const char *body, size_t len, const char *what,
			pl_err *err)
{
	json_t *j = NULL;
	const json_t *layers;
	img__desc cfg, l;
	size_t n, i;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	if ((rc = parse_body(&j, body, len, what, err)) < 0)
		return rc;
	if ((rc = parse_desc(&cfg, json_object_get(j, "config"), what, 0, err)) < 0) {
		pl_err_prefix(err, "config");
		goto done;
	}
	layers = json_object_get(j, "layers");
	if (!json_is_array(layers)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: 'layers' must be an array", what);
		goto done;
	}
	n = json_array_size(layers);
	im->layers = pl_xcalloc(n ? n : 1, sizeof(*im->layers));
	for (i = 0; i < n; i++) {
		if ((rc = parse_desc(&l, json_array_get(layers, i), what, i, err)) < 0)
			goto done;
		im->layers[i].digest = l.digest;
		im->layers[i].media_type =
			l.media_type ? l.media_type : pl_xstrdup("application/vnd.oci.image.layer.v1.tar");
		im->layers[i].size = l.size;
		l.digest = l.media_type = NULL;
		im->nlayers = i + 1;
		free(l.platform);
		free(l.ref_name);
		if (!img__layer_type_known(im->layers[i].media_type)) {
			rc = pl_err_set(
				err, PL_EUNSUPPORTED,
				"%s: layer %zu (%s) has media type '%s'; plait applies tar, tar+gzip and "
				"tar+zstd layers",
				what, i, im->layers[i].digest, im->layers[i].media_type);
			goto done;
		}
		im->blob_bytes += im->layers[i].size;
	}
	im->config_digest = cfg.digest;
	cfg.digest = NULL;
	*config_size = cfg.size;
done:
	free(cfg.media_type);
	free(cfg.digest);
	free(cfg.platform);
	free(cfg.ref_name);
	json_decref(j);
	return rc;
}

int img__config_parse(img_image *im, const char *body, size_t len, const char *what, pl_err *err)
{
	json_t *j = NULL;
	const json_t *rootfs, *ids, *cfg;
	const char *os = NULL, *arch = NULL, *variant = NULL, *type = NULL;
	pl_buf p = PL_BUF_INIT;
	size_t i;
	int rc;

	if ((rc = parse_body(&j, body, len, what, err)) < 0)
		return rc;
	rootfs = json_object_get(j, "rootfs");
	if (!json_is_object(rootfs)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: no 'rootfs' object", what);
		goto done;
	}
	if ((rc = pl_json_opt_str(&type, rootfs, "type", what, err)) < 0)
		goto done;
	if (type && strcmp(type, "layers")) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: rootfs type '%s', expected 'layers'", what, type);
		goto done;
	}
	ids = json_object_get(rootfs, "diff_ids");
	if (!json_is_array(ids)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: 'rootfs.diff_ids' must be an array", what);
		goto done;
	}
	if (json_array_size(ids) != im->nlayers) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: %zu diff_ids for %zu layers", what,
				json_array_size(ids), im->nlayers);
		goto done;
	}
	for (i = 0; i < im->nlayers; i++) {
		const char *d = json_string_value(json_array_get(ids, i));

		if ((rc = img__digest_check(d, what, err)) < 0) {
			pl_err_prefix(err, "diff_id %zu", i);
			goto done;
		}
		free(im->layers[i].diff_id);
		im->layers[i].diff_id = pl_xstrdup(d);
	}
	if ((rc = pl_json_opt_str(&os, j, "os", what, err)) < 0 ||
	    (rc = pl_json_opt_str(&arch, j, "architecture", what, err)) < 0 ||
	    (rc = pl_json_opt_str(&variant, j, "variant", what, err)) < 0)
		goto done;
	pl_buf_printf(&p, "%s/%s", os ? os : "linux", arch ? arch : "amd64");
	if (variant && *variant)
		pl_buf_printf(&p, "/%s", variant);
	free(im->platform);
	im->platform = pl_buf_detach(&p, NULL);
	cfg = json_object_get(j, "config");
	json_decref(im->config);
	im->config = json_is_object(cfg) ? json_deep_copy(cfg) : json_object();
done:
	pl_buf_release(&p);
	json_decref(j);
	return rc;
}
