/*
 * image.h - container images without a Docker daemon: pulled from a registry
 * (the OCI distribution API), loaded from a `docker save` tarball or an OCI
 * image layout, kept in a content-addressed store, unpacked safely into root
 * filesystems that images sharing base layers share on disk, and run in the
 * sandbox over a copy-on-write view of their own.
 *
 * Depends on sandbox/ and common/.  Prefix: img_.  docs/IMAGES.md is the
 * manual: the store's layout, the layer rules, ownership, what is refused.
 *
 * The store (~/.cache/plait/images by default):
 *   blobs/sha256/HEX   manifests, configs and layers, verified, read-only
 *   refs/NAME.json     one record per reference (img_image)
 *   roots/HEX/rootfs   the root filesystem of the layer chain HEX (the OCI
 *                      ChainID): built from its parent chain's root by hard
 *                      links, then the layer applied; shared by every image
 *                      whose layers start with that chain
 *   runs/ID/           the changes of one run (an overlay's upper layer)
 *   tmp/               downloads in progress (kept for resuming), staging
 *
 * Several processes may use one store at once: writes are atomic (a blob,
 * a root or a record appears whole or not at all), the same blob or root is
 * fetched or built once (a lock per item, which threads of one process
 * respect as well), and pulls, loads and runs hold the store shared while
 * prune holds it alone.  An img_store holds no state between calls, so
 * several threads may pull, load, get and run through one (the benchmark
 * harness's workers do), but not while one of them prunes.  img_pull
 * downloads on threads of its own; other objects are single-threaded.
 */
#ifndef PLAIT_IMAGE_H
#define PLAIT_IMAGE_H

#include <signal.h>

#include "common/common.h"
#include "sandbox/sandbox.h"

/* ---------------------------------------------------------------- store */

typedef struct img_store img_store;

/* The default store directory: $PLAIT_IMAGE_STORE, else
 * $XDG_CACHE_HOME/plait/images, else $HOME/.cache/plait/images.  Appended
 * to out. */
int img_store_default_dir(pl_buf *out, pl_err *err);
/* Open (creating it, mode 0700) the store at dir (NULL = the default).
 * log: where notices go (NULL = warnings to stderr); it must outlive the
 * store. */
int img_store_open(img_store **out, const char *dir, const pl_log *log, pl_err *err);
void img_store_close(img_store *s);
const char *img_store_dir(const img_store *s);

/* ---------------------------------------------------------------- images */

/* One layer of an image. */
typedef struct img_layer {
	char *digest;	  /* of the blob as stored ("sha256:HEX") */
	char *media_type; /* tar, tar+gzip or tar+zstd, OCI or Docker spelling */
	uint64_t size;	  /* bytes of the blob */
	char *diff_id;	  /* of the uncompressed tar, from the image config */
} img_layer;

/* An image of the store: what `plait image ls` shows and runs use. */
typedef struct img_image {
	char *ref;	     /* canonical reference: "docker.io/library/debian:12",
			      * "localhost:5000/tests/a@sha256:..." */
	char *digest;	     /* the manifest's digest; for a `docker save`
			      * tarball, which has no manifest, the config's */
	char *config_digest; /* the image's ID */
	char *source;	     /* "registry", "docker-archive" or "oci-layout" */
	char *platform;	     /* "linux/amd64" */
	char *chain;	     /* ChainID of the top layer: the root's name */
	img_layer *layers;   /* bottom first */
	size_t nlayers;
	json_t *config;	     /* the image config's "config" object (Env, User,
			      * WorkingDir, Entrypoint, Cmd, ...): owned, never
			      * NULL (an empty object when the image has none) */
	int64_t stored;	     /* when the record was written (Unix time) */
	uint64_t blob_bytes; /* sum of the layers' blob sizes */
	uint64_t root_bytes; /* bytes of regular files in the root, once unpacked */
	bool unpacked;	     /* the root exists */
} img_image;

void img_image_release(img_image *im);
void img_images_free(img_image *v, size_t n);

/* What a long operation reports as it goes. */
typedef enum img_phase {
	IMG_PHASE_RESOLVE = 0, /* reading manifests */
	IMG_PHASE_FETCH,       /* downloading or copying blobs */
	IMG_PHASE_UNPACK       /* applying layers */
} img_phase;

typedef struct img_progress {
	img_phase phase;
	const char *ref;      /* the image */
	const char *item;     /* the blob or layer being worked on, or NULL */
	uint64_t done, total; /* bytes of the phase; total 0 = not known yet */
	unsigned items_done, items_total;
} img_progress;

/* Called as work advances (a few times a second at most, from one thread
 * at a time, possibly not the caller's).  Return non-zero to cancel. */
typedef int (*img_progress_fn)(void *ctx, const img_progress *p);

/* Options of pull, load and unpack; a zeroed struct (or NULL) means the
 * defaults. */
typedef struct img_opts {
	int jobs;	      /* parallel downloads; 0 = 4 */
	const char *platform; /* "os/arch[/variant]"; NULL =
			       * "linux/amd64" */
	bool insecure;	      /* plain HTTP to every registry;
			       * loopback hosts always use it */
	img_progress_fn progress;
	void *progress_ctx;
	const volatile sig_atomic_t *cancel; /* when it becomes non-zero (a
					      * signal handler), work stops
					      * with PL_ECANCELED; partial
					      * downloads are kept for the
					      * next pull */
} img_opts;

