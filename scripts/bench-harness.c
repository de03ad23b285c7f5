/*
 * bench-harness.c - `make bench-harness`: what the SWE-bench harness costs
 * beyond the tests it runs, and how it scales with workers (figures go to
 * docs/PERFORMANCE.md).  A measurement, not a test.
 *
 * It makes synthetic instances in SWE-bench's format (one git repository,
 * a Python package with a bug, a gold patch, a test patch per instance
 * adding a test that waits WAIT seconds), and runs bench_eval on them under
 * --env host (Debian's python3 and pytest through the conda shim):
 *   1. overhead: 16 instances whose tests do not wait, one worker: per
 *      instance, the wall time minus that of its evaluation script
 *      (checkout, patch.diff and eval.sh written, sandbox session, the
 *      patch chain, two git diffs, grading, report.json, clean-up);
 *   2. scaling: INSTANCES instances whose tests wait WAIT s, with 1 worker
 *      and with 8.
 *
 * usage: build/bench-harness [INSTANCES [WAIT]]   (default 64 5)
 */
#define _GNU_SOURCE
#include "bench-harness/bench.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pl_buf dir = PL_BUF_INIT;

static void sh(const char *fmt, ...) PL_PRINTF(1, 2);
static void sh(const char *fmt, ...)
{
	pl_buf c = PL_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	pl_buf_vprintf(&c, fmt, ap);
	va_end(ap);
	if (system(c.ptr) != 0) {
		fprintf(stderr, "bench-harness: failed: %s\n", c.ptr);
		exit(1);
	}
	pl_buf_release(&c);
}

static char *slurp(const char *name)
{
	pl_buf p = PL_BUF_INIT, b = PL_BUF_INIT;
	pl_err err = { 0 };

	pl_path_join(&p, dir.ptr, name);
	if (pl_file_read(&b, p.ptr, 0, &err) < 0) {
		fprintf(stderr, "bench-harness: %s\n", err.msg);
		exit(1);
	}
	pl_buf_release(&p);
	return pl_buf_detach(&b, NULL);
}

/* The repository, and n instances whose tests wait `wait` seconds, as
 * dataset file `name`. */
static void make_dataset(const char *name, int n, double wait, const char *base, const char *gold)
{
	pl_buf out = PL_BUF_INIT, p = PL_BUF_INIT;
	int k;

	for (k = 1; k <= n; k++) {
		char id[64], f2p[128], *test;
		json_t *o;
		char *line;

		sh("cd '%s/repos/pallets__flask' && printf 'import time\\nfrom calc import add\\n\\n\\ndef test_wait():\\n"
		   "    time.sleep(%g)\\n    assert add(2, 3) == 5\\n' > tests/test_wait_%d.py && git add -N tests && "
		   "git diff > '%s/test.diff' && git rm -q --cached tests/test_wait_%d.py && rm tests/test_wait_%d.py",
		   dir.ptr, wait, k, dir.ptr, k, k);
		test = slurp("test.diff");
		snprintf(id, sizeof(id), "pallets__flask-%d", k);
		snprintf(f2p, sizeof(f2p), "[\"tests/test_wait_%d.py::test_wait\"]", k);
		o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "repo", "pallets/flask", "instance_id", id,
			      "base_commit", base, "patch", gold, "test_patch", test, "version", "2.3", "FAIL_TO_PASS",
			      f2p, "PASS_TO_PASS", "[]", "environment_setup_commit", base);
		line = json_dumps(o, JSON_COMPACT);
		pl_buf_puts(&out, line);
		pl_buf_putc(&out, '\n');
		free(line);
		free(test);
		json_decref(o);
	}
	pl_path_join(&p, dir.ptr, name);
	pl_file_write_atomic(p.ptr, out.ptr, out.len, 0644, NULL);
	pl_buf_release(&out);
	pl_buf_release(&p);
}

typedef struct stats {
	double overhead[4096], script[4096];
	size_t n, errors;
} stats;

static void collect(void *ctx, const bench_progress *p)
{
	stats *s = ctx;

	if (!p->instance_id || s->n >= PL_ARRAY_LEN(s->overhead))
		return;
	if (strcmp(p->outcome, "resolved"))
		s->errors++;
	s->overhead[s->n] = p->overhead;
	s->script[s->n] = p->seconds - p->overhead;
	s->n++;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double q)
{
	qsort(v, n, sizeof(*v), cmp);
	return v[(size_t)(q * (double)(n - 1) + 0.5)];
}

