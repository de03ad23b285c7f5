/*
 * internal.h - what the files of bench-harness/ share and nothing outside
 * uses (the tests excepted).  Internal names are bench__*.
 *
 * Source map, bottom up (no file calls one above it):
 *   pystr.c     Python's str semantics the official code relies on:
 *               whitespace, split(), strip(), strict UTF-8, universal
 *               newlines, json.dumps, repr
 *   zio.c       plain, .xz and .gz files
 *   specs.c     MAP_REPO_VERSION_TO_SPECS (v4.1): install, test command,
 *               eval commands; the parser of each repository
 *   records.c   a JSON file's records: a list, JSON Lines, an object
 *   dataset.c   instances; datasets.c finds dataset files
 *   preds.c     predictions
 *   script.c    test directives, unidiff's modified files, eval.sh
 *   parse.c     the log parsers
 *   grade.c     get_logs_eval, get_eval_report, v5's infra-failure
 *               classification
 *   summary.c   make_run_report, shard merge
 *   hostenv.c   the host environment's conda shim
 *   imgname.c   the official names of the instance images
 *   trash.c     checkouts removed by a thread off the instances' path
 *   instance.c  one instance: checkout, sandbox session, apply, run, grade
 *   workers.c   the threads that share a queue of instances
 *   eval.c      the workers, resumption, progress, regrading
 *   infer.c     inference: an agent per instance, the predictions file
 *               rewritten after each, resumed from it
 */
#ifndef PLAIT_BENCH_INTERNAL_H
#define PLAIT_BENCH_INTERNAL_H

#include "bench-harness/bench.h"
#include "image/image.h"

#include <pthread.h>

/* ------------------------------------------------------------ records.c */

/* Called for each record: rec is borrowed; what names it for messages
 * ("FILE: line 3", "FILE: item 0", "FILE: 'ID'"). */
typedef int (*bench__record_fn)(void *ctx, const json_t *rec, const char *what, pl_err *err);
/* Each record of a JSON file's text: one JSON list, or JSON Lines (blank
 * lines skipped), or with by_key one object whose values are all objects
 * (preds.json).  Stops at fn's first error and returns it; a record that
 * is not JSON is PL_EFORMAT naming path, line and column. */
int bench__json_records(const pl_buf *text, const char *path, bool by_key, bench__record_fn fn, void *ctx,
			pl_err *err);

/* ------------------------------------------------------------ workers.c */

/* Runs min(workers, n) threads of fn(arg) (at least one; none when n is
 * 0) and waits for them all.  A thread that cannot start is PL_ESYS; the
 * ones started still take the whole queue between them and are waited
 * for. */
int bench__run_workers(int workers, size_t n, void *(*fn)(void *), void *arg, pl_err *err);

/* ------------------------------------------------------------ pystr.c */

/* A piece of a larger string. */
typedef struct bench__span {
	const char *p;
	size_t n;
} bench__span;

/* A reusable list of spans. */
typedef struct bench__toks {
	bench__span *v;
	size_t n, cap;
} bench__toks;

void bench__toks_release(bench__toks *t);

/* Bytes of the character at s (n bytes left) when it is whitespace by
 * Python's str.isspace (ASCII \t\n\v\f\r, \x1c-\x1f, space, and the Unicode
 * spaces: U+0085 U+00A0 U+1680 U+2000-200A U+2028 U+2029 U+202F U+205F
 * U+3000), else 0.  s must be valid UTF-8. */
size_t bench__py_space(const char *s, size_t n);
/* str.split() without arguments: the tokens of s (t is reset first). */
void bench__py_split(bench__toks *t, const char *s, size_t n);
/* str.strip() without arguments, in place on (*s, *n). */
void bench__py_strip(const char **s, size_t *n);
/* Python's strict UTF-8 decoder accepts it (no surrogates, no overlong
 * forms, nothing past U+10FFFF).  *bad gets the offset of the first
 * invalid byte when it does not (bad may be NULL). */
bool bench__utf8_valid(const char *s, size_t n, size_t *bad);
/* Text as open() in text mode reads it: "\r\n" and "\r" become "\n". */
void bench__universal_newlines(pl_buf *out, const char *s, size_t n);
/* memmem */
const char *bench__find(const char *hay, size_t n, const char *needle, size_t m);
/* Python's repr() of a JSON value built from dicts, lists, str, int, bool
 * and None, for the harness's own log (run_instance.log's "report: ..."). */
void bench__py_repr(pl_buf *out, const json_t *v);

/* ------------------------------------------------------------ specs.c */

