/* load.c - images from files: a `docker save` tarball (its manifest.json,
 * plain or compressed, legacy or Docker 25's OCI-in-tar) and an OCI image
 * layout (a directory, or a tar of one).  Every blob is copied into the
 * store and verified against its digest; nothing of the source is linked,
 * so changing it later cannot change the store. */
#define _GNU_SOURCE
#include "image/internal.h"
#include "image/libs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_META (16u << 20) /* manifest.json, index.json: small documents */

/* ---------------------------------------------------------------- names in a tar */

/* What one entry of the tarball became. */
typedef struct member {
	char *name;   /* cleaned: "abc/layer.tar", "blobs/sha256/HEX" */
	char *digest; /* a regular file stored as a blob, or NULL */
	char *link;   /* a symlink's target, resolved against its directory */
	uint64_t size;
	bool fresh; /* the store did not have the blob before this load */
	bool used;
} member;

typedef struct source {
	const char *path; /* as given */
	bool dir;	  /* an OCI layout directory */
	member *m;
	size_t nm, cap;
	pl_buf manifest_json; /* docker-archive */
	pl_buf index_json;    /* OCI layout */
	bool has_manifest, has_index, has_layout;
	img_store *s;
	const img_opts *o;
	pl_err *err;
} source;

static void sources_free(source *src)
{
	size_t i;

	for (i = 0; i < src->nm; i++) {
		free(src->m[i].name);
		free(src->m[i].digest);
		free(src->m[i].link);
	}
	free(src->m);
	pl_buf_release(&src->manifest_json);
	pl_buf_release(&src->index_json);
}

/* "./a//b" -> "a/b"; ".." resolved lexically (a name that climbs out is
 * kept as written and simply never matches). */
static char *clean(const char *dir, const char *name)
{
	pl_buf in = PL_BUF_INIT, out = PL_BUF_INIT;
	char *tok, *save = NULL;

	if (dir && *dir && name[0] != '/')
		pl_buf_printf(&in, "%s/", dir);
	pl_buf_puts(&in, name);
	for (tok = strtok_r(in.ptr, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			char *s = strrchr(out.ptr, '/');

			pl_buf_setlen(&out, s ? (size_t)(s - out.ptr) : 0);
			continue;
		}
		if (out.len)
			pl_buf_putc(&out, '/');
		pl_buf_puts(&out, tok);
	}
	pl_buf_release(&in);
	return pl_buf_detach(&out, NULL);
}

static member *find(source *src, const char *name)
{
	char *n = clean(NULL, name);
	member *hit = NULL;
	int hops;
	size_t i;

	for (hops = 0; hops < 8 && !hit; hops++) {
		member *m = NULL;

		for (i = 0; i < src->nm; i++)
			if (!strcmp(src->m[i].name, n))
				m = &src->m[i];
		if (!m)
			break;
		if (!m->link) {
			hit = m;
			break;
		}
		free(n);
		n = pl_xstrdup(m->link);
	}
	free(n);
	return hit;
}

static member *add_member(source *src, const char *name)
{
	member *m;

	if (src->nm == src->cap) {
		src->cap = src->cap ? 2 * src->cap : 32;
		src->m = pl_xrealloc(src->m, src->cap * sizeof(*src->m));
	}
	m = &src->m[src->nm++];
	memset(m, 0, sizeof(*m));
	m->name = clean(NULL, name);
	return m;
}

/* Read a whole tarball: small documents kept, every other regular file
 * stored as a blob. */
