/* rmap.h - what repo_map's two halves share: the per-file tags cache
 * (rmap_cache.c) and the ranking and rendering (rmap.c). */
#ifndef PLAIT_TOOLS_RMAP_H
#define PLAIT_TOOLS_RMAP_H

#include "tools/internal.h"

/* Strings are offsets into the file's blob, so that an entry read from the
 * cache file and one just parsed look the same. */
typedef struct rm_def {
	uint32_t name, kind, text; /* text: the source line holding the name */
	uint32_t line;             /* 1-based */
} rm_def;

typedef struct rm_ref {
	uint32_t name;
	uint32_t count; /* references to the name in this file */
} rm_ref;

typedef struct rm_file {
	char *path;        /* repository-relative */
	int64_t size, mtime_ns, ino;
	const char *blob;  /* NUL-separated strings */
	const rm_def *defs;
	const rm_ref *refs;
	uint32_t ndefs, nrefs, blob_len;
	bool parsed;       /* a grammar read it (else: binary, too large, unreadable) */
	void *owned;       /* one allocation holding blob, defs and refs; NULL = in the mapped cache file */
} rm_file;

struct rmap_cache {
	rm_file *files;    /* sorted by path */
	size_t n;
	pl_map disk;       /* the cache file the unowned entries point into */
	bool have_disk;
	size_t reused, parsed; /* of the last refresh */
};

/* The context's cache brought up to date with the repository's grammar
 * files (*out, owned by the context): entries whose size, mtime and inode
 * still match are kept, the others are (re)parsed on every core, and the
 * cache file is rewritten when anything changed.  The cache is loaded
 * from disk on first use and freed by tools_ctx_free. */
int tools__rmap_refresh(struct rmap_cache **out, tools_ctx *ctx, pl_err *err);

#endif /* PLAIT_TOOLS_RMAP_H */
