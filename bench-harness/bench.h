/*
 * bench.h - SWE-bench Verified: evaluation graded exactly as the official
 * harness grades (v4.1 by default, v5 on request), without a Docker daemon.
 *
 * Depends on agent/ (inference), tools/ (git checkouts), image/ (the
 * official instance images), sandbox/ (running the tests) and common/.
 * Prefix: bench_.
 *
 * What the official harness does is specified in
 * ../shared/reference/swebench.md; docs/BENCHMARKS.md says how plait runs
 * it and where it differs.  The pieces, bottom up:
 *  - files: .xz and .gz read like plain files;
 *  - instances (datasets) and predictions, loaded as the official harness
 *    loads them;
 *  - the evaluation script of an instance (v4.1's make_eval_script_list_py,
 *    or v5's dataset script with the exit-code lines);
 *  - grading: the log parsers, get_logs_eval, get_eval_report, the run
 *    summary (make_run_report), and Python's json.dumps for the files;
 *  - evaluation: per instance a checkout at /testbed, the patch applied by
 *    the official command chain and the script run in a sandbox session,
 *    the results written where and as the official harness writes them;
 *    workers, resumption, shards and their merge.
 *
 * Nothing here prints: progress goes to a callback, diagnostics to the
 * pl_log the caller passes.  Nothing here is thread-safe per object unless
 * it says so; bench_eval runs its own worker threads.
 */
#ifndef PLAIT_BENCH_H
#define PLAIT_BENCH_H

#include <signal.h>

#include "agent/agent.h"
#include "common/common.h"

/* Append one object per dataset file found directly in `dir` (names ending
 * in .jsonl, .jsonl.xz or .json): path, bytes, compressed, and for plain
 * .jsonl the instance count (non-empty lines).  A missing dir adds nothing. */
int bench_datasets_scan(json_t *out, const char *dir, pl_err *err);

/* ------------------------------------------------------------ files */

/* Read the whole file at path and append its bytes to out, decompressed
 * when it is xz or gzip (told by its first bytes, whatever its name).
 * Errors name the file. */
int bench_file_read(pl_buf *out, const char *path, pl_err *err);

/* ------------------------------------------------------------ instances */

/* One SWE-bench instance.  Strings are UTF-8 and owned by the dataset. */
typedef struct bench_instance {
	char *instance_id;
	char *repo;        /* "owner/name" */
	char *base_commit;
	char *patch;       /* the gold patch */
	char *test_patch;
	char *version;     /* a string, as the dataset has it ("3.0" is not "3") */
	char **fail_to_pass;
	size_t n_fail_to_pass;
	char **pass_to_pass;
	size_t n_pass_to_pass;
	/* v5 columns (NULL when the dataset lacks them) */
	char *eval_script;
	char *log_parser; /* "parse_log_django" ... */
	char *eval_type;  /* "pass_and_fail" or "fail_only" */
	char *problem_statement; /* the issue (inference); NULL when absent */
} bench_instance;

typedef struct bench_dataset {
	char *path;            /* the file it was read from */
	bench_instance *items; /* in file order */
	size_t n;
} bench_dataset;

/*
 * The dataset file for name_or_path: an existing file is itself; a name
 * (verified, verified-v5, lite, dev) is looked up in data_dirs (NULL
 * terminated) as the file names ../shared/datasets uses
 * (swe-bench-verified.jsonl, ...), plain, .xz or .gz.  out gets the path.
 * Fails with PL_ENOTFOUND naming the directories searched.
 */
int bench_dataset_resolve(pl_buf *out, const char *name_or_path, char *const *data_dirs, pl_err *err);
/*
 * Load a dataset: JSON Lines (one instance per line) or one JSON list, plain,
 * .xz or .gz.  FAIL_TO_PASS and PASS_TO_PASS may be JSON-encoded strings (as
 * published) or lists.  Required: instance_id, repo, base_commit, patch,
 * test_patch, version (a string), FAIL_TO_PASS, PASS_TO_PASS; errors name
 * the file, the line and the key.  Duplicate instance ids are an error.
 */
