/*
 * tools.h - what the agent can do to a codebase: editor, search, code
 * intelligence (tree-sitter), shell (through the sandbox) and git (libgit2).
 *
 * Depends on sandbox/ and common/.  Prefix: tools_.
 *
 * Three layers:
 *  - the language table and library facts (`plait doctor`);
 *  - the tool registry: each tool is a tools_def (name, description for a
 *    model, JSON schema, handler) run by tools_call() against a tools_ctx
 *    the caller owns (repository root, per-file undo history, caches);
 *  - the git helpers the tools and the harness share (libgit2 underneath,
 *    never in this header).
 *
 * Nothing here is thread-safe per object: one tools_ctx per agent run.
 */
#ifndef PLAIT_TOOLS_H
#define PLAIT_TOOLS_H

#include <stdatomic.h>

#include "common/common.h"

#include <stdatomic.h>

struct TSLanguage;

/* One tree-sitter grammar compiled into plait. */
typedef struct tools_lang {
	const char *name;        /* "python", "tsx", ... */
	const char *package;     /* npm package it came from */
	const char *version;     /* pinned version (deps.txt) */
	const char *const *exts; /* file name endings, NULL-terminated */
	const struct TSLanguage *(*language)(void);
} tools_lang;

/* All compiled-in grammars, in a fixed order. */
const tools_lang *tools_langs(size_t *count);
/* The grammar for a path by its ending ("src/a.tsx" -> tsx), or NULL. */
const tools_lang *tools_lang_for_path(const char *path);
/* The ABI version the grammar was generated with and whether this
 * tree-sitter runtime accepts it (ts_parser_set_language succeeds); false
 * with *abi_out left alone when the runtime cannot be loaded. */
bool tools_lang_check(const tools_lang *lang, unsigned *abi_out);
/* Loads the tree-sitter runtime (libtree-sitter, not linked: tools/ts.h)
 * once per process, thread-safe; the tools that parse call it themselves.
 * The error names the library and the Debian package that provides it. */
int tools_ts_load(pl_err *err);
/* Tree-sitter runtime's supported ABI range. */
void tools_ts_abi_range(unsigned *min_out, unsigned *max_out);

/* libgit2's facts: {"version": "1.5.1", "major", "minor", "features":
 * ["threads", "https", "ssh", "nsec"]}.  libgit2 is loaded at first use
 * (tools/git2.h); NULL with err set when it cannot be. */
json_t *tools_libgit2_info(pl_err *err);

/* ------------------------------------------------------------ registry */

/* What a tool hands back: text for the model plus fields for the caller. */
typedef struct tools_obs {
	pl_buf text;     /* what the model reads (valid UTF-8) */
	json_t *files;   /* array of repository-relative paths the tool changed */
	json_t *data;    /* tool-specific structured fields (object), may stay empty */
	int exit_code;   /* for commands; 0 for the other tools */
	bool truncated;  /* the text was cut to fit */
	bool is_error;   /* the call failed; text says why and what to do */
	bool finished;   /* `submit`: the run is over, data.patch holds the patch */
} tools_obs;

void tools_obs_init(tools_obs *obs);
void tools_obs_release(tools_obs *obs);
/* The observation as a JSON object {text, files, data, exit_code, ...}; new reference. */
json_t *tools_obs_json(const tools_obs *obs);

typedef struct tools_ctx tools_ctx;

/* A tool: `schema` is a JSON Schema (object with properties, required,
 * additionalProperties false) as text.  The handler gets validated
 * arguments; it fills obs and returns 0, or returns a negative pl_code with
 * a message a model can act on (tools_call turns it into an error
 * observation).  A new tool is one file defining a tools_def plus its line
 * in the table of tools/registry.c; state it keeps between calls lives on
 * the context and is released by tools_ctx_free (tools/internal.h). */
typedef int (*tools_handler)(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err);
typedef struct tools_def {
	const char *name;
	const char *description;
	const char *schema;
	tools_handler run;
} tools_def;

