/* cmd_bench_swe.c - `plait bench swe eval|script|report|merge|infer|run`: SWE-bench
 * evaluation from the command line (bench-harness/bench.h does the work;
 * docs/BENCHMARKS.md is the manual). */
#define _GNU_SOURCE
#include "cli/cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "bench-harness/bench.h"

static const char bench_usage[] =
	"usage: plait bench swe eval --dataset FILE|NAME --predictions FILE|gold --run-id ID [options]\n"
	"       plait bench swe script INSTANCE_ID --dataset FILE|NAME [--grading v4|v5]\n"
	"       plait bench swe report --run-id ID --dataset FILE|NAME --predictions FILE|gold [options]\n"
	"       plait bench swe merge SUMMARY.json... [--report-dir DIR] [--json]\n"
	"       plait bench swe infer --dataset FILE|NAME --out PREDS.jsonl --repos DIR [model options]\n"
	"       plait bench swe run --dataset FILE|NAME --run-id ID --repos DIR [--out PREDS.jsonl] [...]\n"
	"\n"
	"SWE-bench Verified (and Lite, dev) evaluation graded exactly as the official\n"
	"harness grades, v4.1 by default, without a Docker daemon: each instance's\n"
	"tests run in a sandbox, the results go where the official harness puts them\n"
	"(logs/run_evaluation/RUN_ID/MODEL/INSTANCE/report.json, test_output.txt,\n"
	"patch.diff, eval.sh, run_instance.log, and the summary MODEL.RUN_ID.json).\n"
	"See docs/BENCHMARKS.md.\n"
	"\n"
	"  eval     run the evaluation; an instance with a report.json is not run\n"
	"           again, so a stopped run resumes where it stopped\n"
	"  script   print the evaluation script of one instance\n"
	"  report   regrade from the existing test_output.txt files, running nothing\n"
	"  merge    combine the summaries of the shards of one run (--shard K/N)\n"
	"  infer    run the agent (profile swebench) on each instance's issue in a\n"
	"           checkout of its base commit; its patch goes to the predictions\n"
	"           file, rewritten after each instance; instances already in the\n"
	"           file are skipped, so a stopped run resumes\n"
	"  run      infer, then eval the predictions\n"
	"\n"
	"Options:\n"
	"  --dataset FILE|NAME     JSON Lines or JSON, plain, .xz or .gz; or verified,\n"
	"                          verified-v5, lite, dev from the data directories\n"
	"  --predictions FILE|gold JSON Lines, a JSON list or a JSON object of\n"
	"                          predictions; gold: the dataset's patches\n"
	"  --run-id ID             names the run's log directory and summary\n"
	"  --instance-ids ID...    only these instances (space- or comma-separated)\n"
	"  --shard K/N             only shard K of N (1 <= K <= N), for a cluster\n"
	"  --workers N             instances evaluated (infer: agents run) at once\n"
	"                          (default 1); the engine's model is loaded once\n"
	"  --timeout S             seconds for each instance's tests (default 1800)\n"
	"  --env host|rootfs:DIR|image[:NAMESPACE|:TEMPLATE]\n"
	"                          where the tests run: the host's root with a conda\n"
	"                          shim (default); an image root DIR (DIR, DIR/ID or\n"
	"                          DIR/OWNER__NAME/VERSION); or each instance's\n"
	"                          official image from the image store, named as the\n"
	"                          official harness names it:\n"
	"                          swebench/sweb.eval.x86_64.ID:latest, the ID\n"
	"                          lower-cased with __ as _1776_ (image:NAMESPACE\n"
	"                          replaces swebench/; a TEMPLATE names it with {id}\n"
	"                          for that ID, {instance_id} for the ID as it is).\n"
	"                          An image missing from the store is pulled from its\n"
	"                          registry on first use (as plait image pull NAME)\n"
	"  --image-store DIR       the image store of --env image (default: plait\n"
	"                          image's, $PLAIT_IMAGE_STORE or ~/.cache/plait/images)\n"
	"  --no-pull               --env image: a missing image is the instance's error,\n"
	"                          never downloaded (offline machines)\n"
	"  --repos DIR             repositories cloned or mirrored as DIR/OWNER__NAME\n"
	"                          (not needed by eval --env image: /testbed is the\n"
	"                          image's)\n"
	"  --repos-url URL         infer, run: clone a repository DIR lacks from\n"
	"                          URL/OWNER/NAME into it (e.g. https://github.com)\n"
	"  --grading v4|v5         v4.1's rules (default) or v5's\n"
	"  --python PATH           the interpreter of --env host (default\n"
	"                          /usr/bin/python3)\n"
	"  --sandbox-profile P     sandbox profile for the tests (default eval)\n"
	"  --net                   give the tests the host's network (default none)\n"
	"  --log-dir DIR           where logs/ goes (default ./logs)\n"
	"  --report-dir DIR        where the summary goes (default .)\n"
	"  --keep-work             keep each instance's checkout (eval: under the log\n"
	"                          dir; --env image: its changes to the image, in the\n"
	"                          store's runs/; infer: FILE.work/INSTANCE_ID)\n"
	"  --out FILE              infer, run: the predictions file (run: default\n"
	"                          RUN_ID.preds.jsonl); trajectories go to FILE.trajs/\n"
	"  --model-name NAME       infer, run: model_name_or_path (default the agent's\n"
	"                          backend:model)\n"
	"  --json                  print the summary as JSON\n"
	"  -h, --help              show this help\n"
	"\n"
	"infer and run also take the model options below (--set limits.max_steps=N\n"
	"and the like).  An instance whose agent could not run or whose model failed\n"
	"gets no prediction (running again retries it).\n"
	"\n"
	"Exit status: 0 when the run completed (whatever the verdicts), 1 on an error\n"
	"that stopped it, 2 on a usage error, 130 when interrupted (run it again to\n"
	"resume).\n";