static double run(const char *dataset, const char *run_id, int workers, stats *st)
{
	bench_dataset *ds = NULL;
	bench_preds *p = NULL;
	bench_eval_opts o;
	pl_buf ds_path = PL_BUF_INIT, logs = PL_BUF_INIT, repos = PL_BUF_INIT;
	json_t *s = NULL;
	pl_err err = { 0 };
	double t0, t;

	pl_path_join(&ds_path, dir.ptr, dataset);
	pl_path_join(&logs, dir.ptr, "logs");
	pl_path_join(&repos, dir.ptr, "repos");
	if (bench_dataset_load(&ds, ds_path.ptr, &err) < 0 || bench_preds_gold(&p, ds, &err) < 0) {
		fprintf(stderr, "bench-harness: %s\n", err.msg);
		exit(1);
	}
	memset(&o, 0, sizeof(o));
	o.run_id = run_id;
	o.log_dir = logs.ptr;
	o.report_dir = dir.ptr;
	o.repos_dir = repos.ptr;
	o.env = BENCH_ENV_HOST;
	o.workers = workers;
	o.timeout = 600;
	o.on_progress = collect;
	o.progress_ctx = st;
	t0 = pl_now();
	if (bench_eval(&s, NULL, ds, p, &o, &err) < 0) {
		fprintf(stderr, "bench-harness: %s\n", err.msg);
		exit(1);
	}
	t = pl_now() - t0;
	if (json_integer_value(json_object_get(s, "resolved_instances")) != (json_int_t)ds->n) {
		fprintf(stderr, "bench-harness: %s: not every gold instance resolved\n", run_id);
		exit(1);
	}
	json_decref(s);
	bench_preds_free(p);
	bench_dataset_free(ds);
	pl_buf_release(&ds_path);
	pl_buf_release(&logs);
	pl_buf_release(&repos);
	return t;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 64;
	double wait = argc > 2 ? atof(argv[2]) : 5, t1, t8;
	static stats over, s1, s8;
	pl_sysinfo si;
	char *base, *gold;

	if (n < 1 || n > 4096 || wait < 0) {
		fprintf(stderr, "usage: bench-harness [INSTANCES [WAIT]]\n");
		return 2;
	}
	if (pl_mkdtemp(&dir, "plait-bench-harness", NULL) < 0)
		return 1;
	pl_sysinfo_read(&si, NULL);
	sh("set -e; mkdir -p '%s/repos/pallets__flask' && cd '%s/repos/pallets__flask' && git init -q -b main . && "
	   "git config user.email b@example.com && git config user.name b && mkdir calc tests && "
	   "printf 'def add(a, b):\\n    return a - b\\n' > calc/__init__.py && printf 'calc\\n' > README.md && "
	   "git add -A && git commit -qm base && git rev-parse HEAD > '%s/base' && "
	   "sed -i 's/a - b/a + b/' calc/__init__.py && git diff > '%s/gold.diff' && git checkout -q .",
	   dir.ptr, dir.ptr, dir.ptr, dir.ptr);
	base = slurp("base");
	base[strcspn(base, "\n")] = '\0';
	gold = slurp("gold.diff");
	make_dataset("quick.jsonl", 16, 0, base, gold);
	make_dataset("wait.jsonl", n, wait, base, gold);

	printf("bench-harness: %s, %d cores online, %s; %d instances waiting %g s\n", si.cpu_model, si.cores_online,
	       si.kernel, n, wait);
	run("quick.jsonl", "warm", 1, &over); /* caches warm */
	memset(&over, 0, sizeof(over));
	run("quick.jsonl", "overhead", 1, &over);
	t1 = run("wait.jsonl", "one", 1, &s1);
	t8 = run("wait.jsonl", "eight", 8, &s8);

	printf("\n| measure | median | p90 | max |\n| --- | ---: | ---: | ---: |\n");
	{
		double m = pct(over.overhead, over.n, 0.5) * 1000, p90 = pct(over.overhead, over.n, 0.9) * 1000,
		       mx = pct(over.overhead, over.n, 1.0) * 1000;
		double sm = pct(over.script, over.n, 0.5) * 1000;

		printf("| harness overhead per instance (16 instances, 1 worker), ms | %.1f | %.1f | %.1f |\n", m, p90, mx);
		printf("| its evaluation script (not overhead), ms | %.1f | %.1f | %.1f |\n", sm,
		       pct(over.script, over.n, 0.9) * 1000, pct(over.script, over.n, 1.0) * 1000);
		printf("| harness overhead per instance, 8 workers on the waiting run, ms | %.1f | %.1f | %.1f |\n",
		       pct(s8.overhead, s8.n, 0.5) * 1000, pct(s8.overhead, s8.n, 0.9) * 1000,
		       pct(s8.overhead, s8.n, 1.0) * 1000);
	}
	printf("\n| run | workers | wall s | instances/min |\n| --- | ---: | ---: | ---: |\n");
	printf("| %d instances, tests waiting %g s | 1 | %.1f | %.1f |\n", n, wait, t1, n / t1 * 60);
	printf("| %d instances, tests waiting %g s | 8 | %.1f | %.1f |\n", n, wait, t8, n / t8 * 60);
	printf("\nspeed-up with 8 workers: %.2fx (goal >= 5x); overhead median %.1f ms (goal < 200 ms)\n", t1 / t8,
	       pct(over.overhead, over.n, 0.5) * 1000);
	if (getenv("BENCH_KEEP"))
		printf("kept %s\n", dir.ptr);
	else
		pl_rm_rf(dir.ptr, NULL);
	free(gold);
	free(base);
	return 0;
}