/* The built-in tools, in a fixed order. */
const tools_def *const *tools_all(size_t *count);
const tools_def *tools_find(const char *name);
/* The tool's schema parsed (new reference); aborts on a malformed built-in schema. */
json_t *tools_def_schema(const tools_def *def);
/* Every tool as [{name, description, parameters}] (new reference). */
json_t *tools_list_json(void);

/* Check args against a schema: types, required keys, enums, unknown keys,
 * array lengths, minimums.  The message names the argument and says what
 * was expected, for a model to fix its call. */
int tools_validate(const json_t *schema, const json_t *args, pl_err *err);

typedef struct tools_ctx_opts {
	const char *base;      /* commit the final patch is taken against; NULL = HEAD at open.
				* A tree (a tools_git_snapshot) works too: what changed since it */
	const char *cache_dir; /* repo_map cache; NULL = <gitdir>/plait-cache */
	size_t max_output;     /* bytes of text per observation; 0 = 16000 */
	const char *sandbox_profile; /* bash tool's sandbox profile (name or file); NULL = "agent" */
	/* `submit` with an empty patch ends the run at once; by default it is
	 * refused once with a warning (an empty answer is usually a mistake),
	 * and a second submit in a row ends the run */
	bool allow_empty_submit;
	const pl_log *log;
	/* When *cancel becomes non-zero (Ctrl-C; a signal handler may set it):
	 * while bash runs a command, the command and its process group are
	 * killed and the call returns at once, its observation ending
	 * "[cancelled: ...]" (exit code 130, data.cancelled); a long `search`
	 * stops (it looks between files, candidate lines and blocks of at most
	 * 64 KiB of lines) and answers with what it found so far.  NULL =
	 * none (a search still stops after 30 s). */
	const atomic_int *cancel;
} tools_ctx_opts;

/* A context over the repository (or plain directory) at root.  The root
 * need not be a git repository; git tools then fail with a clear error. */
int tools_ctx_new(tools_ctx **out, const char *root, const tools_ctx_opts *opts, pl_err *err);
/* Closes everything the context opened: the repository and what each tool
 * kept between calls (undo history, the shell session and its processes,
 * caches).  NULL is a no-op. */
void tools_ctx_free(tools_ctx *ctx);
const char *tools_ctx_root(const tools_ctx *ctx);
/* The base the patches are taken against, in hex: the commit, or the tree
 * of a snapshot given as the base; "" when root is not a repository. */
const char *tools_ctx_base(const tools_ctx *ctx);

/* Validate args against the tool's schema and run it.  Returns 0 when the
 * tool ran (obs->is_error may still be set by the tool itself) and a
 * negative code when the call failed; in both cases obs->text is what the
 * model should read. */
int tools_call(tools_obs *obs, tools_ctx *ctx, const char *name, const json_t *args, pl_err *err);

/* ------------------------------------------------------------ git */

/* Every function here takes paths, opens what it needs and closes it
 * again (libgit2 is loaded at first use and initialised only around each
 * call); no libgit2 type crosses this header.  Ownership checks are off:
 * plait runs as root on checkouts other users own. */

/* Clone url (a path or URL) into dest, checked out at its HEAD. */
int tools_git_clone(const char *url, const char *dest, pl_err *err);
/* An isolated working copy of `commit` (any commit-ish of src) at dest: a
 * local clone with HEAD detached at the commit. */
int tools_git_checkout_copy(const char *src, const char *commit, const char *dest, pl_err *err);
/* Status as [{path, status}] with status one of "new", "modified",
 * "deleted", "renamed", "typechange", "conflicted"; ignored files left out. */
int tools_git_status(json_t **out, const char *root, pl_err *err);
/* The commit rev names (NULL = HEAD) in hex.  PL_ENOTFOUND when there is
 * none (a repository without a commit yet, an unknown name), PL_EINVAL
 * when rev names something that is not a commit. */
int tools_git_resolve(char oid_out[41], const char *root, const char *rev, pl_err *err);
/* The working tree's root of the repository path is in (path itself, or
 * a directory above it), as git finds it, without a final slash; appended
 * to out.  PL_ENOTFOUND when path is in no repository, PL_EINVAL in a
 * bare one. */