int bench_dataset_load(bench_dataset **out, const char *path, pl_err *err);
void bench_dataset_free(bench_dataset *ds);
/* The instance with that id, or NULL. */
const bench_instance *bench_dataset_find(const bench_dataset *ds, const char *instance_id);
/* Keep only the instances whose ids are listed, in dataset order; an id not
 * in the dataset is an error naming it (nothing is changed then). */
int bench_dataset_select(bench_dataset *ds, char *const *ids, size_t n_ids, pl_err *err);
/* Keep shard k of n (1 <= k <= n): the instances whose position in
 * instance-id order is k-1 modulo n.  Deterministic for a given dataset and
 * selection; the n shards partition it. */
int bench_dataset_shard(bench_dataset *ds, int k, int n, pl_err *err);

/* ------------------------------------------------------------ predictions */

typedef struct bench_pred {
	char *instance_id;
	char *model; /* model_name_or_path; "None" when the key is absent, as
		      * the official harness names its log directory */
	char *patch; /* model_patch; NULL for JSON null */
} bench_pred;

/* Predictions keyed by instance id as the official harness keys them: the
 * position of an id's first occurrence, the value of its last. */
typedef struct bench_preds {
	bench_pred *items;
	size_t n;
} bench_preds;

/*
 * Load predictions: JSON Lines, a JSON list, or a JSON object whose values
 * are the predictions (SWE-agent's and mini-swe-agent's preds.json); plain,
 * .xz or .gz.  Each needs instance_id (string) and model_patch (string or
 * null).  Errors name the file, the line or index, and the key.
 */
int bench_preds_load(bench_preds **out, const char *path, pl_err *err);
/* The gold predictions of a dataset: its patches, model "gold". */
int bench_preds_gold(bench_preds **out, const bench_dataset *ds, pl_err *err);
/* Fails (PL_EINVAL) when a prediction names an instance that is not in ds,
 * listing them, as the official harness refuses such predictions. */
int bench_preds_check(const bench_preds *p, const bench_dataset *ds, pl_err *err);
const bench_pred *bench_preds_find(const bench_preds *p, const char *instance_id);
void bench_preds_free(bench_preds *p);
/* model_name_or_path as a directory name: '/' becomes "__". */
void bench_model_dir(pl_buf *out, const char *model);
/* An empty patch ("" or null): counted as empty_patch, never run. */
bool bench_pred_is_empty(const bench_pred *p);

/* ------------------------------------------------------------ scripts */

typedef enum bench_grading {
	BENCH_GRADING_V4 = 0, /* v4.1.0: the default, the leaderboard's era */
	BENCH_GRADING_V5      /* v5: skipped tests, truncated ids, the test
			       * exit code, infra-failure fields */
} bench_grading;

/* "v4" (or "v4.1") and "v5". */
int bench_grading_parse(bench_grading *out, const char *s, pl_err *err);
const char *bench_grading_name(bench_grading g);

/* The heredoc delimiter of v4.1's scripts (the published datasets carry
 * random EOF_<hex> ones instead). */
#define BENCH_HEREDOC "EOF_114329324912"

/*
 * The evaluation script of an instance, appended to out: under v4, what
 * v4.1's make_eval_script_list_py generates from the repository's spec for
 * the instance's version, the test directives and the files of the test
 * patch; under v5, the dataset's eval_script (generated as under v4 when the
 * dataset has none) with the test command's exit status recorded after the
 * end marker.  Fails for a repository or version the official specs do not
 * know, and for a test patch unidiff could not parse.
 */
int bench_eval_script(pl_buf *out, const bench_instance *inst, bench_grading g, pl_err *err);

/* ------------------------------------------------------------ grading */

/* The log parser the official harness uses for inst: by repository under
 * v4, the dataset's log_parser under v5 (by repository when absent).  NULL
 * when there is none. */
const char *bench_parser_name(const bench_instance *inst, bench_grading g);