static int read_tar(source *src)
{
	struct archive *a = NULL;
	struct archive_entry *ae;
	char *buf = NULL;
	int fd = -1, r, rc;
	pl_err *err = src->err;
	struct stat st;
	uint64_t done_bytes = 0;

	if ((rc = img__archive_load(err)) < 0)
		return rc;
	if ((fd = open(src->path, O_RDONLY | O_CLOEXEC)) < 0)
		return pl_err_sys(err, PL_ENOTFOUND, "opening '%s'", src->path);
	fstat(fd, &st);
	if (!(a = archive_read_new())) {
		rc = pl_err_set(err, PL_ENOMEM, "creating a libarchive reader");
		goto done;
	}
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
		rc = pl_err_set(err, PL_EFORMAT, "'%s' is not a tar archive (plain, gzip or zstd): %s",
				src->path, archive_error_string(a));
		goto done;
	}
	buf = pl_xmalloc(1 << 20);
	while ((r = archive_read_next_header(a, &ae)) != ARCHIVE_EOF) {
		const char *name;
		char *cn;
		mode_t type;

		if (r < ARCHIVE_WARN) {
			rc = pl_err_set(err, PL_EFORMAT, "'%s': %s", src->path, archive_error_string(a));
			goto done;
		}
		if (img__cancelled(src->o)) {
			rc = pl_err_set(err, PL_ECANCELED, "loading '%s': interrupted", src->path);
			goto done;
		}
		name = archive_entry_pathname(ae);
		if (!name)
			continue;
		type = archive_entry_filetype(ae);
		cn = clean(NULL, name);
		if (type == AE_IFLNK && archive_entry_symlink(ae)) {
			char *d = pl_xstrdup(cn), *slash = strrchr(d, '/');
			member *m = add_member(src, cn);

			if (slash)
				*slash = '\0';
			else
				d[0] = '\0';
			m->link = clean(d, archive_entry_symlink(ae));
			free(d);
		} else if (archive_entry_hardlink(ae)) {
			member *m = add_member(src, cn);

			m->link = clean(NULL, archive_entry_hardlink(ae));
		} else if (type == AE_IFREG) {
			pl_buf *doc = !strcmp(cn, "manifest.json") ? &src->manifest_json
				      : !strcmp(cn, "index.json")  ? &src->index_json
								   : NULL;

			if (doc || !strcmp(cn, "oci-layout") || !strcmp(cn, "repositories")) {
				la_ssize_t n;

				if (archive_entry_size(ae) > (la_int64_t)MAX_META) {
					rc = pl_err_set(err, PL_ELIMIT, "'%s': %s is larger than %u bytes",
							src->path, cn, MAX_META);
					free(cn);
					goto done;
				}
				if (doc)
					pl_buf_reset(doc);
				while ((n = archive_read_data(a, buf, 1 << 20)) > 0)
					if (doc)
						pl_buf_add(doc, buf, (size_t)n);
				if (n < 0) {
					rc = pl_err_set(err, PL_EFORMAT, "'%s': %s: %s", src->path, cn,
							archive_error_string(a));
					free(cn);
					goto done;
				}
				src->has_manifest |= doc == &src->manifest_json;
				src->has_index |= doc == &src->index_json;
				src->has_layout |= !strcmp(cn, "oci-layout");
			} else {
				member *m = add_member(src, cn);
				img__writer w;
				char digest[IMG__DIGEST_LEN + 1];
				la_ssize_t n;

				if ((rc = img__writer_open(&w, src->s, err)) < 0) {
					free(cn);
					goto done;
				}
				while ((n = archive_read_data(a, buf, 1 << 20)) > 0) {
					if ((rc = img__writer_add(&w, buf, (size_t)n, err)) < 0)
						break;
					done_bytes += (uint64_t)n;
					if (src->o && src->o->progress) {
						img_progress p = {
							IMG_PHASE_FETCH,      src->path, cn, done_bytes,
							(uint64_t)st.st_size, 0,	 0
						};

						src->o->progress(src->o->progress_ctx, &p);
					}
				}
				if (rc == 0 && n < 0)
					rc = pl_err_set(err, PL_EFORMAT, "'%s': %s: %s", src->path, cn,
							archive_error_string(a));
				if (rc < 0) {
					img__writer_abort(&w);
					free(cn);
					goto done;
				}
				m->size = w.size;
				if ((rc = img__writer_commit(&w, digest, src->s, NULL, cn, err)) < 0) {
					free(cn);
					goto done;
				}
				m->digest = pl_xstrdup(digest);
				m->fresh = !w.existed;
			}
		}
		free(cn);
	}
	rc = 0;
done:
	free(buf);
	if (a)
		archive_read_free(a);
	close(fd);
	return rc;
}

/* Forget the blobs this load stored that no image uses (the legacy
 * per-layer "json" files, a tarball's extras). */