enum {
	O_DATASET = 1, O_PREDS, O_RUN_ID, O_IDS, O_SHARD, O_WORKERS, O_TIMEOUT, O_ENV, O_REPOS, O_GRADING,
	O_PYTHON, O_PROFILE, O_NET, O_LOG_DIR, O_REPORT_DIR, O_KEEP, O_JSON, O_OUT, O_MODEL_NAME, O_REPOS_URL,
	O_IMAGE_STORE,
	O_NO_PULL
};

/* Every option; tests/cli/test_bench.c checks that --help names each. */
static const cli_opt bench_opts[] = {
	{ "dataset", 0, true, O_DATASET },
	{ "predictions", 0, true, O_PREDS },
	{ "run-id", 0, true, O_RUN_ID },
	{ "instance-ids", 0, true, O_IDS },
	{ "shard", 0, true, O_SHARD },
	{ "workers", 0, true, O_WORKERS },
	{ "timeout", 0, true, O_TIMEOUT },
	{ "env", 0, true, O_ENV },
	{ "repos", 0, true, O_REPOS },
	{ "grading", 0, true, O_GRADING },
	{ "python", 0, true, O_PYTHON },
	{ "sandbox-profile", 0, true, O_PROFILE },
	{ "net", 0, false, O_NET },
	{ "log-dir", 0, true, O_LOG_DIR },
	{ "report-dir", 0, true, O_REPORT_DIR },
	{ "keep-work", 0, false, O_KEEP },
	{ "json", 0, false, O_JSON },
	{ "out", 0, true, O_OUT },
	{ "model-name", 0, true, O_MODEL_NAME },
	{ "repos-url", 0, true, O_REPOS_URL },
	{ "image-store", 0, true, O_IMAGE_STORE },
	{ "no-pull", 0, false, O_NO_PULL },
	CLI_AGENT_OPTS,
	{ NULL, 0, false, 0 },
};

/* What the command line said. */
typedef struct bench_args {
	const char *sub, *dataset, *preds, *env, *out, *model_name, *repos_url;
	cli_agent_opts ao;
	char **ids;
	size_t n_ids;
	char **pos; /* positional words after the subcommand */
	size_t n_pos;
	bool json, ids_open;
	bench_eval_opts o;
} bench_args;

