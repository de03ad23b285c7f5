/* internal.h - what the tools/ sources share and nobody else sees.
 *
 * tools/ is built in three layers; a file uses only what its own layer
 * or a lower one defines, so that no two files call each other in a loop
 * (make check verifies it on the built archive):
 *
 *  1. helpers, each in a file named for what it holds:
 *       git2.c ts.c       libgit2 and tree-sitter, opened at first use
 *       repo.c            repositories opened with libgit2's init/shutdown
 *                         paired; libgit2's error as a message; git
 *                         directories that are the root's own
 *       langs.c           the grammar table (public)
 *       state.c           per-tool state kept on a context
 *       path.c            path arguments resolved inside the root; every
 *                         file opened beneath it (openat2), the editor's
 *                         writes through the directory it opened
 *       text.c            text for a model (UTF-8 check), binary check,
 *                         finding a literal
 *       diff.c            the diff of an edited file
 *       ignore.c          git's ignore rules
 *       glob.c            the glob `find` and `search` take (an NFA, no
 *                         backtracking)
 *       regex_limits.c    what a search regex may ask of regcomp
 *       source.c          reading a file (regular files only)
 *       pool.c            the thread pool
 *       files.c           the file list (what git shows)
 *       obs.c validate.c  observations and argument validation (public)
 *       nesting.c         how deep a source nests (before parsing it)
 *       syntax.c tags.c   tree-sitter syntax errors; definitions and
 *                         references from the tags queries
 *       pyindent.c        Python's indentation rules (CPython's tokenizer)
 *  2. the tools, one file per family, each defining its tools__def_*:
 *       editor.c search.c code.c rmap.c (over rmap_cache.c) shell.c
 *       git_tools.c (over git.c and apply.c, the public git helpers)
 *  3. ctx.c (the context) and registry.c (the table, tools_call).
 *
 * Names: tools_x is what tools/tools.h declares; tools__x (two
 * underscores) is internal to tools/ and may change at any time.
 */
#ifndef PLAIT_TOOLS_INTERNAL_H
#define PLAIT_TOOLS_INTERNAL_H

#include "tools/tools.h"

#include "tools/git2.h"

#include <time.h>

/* ------------------------------------------------------------ state */

/* State a tool keeps on a context between calls (the editor's undo
 * history, the shell session, compiled queries, repo_map's cache).  The
 * file that owns it defines one static kind, creates the state on first
 * use and stores it with tools__state_set; tools_ctx_free calls each
 * kind's release, newest first, without knowing what the state holds. */
typedef struct tools__state_kind {
	const char *name;
	void (*release)(void *state);
} tools__state_kind;

#define TOOLS__MAX_STATES 16

/* How long a search may run before it stops with what it found. */
#define TOOLS__SEARCH_SECONDS 30.0

struct tools_ctx {
	char *root;             /* absolute, no trailing slash (realpath) */
	int rootfd;             /* root opened O_PATH: every file is opened beneath it (tools__open) */
	git_repository *repo;   /* NULL when root is not in a git repository */
	char base[41];          /* base for patches: a commit, or a tree (a snapshot); "" without a repository */
	bool base_is_tree;      /* base is a snapshot of the working tree, not a commit */
	char *cache_dir;        /* repo_map's cache directory, may be NULL */
	char *gitdir;           /* the git directory and the common one (worktrees), */
	char *commondir;        /* real paths without a trailing slash; NULL without a repo */
	char *sandbox_profile;  /* bash's sandbox profile (name or path), NULL = "agent" */
	bool allow_empty_submit;
	struct timespec opened; /* when the context was made (CLOCK_REALTIME, as file times) */
	size_t max_output;
	const pl_log *log;
	const atomic_int *cancel; /* tools_ctx_opts.cancel, may be NULL */
	double search_seconds;    /* search's time limit (TOOLS__SEARCH_SECONDS; tests lower it) */
	struct {
		const tools__state_kind *kind;
		void *ptr;
	} states[TOOLS__MAX_STATES];
	size_t nstates;
};

/* The state of that kind on ctx, or NULL before tools__state_set.
 * Reading is safe from several threads once the state exists. */
void *tools__state_get(const tools_ctx *ctx, const tools__state_kind *kind);
/* Keep ptr as the state of that kind (replacing the pointer, never
 * releasing the old one: the owner does that). */
void tools__state_set(tools_ctx *ctx, const tools__state_kind *kind, void *ptr);
/* Release every state, newest first (tools_ctx_free). */
void tools__state_release_all(tools_ctx *ctx);

/* ------------------------------------------------------------ helpers */

/* Resolve a path argument (relative to root, or absolute inside root) to
 * an absolute path in abs and the repository-relative form in rel (either
 * may be NULL).  Refuses paths that leave the root, directly or through a
 * symlink in the existing part. */
