/*
 * common.h - what every plait module shares: error values, the string buffer,
 * JSON helpers over jansson, logging, file and system utilities.  (The
 * command line is cli/'s alone: no library parses argv.)
 *
 * This is the only public header of libplait-common.  It depends on libc,
 * POSIX and jansson; it knows nothing of any other plait module.
 *
 * Rules (docs/CONVENTIONS.md states them in full):
 *  - A function that can fail returns int: 0 (PL_OK) on success, a negative
 *    pl_code on failure, and fills the caller's pl_err with a message fit to
 *    print.  `err` is always the last parameter and may be NULL.
 *  - Out-parameters come first; on failure they are left untouched or NULL.
 *  - Whoever creates frees; every *_free(NULL) is a no-op.
 */
#ifndef PLAIT_COMMON_H
#define PLAIT_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define PLAIT_VERSION "0.1.0"

#if defined(__GNUC__)
#define PL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define PL_NORETURN __attribute__((noreturn))
#define PL_UNUSED __attribute__((unused))
#else
#define PL_PRINTF(f, a)
#define PL_NORETURN
#define PL_UNUSED
#endif

#define PL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- errors */

/* Error classes.  Negative so that `if ((rc = f(...)) < 0) goto done;` works. */
typedef enum pl_code {
	PL_OK = 0,
	PL_EINVAL = -1,       /* bad argument or bad user input */
	PL_ENOMEM = -2,       /* a large allocation failed */
	PL_EIO = -3,          /* read/write failed */
	PL_ENOTFOUND = -4,    /* file, key, tensor, command not found */
	PL_EFORMAT = -5,      /* malformed file or data */
	PL_EUNSUPPORTED = -6, /* valid but not supported here */
	PL_ETIMEOUT = -7,     /* a deadline passed */
	PL_ECANCELED = -8,    /* interrupted on request (Ctrl-C) */
	PL_ESYS = -9,         /* a system call failed */
	PL_ELIMIT = -10,      /* a configured limit was hit */
	PL_EEXISTS = -11,     /* would overwrite something that exists */
	PL_EINTERNAL = -12    /* broken invariant: a bug in plait */
} pl_code;

#define PL_ERR_MSG_MAX 1024

/* A message the caller can print.  Stack-allocate it: `pl_err err = {0};`. */
typedef struct pl_err {
	int code;                 /* a pl_code; 0 when no error was set */
	char msg[PL_ERR_MSG_MAX]; /* NUL-terminated, never ends with '\n' */
} pl_err;

/* Sets err (when non-NULL) and returns code, for `return pl_err_set(...)`. */
int pl_err_set(pl_err *err, int code, const char *fmt, ...) PL_PRINTF(3, 4);
/* Like pl_err_set, appending ": strerror(errno)" (errno read on entry). */
int pl_err_sys(pl_err *err, int code, const char *fmt, ...) PL_PRINTF(3, 4);
/* Prepends "context: " to an existing message (nothing when err is NULL).
 * It returns nothing on purpose: with a NULL err it could not know the
 * code, so `return pl_err_prefix(...)` would lose it; write
 * `pl_err_prefix(err, ...); return rc;`. */
void pl_err_prefix(pl_err *err, const char *fmt, ...) PL_PRINTF(2, 3);
void pl_err_clear(pl_err *err);
/* A short stable name for a code ("invalid", "not-found", ...). */
const char *pl_code_name(int code);

/* Abort with a message: for broken invariants and for failed small
 * allocations only (see CONVENTIONS.md, "Memory"), never for user errors. */