/* The part of an instance's spec the evaluation script uses. */
typedef struct bench__spec {
	const char *install;               /* NULL: none */
	const char *test_cmd;              /* NULL: the spec has none */
	const char *const *eval_commands;  /* NULL-terminated, or NULL */
} bench__spec;

/* The spec of (repo, version), or NULL when v4.1 has none. */
const bench__spec *bench__spec_find(const char *repo, const char *version);
/* MAP_REPO_TO_PARSER_PY[repo] ("parse_log_django"), or NULL. */
const char *bench__repo_parser(const char *repo);
/* v4.1's FAIL_ONLY_REPOS. */
bool bench__repo_fail_only(const char *repo);

/* ------------------------------------------------------------ script.c */

/* re.findall(r"diff --git a/.* b/(.*)", test_patch), then the non-test
 * extensions dropped and, for django/django, turned into modules. */
void bench__test_directives(json_t *out, const char *repo, const char *test_patch);
/*
 * unidiff's PatchSet(patch): the source and target file of each patched
 * file, in order (an array of [source, target] pairs, /dev/null for a
 * created or deleted file).  Fails like unidiff (PL_EFORMAT, the line
 * named) on a hunk shorter or longer than its header says.
 */
int bench__patch_files(json_t **out, const char *patch, pl_err *err);

/* ------------------------------------------------------------ grade.c */

/* The bytes of "Timeout error: N seconds exceeded." appended after a
 * timed-out run, and v5's test exit code marker. */
#define BENCH__TIMEOUT_FMT "\n\nTimeout error: %d seconds exceeded."

/* v5's classify_text: the infra-failure reason and whether its tier is
 * "environment"; NULL when no signature matches. */
const char *bench__classify(const char *text, size_t n, bool *environment);
/* v5's SUITE_RAN.search(text). */
bool bench__suite_ran(const char *text, size_t n);

/* ------------------------------------------------------------ trash.c */

/* Directories removed by a thread of their own. */
typedef struct bench__trash {
	char dir[4096];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	char **paths; /* waiting to be removed */
	size_t n;
	bool closing, running;
} bench__trash;

/* Start the cleaner; dir is created and holds what is put. */
int bench__trash_open(bench__trash *t, const char *dir, pl_err *err);
/* Move path into the trash as `name` (removed at once when that fails or
 * t is NULL); safe from any thread. */
void bench__trash_put(bench__trash *t, const char *path, const char *name);
/* Remove what is left and stop the cleaner. */
void bench__trash_close(bench__trash *t);

/* ------------------------------------------------------------ instance.c */

/* What one instance's evaluation came to. */
typedef struct bench__result {
	int outcome;          /* BENCH__RESOLVED ... */
	char error[PL_ERR_MSG_MAX + 256]; /* for BENCH__ERROR: why */
	double seconds;       /* wall time of the whole instance */
	double script_seconds;/* wall time of eval.sh */
} bench__result;

enum { BENCH__RESOLVED = 1, BENCH__UNRESOLVED, BENCH__ERROR, BENCH__CACHED_RESOLVED, BENCH__CACHED_UNRESOLVED };

/* Shared by every instance of one run: resolved once by bench_eval. */
typedef struct bench__run {
	const bench_eval_opts *o;
	const char *log_dir;
	const char *work_dir;      /* <log_dir>/plait-work/<run_id> or o->work_dir */
	char host_env[4096];       /* the shim (BENCH_ENV_HOST) */
	int64_t uid, gid;          /* owner of what the sandbox writes; -1: the caller */
	/* One checkout at a time: tools' git calls pair git_libgit2_init and
	 * shutdown, and libgit2 1.5 frees a thread's state only when that
	 * thread brings the count to zero; overlapping calls from workers
	 * would leave the others' behind (LeakSanitizer sees them). */
	pthread_mutex_t *git_lock;
	bench__trash *trash;       /* where checkouts go when done; NULL: removed at once */
	img_store *images;         /* BENCH_ENV_IMAGE: the store, shared by the
				    * workers (img_store's calls are
				    * thread-safe) */
} bench__run;

/* The mirror or clone of repo ("owner/name") in repos_dir, as owner__name
 * or owner__name.git, into out; PL_ENOTFOUND saying how to clone it. */
int bench__find_mirror(pl_buf *out, const char *repos_dir, const char *repo, pl_err *err);

/* Evaluate one instance (run_instance). */
void bench__instance_run(bench__result *res, const bench__run *run, const bench_instance *inst,
			 const bench_pred *pred);

#endif /* PLAIT_BENCH_INTERNAL_H */