int tools__resolve(pl_buf *abs, pl_buf *rel, const tools_ctx *ctx, const char *path, pl_err *err);
/* The same for a path a tool writes: also refuses any path whose
 * components, as given or as the links on the way resolve, include one
 * named .git (in any case), and any path inside the repository's git
 * directory (a gitfile's included): git on the host runs what it holds
 * (hooks, core.fsmonitor), outside the sandbox. */
int tools__resolve_write(pl_buf *abs, pl_buf *rel, const tools_ctx *ctx, const char *path, pl_err *err);

/* How tools__open_at resolves a path: symlinks followed as long as they
 * stay beneath the directory (what a user names: view, the editor), or
 * none in any component (the file walk and its readers). */
enum { TOOLS__BENEATH = 0, TOOLS__NO_SYMLINKS = 1 };
/* pl_open_beneath (common.h: openat2 beneath dirfd, or a walk without
 * symlinks where openat2 is refused), with O_NOCTTY and O_NONBLOCK added
 * unless O_PATH: opening a FIFO or a device never blocks (a reader fstats
 * and takes regular files only).  Returns the descriptor or -errno. */
int tools__open_at(int dirfd, const char *path, int flags, int how);
/* The same beneath the root: rel is repository-relative. */
int tools__open(const tools_ctx *ctx, const char *rel, int flags, int how);
/* Read the regular file open at fd whole into b (reset first), at most
 * max bytes; -EISDIR for a directory, -EINVAL for anything else that is
 * not a regular file (a FIFO, a socket, a device), -EFBIG when larger than
 * max, else -errno of the read. */
int tools__read_fd(pl_buf *b, int fd, size_t max);

/* Where an editing tool reads and writes a file: the directory that holds
 * it, opened once beneath the root (symlinks followed while they stay
 * inside), and the file's name in it; every read, write and removal then
 * goes through dirfd, so a component swapped for a symlink after the
 * check changes nothing.  A symlink at the end is followed to its target
 * (beneath the root), so that editing a link edits what it points to.
 * The directory the kernel opened is checked again against the git
 * directory (as tools__resolve_write checks the names).  rel as
 * tools__resolve_write gives it.  Missing directories on the way are made
 * with mkdirs; without, dirfd is -1 when the directory does not exist
 * yet (and 0 is returned).  Release with tools__place_close. */
typedef struct tools__place {
	int dirfd;
	pl_buf name;
} tools__place;
int tools__place_open(tools__place *out, const tools_ctx *ctx, const char *rel, bool mkdirs, pl_err *err);
void tools__place_close(tools__place *pl);
/* The same beneath any directory (tools_git_apply's root), stricter: no
 * symlink followed in any component (the name itself included: a link
 * there is replaced by a write, never written through), and no component
 * named .git in any case. */
int tools__place_open_at(tools__place *out, int rootfd, const char *rel, bool mkdirs, pl_err *err);
/* Write data as `name` in dirfd, atomically: a new temporary file beside
 * it (O_EXCL|O_NOFOLLOW), fsync, renameat over name (a symlink there is
 * replaced, never followed), fsync of the directory. */
int tools__write_at(int dirfd, const char *name, const void *data, size_t n, int mode, pl_err *err);

/* A cache directory (repo_map's), opened without following a symlink at
 * its end (what is above it is the caller's choice or the git directory,
 * checked by tools__git_check_dir): made first with create.  Returns the
 * descriptor, or -1 with err set.  Read and write its files with
 * tools__open_at (TOOLS__NO_SYMLINKS) and tools__write_at. */
int tools__cache_dir_open(const char *dir, bool create, pl_err *err);

/* A unified diff of old and new (one file, 3 lines of context), empty
 * when equal.  The changed region is what lies between the common head
 * and tail lines, which is exact for the editor's one-region edits. */
void tools__diff(pl_buf *out, const char *path, const char *old, size_t old_len, const char *new_, size_t new_len);

/* Text for a model (and for the terminal `plait chat` prints it on):
 * bytes that are not valid UTF-8, and control characters a terminal acts
 * on (C0 but \n, \t and the \r of "\r\n"; DEL; C1 as its two bytes),
 * shown as \xNN, which `str_replace` reads back as the bytes. */
void tools__add_text(pl_buf *b, const char *s, size_t n);
/* A file looks binary: a NUL byte in its first 8 KiB. */
bool tools__is_binary(const char *s, size_t n);
/* The first occurrence of nd (m >= 1 bytes) in h (n bytes), or NULL: the
 * same answer as memmem, faster. */
const char *tools__find_text(const char *h, size_t n, const char *nd, size_t m);