/*
 * Parse a test log with the named parser (parse_log_pytest, ..._options,
 * ..._v2, _django, _sympy, _matplotlib, _seaborn, or a repository alias such
 * as parse_log_astropy) into *out, an object test name -> status in the
 * order the official dict holds them.  log is text as Python reads it
 * (universal newlines already applied).  A line on which the official
 * parser raises (IndexError in the v4 seaborn and django parsers) fails
 * with PL_EFORMAT naming the line: the official harness then errors.
 */
int bench_parse_log(json_t **out, const char *parser, const char *log, size_t len, bench_grading g, pl_err *err);

/*
 * Grade one instance from the bytes of its test_output.txt
 * (get_eval_report with include_tests_status): *out is the report object
 * {instance_id: {...}} written to report.json.  patch_is_none: the
 * prediction's model_patch was null.  Fails (the official harness raises,
 * and the instance is an error) when the output is not valid UTF-8 or a
 * parser raises.
 */
int bench_grade(json_t **out, const bench_instance *inst, bool patch_is_none, const char *output, size_t len,
		bench_grading g, pl_err *err);

/* Python's json.dumps(v, indent=indent) (indent < 0: compact with ", " and
 * ": "), ensure_ascii on, appended to out: the bytes the official harness
 * writes.  Only objects, arrays, strings, integers, booleans and null. */
void bench_json_dump_py(pl_buf *out, const json_t *v, int indent);

/* ------------------------------------------------------------ runs */

/* logs/run_evaluation/<run_id>/<model dir>/<instance_id>, appended to out. */
void bench_instance_log_dir(pl_buf *out, const char *log_dir, const char *run_id, const char *model,
			    const char *instance_id);

/*
 * The run summary make_run_report writes, from the report.json files under
 * log_dir (NULL = "logs"): ds is the dataset after --instance-ids (and
 * --shard), p every prediction.  The keys and their order are v4.1's, or
 * v5's with its infra-failure fields and the unstopped/unremoved fields.
 */
int bench_run_report(json_t **out, const bench_dataset *ds, const bench_preds *p, const char *log_dir,
		     const char *run_id, bench_grading g, pl_err *err);
/* Write a summary as <model dir>.<run_id>.json (or, for a shard,
 * <model dir>.<run_id>.shard-K-of-N.json) in report_dir (NULL = "."),
 * atomically, with the official bytes (json.dumps(indent=4) and a newline).
 * The model is that of the first prediction.  path_out (may be NULL) gets
 * the path. */
int bench_run_report_write(pl_buf *path_out, const json_t *summary, const bench_preds *p, const char *report_dir,
			   const char *run_id, int shard_k, int shard_n, pl_err *err);
/*
 * Combine the summaries of the shards of one run into the summary of the
 * whole: id lists united and sorted, counts recounted, total_instances
 * added up.  Fails when the summaries disagree on their keys (v4 and v5
 * mixed) or when an instance appears in two shards' totals.
 */
int bench_summary_merge(json_t **out, json_t *const *shards, size_t n, pl_err *err);

/* Where an instance's tests run (docs/BENCHMARKS.md, "Environments"). */
typedef enum bench_env_kind {
	BENCH_ENV_HOST = 0, /* the host's root, read-only, a conda shim at
			     * /opt/miniconda3 selecting the host's Python */
	BENCH_ENV_ROOTFS,   /* an image root: DIR, DIR/<instance_id> or
			     * DIR/<owner__name>/<version> */
	BENCH_ENV_IMAGE     /* the instance's image from the image store, by
			     * the official name (bench_image_name), run over
			     * an overlay of its own; /testbed is the image's */
} bench_env_kind;

/* The official image namespace (Docker Hub's swebench/). */
#define BENCH_IMAGE_NAMESPACE "swebench"

/*
 * The image of an instance, appended to out, as the official harness names
 * it (v4.1's TestSpec.instance_image_key with a namespace):
 * NAMESPACE/sweb.eval.x86_64.<instance_id lower-cased>:latest with every
 * "__" written "_1776_" (Docker Hub refuses "__").  spec is a namespace
 * (NULL or "" = BENCH_IMAGE_NAMESPACE; "localhost:5000/swebench" for a
 * mirror registry), or a template holding "{id}" (the instance id
 * lower-cased with "__" as "_1776_") and/or "{instance_id}" (the id as it
 * is): "swebench/sweb.eval.x86_64.{id}:latest" is the default,
 * "registry.example/swe/{instance_id}:v2" another layout.  Fails
 * (PL_EINVAL) on a template with another "{...}".
 */