static void push(char ***v, size_t *n, const char *s)
{
	*v = pl_xrealloc(*v, (*n + 1) * sizeof(char *));
	(*v)[(*n)++] = pl_xstrdup(s);
}

/* "a,b c" adds a, b and c */
static void push_ids(bench_args *b, const char *s)
{
	const char *p = s;

	while (*p) {
		size_t n = strcspn(p, ", \t");

		if (n) {
			char *id = pl_xstrndup(p, n);

			push(&b->ids, &b->n_ids, id);
			free(id);
		}
		p += n;
		p += strspn(p, ", \t");
	}
}

static void args_release(bench_args *b)
{
	size_t i;

	for (i = 0; i < b->n_ids; i++)
		free(b->ids[i]);
	free(b->ids);
	for (i = 0; i < b->n_pos; i++)
		free(b->pos[i]);
	free(b->pos);
	cli_agent_opts_release(&b->ao);
}

static int parse_shard(bench_args *b, const cli_args *a, const char *v)
{
	int k, n;
	char tail;

	if (sscanf(v, "%d/%d%c", &k, &n, &tail) != 2 || n < 1 || k < 1 || k > n)
		return cli_bad_value(a, v, "expected K/N with 1 <= K <= N (shards are numbered from 1)");
	b->o.shard_k = k;
	b->o.shard_n = n;
	return 0;
}

static int parse_args(bench_args *b, int argc, char **argv, const cli_ctx *ctx)
{
	const char *v;
	pl_err err = { 0 };
	cli_args a;
	int id, st;

	cli_args_init(&a, argc, argv, 2, "bench swe", bench_opts, ctx);
	while ((id = cli_next(&a, &v)) != CLI_END) {
		if (id != CLI_POS)
			b->ids_open = false;
		switch (id) {
		case CLI_BAD:
			return CLI_EXIT_USAGE;
		case CLI_POS:
			/* --instance-ids takes every word up to the next option */
			if (b->ids_open)
				push_ids(b, v);
			else
				push(&b->pos, &b->n_pos, v);
			break;
		case O_DATASET:
			b->dataset = v;
			break;
		case O_PREDS:
			b->preds = v;
			break;
		case O_RUN_ID:
			b->o.run_id = v;
			break;
		case O_IDS:
			push_ids(b, v);
			b->ids_open = true;
			break;
		case O_SHARD:
			if ((st = parse_shard(b, &a, v)) != 0)
				return st;
			break;
		case O_WORKERS:
			if ((st = cli_value_int(&b->o.workers, &a, v, 1, 1024)) != 0)
				return st;
			break;
		case O_TIMEOUT:
			if ((st = cli_value_int(&b->o.timeout, &a, v, 1, 7 * 86400)) != 0)
				return st;
			break;
		case O_ENV:
			b->env = v;
			if (!strcmp(v, "host")) {
				b->o.env = BENCH_ENV_HOST;
			} else if (!strncmp(v, "rootfs:", 7) && v[7]) {
				b->o.env = BENCH_ENV_ROOTFS;
				b->o.rootfs = v + 7;
			} else if (!strcmp(v, "image") || (!strncmp(v, "image:", 6) && v[6])) {
				pl_buf name = PL_BUF_INIT;

				b->o.env = BENCH_ENV_IMAGE;
				b->o.image = v[5] ? v + 6 : NULL;
				st = bench_image_name(&name, b->o.image, "owner__name-1", &err) < 0 ?
					     cli_bad_value(&a, v, "%s", err.msg) :
					     0;
				pl_buf_release(&name);
				if (st)
					return st;
			} else {
				return cli_bad_value(&a, v, "expected host, rootfs:DIR or image[:NAMESPACE|:TEMPLATE]");
			}
			break;
		case O_NO_PULL:
			b->o.image_no_pull = true;
			break;
		case O_IMAGE_STORE:
			b->o.image_store = v;
			break;
		case O_REPOS:
			b->o.repos_dir = v;
			break;
		case O_GRADING:
			if (bench_grading_parse(&b->o.grading, v, &err) < 0)
				return cli_bad_value(&a, v, "expected v4 or v5");
			break;
		case O_PYTHON:
			b->o.python = v;
			break;
		case O_PROFILE:
			b->o.sandbox_profile = v;
			break;
		case O_NET:
			b->o.network = true;
			break;
		case O_LOG_DIR:
			b->o.log_dir = v;
			break;
		case O_REPORT_DIR:
			b->o.report_dir = v;
			break;
		case O_KEEP:
			b->o.keep_work = true;
			break;
		case O_JSON:
			b->json = true;
			break;
		case O_OUT:
			b->out = v;
			break;
		case O_MODEL_NAME:
			b->model_name = v;
			break;
		case O_REPOS_URL:
			b->repos_url = v;
			break;
		default:
			if ((st = cli_agent_opt(&b->ao, &a, id, v)) <= 0) {
				if (st == 0)
					PL_BUG("bench: option %d has no handler", id);
				return CLI_EXIT_USAGE;
			}
		}
	}
	return 0;
}

