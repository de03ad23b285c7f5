/* internal.h - what the files of image/ share (img__ names), bottom layer
 * first: digests, the store and its records, manifests, layers, roots, the
 * registry and the loaders.  docs/IMAGES.md describes the whole. */
#ifndef PLAIT_IMAGE_INTERNAL_H
#define PLAIT_IMAGE_INTERNAL_H

#include "image/image.h"

#include <sys/types.h>

/* ---------------------------------------------------------------- digest.c */

#define IMG__DIGEST_LEN 71 /* "sha256:" + 64 hex digits */

/* A running SHA-256 (libcrypto's, loaded at first use). */
typedef struct img__sha {
	void *ctx; /* EVP_MD_CTX */
} img__sha;

int img__sha_init(img__sha *h, pl_err *err);
void img__sha_update(img__sha *h, const void *p, size_t n);
/* "sha256:HEX" into out (IMG__DIGEST_LEN + 1 bytes); h is spent (init it
 * again to reuse it). */
void img__sha_final(img__sha *h, char *out);
void img__sha_release(img__sha *h);
/* The digest of n bytes. */
int img__sha_buf(char *out, const void *p, size_t n, pl_err *err);
/* A digest plait can verify: "sha256:" and 64 lower-case hex digits. */
bool img__digest_valid(const char *d);
/* Refuses anything else, naming what it is (err: "manifest 'x': layer 2 has
 * digest ..."). */
int img__digest_check(const char *d, const char *what, pl_err *err);

/* ---------------------------------------------------------------- ref.c */

/* The file name of a reference in refs/: every byte but [A-Za-z0-9._-]
 * written %XX. */
void img__ref_key(pl_buf *out, const char *canonical);
/* Parse and format back: the canonical spelling of s. */
int img__ref_canonical(pl_buf *out, const char *s, pl_err *err);

/* ---------------------------------------------------------------- store.c */

struct img_store {
	char *dir; /* absolute */
	const pl_log *log;
	int lock_fd; /* DIR/lock: shared while open, exclusive in prune */
	bool shift;  /* root: image ids stored as IMG_IDS_BASE + id */
};

/* DIR/part, appended to out. */
void img__path(pl_buf *out, const img_store *s, const char *fmt, ...) PL_PRINTF(3, 4);
void img__blob_path(pl_buf *out, const img_store *s, const char *digest);
bool img__blob_has(const img_store *s, const char *digest);
/* A whole blob of at most max bytes, checked against its digest. */
int img__blob_read(pl_buf *out, const img_store *s, const char *digest, size_t max, pl_err *err);
/* Store n bytes whose digest is digest (checked). */
int img__blob_put(const img_store *s, const char *digest, const void *p, size_t n, pl_err *err);
/* Move the complete file tmp (in DIR/tmp) to blobs/ as digest, read-only;
 * a blob already there wins and tmp goes. */
int img__blob_commit(const img_store *s, const char *tmp, const char *digest, pl_err *err);
/* A fresh file in DIR/tmp for writing: its path in path, its descriptor in
 * *fd. */
int img__tmp_file(int *fd, pl_buf *path, const img_store *s, const char *prefix, pl_err *err);
/* An flock on DIR/tmp/NAME.lock held until img__unlock: the same blob or
 * root is fetched or built by one process at a time. */
int img__lock(int *fd, const img_store *s, const char *name, pl_err *err);
void img__unlock(int fd);
/* A blob being written: bytes go to a file in DIR/tmp, hashed on the way,
 * and become blobs/sha256/HEX once complete (commit) or vanish (abort). */
typedef struct img__writer {
	int fd;
	pl_buf path;
	img__sha sha;
	uint64_t size;
	bool existed; /* after commit: the store had it already */
} img__writer;

int img__writer_open(img__writer *w, const img_store *s, pl_err *err);
int img__writer_add(img__writer *w, const void *p, size_t n, pl_err *err);
/* digest (IMG__DIGEST_LEN + 1 bytes) receives the content's; expect (may
 * be NULL) is checked.  The writer is released either way. */
int img__writer_commit(img__writer *w, char *digest, const img_store *s, const char *expect, const char *what,
		       pl_err *err);
/* Discard (a no-op after commit). */
void img__writer_abort(img__writer *w);
/* Copy what fd holds into the store as a blob (not copied when expect is
 * given and present). */
int img__blob_import_fd(char *digest, uint64_t *size, const img_store *s, int fd, const char *expect,
			const char *what, const img_opts *o, pl_err *err);
/* Whether the operation should stop: the cancel flag is set. */
bool img__cancelled(const img_opts *o);

/* ---------------------------------------------------------------- record.c */

/* img_image <-> the JSON of refs/KEY.json */
json_t *img__image_json(const img_image *im);
int img__image_from_json(img_image *out, const json_t *j, const char *what, pl_err *err);
/* Write im's record under im->ref (atomically). */
int img__record_write(const img_store *s, const img_image *im, pl_err *err);
/* The record of canonical ref (PL_ENOTFOUND when absent). */
int img__record_read(img_image *out, const img_store *s, const char *canonical, pl_err *err);
int img__records_list(img_image **out, size_t *n_out, const img_store *s, pl_err *err);
int img__record_remove(const img_store *s, const char *canonical, pl_err *err);
void img__layers_free(img_layer *v, size_t n);

/* ---------------------------------------------------------------- manifest.c */