int bench_image_name(pl_buf *out, const char *spec, const char *instance_id, pl_err *err);

/* What bench_eval reports as it goes. */
typedef struct bench_progress {
	size_t total;      /* instances this run evaluates (not empty, not done before) */
	size_t done;       /* of those, finished */
	size_t resolved, unresolved, errors;
	size_t running;
	size_t cached;     /* instances whose report.json was already there */
	size_t empty;      /* empty patches, never run */
	double elapsed;    /* seconds since the run started */
	/* the instance that just finished, or NULL for the first call */
	const char *instance_id;
	const char *outcome;    /* "resolved", "unresolved", "error" */
	const char *error;      /* for an error: why, in one line */
	double seconds;         /* that instance's wall time */
	double overhead;        /* ... minus the time of its evaluation script */
	/* inference: that instance's agent run in words (steps, tokens, patch),
	 * and the tokens (input + output) and cost of the finished instances;
	 * cost_known is false once one call's model had no price */
	const char *detail;
	/* inference: set alone (instance_id NULL) to say what is being done
	 * before the run starts ("cloning URL into DIR") */
	const char *note;
	int64_t tokens;
	double cost;
	bool cost_known;
} bench_progress;

typedef void (*bench_progress_fn)(void *ctx, const bench_progress *p);

typedef struct bench_eval_opts {
	const char *run_id;           /* required */
	const char *log_dir;          /* NULL = "logs" (logs/run_evaluation/...) */
	const char *report_dir;       /* NULL = "." */
	const char *work_dir;         /* checkouts; NULL = <log_dir>/plait-work/<run_id> */
	const char *repos_dir;        /* mirrors or clones named owner__name (not
				       * used by BENCH_ENV_IMAGE: /testbed is the
				       * image's) */
	bench_env_kind env;
	const char *rootfs;           /* BENCH_ENV_ROOTFS */
	const char *image;            /* BENCH_ENV_IMAGE: a namespace or template
				       * (bench_image_name); NULL = swebench */
	const char *image_store;      /* BENCH_ENV_IMAGE: the store; NULL = the
				       * default (img_store_default_dir) */
	bool image_no_pull;           /* BENCH_ENV_IMAGE: an image missing from
				       * the store is the instance's error; by
				       * default it is pulled from its registry
				       * on first use (img_pull), then cached */
	const char *python;           /* host env's interpreter; NULL = /usr/bin/python3 */
	bench_grading grading;
	int workers;                  /* 0 = 1 */
	int timeout;                  /* seconds for the evaluation script; 0 = 1800 */
	const char *sandbox_profile;  /* NULL = "eval" (configs/sandbox/eval.json) */
	bool network;                 /* share the host's network (off: a private loopback) */
	bool keep_work;               /* keep each instance's checkout (under
				       * BENCH_ENV_IMAGE: its run's changes, in
				       * the store's runs/, named in its log) */
	const char *dataset_name;     /* what v5's run.json records */
	int shard_k, shard_n;         /* the summary's file name; 0 = not a shard */
	/* Nonzero: start no new instance (in-flight ones finish); set from a
	 * signal handler. */
	const volatile sig_atomic_t *stop;
	/* Called from the worker threads, one call at a time. */
	bench_progress_fn on_progress;
	void *progress_ctx;
	const pl_log *log;
} bench_eval_opts;

/*
 * Evaluate the predictions p of the instances of ds (after --instance-ids
 * and --shard; p holds every prediction, checked against the full dataset
 * by the caller).  For each instance with a non-empty patch and no
 * report.json yet: a checkout of base_commit from repos_dir (under
 * BENCH_ENV_IMAGE: a run of the instance's image from the store, whose
 * /testbed it is), the patch applied in the sandbox by the official chain,
 * the evaluation script run under the timeout, report.json written; then
 * the run summary, written as bench_run_report_write does (*summary_out,
 * and its path in path_out, which may be NULL).  Instance failures are
 * results (error_ids), not errors: a missing image is one, its message
 * saying how to get it.  Errors are what stops the run from starting (a
 * missing repository directory, a bad profile, an image store that
 * cannot be opened).  When *stop becomes nonzero no new
 * instance starts and the function returns PL_ECANCELED after the ones in
 * flight finish, having written the summary of what is done.
 */