/* Is the repository-relative path ignored by git (always false without a
 * repo; ".git" and what is under it always are).  A directory is asked
 * about with a trailing '/'. */
bool tools__is_ignored(const tools_ctx *ctx, const char *rel);
/* Is the repository-relative path in the index (false without a repo). */
bool tools__is_tracked(const tools_ctx *ctx, const char *rel);

/* Read a file a user named (rel from tools__resolve) into b: opened
 * beneath the root once (tools__open, `how` as there), regular files
 * only, at most max bytes; the error says which of those it is not. */
int tools__read_named(pl_buf *b, const tools_ctx *ctx, const char *rel, int how, size_t max, pl_err *err);

/* Glob: '*' and '?' within one path segment, '**' across segments (a
 * '**' segment also matches none), [set] ([!set], ranges; never '/'),
 * {a,b} (one level).  A pattern without '/' matches the base name.
 * Time at most proportional to strlen(pat) * strlen(path), no recursion,
 * whatever the pattern (the tools' schemas cap it at 1024 characters);
 * safe from several threads. */
bool tools__glob_match(const char *pat, const char *path);

/* Has the caller asked the context's long calls to stop
 * (tools_ctx_opts.cancel)?  One relaxed load; safe from several threads. */
static inline bool tools__cancelled(const tools_ctx *ctx)
{
	return ctx->cancel && atomic_load_explicit(ctx->cancel, memory_order_relaxed);
}

/* Is the POSIX extended regex ere (search's translation of pattern,
 * which the message quotes) within what glibc's regcomp handles: groups
 * at most 100 deep (its parser recurses per group) and counts that
 * multiply to at most 10,000 copies of what they repeat (it copies a
 * repeated atom once per count)?  0 or an error; one pass over ere. */
int tools__regex_check(const char *ere, const char *pattern, pl_err *err);
/* Where the block of lines that starts at pos in buf[0, len) ends: past
 * the first newline at least 64 KiB on, or len.  search runs one regexec
 * per block, so that a cancel is seen between blocks (a match spanning
 * two blocks, possible only with \n in the pattern, is not found). */
size_t tools__regex_block(const char *buf, size_t pos, size_t len);

/* Read a file relative to the root into b (tools__open with
 * TOOLS__NO_SYMLINKS, fstat, read); false when it cannot be read, is not a regular file, is over
 * 64 MiB, or looks binary. */
bool tools__read_source(pl_buf *b, const tools_ctx *ctx, const char *rel);

/* Run fn(i, arg, worker) for i in [0, n) on up to `threads` threads (0 =
 * the cores), never more than TOOLS__MAX_THREADS: worker is in [0,
 * TOOLS__MAX_THREADS), for per-thread buffers.  Returns when all are done. */
#define TOOLS__MAX_THREADS 8
void tools__parallel(size_t n, int threads, void (*fn)(size_t i, void *arg, int worker), void *arg);

/* Files to search: tracked (in the index, present) and untracked but not
 * ignored, repository-relative, sorted; every non-hidden file in a plain
 * directory.  Under `sub` (rel dir or file) when neither NULL nor "". */
int tools__list_files(char ***out, size_t *count, const tools_ctx *ctx, const char *sub, pl_err *err);
void tools__free_list(char **list, size_t count);

/* libgit2's last error as "what: message". */
int tools__git_error(pl_err *err, int code, const char *what);
/* Open the repository at path (no search upward): loads and initialises
 * libgit2 (ownership checks off: plait runs as root on checkouts other
 * users own).  Pair a success with tools__git_close, which frees the
 * repository and then shuts libgit2 down, in that order. */
int tools__git_open(git_repository **out, const char *path, pl_err *err);
void tools__git_close(git_repository *repo);
/* Is the git directory of repo, opened at root, root's own: inside root,
 * or a linked worktree's (its `gitdir` file names root/.git back), or a
 * submodule's (its core.worktree is root)?  Else an error: a .git file or
 * symlink planted in a tree (by the sandboxed code, or a hostile
 * repository) would have plait read another repository. */
int tools__git_check_dir(git_repository *repo, const char *root, pl_err *err);
/* The ignore rules every repository the tools open gets on top of its
 * own: Python's byte-code and the test runners' caches, which commands
 * write and no patch wants (in memory only). */
void tools__git_default_ignores(git_repository *repo);

/* ------------------------------------------------------------ tree-sitter */

/* Does src nest brackets ((, [, {, wherever they are: strings and
 * comments too) more than TOOLS__MAX_NESTING deep?  Nothing is parsed
 * then: tree-sitter 0.20.7 aborts the process on JavaScript nested
 * 70,000 deep and its error recovery takes seconds from 20,000.  One pass
 * over the bytes, none for a source shorter than the limit. */
