/* internal.h - what the tools/ sources share and nobody else sees. */
#ifndef PLAIT_TOOLS_INTERNAL_H
#define PLAIT_TOOLS_INTERNAL_H

#include "tools/tools.h"

#include "tools/git2.h"

/* One saved state of a file for undo_edit. */
typedef struct tools_undo {
	char *path;     /* repository-relative */
	bool existed;   /* false: undo deletes the file */
	char *data;     /* previous content */
	size_t len;
	int mode;
	struct tools_undo *next; /* older states, any path */
} tools_undo;

struct tools_ctx {
	char *root;             /* absolute, no trailing slash (realpath) */
	git_repository *repo;   /* NULL when root is not in a git repository */
	char base[41];          /* base commit for patches; "" without a repository */
	char *cache_dir;
	size_t max_output;
	const pl_log *log;
	tools_undo *undo;       /* newest first */
	json_t *schemas;        /* name -> parsed schema */
	void *queries[16];      /* compiled tags query per tools_langs() index (TSQuery *) */
	bool query_failed[16];
	/* bash: the sandbox session, opened by the first command */
	struct sbx_session *shell;
	char *shell_profile;    /* sandbox profile name or path */
	char *shell_cwd;        /* where the last command ended, inside the sandbox */
	double shell_timeout;   /* seconds, from the profile */
	char shell_mark[40];    /* line prefix the shell prints its cwd after */
	/* repo_map: the tags of every file, kept between calls (rmap.c) */
	struct rmap_cache *rmap;
};

/* One definition or reference found by a tags query. */
typedef struct tools_tag {
	char *name;
	char kind[16];      /* "class", "function", "method", "call", ... */
	bool is_def;
	uint32_t line;      /* 1-based line of the name */
	uint32_t start_line, end_line; /* 1-based span of the whole definition */
	uint32_t start_byte, end_byte;
} tools_tag;

typedef struct tools_tags {
	tools_tag *v;
	size_t n, cap;
	int errors;                /* syntax errors (ERROR and MISSING nodes) in the parse */
	int err_first, err_last;   /* 1-based line span of the first one */
} tools_tags;

/* Compile the tags queries of every language now (single-threaded), so
 * that tools_tags_extract may then run on several threads. */
void tools_queries_prepare(tools_ctx *ctx);
void tools_queries_release(tools_ctx *ctx);
/* Definitions and references in one source (path picks the grammar);
 * returns -1 without a grammar.  parser is the caller's (one per thread). */
struct TSParser;
int tools_tags_extract(tools_tags *out, const tools_ctx *ctx, struct TSParser *parser, const char *path,
		       const char *src, size_t len);
void tools_tags_release(tools_tags *t);
/* A hash of every tags query and grammar version: what cached tags depend on. */
uint32_t tools_tags_version(void);
/* Read a file relative to the root into b (open/fstat/read); false when
 * it cannot be read, is not a regular file, or looks binary. */
bool tools_read_source(pl_buf *b, const tools_ctx *ctx, const char *rel);
/* Run fn(i, arg, worker) for i in [0, n) on up to `threads` threads (0 = cores). */
void tools_parallel(size_t n, int threads, void (*fn)(size_t i, void *arg, int worker), void *arg);

/* Resolve a path argument (relative to root, or absolute inside root) to
 * an absolute path in abs and the repository-relative form in rel (either
 * may be NULL).  Refuses paths that leave the root, directly or through a
 * symlink in the existing part. */
int tools_resolve(pl_buf *abs, pl_buf *rel, const tools_ctx *ctx, const char *path, pl_err *err);

/* Text for a model: bytes that are not valid UTF-8 shown as \xNN. */
void tools_add_text(pl_buf *b, const char *s, size_t n);
/* A file looks binary: a NUL byte in its first 8 KiB. */
bool tools_is_binary(const char *s, size_t n);

/* Is the repository-relative path ignored by git (always false without a repo). */
bool tools_is_ignored(const tools_ctx *ctx, const char *rel);

/* Files to search: tracked (in the index, present) and untracked but not
 * ignored, repository-relative, sorted.  Under `sub` (rel dir) when not "". */
int tools_list_files(char ***out, size_t *count, const tools_ctx *ctx, const char *sub, pl_err *err);
void tools_free_list(char **list, size_t count);

/* Simple glob: '*' (not '/'), '**' (any, '/' too), '?', [set].  A pattern
 * without '/' matches the base name. */
bool tools_glob_match(const char *pat, const char *path);

/* Count of tree-sitter syntax errors (ERROR and MISSING nodes) in a source
 * file; -1 when no grammar handles the path or the tree-sitter runtime
 * cannot be loaded (callers check tools_ts_load first to tell the user
 * why).  first_line/last_line (1-based)
 * get the first error's span. */
int tools_syntax_errors(const char *path, const char *src, size_t len, int *first_line, int *last_line);
/* The same count on a tree already parsed (a TSNode root). */
int tools_tree_errors(const void *root_node, int *first_line, int *last_line);

int tools_git_error(pl_err *err, int code, const char *what);

/* Close the bash tool's session (tools_ctx_free). */
void tools_shell_close(tools_ctx *ctx);
/* Free repo_map's in-memory cache (tools_ctx_free). */
void tools_rmap_release(tools_ctx *ctx);

extern const tools_def tools_def_bash, tools_def_view, tools_def_create, tools_def_str_replace, tools_def_insert,
	tools_def_undo_edit, tools_def_search, tools_def_find, tools_def_outline, tools_def_definition,
	tools_def_references, tools_def_repo_map, tools_def_status, tools_def_diff, tools_def_submit;

#endif /* PLAIT_TOOLS_INTERNAL_H */