int tools_git_toplevel(pl_buf *out, const char *path, pl_err *err);
/* What `git add -A && git diff --cached BASE` prints (binary-safe: binary
 * files as git binary patches), without touching the repository's index.
 * base NULL = HEAD.  Appends to out; tree_out (may be NULL) gets the oid of
 * the resulting tree in hex. */
int tools_git_patch(pl_buf *out, char tree_out[41], const char *root, const char *base, pl_err *err);

typedef struct tools_apply_result {
	bool strict;      /* libgit2 applied it as is */
	int files;        /* files changed */
	int hunks;        /* hunks applied */
	int fuzzed_hunks; /* hunks placed at an offset or with reduced context */
	pl_buf log;       /* one line per hunk placed by the fuzzy applier */
} tools_apply_result;
void tools_apply_result_release(tools_apply_result *r);
/* Apply a unified diff to the working tree at root: strictly with
 * libgit2, and when that fails with plait's applier, which looks for each
 * hunk near its stated line and drops up to `fuzz` context lines at each
 * end (like `patch --fuzz`).  All-or-nothing: on failure nothing changed. */
int tools_git_apply(tools_apply_result *out, const char *root, const char *patch, size_t len, int fuzz,
		    pl_err *err);
/* Untracked files larger than this are left out of snapshots, patches,
 * status and diff (tracked files never are): hashing and storing a 200 MB
 * log or data set at every snapshot cost plait chat 30 s per bash call,
 * and no patch wants one.  tools_git_undo neither restores nor removes
 * them. */
#define TOOLS_MAX_UNTRACKED ((uint64_t)16 << 20)
/* A snapshot of the working tree: what `git add -A` would commit (files
 * git ignores and untracked files over TOOLS_MAX_UNTRACKED left out),
 * written to the repository's object database as a tree, without
 * touching the index, HEAD or any file; tree_out gets its oid in hex.
 * Files unchanged since the last snapshot, patch or status are not read
 * again: their stat data is kept in a private index,
 * <gitdir>/plait-cache/worktree-index.  A snapshot serves as a base
 * (tools_ctx_opts.base, tools_git_patch) and for tools_git_undo. */
int tools_git_snapshot(char tree_out[41], const char *root, pl_err *err);

/* One change to undo: the snapshot taken after it and the one before. */
typedef struct tools_snapshot_step {
	const char *after, *before;
} tools_snapshot_step;
/* Undoes changes, steps[0] first (newest first): the files that differ
 * between a step's two snapshots go back to what `before` holds (removed
 * where it has none).  Each such file must be, at that point, what
 * `after` holds, earlier steps taken into account; when one is not
 * (someone changed it since) nothing is changed and PL_EEXISTS names it.
 * Nothing else is touched: files that differ in no step, HEAD, the index,
 * ignored files.  changed_out (may be NULL) gets the paths restored. */
int tools_git_undo(json_t **changed_out, const char *root, const tools_snapshot_step *steps, size_t n, pl_err *err);

/* Commits exactly `patch`: a new commit whose parent is `parent` (NULL =
 * HEAD) and whose tree is the parent's with the patch applied, on a new
 * branch `branch`.  HEAD, the index and the working tree are left as they
 * are.  PL_EEXISTS when the branch exists; an error saying so when the
 * patch does not apply to the parent.  oid_out gets the commit's hex id. */
int tools_git_commit_patch(char oid_out[41], const char *root, const char *parent, const char *patch, size_t len,
			   const char *branch, const char *message, pl_err *err);
/* Commit every change (git add -A) on `branch` (created at HEAD when
 * missing, then checked out without touching the files).  oid_out gets the
 * commit's hex id. */
int tools_git_commit(char oid_out[41], const char *root, const char *branch, const char *message, pl_err *err);
/* Hard reset to base (NULL = HEAD) and remove untracked, non-ignored files. */
int tools_git_reset(const char *root, const char *base, pl_err *err);

#endif /* PLAIT_TOOLS_H */