#define TOOLS__MAX_NESTING 4096
bool tools__too_deep(const char *src, size_t len);

/* Tree-sitter's verdict on a source file: the count of syntax errors
 * (ERROR and MISSING nodes), and the first one at or after from_line (else
 * the first of all): its lines and what it is ("missing \"}\"",
 * "cannot parse `return (x`").  Returns the count, or -1 (count -1) when
 * no grammar handles the path or the tree-sitter runtime cannot be loaded
 * (callers check tools_ts_load first to tell the user why), or -2 (count
 * -2) when the source nests too deep to parse (tools__too_deep). */
typedef struct tools__syntax {
	int count;
	int line, end_line; /* 1-based; 0 without errors */
	char what[96];
} tools__syntax;
int tools__syntax_check(tools__syntax *out, const char *path, const char *src, size_t len, int from_line);
/* The same count on a tree already parsed (a TSNode root). */
int tools__tree_errors(const void *root_node, int *first_line, int *last_line);

/* Python's indentation rules as CPython applies them, which tree-sitter
 * does not: returns 1 with the first offence's line in *line_out and
 * CPython's message in what ("IndentationError: unexpected indent",
 * "TabError: inconsistent use of tabs and spaces in indentation", ...),
 * or 0 when the indentation is sound.  Other syntax errors are left to
 * tree-sitter. */
int tools__py_indent_error(int *line_out, char *what, size_t cap, const char *src, size_t len);

/* One definition or reference found by a tags query. */
typedef struct tools__tag {
	char *name;
	char kind[16];      /* "class", "function", "method", "call", ... */
	bool is_def;
	uint32_t line;      /* 1-based line of the name */
	uint32_t name_byte; /* where the name starts */
	uint32_t start_line, end_line; /* 1-based span of the whole definition */
	uint32_t start_byte, end_byte;
	int32_t parent;     /* definitions: index of the enclosing definition, or -1 */
	char *receiver;     /* Go methods: the receiver's type name, else NULL */
} tools__tag;

typedef struct tools__tags {
	tools__tag *v;
	size_t n, cap;
	int errors;                /* syntax errors (ERROR and MISSING nodes) in the parse */
	int err_first, err_last;   /* 1-based line span of the first one */
} tools__tags;

/* Make ctx ready for tags (single-threaded; kept until tools_ctx_free),
 * so that tools__tags_extract may then run on several threads.  Each
 * language's query is compiled when a file first needs it, under a lock:
 * compiling them all up front cost more than parsing a 100k-line tree. */
void tools__tags_prepare(tools_ctx *ctx);
/* Definitions and references in one source (path picks the grammar), or
 * definitions only; returns -1 without a grammar or a prepared query, -2
 * without parsing when the source nests too deep (tools__too_deep).
 * parser is the caller's (one per thread). */
struct TSParser;
int tools__tags_extract(tools__tags *out, const tools_ctx *ctx, struct TSParser *parser, const char *path,
			const char *src, size_t len, bool defs_only);
/* The line to show for a definition: the line of its name, unless that
 * line starts with a closing bracket (`} vec_t;`), then its first line. */
uint32_t tools__tag_show_line(const tools__tag *t, const char *src, size_t len);
void tools__tags_release(tools__tags *t);
/* A hash of every tags query and grammar version: what cached tags depend on. */
uint32_t tools__tags_version(void);

/* ------------------------------------------------------------ git */

/* git.c's status and patch on a repository already open (the git tools
 * use the context's). */
int tools__git_status_of(json_t **out, git_repository *repo, pl_err *err);
int tools__git_patch_of(pl_buf *out, char tree_out[41], git_repository *repo, const char *base, pl_err *err);
/* The files that patch holds, as [{path, status}] (status "new",
 * "modified", "deleted", "typechange"): what changed since base, the
 * same comparison as the patch, commits since base included. */
int tools__git_changes_of(json_t **out, git_repository *repo, const char *base, pl_err *err);
/* Ignored files and directories (one entry each, "build/") at the top of
 * what git ignores, modified at or after `since`: what a patch leaves out
 * of this session's work. */
int tools__git_ignored_since(json_t **out, git_repository *repo, const struct timespec *since, pl_err *err);

/* ------------------------------------------------------------ the tools */

extern const tools_def tools__def_bash, tools__def_view, tools__def_create, tools__def_str_replace,
	tools__def_insert, tools__def_undo_edit, tools__def_search, tools__def_find, tools__def_outline,
	tools__def_definition, tools__def_references, tools__def_repo_map, tools__def_status, tools__def_diff,
	tools__def_submit;

#endif /* PLAIT_TOOLS_INTERNAL_H */