/* ------------------------------------------------------------ loading */

static int load_dataset(bench_dataset **out, const bench_args *b, const cli_ctx *ctx)
{
	agent_config *cfg = NULL;
	agent_config_opts co = { b->ao.config, NULL, NULL };
	pl_buf path = PL_BUF_INIT;
	pl_err err = { 0 };
	int rc = CLI_EXIT_OK;

	if (!b->dataset)
		return cli_fail(ctx, "bench swe", CLI_EXIT_USAGE, "--dataset FILE|NAME is required");
	if (agent_config_load(&cfg, &co, &err) < 0 || bench_dataset_resolve(&path, b->dataset, cfg->data_dirs, &err) < 0 ||
	    bench_dataset_load(out, path.ptr, &err) < 0)
		rc = cli_fail_err(ctx, "bench swe", &err);
	agent_config_free(cfg);
	pl_buf_release(&path);
	return rc;
}

static int load_preds(bench_preds **out, const bench_args *b, const bench_dataset *ds, const cli_ctx *ctx)
{
	pl_err err = { 0 };

	if (!b->preds)
		return cli_fail(ctx, "bench swe", CLI_EXIT_USAGE, "--predictions FILE|gold is required");
	if (!strcmp(b->preds, "gold") ? bench_preds_gold(out, ds, &err) < 0 : bench_preds_load(out, b->preds, &err) < 0)
		return cli_fail_err(ctx, "bench swe", &err);
	/* every prediction must name an instance of the whole dataset */
	if (bench_preds_check(*out, ds, &err) < 0)
		return cli_fail_err(ctx, "bench swe", &err);
	return CLI_EXIT_OK;
}

/* The instances of the run: --instance-ids, then --shard. */
static int select_instances(bench_dataset *ds, const bench_args *b, const cli_ctx *ctx)
{
	pl_err err = { 0 };

	if (b->n_ids && bench_dataset_select(ds, b->ids, b->n_ids, &err) < 0)
		return cli_fail_err(ctx, "bench swe", &err);
	if (b->o.shard_n && bench_dataset_shard(ds, b->o.shard_k, b->o.shard_n, &err) < 0)
		return cli_fail_err(ctx, "bench swe", &err);
	return CLI_EXIT_OK;
}

/* ------------------------------------------------------------ progress */

typedef struct display {
	bool tty, color;
	bool infer; /* inference's words: submitted, not submitted */
	size_t errors; /* the last count seen */
	bool line_open; /* a status line waits to be replaced */
} display;