static void drop_unused(source *src)
{
	pl_buf p = PL_BUF_INIT;
	size_t i, j;

	for (i = 0; i < src->nm; i++) {
		member *m = &src->m[i];
		bool used = m->used;

		if (!m->digest || !m->fresh)
			continue;
		for (j = 0; j < src->nm && !used; j++)
			used = src->m[j].used && src->m[j].digest && !strcmp(src->m[j].digest, m->digest);
		if (used)
			continue;
		pl_buf_reset(&p);
		img__blob_path(&p, src->s, m->digest);
		unlink(p.ptr);
		m->fresh = false;
	}
	pl_buf_release(&p);
}

/* ---------------------------------------------------------------- blobs of a layout */

/* The blob digest of a layout: from the store when a tar was read, copied
 * from DIR/blobs/ALG/HEX otherwise; in both cases verified. */
static int layout_blob(source *src, const char *digest, uint64_t *size)
{
	pl_buf p = PL_BUF_INIT, what = PL_BUF_INIT;
	char got[IMG__DIGEST_LEN + 1];
	int fd, rc;

	if ((rc = img__digest_check(digest, src->path, src->err)) < 0)
		return rc;
	if (!src->dir) {
		pl_buf_printf(&p, "blobs/sha256/%s", digest + 7);
		member *m = find(src, p.ptr);

		pl_buf_release(&p);
		if (!m || !m->digest)
			return pl_err_set(src->err, PL_ENOTFOUND, "'%s': blob %s is missing", src->path,
					  digest);
		if (strcmp(m->digest, digest))
			return pl_err_set(src->err, PL_EFORMAT, "'%s': blobs/sha256/%s has digest %s",
					  src->path, digest + 7, m->digest);
		m->used = true;
		if (size)
			*size = m->size;
		return 0;
	}
	pl_buf_printf(&p, "%s/blobs/sha256/%s", src->path, digest + 7);
	pl_buf_printf(&what, "'%s'", p.ptr);
	if ((fd = open(p.ptr, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = pl_err_sys(src->err, PL_ENOTFOUND, "OCI layout '%s': blob %s", src->path, digest);
		goto done;
	}
	rc = img__blob_import_fd(got, size, src->s, fd, digest, what.ptr, src->o, src->err);
	close(fd);
done:
	pl_buf_release(&p);
	pl_buf_release(&what);
	return rc;
}

static int blob_text(pl_buf *out, source *src, const char *digest)
{
	int rc;

	if ((rc = layout_blob(src, digest, NULL)) < 0)
		return rc;
	return img__blob_read(out, src->s, digest, IMG__MAX_MANIFEST, src->err);
}

/* ---------------------------------------------------------------- results */

typedef struct results {
	img_image *v;
	size_t n, cap;
} results;

static img_image *push(results *r)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 4;
		r->v = pl_xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	memset(&r->v[r->n], 0, sizeof(img_image));
	return &r->v[r->n++];
}

/* A name for an image: the tag the caller gave, else the source's. */
static int name_image(img_image *im, const char *given, const char *from_source, const char *base,
		      pl_err *err)
{
	pl_buf b = PL_BUF_INIT, c = PL_BUF_INIT;
	int rc;

	if (given) {
		pl_buf_puts(&b, given);
	} else if (!from_source) {
		return pl_err_set(err, PL_EINVAL,
				  "image %s has no name in '%s': give one with --tag NAME:TAG",
				  im->config_digest, base);
	} else if (!strchr(from_source, '/') && !strchr(from_source, ':')) {
		/* a bare tag, as skopeo's oci:DIR:TAG writes it */
		char *copy = pl_xstrdup(base), *bn = basename(copy), *dot;
		size_t k;

		if ((dot = strstr(bn, ".tar")))
			*dot = '\0';
		for (k = 0; bn[k]; k++)
			bn[k] = (char)((bn[k] >= 'A' && bn[k] <= 'Z') ? bn[k] - 'A' + 'a' : bn[k]);
		pl_buf_printf(&b, "localhost/%s:%s", bn, from_source);
		free(copy);
	} else {
		pl_buf_puts(&b, from_source);
	}
	if ((rc = img__ref_canonical(&c, b.ptr, err)) == 0)
		im->ref = pl_buf_detach(&c, NULL);
	pl_buf_release(&b);
	pl_buf_release(&c);
	return rc;
}

/* ---------------------------------------------------------------- docker-archive */

static const char *sniff_type(source *src, const char *digest)
{
	unsigned char magic[4] = { 0, 0, 0, 0 };
	pl_buf p = PL_BUF_INIT;
	int fd;

	img__blob_path(&p, src->s, digest);
	if ((fd = open(p.ptr, O_RDONLY | O_CLOEXEC)) >= 0) {
		if (read(fd, magic, 4) < 0)
			magic[0] = 0;
		close(fd);
	}
	pl_buf_release(&p);
	if (magic[0] == 0x1f && magic[1] == 0x8b)
		return "application/vnd.docker.image.rootfs.diff.tar.gzip";
	if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
		return "application/vnd.docker.image.rootfs.diff.tar.zstd";
	return "application/vnd.docker.image.rootfs.diff.tar";
}

static int docker_archive(results *res, source *src, const char *tag)
{
	pl_err *err = src->err;
	json_t *j = NULL;
	pl_buf cfgtext = PL_BUF_INIT;
	size_t i, k, nnames = 0;
	int rc;

	if ((rc = pl_json_parse(&j, src->manifest_json.ptr, src->manifest_json.len, "manifest.json", err)) <
	    0)
		goto done;
	if (!json_is_array(j) || !json_array_size(j)) {
		rc = pl_err_set(err, PL_EFORMAT, "'%s': manifest.json must be a non-empty array", src->path);
		goto done;
	}
	for (i = 0; i < json_array_size(j); i++) {
		const json_t *tags = json_object_get(json_array_get(j, i), "RepoTags");

		nnames += json_is_array(tags) && json_array_size(tags) ? json_array_size(tags) : 1;
	}
	if (tag && nnames != 1) {
		rc = pl_err_set(err, PL_EINVAL, "'%s' holds %zu images or names: --tag names one image",
				src->path, nnames);
		goto done;
	}
	for (i = 0; i < json_array_size(j); i++) {
		const json_t *e = json_array_get(j, i), *layers = json_object_get(e, "Layers"),
			     *tags = json_object_get(e, "RepoTags");
		const char *cfgname = json_string_value(json_object_get(e, "Config"));
		img_image base;
		member *cm;

		memset(&base, 0, sizeof(base));
		if (!cfgname || !json_is_array(layers)) {
			rc = pl_err_set(err, PL_EFORMAT,
					"'%s': manifest.json entry %zu lacks Config or Layers", src->path, i);
			goto done;
		}
		if (!(cm = find(src, cfgname)) || !cm->digest) {
			rc = pl_err_set(err, PL_ENOTFOUND, "'%s': config '%s' is missing", src->path,
					cfgname);
			goto done;
		}
		cm->used = true;
		base.config_digest = pl_xstrdup(cm->digest);
		base.digest = pl_xstrdup(cm->digest);
		base.source = pl_xstrdup("docker-archive");
		base.nlayers = json_array_size(layers);
		base.layers = pl_xcalloc(base.nlayers ? base.nlayers : 1, sizeof(img_layer));
		for (k = 0; k < base.nlayers; k++) {
			const char *ln = json_string_value(json_array_get(layers, k));
			member *lm = ln ? find(src, ln) : NULL;

			if (!lm || !lm->digest) {
				rc = pl_err_set(err, PL_ENOTFOUND, "'%s': layer '%s' is missing", src->path,
						ln ? ln : "(not a string)");
				img_image_release(&base);
				goto done;
			}
			lm->used = true;
			base.layers[k].digest = pl_xstrdup(lm->digest);
			base.layers[k].size = lm->size;
			base.layers[k].media_type = pl_xstrdup(sniff_type(src, lm->digest));
			base.blob_bytes += lm->size;
		}
		pl_buf_reset(&cfgtext);
		if ((rc = img__blob_read(&cfgtext, src->s, cm->digest, IMG__MAX_MANIFEST, err)) < 0 ||
		    (rc = img__config_parse(&base, cfgtext.ptr, cfgtext.len, cfgname, err)) < 0) {
			pl_err_prefix(err, "'%s'", src->path);
			img_image_release(&base);
			goto done;
		}
		/* one record per name */
		for (k = 0; k < (json_array_size(tags) ? json_array_size(tags) : 1); k++) {
			img_image *im = push(res);
			json_t *tj = json_array_get(tags, k);
			size_t l;

			*im = base;
			im->config_digest = pl_xstrdup(base.config_digest);
			im->digest = pl_xstrdup(base.digest);
			im->source = pl_xstrdup(base.source);
			im->platform = base.platform ? pl_xstrdup(base.platform) : NULL;
			im->config = json_deep_copy(base.config);
			im->layers = pl_xcalloc(base.nlayers ? base.nlayers : 1, sizeof(img_layer));
			for (l = 0; l < base.nlayers; l++) {
				im->layers[l].digest = pl_xstrdup(base.layers[l].digest);
				im->layers[l].media_type = pl_xstrdup(base.layers[l].media_type);
				im->layers[l].diff_id = pl_xstrdup(base.layers[l].diff_id);
				im->layers[l].size = base.layers[l].size;
			}
			if ((rc = name_image(im, tag, json_string_value(tj), src->path, err)) < 0) {
				img_image_release(&base);
				goto done;
			}
		}
		img_image_release(&base);
	}
done:
	json_decref(j);
	pl_buf_release(&cfgtext);
	return rc;
}

/* ---------------------------------------------------------------- OCI layout */

/* Fill im from the manifest digest of a layout. */
static int layout_image(img_image *im, source *src, const char *mdigest)
{
	pl_buf text = PL_BUF_INIT, what = PL_BUF_INIT;
	uint64_t csize = 0;
	size_t i;
	int rc;

	pl_buf_printf(&what, "'%s': manifest %s", src->path, mdigest);
	if ((rc = blob_text(&text, src, mdigest)) < 0 ||
	    (rc = img__manifest_parse(im, &csize, text.ptr, text.len, what.ptr, src->err)) < 0)
		goto done;
	im->digest = pl_xstrdup(mdigest);
	im->source = pl_xstrdup("oci-layout");
	pl_buf_reset(&text);
	if ((rc = blob_text(&text, src, im->config_digest)) < 0 ||
	    (rc = img__config_parse(im, text.ptr, text.len, what.ptr, src->err)) < 0)
		goto done;
	for (i = 0; i < im->nlayers; i++) {
		uint64_t size = 0;

		if ((rc = layout_blob(src, im->layers[i].digest, &size)) < 0)
			goto done;
		if (im->layers[i].size && size != im->layers[i].size) {
			rc = pl_err_set(src->err, PL_EFORMAT,
					"%s: layer %s has %llu bytes, the manifest says %llu", what.ptr,
					im->layers[i].digest, (unsigned long long)size,
					(unsigned long long)im->layers[i].size);
			goto done;
		}
	}
done:
	pl_buf_release(&text);
	pl_buf_release(&what);
	return rc;
}

/* The manifests index.json leads to, for the platform: nested indexes are
 * resolved; each result keeps the outer entry's name. */
static int layout_walk(results *res, source *src, const char *body, size_t len, const char *name, int depth,
		       const char *tag)
{
	const char *platform = src->o && src->o->platform ? src->o->platform : "linux/amd64";
	img__desc *d = NULL;
	size_t n = 0, i;
	bool is_index = false;
	int rc;

	if (depth > 4)
		return pl_err_set(src->err, PL_EFORMAT, "'%s': indexes nested more than 4 deep", src->path);
	if ((rc = img__index_parse(&is_index, &d, &n, body, len, IMG__MT_OCI_INDEX, src->path, src->err)) < 0)
		return rc;
	if (!is_index) {
		rc = pl_err_set(src->err, PL_EFORMAT, "'%s': index.json is not an index", src->path);
		goto done;
	}
	for (i = 0; i < n; i++) {
		const char *nm = d[i].ref_name ? d[i].ref_name : name;
		const char *mt = d[i].media_type;

		if (d[i].platform && depth == 0 && strcmp(d[i].platform, platform) &&
		    strncmp(d[i].platform, platform, strlen(platform)))
			continue;
		if (mt && (!strcmp(mt, IMG__MT_OCI_INDEX) || !strcmp(mt, IMG__MT_DOCKER_LIST))) {
			pl_buf text = PL_BUF_INIT;
			const img__desc *pick;
			bool sub_index = false;
			img__desc *sd = NULL;
			size_t sn = 0;

			if ((rc = blob_text(&text, src, d[i].digest)) < 0 ||
			    (rc = img__index_parse(&sub_index, &sd, &sn, text.ptr, text.len, mt, src->path,
						   src->err)) < 0) {
				pl_buf_release(&text);
				goto done;
			}
			pick = img__index_pick(sd, sn, platform, src->path, src->err);
			if (pick) {
				img_image *im = push(res);

				if ((rc = layout_image(im, src, pick->digest)) == 0)
					rc = name_image(im, tag, nm, src->path, src->err);
			} else {
				rc = PL_ENOTFOUND;
			}
			img__descs_free(sd, sn);
			pl_buf_release(&text);
			if (rc < 0)
				goto done;
			continue;
		}
		{
			img_image *im = push(res);

			if ((rc = layout_image(im, src, d[i].digest)) < 0 ||
			    (rc = name_image(im, tag, nm, src->path, src->err)) < 0)
				goto done;
		}
	}
	if (!res->n)
		rc = pl_err_set(src->err, PL_ENOTFOUND, "'%s': no image for %s in its index", src->path,
				platform);
done:
	img__descs_free(d, n);
	return rc;
}

static int oci_layout(results *res, source *src, const char *tag)
{
	json_t *j = NULL;
	const json_t *ms;
	int rc;

	if ((rc = pl_json_parse(&j, src->index_json.ptr, src->index_json.len, "index.json", src->err)) < 0)
		return rc;
	ms = json_object_get(j, "manifests");
	if (tag && (!json_is_array(ms) || json_array_size(ms) != 1)) {
		rc = pl_err_set(src->err, PL_EINVAL, "'%s' lists %zu manifests: --tag names one image",
				src->path, json_is_array(ms) ? json_array_size(ms) : 0);
		goto done;
	}
	rc = layout_walk(res, src, src->index_json.ptr, src->index_json.len, NULL, 0, tag);
done:
	json_decref(j);
	return rc;
}

int img__load_path(img_image **out, size_t *n_out, img_store *s, const char *path, const char *tag,
		   const img_opts *o, pl_err *err)
{
	source src;
	results res = { NULL, 0, 0 };
	struct stat st;
	int rc = 0;

	memset(&src, 0, sizeof(src));
	src.path = path;
	src.s = s;
	src.o = o;
	src.err = err;
	pl_buf_init(&src.manifest_json, 0);
	pl_buf_init(&src.index_json, 0);
	if (stat(path, &st) < 0) {
		rc = pl_err_sys(err, PL_ENOTFOUND, "'%s'", path);
		goto done;
	}
	src.dir = S_ISDIR(st.st_mode);
	if (src.dir) {
		pl_buf p = PL_BUF_INIT;

		pl_buf_printf(&p, "%s/oci-layout", path);
		if (!pl_file_exists(p.ptr)) {
			rc = pl_err_set(
				err, PL_EFORMAT,
				"'%s' is a directory without an oci-layout file: not an OCI image layout",
				path);
			pl_buf_release(&p);
			goto done;
		}
		pl_buf_reset(&p);
		pl_buf_printf(&p, "%s/index.json", path);
		rc = pl_file_read(&src.index_json, p.ptr, MAX_META, err);
		pl_buf_release(&p);
		if (rc < 0)
			goto done;
		rc = oci_layout(&res, &src, tag);
	} else {
		if ((rc = read_tar(&src)) < 0)
			goto done;
		if (src.has_manifest)
			rc = docker_archive(&res, &src, tag);
		else if (src.has_index && src.has_layout)
			rc = oci_layout(&res, &src, tag);
		else
			rc = pl_err_set(
				err, PL_EFORMAT,
				"'%s' holds neither a manifest.json (docker save) nor an index.json and "
				"oci-layout (OCI image layout)",
				path);
	}
	if (rc < 0)
		goto done;
	*out = res.v;
	*n_out = res.n;
	res.v = NULL;
	res.n = 0;
done:
	if (!src.dir)
		drop_unused(&src);
	img_images_free(res.v, res.n);
	sources_free(&src);
	return rc;
}