PL_NORETURN void pl_die(const char *file, int line, const char *fmt, ...) PL_PRINTF(3, 4);
#define PL_BUG(...) pl_die(__FILE__, __LINE__, __VA_ARGS__)
#define PL_ASSERT(cond) \
	do { if (!(cond)) pl_die(__FILE__, __LINE__, "assertion failed: %s", #cond); } while (0)

/* Small allocations: abort on failure (like git's xmalloc).  Sizes that a
 * user controls (model weights, file contents) use plain malloc + PL_ENOMEM. */
void *pl_xmalloc(size_t n);
void *pl_xcalloc(size_t count, size_t size);
void *pl_xrealloc(void *p, size_t n);
char *pl_xstrdup(const char *s);
char *pl_xstrndup(const char *s, size_t n);

/* ------------------------------------------------------------ pl_buf */

/*
 * pl_buf: the one growable byte string (after git's strbuf).
 *  - After PL_BUF_INIT or pl_buf_init(), `ptr` is never NULL and always
 *    NUL-terminated at ptr[len]; it may hold NUL bytes before that.
 *  - `cap == 0` means ptr points at a shared empty string: never write to it
 *    yourself; grow first.
 *  - pl_buf_detach() is the only way to take ownership of the bytes; after it
 *    the buffer is empty again and can be reused.
 *  - pl_buf_release() frees and re-initialises; safe to call twice.
 */
typedef struct pl_buf {
	char *ptr;
	size_t len; /* bytes used, not counting the terminating NUL */
	size_t cap; /* bytes allocated; 0 for the shared empty string */
} pl_buf;

extern char pl_buf_empty_[1];
#define PL_BUF_INIT { pl_buf_empty_, 0, 0 }

void pl_buf_init(pl_buf *b, size_t hint);
void pl_buf_release(pl_buf *b);
/* Ensure room for `extra` more bytes plus the NUL. */
void pl_buf_grow(pl_buf *b, size_t extra);
void pl_buf_add(pl_buf *b, const void *data, size_t n);
void pl_buf_puts(pl_buf *b, const char *s);
void pl_buf_putc(pl_buf *b, char c);
void pl_buf_printf(pl_buf *b, const char *fmt, ...) PL_PRINTF(2, 3);
void pl_buf_vprintf(pl_buf *b, const char *fmt, va_list ap);
/* Set the length to n <= len (truncate) and re-terminate. */
void pl_buf_setlen(pl_buf *b, size_t n);
static inline void pl_buf_reset(pl_buf *b) { pl_buf_setlen(b, 0); }
/* Hand the bytes to the caller (malloc'ed, NUL-terminated); *len_out may be NULL. */
char *pl_buf_detach(pl_buf *b, size_t *len_out);
/* Remove trailing ASCII whitespace. */
void pl_buf_rtrim(pl_buf *b);
/* Append s with at most `max` bytes kept: head and tail joined by a marker
 * line saying how many bytes were cut.  Used wherever output is shown to a
 * person or a model. */
void pl_buf_add_truncated(pl_buf *b, const char *s, size_t n, size_t max);

/* ------------------------------------------------------------ strings */

bool pl_str_starts_with(const char *s, const char *prefix);
bool pl_str_ends_with(const char *s, const char *suffix);
/* Parse a whole string as a number; no trailing garbage, range checked. */
int pl_parse_i64(int64_t *out, const char *s, int64_t min, int64_t max, pl_err *err);
int pl_parse_f64(double *out, const char *s, pl_err *err);
/* Parse "4K", "512M", "2G" (powers of 1024) or plain bytes. */
int pl_parse_size(uint64_t *out, const char *s, pl_err *err);
/* Human size: "1.5 GiB".  Writes into buf (>= 32 bytes), returns buf. */
const char *pl_fmt_size(char *buf, size_t bufsz, uint64_t bytes);

/* ------------------------------------------------------------ files */

/* Read a whole file into b (appending).  Fails with PL_ELIMIT when the file
 * is larger than max (0 = no limit). */
int pl_file_read(pl_buf *b, const char *path, size_t max, pl_err *err);
/* Write atomically: temp file in the same directory, fsync, rename.  A crash
 * leaves either the old or the new content, never a torn file. */
int pl_file_write_atomic(const char *path, const void *data, size_t n, int mode, pl_err *err);
bool pl_file_exists(const char *path);
bool pl_dir_exists(const char *path);
/* mkdir -p with the given mode for created directories. */
int pl_mkdir_p(const char *path, int mode, pl_err *err);
/* rm -rf; refuses "/" and "" */
int pl_rm_rf(const char *path, pl_err *err);
/* Join two path parts with exactly one '/'.  Appends to b. */
void pl_path_join(pl_buf *b, const char *a, const char *c);
/* How pl_open_beneath resolves a path: symlinks followed as long as they
 * stay beneath the directory, or none in any component (ELOOP). */
enum { PL_OPEN_BENEATH = 0, PL_OPEN_NO_SYMLINKS = 1 };
/* Open path (relative: "a/b/c"; "" or "." for dirfd itself) beneath
 * dirfd, resolved once by the kernel: openat2 with RESOLVE_BENEATH and
 * RESOLVE_NO_MAGICLINKS, so nothing on the way, a component swapped for a
 * symlink meanwhile included, leads out of dirfd (EXDEV); with
 * PL_OPEN_NO_SYMLINKS no symlink is followed at all.  flags are open(2)'s
 * without O_CREAT; O_CLOEXEC is added.  Returns the descriptor or -errno.
 * Where openat2 is missing (kernels before 5.6) or refused (a seccomp
 * filter: plait's own sandbox answers ENOSYS), a walk one component at a
 * time with O_NOFOLLOW, which follows no symlink whatever `how` says.
 * Safe from several threads. */
int pl_open_beneath(int dirfd, const char *path, int flags, int how);
/* Create a fresh directory under $TMPDIR (or /tmp) named prefix-XXXXXX. */
int pl_mkdtemp(pl_buf *out, const char *prefix, pl_err *err);

/* A read-only memory map of a whole file. */
typedef struct pl_map {
	const uint8_t *data;
	size_t size;
} pl_map;
int pl_map_open(pl_map *out, const char *path, pl_err *err);
void pl_map_close(pl_map *m);

/* ------------------------------------------------------------ JSON */

/* Load a JSON file; the message names the file, line and column. */
int pl_json_load_file(json_t **out, const char *path, pl_err *err);
int pl_json_parse(json_t **out, const char *text, size_t len, const char *what, pl_err *err);
/* "an object", "an array", "a string", "an integer", "a number",
 * "a boolean" or "null": for messages such as "must be X, found Y". */
const char *pl_json_type_name(const json_t *v);
/* Typed field access with errors naming `what` and the key.  The *_opt
 * variants leave *out unchanged and return 0 when the key is absent or null. */
int pl_json_get_str(const char **out, const json_t *obj, const char *key, const char *what, pl_err *err);
int pl_json_get_int(int64_t *out, const json_t *obj, const char *key, const char *what, pl_err *err);
int pl_json_get_num(double *out, const json_t *obj, const char *key, const char *what, pl_err *err);
int pl_json_get_bool(bool *out, const json_t *obj, const char *key, const char *what, pl_err *err);
int pl_json_opt_str(const char **out, const json_t *obj, const char *key, const char *what, pl_err *err);
int pl_json_opt_int(int64_t *out, const json_t *obj, const char *key, const char *what, pl_err *err);
int pl_json_opt_num(double *out, const json_t *obj, const char *key, const char *what, pl_err *err);
int pl_json_opt_bool(bool *out, const json_t *obj, const char *key, const char *what, pl_err *err);
/* Serialise (compact or indented, keys in insertion order) and append to b. */
void pl_json_dump(pl_buf *b, const json_t *v, bool pretty);
/* json_object_set_new that aborts on allocation failure (small objects). */
void pl_json_set(json_t *obj, const char *key, json_t *value);

/* ------------------------------------------------------------ logging */

typedef enum pl_log_level {
	PL_LOG_ERROR = 0,
	PL_LOG_WARN = 1,
	PL_LOG_INFO = 2,
	PL_LOG_DEBUG = 3
} pl_log_level;

/* A logger is a value owned by whoever runs the program (main) and passed
 * down; NULL means "warnings and errors to stderr". */
typedef struct pl_log {
	pl_log_level level;
	FILE *out;  /* NULL = stderr */
	bool color; /* ANSI colours on the level tag */
} pl_log;

void pl_log_init(pl_log *lg, pl_log_level level, FILE *out);
void pl_logf(const pl_log *lg, pl_log_level level, const char *fmt, ...) PL_PRINTF(3, 4);
#define pl_log_error(lg, ...) pl_logf((lg), PL_LOG_ERROR, __VA_ARGS__)
#define pl_log_warn(lg, ...) pl_logf((lg), PL_LOG_WARN, __VA_ARGS__)
#define pl_log_info(lg, ...) pl_logf((lg), PL_LOG_INFO, __VA_ARGS__)
#define pl_log_debug(lg, ...) pl_logf((lg), PL_LOG_DEBUG, __VA_ARGS__)

/* ------------------------------------------------------------ system */

typedef struct pl_sysinfo {
	char os[128];        /* PRETTY_NAME from /etc/os-release, or uname */
	char kernel[160];    /* uname -s -r */
	char arch[72];       /* uname -m */
	char cpu_model[128]; /* /proc/cpuinfo "model name" */
	int cores_online;
	int cores_configured;
	uint64_t mem_total;     /* bytes */
	uint64_t mem_available; /* bytes */
	uint64_t page_size;
} pl_sysinfo;

int pl_sysinfo_read(pl_sysinfo *out, pl_err *err);
/* Monotonic clock in seconds. */
double pl_now(void);

/* ------------------------------------------------------ shared libraries */

/*
 * Libraries that only some commands need (libgit2, libcurl) are opened at
 * first use instead of linked: every library linked into `plait` costs every
 * invocation its dynamic-loader work before main (Debian builds them with
 * BIND_NOW; libcurl and its TLS, Kerberos and LDAP stack cost 12 ms, libgit2
 * 6 ms on the 2-core development VM, against 2.4 ms for an empty program).
 *
 * pl_dl_open loads `soname` (the file name the build linked against, e.g.
 * "libgit2.so.1.5") with every symbol bound now; the error names the
 * library and the Debian package that provides it.  pl_dl_sym resolves one
 * symbol, the error naming both.  Handles are never closed: the libraries
 * stay for the life of the process, as linked ones would.
 */
int pl_dl_open(void **out, const char *soname, const char *package, pl_err *err);
void *pl_dl_sym(void *handle, const char *soname, const char *symbol, pl_err *err);

#endif /* PLAIT_COMMON_H */