/*
 * Pull ref ("debian:12", "ghcr.io/o/r:tag", "host:port/r@sha256:...") from
 * its registry: the manifest (an index or list resolved for o->platform),
 * the config and the layers (in parallel, resumed where an earlier attempt
 * stopped, each checked against its digest), then unpack the root and
 * record the image under ref.  Layers already in the store are not fetched
 * again.  Credentials: $PLAIT_REGISTRY_AUTH ("user:password"), else the
 * registry's entry in a Docker config.json ($DOCKER_CONFIG/config.json or
 * ~/.docker/config.json), else anonymous.  out may be NULL.
 */
int img_pull(img_image *out, img_store *s, const char *ref, const img_opts *o, pl_err *err);

/*
 * Load the images of a `docker save` tarball (plain or compressed) or of an
 * OCI image layout (a directory, or a tar of one) at path, unpack their
 * roots and record them.  tag names the image when the source holds
 * exactly one; otherwise each is named by its RepoTags or its
 * org.opencontainers.image.ref.name / io.containerd.image.name annotation
 * (a bare tag T in a layout directory D becomes localhost/BASENAME(D):T).
 * *out (may be NULL) receives the images loaded.
 */
int img_load(img_image **out, size_t *n_out, img_store *s, const char *path, const char *tag,
	     const img_opts *o, pl_err *err);

/* The stored image named ref (PL_ENOTFOUND when absent). */
int img_get(img_image *out, img_store *s, const char *ref, pl_err *err);
/* Every stored image, sorted by reference. */
int img_list(img_image **out, size_t *n_out, img_store *s, pl_err *err);
/* Forget ref; what only it used stays until img_prune. */
int img_remove(img_store *s, const char *ref, pl_err *err);

/* The root directory of im (an absolute path, appended to out), unpacking
 * the layers that are not yet (as a pull or load does). */
int img_unpack(pl_buf *out, img_store *s, const img_image *im, const img_opts *o, pl_err *err);

/* What the store holds, in bytes on disk (hard links counted once). */
typedef struct img_usage {
	uint64_t blobs;	  /* blobs/ */
	uint64_t roots;	  /* data of the unpacked roots, each file once */
	uint64_t partial; /* tmp/: downloads in progress or interrupted */
	uint64_t runs;	  /* changes of runs in progress or left behind */
	unsigned nblobs, nroots;
} img_usage;
int img_store_usage(img_usage *out, img_store *s, pl_err *err);

/* Remove what no reference uses: blobs, roots, interrupted downloads,
 * the changes of runs that ended without cleaning up.  Waits while other
 * processes use the store.  *out: what went. */
int img_prune(img_usage *out, img_store *s, pl_err *err);

/* ---------------------------------------------------------------- running */

/*
 * A run's view of an image: its root, read-only and shared, under an
 * overlay whose upper layer (runs/ID, removed by img_run_close) takes the
 * run's writes, so that runs never see each other's changes and the image
 * never changes.  The overlay is mounted by the sandbox inside its own
 * mount namespace (sbx_config_set_rootfs_overlay).
 */
typedef struct img_run img_run;

int img_run_open(img_run **out, img_store *s, const img_image *im, pl_err *err);
/*
 * Run as user instead of the image's User (Docker's --user; the official
 * SWE-bench harness runs every container as "root"): a name or uid,
 * optionally ":group", looked up in the image's /etc/passwd and /etc/group
 * as User is; HOME follows the user.  Call before img_run_configure.  On
 * failure (a name the image does not know) r is unchanged.
 */
int img_run_set_user(img_run *r, const char *user, pl_err *err);
/*
 * Prepare cfg (sbx_config_init'ed, a profile applied or not) for a run: the
 * root with the run's overlay; the image's Env (PATH included) and HOME;
 * WorkingDir as the start directory; User as the identity.  As root the
 * image's uids and gids are stored shifted into a range of their own
 * (docs/IMAGES.md) and the command runs as the image's user shifted the
 * same way, so it owns what that user owns in the image; unprivileged, the
 * store's files and the command are the caller's.  Settings made on cfg
 * afterwards win.
 */
int img_run_configure(sbx_config *cfg, const img_run *r, pl_err *err);
/* The host directory holding what the run changed (the overlay's upper
 * layer), for a caller that inspects it after the run. */
const char *img_run_changes(const img_run *r);
/* Leave the run's changes where they are when it is closed (for a caller
 * that inspects them later; img_prune removes them). */
void img_run_keep(img_run *r);
/* Remove the run's changes (unless kept) and free it.  NULL is a no-op. */
void img_run_close(img_run *r);

/* The argv a run of im executes, Docker's way: the Entrypoint followed by
 * args when nargs > 0, else by Cmd.  Fails when both are empty.  *out is
 * NULL-terminated; free with img_argv_free. */
int img_image_argv(char ***out, const img_image *im, const char *const *args, size_t nargs, pl_err *err);
void img_argv_free(char **argv);

/* ---------------------------------------------------------------- names */

/* A reference taken apart, Docker's way: "debian" is
 * docker.io/library/debian:latest. */
typedef struct img_ref {
	char *registry;	  /* "docker.io", "localhost:5000" */
	char *repository; /* "library/debian" */
	char *tag;	  /* NULL when only a digest is given */
	char *digest;	  /* "sha256:...", or NULL */
} img_ref;

int img_ref_parse(img_ref *out, const char *s, pl_err *err);
/* "registry/repository[:tag][@digest]", appended to out. */
void img_ref_format(pl_buf *out, const img_ref *r);
void img_ref_release(img_ref *r);

/* The host ids an image's ids are shifted to when root unpacks (uid u of
 * the image is stored as base + u). */
#define IMG_IDS_BASE  2113929216u /* 0x7e000000 */
#define IMG_IDS_COUNT 65536u

#endif /* PLAIT_IMAGE_H */