#define IMG__MT_OCI_INDEX	"application/vnd.oci.image.index.v1+json"
#define IMG__MT_OCI_MANIFEST	"application/vnd.oci.image.manifest.v1+json"
#define IMG__MT_DOCKER_LIST	"application/vnd.docker.distribution.manifest.list.v2+json"
#define IMG__MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define IMG__MAX_MANIFEST	(4u << 20) /* manifests, indexes and configs */

/* An entry of an index (or Docker manifest list). */
typedef struct img__desc {
	char *media_type;
	char *digest;
	uint64_t size;
	char *platform; /* "os/arch[/variant]", or NULL */
	char *ref_name; /* org.opencontainers.image.ref.name or
			 * io.containerd.image.name annotation, or NULL */
} img__desc;

void img__descs_free(img__desc *v, size_t n);
/* Whether a media type (or, for a document without one, its shape) is an
 * index: then *descs are its entries; otherwise a manifest. */
int img__index_parse(bool *is_index, img__desc **descs, size_t *n, const char *body, size_t len,
		     const char *content_type, const char *what, pl_err *err);
/* The entry of descs matching platform ("linux/amd64", "linux/arm64/v8"),
 * or NULL with an error that lists those present. */
const img__desc *img__index_pick(const img__desc *descs, size_t n, const char *platform, const char *what,
				 pl_err *err);
/* An image manifest: the config's descriptor and the layers, into
 * im->config_digest and im->layers (diff_ids not yet known). */
int img__manifest_parse(img_image *im, uint64_t *config_size, const char *body, size_t len, const char *what,
			pl_err *err);
/* The image config: diff_ids into im->layers (which must match their
 * count), the "config" object, the platform. */
int img__config_parse(img_image *im, const char *body, size_t len, const char *what, pl_err *err);
/* Whether a layer media type is one plait applies (tar, tar+gzip,
 * tar+zstd; OCI and Docker spellings, non-distributable included). */
bool img__layer_type_known(const char *mt);

/* ---------------------------------------------------------------- layer.c */

typedef struct img__apply {
	bool shift; /* chown to IMG_IDS_BASE + id (root) */
	const pl_log *log;
	const img_opts *opts; /* cancel flag */
	/* called with the bytes of the blob read so far */
	void (*on_read)(void *ctx, uint64_t bytes);
	void *ctx;
} img__apply;

typedef struct img__applied {
	char diff_id[IMG__DIGEST_LEN + 1]; /* of the uncompressed stream */
	uint64_t entries;
	uint64_t new_bytes; /* bytes of regular files it created */
	unsigned skipped_devices;
} img__applied;

/*
 * Apply the layer in blob_path (tar, gzip or zstd) to the root directory
 * rootfd: whiteouts and opaque directories remove from what lower layers
 * left, entries replace what is there (never writing an existing inode:
 * the root's files are hard links shared with other roots).  Every path
 * stays inside the root (docs/IMAGES.md, "Layer rules"); an entry that
 * would leave it is an error naming the entry, and the root is then left
 * half-applied (the caller discards it).  what names the layer in messages.
 */
int img__layer_apply(img__applied *out, int rootfd, const char *blob_path, const char *what,
		     const img__apply *a, pl_err *err);

/* Remove name in dfd, a whole tree, never following a link; a directory
 * its owner may not read or write is opened up first (roots built
 * unprivileged, an overlay's work directory).  -1 with errno. */
int img__remove_at(int dfd, const char *name);

/* ---------------------------------------------------------------- root.c */

/* The ChainIDs of im's layers (chains[i] for layers 0..i), each
 * IMG__DIGEST_LEN + 1 bytes; from the diff_ids. */
int img__chain_ids(char (*chains)[IMG__DIGEST_LEN + 1], const img_image *im, pl_err *err);
/* DIR/roots/HEX of a chain, appended to out. */
void img__root_dir(pl_buf *out, const img_store *s, const char *chain);
/* Build the roots of im's chains that are missing, bottom up; out (may be
 * NULL) gets the top root's rootfs directory, *bytes (may be NULL) the
 * bytes of its regular files. */
int img__root_build(pl_buf *out, uint64_t *bytes, img_store *s, const img_image *im, const img_opts *o,
		    pl_err *err);
/* The bytes recorded for the root of chain, or false when it is absent. */
bool img__root_bytes(uint64_t *bytes, const img_store *s, const char *chain);
/* Remove the tree at path (img__remove_at). */
int img__rm_tree(const char *path, pl_err *err);

/* ---------------------------------------------------------------- registry.c */

/* Resolve r at its registry and fetch what im needs into the store: fills
 * im's digest, config_digest, layers (with diff_ids), config and
 * platform. */
int img__registry_fetch(img_image *im, img_store *s, const img_ref *r, const img_opts *o, pl_err *err);

/* ---------------------------------------------------------------- load.c */

/* The images of a docker-archive tarball or an OCI layout (directory or
 * tar), their blobs put in the store; each filled as img__registry_fetch
 * fills one, ref set. */
int img__load_path(img_image **out, size_t *n_out, img_store *s, const char *path, const char *tag,
		   const img_opts *o, pl_err *err);

/* ---------------------------------------------------------------- run.c */

/* A run over root (im's unpacked root directory). */
int img__run_open(img_run **out, img_store *s, const img_image *im, const char *root, pl_err *err);

#endif