int bench_eval(json_t **summary_out, pl_buf *path_out, const bench_dataset *ds, const bench_preds *p,
	       const bench_eval_opts *o, pl_err *err);

/*
 * Regrade from existing test_output.txt files without running anything
 * (the official --rewrite_reports): for each instance of ds with a
 * prediction and a test_output.txt, report.json is rewritten; then the
 * summary as bench_eval writes it.  *regraded (may be NULL) gets how many.
 */
int bench_regrade(json_t **summary_out, pl_buf *path_out, size_t *regraded, const bench_dataset *ds,
		  const bench_preds *p, const bench_eval_opts *o, pl_err *err);

/* ------------------------------------------------------------ inference */

typedef struct bench_infer_opts {
	const char *out;             /* the predictions file (JSON Lines), required */
	const char *repos_dir;       /* repositories as owner__name, required */
	/* NULL, or where a repository repos_dir lacks is cloned from, once,
	 * into repos_dir (created): URL/owner/name, a URL or a directory */
	const char *repos_url;
	const char *work_dir;        /* checkouts; NULL = OUT.work */
	const char *traj_dir;        /* trajectories ID.jsonl; NULL = OUT.trajs */
	const char *model_name;      /* model_name_or_path; NULL = the session's "backend:model" */
	const agent_settings *settings; /* the agent's (profile "swebench"), borrowed */
	int workers;                 /* 0 = 1 */
	bool keep_work;              /* keep each checkout (work_dir/INSTANCE_ID) */
	/* nonzero: start no new instance and cancel the running agents */
	const atomic_int *cancel;
	/* outcome "submitted", the agent's exit reason (agent_exit_name) when
	 * it ended otherwise, or "error"; resolved counts the submitted,
	 * unresolved the others with a prediction */
	bench_progress_fn on_progress;
	void *progress_ctx;
	const pl_log *log;
} bench_infer_opts;

/*
 * Inference: for each instance of ds without a prediction in o->out yet, a
 * checkout of base_commit from the repositories, the agent run on its
 * problem statement (the settings' prompts: SWE-bench's by default), and
 * its patch (the submitted one, or the changes at the end when a limit
 * ended the run) added to o->out, which is rewritten atomically after each
 * instance: {instance_id, model_name_or_path, model_patch}; the trajectory
 * goes beside it.  Instances whose agent could not run or whose backend
 * failed (AGENT_EXIT_MODEL_ERROR) are left out of the file (run again to
 * retry them); progress reports them as errors.  Each worker runs one
 * agent session per instance; with the embedded engine (backend "engine")
 * the model is loaded once and shared by the workers' sessions
 * (agent_engine), over HTTP they share the endpoint.  A repository of the
 * selected instances missing from repos_dir is an error before any starts.
 * *done (may be NULL) gets how many predictions were added.  Returns
 * PL_ECANCELED after a cancellation (the instances in flight are
 * cancelled and left out), with what was finished written.
 */
int bench_infer(size_t *done, const bench_dataset *ds, const bench_infer_opts *o, pl_err *err);

/*
 * Write the host environment's conda shim into dir (created): bin/activate
 * defining `conda activate`/`deactivate`, and envs/testbed, a virtual
 * environment over the host interpreter `python` (NULL = /usr/bin/python3)
 * with the system's site-packages and /testbed on its path.  Bound at
 * /opt/miniconda3 it lets the official scripts' "source
 * /opt/miniconda3/bin/activate; conda activate testbed" select the host's
 * Python (docs/BENCHMARKS.md).
 */
int bench_host_env_write(const char *dir, const char *python, pl_err *err);

#endif /* PLAIT_BENCH_H */