static void fmt_time(char *out, size_t n, double s)
{
	long t = (long)(s + 0.5);

	if (t >= 3600)
		snprintf(out, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
	else if (t >= 60)
		snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(out, n, "%lds", t);
}

static const char *paint(const display *d, const char *outcome)
{
	if (!d->color)
		return "";
	if (!strcmp(outcome, "resolved") || !strcmp(outcome, "submitted"))
		return "\033[32m";
	if (!strcmp(outcome, "error"))
		return "\033[31m";
	return "\033[33m"; /* unresolved, or an agent that ended without submitting */
}

static void on_progress(void *ctx, const bench_progress *p)
{
	display *d = ctx;
	char eta[32] = "?", took[32], counts[160];

	if (p->note) {
		fprintf(stderr, "plait bench swe: %s\n", p->note);
		return;
	}
	if (!p->instance_id && d->infer) {
		fprintf(stderr, "plait bench swe: %zu to infer", p->total);
		if (p->cached)
			fprintf(stderr, ", %zu already predicted", p->cached);
		fputc('\n', stderr);
		return;
	}
	if (!p->instance_id) {
		fprintf(stderr, "plait bench swe: %zu to evaluate", p->total);
		if (p->cached)
			fprintf(stderr, ", %zu already done", p->cached);
		if (p->empty)
			fprintf(stderr, ", %zu empty patches (not run)", p->empty);
		fputc('\n', stderr);
		return;
	}
	if (p->done && p->done < p->total)
		fmt_time(eta, sizeof(eta), p->elapsed / (double)p->done * (double)(p->total - p->done));
	else if (p->done >= p->total)
		snprintf(eta, sizeof(eta), "0s");
	fmt_time(took, sizeof(took), p->seconds);
	d->errors = p->errors;
	if (d->infer) {
		int k = snprintf(counts, sizeof(counts), "submitted %zu, not submitted %zu, errors %zu, %.1fk tokens",
				 p->resolved, p->unresolved, p->errors, (double)p->tokens / 1e3);

		if (p->cost_known && p->cost > 0 && k > 0 && (size_t)k < sizeof(counts))
			snprintf(counts + k, sizeof(counts) - (size_t)k, ", $%.2f", p->cost);
	} else {
		snprintf(counts, sizeof(counts), "resolved %zu, unresolved %zu, errors %zu", p->resolved, p->unresolved,
			 p->errors);
	}
	if (d->tty) {
		/* the finished instance on its own line, then the status line */
		fprintf(stderr, "\r\033[K%s%-10s%s %s (%s%s%s)%s%s\n", paint(d, p->outcome), p->outcome,
			d->color ? "\033[0m" : "", p->instance_id, took, p->detail ? ", " : "", p->detail ? p->detail : "",
			p->error ? ": " : "", p->error ? p->error : "");
		fprintf(stderr, "[%zu/%zu] %s, running %zu, ETA %s", p->done, p->total, counts, p->running, eta);
		d->line_open = true;
	} else {
		fprintf(stderr, "[%zu/%zu] %s: %s (%s%s%s)%s%s; %s, ETA %s\n", p->done, p->total, p->instance_id,
			p->outcome, took, p->detail ? ", " : "", p->detail ? p->detail : "", p->error ? ": " : "",
			p->error ? p->error : "", counts, eta);
	}
	fflush(stderr);
}

/* ------------------------------------------------------------ interrupts */

/* The one process-wide fact a signal handler can set: stop starting
 * instances.  A second Ctrl-C ends plait (in-flight instances are lost,
 * finished ones are on disk). */
static volatile sig_atomic_t stop_flag;
static atomic_int cancel_flag; /* the agents' (infer) */
static volatile sig_atomic_t inferring; /* which words the first Ctrl-C says */

static void on_signal(int sig)
{
	if (stop_flag) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	stop_flag = 1;
	atomic_store(&cancel_flag, 1);
	static const char msg[] = "\nplait bench swe: stopping after the instances in flight (Ctrl-C again to abandon "
				  "them; run again to resume)\n";
	static const char imsg[] = "\nplait bench swe: stopping: the agents in flight are cancelled, their instances "
				   "left without a prediction (run again to resume)\n";
	if (inferring)
		(void)!write(STDERR_FILENO, imsg, sizeof(imsg) - 1);
	else
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
}

/* ------------------------------------------------------------ output */

static void print_summary(const json_t *s, const char *path, bool as_json)
{
	static const struct {
		const char *label, *key;
	} lines[] = {
		{ "Total instances", "total_instances" },
		{ "Instances submitted", "submitted_instances" },
		{ "Instances completed", "completed_instances" },
		{ "Instances incomplete", NULL },
		{ "Instances resolved", "resolved_instances" },
		{ "Instances unresolved", "unresolved_instances" },
		{ "Instances with likely infrastructure failures", "infra_failure_instances" },
		{ "Instances with ambiguous failures", "ambiguous_failure_instances" },
		{ "Instances with empty patches", "empty_patch_instances" },
		{ "Instances with errors", "error_instances" },
	};
	size_t i;

	if (as_json) {
		pl_buf b = PL_BUF_INIT;

		bench_json_dump_py(&b, s, 4);
		puts(b.ptr);
		pl_buf_release(&b);
		return;
	}
	/* as make_run_report prints it */
	for (i = 0; i < PL_ARRAY_LEN(lines); i++) {
		const json_t *v = lines[i].key ? json_object_get(s, lines[i].key) : json_object_get(s, "incomplete_ids");

		if (!v)
			continue;
		printf("%s: %lld\n", lines[i].label,
		       lines[i].key ? (long long)json_integer_value(v) : (long long)json_array_size(v));
	}
	if (path)
		printf("Report written to %s\n", path);
}

/* ------------------------------------------------------------ commands */

static int cmd_eval(bench_args *b, bool regrade, const cli_ctx *ctx)
{
	bench_dataset *ds = NULL;
	bench_preds *p = NULL;
	json_t *summary = NULL;
	pl_buf path = PL_BUF_INIT;
	pl_err err = { 0 };
	display d;
	struct sigaction sa, old_int, old_term;
	size_t n = 0;
	int rc;

	if (b->n_pos)
		return cli_fail(ctx, "bench swe", CLI_EXIT_USAGE, "unexpected argument '%s'", b->pos[0]);
	if (!b->o.run_id)
		return cli_fail(ctx, "bench swe", CLI_EXIT_USAGE, "--run-id ID is required");
	if ((rc = load_dataset(&ds, b, ctx)) != 0)
		goto done;
	if ((rc = load_preds(&p, b, ds, ctx)) != 0 || (rc = select_instances(ds, b, ctx)) != 0)
		goto done;
	/* v5 makes gold predictions for the selected instances only (v4.1 for
	 * the whole dataset, which submitted_instances shows) */
	if (!strcmp(b->preds, "gold") && b->o.grading == BENCH_GRADING_V5) {
		bench_preds_free(p);
		p = NULL;
		if (bench_preds_gold(&p, ds, &err) < 0) {
			rc = cli_fail_err(ctx, "bench swe", &err);
			goto done;
		}
	}
	b->o.dataset_name = b->dataset;
	b->o.log = ctx ? ctx->log : NULL;
	memset(&d, 0, sizeof(d));
	d.tty = isatty(STDERR_FILENO);
	d.color = d.tty && !getenv("NO_COLOR");
	b->o.on_progress = on_progress;
	b->o.progress_ctx = &d;
	if (regrade) {
		b->o.on_progress = NULL;
		rc = bench_regrade(&summary, &path, &n, ds, p, &b->o, &err);
		if (rc == 0)
			fprintf(stderr, "plait bench swe: %zu instance%s regraded\n", n, n == 1 ? "" : "s");
	} else {
		stop_flag = 0;
		b->o.stop = &stop_flag;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		rc = bench_eval(&summary, &path, ds, p, &b->o, &err);
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		if (d.line_open)
			fputc('\n', stderr);
	}
	if (summary)
		print_summary(summary, path.len ? path.ptr : NULL, b->json);
	if (rc == PL_ECANCELED) {
		cli_fail(ctx, "bench swe", CLI_EXIT_FAIL, "%s", err.msg);
		rc = 130;
	} else if (rc < 0) {
		rc = cli_fail_err(ctx, "bench swe", &err);
	}
done:
	json_decref(summary);
	pl_buf_release(&path);
	bench_preds_free(p);
	bench_dataset_free(ds);
	return rc;
}

/* infer: predictions from the agent into b->out */
static int cmd_infer(bench_args *b, const cli_ctx *ctx)
{
	bench_dataset *ds = NULL;
	agent_config *cfg = NULL;
	agent_settings *s = NULL;
	bench_infer_opts io;
	display d;
	struct sigaction sa, old_int, old_term;
	pl_err err = { 0 };
	size_t n = 0;
	int rc;

	if (b->n_pos)
		return cli_fail(ctx, "bench swe", CLI_EXIT_USAGE, "unexpected argument '%s'", b->pos[0]);
	if (!b->out)
		return cli_fail(ctx, "bench swe", CLI_EXIT_USAGE, "--out PREDS.jsonl is required");
	if ((rc = load_dataset(&ds, b, ctx)) != 0 || (rc = select_instances(ds, b, ctx)) != 0)
		goto done;
	if ((rc = cli_agent_settings(&cfg, &s, &b->ao, true, ctx, "bench swe")) != CLI_EXIT_OK)
		goto done;
	memset(&io, 0, sizeof(io));
	io.out = b->out;
	io.repos_dir = b->o.repos_dir;
	io.repos_url = b->repos_url;
	io.model_name = b->model_name;
	io.settings = s;
	io.workers = b->o.workers;
	io.keep_work = b->o.keep_work;
	io.log = ctx ? ctx->log : NULL;
	memset(&d, 0, sizeof(d));
	d.infer = true;
	d.tty = isatty(STDERR_FILENO);
	d.color = d.tty && !getenv("NO_COLOR");
	io.on_progress = on_progress;
	io.progress_ctx = &d;
	stop_flag = 0;
	atomic_store(&cancel_flag, 0);
	io.cancel = &cancel_flag;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	inferring = 1;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	rc = bench_infer(&n, ds, &io, &err);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	inferring = 0;
	if (d.line_open)
		fputc('\n', stderr);
	if (rc == 0 || rc == PL_ECANCELED) { /* not after an error that kept the run from starting */
		fprintf(stderr, "plait bench swe: %zu prediction%s added to %s", n, n == 1 ? "" : "s", b->out);
		if (d.errors)
			fprintf(stderr, "; %zu instance%s without one after an error (run again to retry)", d.errors,
				d.errors == 1 ? "" : "s");
		fputc('\n', stderr);
	}
	if (rc == PL_ECANCELED) {
		cli_fail(ctx, "bench swe", CLI_EXIT_FAIL, "%s", err.msg);
		rc = 130;
	} else if (rc < 0) {
		rc = cli_fail_err(ctx, "bench swe", &err);
	}
done:
	agent_settings_free(s);
	agent_config_free(cfg);
	bench_dataset_free(ds);
	return rc;
}

static int cmd_script(bench_args *b, const cli_ctx *ctx)
{
	bench_dataset *ds = NULL;
	const bench_instance *in;
	pl_buf s = PL_BUF_INIT;
	pl_err err = { 0 };
	int rc;

	if (b->n_pos != 1)
		return cli_fail(ctx, "bench swe", CLI_EXIT_USAGE, "script takes one instance id (plait bench swe script "
				"INSTANCE_ID --dataset FILE|NAME)");
	if ((rc = load_dataset(&ds, b, ctx)) != 0)
		return rc;
	in = bench_dataset_find(ds, b->pos[0]);
	if (!in)
		rc = cli_fail(ctx, "bench swe", CLI_EXIT_FAIL, "instance '%s' is not in %s", b->pos[0], ds->path);
	else if (bench_eval_script(&s, in, b->o.grading, &err) < 0)
		rc = cli_fail_err(ctx, "bench swe", &err);
	else
		fwrite(s.ptr, 1, s.len, stdout);
	pl_buf_release(&s);
	bench_dataset_free(ds);
	return rc;
}

static int cmd_merge(bench_args *b, const cli_ctx *ctx)
{
	json_t **shards = NULL, *m = NULL;
	pl_buf path = PL_BUF_INIT, name = PL_BUF_INIT, out = PL_BUF_INIT;
	pl_err err = { 0 };
	size_t i, loaded = 0;
	int rc = CLI_EXIT_OK;

	if (!b->n_pos)
		return cli_fail(ctx, "bench swe", CLI_EXIT_USAGE, "merge takes the shards' summary files");
	shards = pl_xcalloc(b->n_pos, sizeof(*shards));
	for (i = 0; i < b->n_pos; i++, loaded++)
		if (pl_json_load_file(&shards[i], b->pos[i], &err) < 0) {
			rc = cli_fail_err(ctx, "bench swe", &err);
			goto done;
		}
	if (bench_summary_merge(&m, shards, b->n_pos, &err) < 0) {
		rc = cli_fail_err(ctx, "bench swe", &err);
		goto done;
	}
	/* MODEL.RUN_ID.shard-K-of-N.json becomes MODEL.RUN_ID.json */
	{
		const char *base = strrchr(b->pos[0], '/') ? strrchr(b->pos[0], '/') + 1 : b->pos[0];
		const char *sh = strstr(base, ".shard-");

		if (!sh) {
			rc = cli_fail(ctx, "bench swe", CLI_EXIT_FAIL,
				      "'%s' is not named MODEL.RUN_ID.shard-K-of-N.json as --shard writes it", b->pos[0]);
			goto done;
		}
		pl_buf_add(&name, base, (size_t)(sh - base));
		pl_buf_puts(&name, ".json");
	}
	pl_path_join(&path, b->o.report_dir ? b->o.report_dir : ".", name.ptr);
	bench_json_dump_py(&out, m, 4);
	pl_buf_putc(&out, '\n');
	if (pl_file_write_atomic(path.ptr, out.ptr, out.len, 0644, &err) < 0) {
		rc = cli_fail_err(ctx, "bench swe", &err);
		goto done;
	}
	print_summary(m, path.ptr, b->json);
done:
	for (i = 0; i < loaded; i++)
		json_decref(shards[i]);
	free(shards);
	json_decref(m);
	pl_buf_release(&path);
	pl_buf_release(&name);
	pl_buf_release(&out);
	return rc;
}

int cli_bench_swe(int argc, char **argv, const cli_ctx *ctx)
{
	bench_args b;
	int rc;

	/* argv[0] is "swe", argv[1] the subcommand */
	if (cli_wants_help(argc, argv) || argc < 2) {
		fputs(bench_usage, argc < 2 ? stderr : stdout);
		if (argc >= 2)
			fprintf(stdout, "\n%s", cli_agent_usage);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	memset(&b, 0, sizeof(b));
	cli_agent_opts_init(&b.ao, "swebench");
	b.sub = argv[1];
	if (strcmp(b.sub, "eval") && strcmp(b.sub, "script") && strcmp(b.sub, "report") && strcmp(b.sub, "merge") &&
	    strcmp(b.sub, "infer") && strcmp(b.sub, "run")) {
		args_release(&b);
		return cli_fail(ctx, "bench swe", CLI_EXIT_USAGE,
				"unknown subcommand '%s' (expected eval, script, report, merge, infer or run)", b.sub);
	}
	if ((rc = parse_args(&b, argc, argv, ctx)) == 0) {
		if (!strcmp(b.sub, "eval"))
			rc = cmd_eval(&b, false, ctx);
		else if (!strcmp(b.sub, "report"))
			rc = cmd_eval(&b, true, ctx);
		else if (!strcmp(b.sub, "script"))
			rc = cmd_script(&b, ctx);
		else if (!strcmp(b.sub, "infer"))
			rc = cmd_infer(&b, ctx);
		else if (!strcmp(b.sub, "run")) {
			pl_buf out = PL_BUF_INIT;

			if (!b.out && b.o.run_id) {
				pl_buf_printf(&out, "%s.preds.jsonl", b.o.run_id);
				b.out = out.ptr;
			}
			if (!b.o.run_id)
				rc = cli_fail(ctx, "bench swe", CLI_EXIT_USAGE, "--run-id ID is required");
			else if (b.preds)
				rc = cli_fail(ctx, "bench swe", CLI_EXIT_USAGE, "run makes the predictions: no --predictions");
			else if ((rc = cmd_infer(&b, ctx)) == 0) {
				b.preds = b.out;
				rc = cmd_eval(&b, false, ctx);
			}
			b.out = NULL;
			pl_buf_release(&out);
		}
		else
			rc = cmd_merge(&b, ctx);
	}
	args_release(&b);
	return rc;
}
