/* `plait bench swe` as a user runs it (PLAIT_BIN), under --env host: options,
 * the script command, an evaluation killed midway and resumed, shards and
 * their merge, and the cluster configurations of configs/cluster run
 * locally. */
#include <signal.h>
#include <time.h>

#include "tests/bench-harness/swe_fixture.h"
#include "tests/script_server.h"
#include "tests/shell.h"

static swe_fixture fx;
static pl_buf env_args = PL_BUF_INIT, common_args = PL_BUF_INIT;

static void setup(void)
{
	swe_fixture_init(&fx);
	pl_buf_reset(&env_args);
	pl_buf_reset(&common_args);
	pl_buf_printf(&env_args, "--dataset '%s' --repos '%s' --env host", fx.dataset.ptr, fx.repos.ptr);
	/* the first two instances: the third's test hangs, and a timeout short
	 * enough for it could catch the others on a loaded machine */
	pl_buf_printf(&common_args, "%s --instance-ids pallets__flask-1 pallets__flask-2", env_args.ptr);
}

static void teardown(void)
{
	swe_fixture_release(&fx);
	pl_buf_release(&env_args);
	pl_buf_release(&common_args);
}

TestSuite(bench_cmd, .init = setup, .fini = teardown, .timeout = 600);

/* plait ARGS run in the fixture's directory; stdout and stderr apart */
static test_run plait_in(const char *args)
{
	return test_plait(fx.dir.ptr, NULL, args);
}

static char *read_or_null(const char *path)
{
	pl_buf b = PL_BUF_INIT;

	if (pl_file_read(&b, path, 0, NULL) < 0) {
		pl_buf_release(&b);
		return NULL;
	}
	return pl_buf_detach(&b, NULL);
}

Test(bench_cmd, help_documents_every_option)
{
	pl_buf src = PL_BUF_INIT, p = PL_BUF_INIT;
	const char *root = getenv("PLAIT_ROOT"), *s, *end;
	test_run r = plait_in("bench swe --help");
	size_t n = 0;

	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out.ptr, "usage: plait bench swe eval"));
	cr_assert(root);
	pl_path_join(&p, root, "cli/cmd_bench_swe.c");
	cr_assert_eq(pl_file_read(&src, p.ptr, 0, NULL), 0);
	s = strstr(src.ptr, "static const cli_opt bench_opts[] = {");
	end = s ? strstr(s, "{ NULL, 0, false, 0 }") : NULL;
	cr_assert(s && end);
	for (; (s = strstr(s, "{ \"")) && s < end; s++) {
		char opt[64] = "--";
		const char *q = s + 3;
		size_t k = strcspn(q, "\"");

		memcpy(opt + 2, q, k);
		opt[k + 2] = '\0';
		cr_assert(strstr(r.out.ptr, opt), "option %s is parsed but not in --help", opt);
		n++;
	}
	cr_assert_geq(n, 19);
	cr_assert(strstr(r.out.ptr, "Model options") && strstr(r.out.ptr, "--api-base URL"), "the agent's options");
	test_run_release(&r);
	r = plait_in("help");
	cr_assert(strstr(r.out.ptr, "   bench "), "%s", r.out.ptr);
	test_run_release(&r);
	pl_buf_release(&src);
	pl_buf_release(&p);
}

Test(bench_cmd, usage_errors)
{
	static const struct {
		const char *args, *msg;
		int status;
	} cases[] = {
		{ "bench swe eval --dataset x --predictions gold", "--run-id ID is required", 2 },
		{ "bench swe eval --shard 0/4 --run-id r", "--shard '0/4': expected K/N with 1 <= K <= N", 2 },
		{ "bench swe eval --env 'image:x/{name}' --run-id r",
		  "--env 'image:x/{name}': image name template 'x/{name}': unknown field at '{name}'", 2 },
		{ "bench swe eval --env image: --run-id r", "expected host, rootfs:DIR or image[:NAMESPACE|:TEMPLATE]", 2 },
		{ "bench swe eval --env docker --run-id r", "expected host, rootfs:DIR or image[:NAMESPACE|:TEMPLATE]", 2 },
		{ "bench swe eval --grading v6 --run-id r", "expected v4 or v5", 2 },
		{ "bench swe train", "unknown subcommand 'train'", 2 },
		{ "bench swe infer --dataset x", "--out PREDS.jsonl is required", 2 },
		{ "bench mlperf", "unknown subcommand 'mlperf' (known: swe, engine)", 2 },
		{ "bench swe script", "script takes one instance id", 2 },
		{ "bench swe eval --run-id r --predictions gold --dataset nothing-such",
		  "dataset 'nothing-such' is neither a file nor a known name", 1 },
		{ "bench swe merge", "merge takes the shards' summary files", 2 },
		{ "bench swe infer --dataset dataset.jsonl --out o.jsonl --repos no-repos --backend openai --api-model m",
		  "plait bench swe: repositories directory 'no-repos' does not exist\n", 1 },
	};
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(cases); i++) {
		test_run r = plait_in(cases[i].args);

		cr_expect_eq(r.status, cases[i].status, "%s: exit %d", cases[i].args, r.status);
		cr_expect(strstr(r.err.ptr, cases[i].msg), "%s: %s", cases[i].args, r.err.ptr);
		cr_expect_eq(r.out.len, 0, "%s printed to stdout", cases[i].args);
		cr_expect_not(strstr(r.err.ptr, "predictions added"), "%s: a run that did not start: %s", cases[i].args,
			      r.err.ptr);
		test_run_release(&r);
	}
}

Test(bench_cmd, script_prints_the_evaluation_script)
{
	bench_dataset *ds = NULL;
	pl_buf want = PL_BUF_INIT, args = PL_BUF_INIT;
	pl_err err = { 0 };
	test_run r;

	cr_assert_eq(bench_dataset_load(&ds, fx.dataset.ptr, &err), 0);
	cr_assert_eq(bench_eval_script(&want, &ds->items[0], BENCH_GRADING_V5, &err), 0);
	pl_buf_printf(&args, "bench swe script pallets__flask-1 --dataset '%s' --grading v5", fx.dataset.ptr);
	r = plait_in(args.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert_str_eq(r.out.ptr, want.ptr);
	test_run_release(&r);
	pl_buf_reset(&args);
	pl_buf_printf(&args, "bench swe script nope-1 --dataset '%s'", fx.dataset.ptr);
	r = plait_in(args.ptr);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err.ptr, "instance 'nope-1' is not in "));
	test_run_release(&r);
	bench_dataset_free(ds);
	pl_buf_release(&want);
	pl_buf_release(&args);
}

/* the summary of a run, as written */
static char *summary(const char *model, const char *run_id)
{
	pl_buf p = PL_BUF_INIT;
	char *s;

	pl_path_join(&p, fx.dir.ptr, model);
	pl_buf_printf(&p, ".%s.json", run_id);
	s = read_or_null(p.ptr);
	pl_buf_release(&p);
	return s;
}

static void eval_run(const char *run_id, const char *extra, int want_status)
{
	pl_buf a = PL_BUF_INIT;
	test_run r;

	pl_buf_printf(&a, "bench swe eval %s --predictions gold --run-id %s %s", common_args.ptr, run_id, extra);
	r = plait_in(a.ptr);
	cr_assert_eq(r.status, want_status, "exit %d: %s", r.status, r.err.ptr);
	test_run_release(&r);
	pl_buf_release(&a);
}

static bool exists_under(const char *rel)
{
	pl_buf p = PL_BUF_INIT;
	bool e;

	pl_path_join(&p, fx.dir.ptr, rel);
	e = pl_file_exists(p.ptr);
	pl_buf_release(&p);
	return e;
}

static bool dir_under(const char *rel)
{
	pl_buf p = PL_BUF_INIT;
	bool e;

	pl_path_join(&p, fx.dir.ptr, rel);
	e = pl_dir_exists(p.ptr);
	pl_buf_release(&p);
	return e;
}

static void nap(void)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

Test(bench_cmd, a_killed_run_resumes_to_the_same_summary)
{
	pl_buf out = PL_BUF_INIT, a = PL_BUF_INIT;
	char *full, *resumed;
	test_run r;
	long pid;
	double deadline;

	/* the reference: one uninterrupted run */
	pl_buf_printf(&a, "bench swe eval %s --predictions gold --run-id full", common_args.ptr);
	r = plait_in(a.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, "Total instances: 2\nInstances submitted: 3\nInstances completed: 2\n"
				    "Instances incomplete: 0\nInstances resolved: 2\nInstances unresolved: 0\n"
				    "Instances with empty patches: 0\nInstances with errors: 0\nReport written to "),
		  "%s", r.out.ptr);
	cr_assert(strstr(r.err.ptr, "[2/2] "), "progress lines on a non-terminal: %s", r.err.ptr);
	test_run_release(&r);
	full = summary("gold", "full");
	cr_assert_not_null(full);

	/* the same run killed (SIGKILL, no chance to clean up) once the
	 * first instance is done */
	cr_assert_eq(test_sh(&out, "cd '%s' && setsid '%s' bench swe eval %s --predictions gold --run-id cut "
				   ">cut.out 2>cut.err </dev/null & echo $!",
			     fx.dir.ptr, test_plait_bin(), common_args.ptr),
		     0);
	pid = atol(out.ptr);
	cr_assert_gt(pid, 1);
	deadline = pl_now() + 300;
	while (!exists_under("logs/run_evaluation/cut/gold/pallets__flask-1/report.json") && pl_now() < deadline)
		nap();
	cr_assert(exists_under("logs/run_evaluation/cut/gold/pallets__flask-1/report.json"), "no report in time");
	cr_assert_eq(kill(-(pid_t)pid, SIGKILL), 0);
	while (kill((pid_t)pid, 0) == 0 && pl_now() < deadline)
		nap();
	/* no summary: the run was killed before its end */
	cr_assert_null(summary("gold", "cut"), "a killed run writes no summary");

	pl_buf_reset(&a);
	pl_buf_printf(&a, "bench swe eval %s --predictions gold --run-id cut", common_args.ptr);
	r = plait_in(a.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.err.ptr, "already done"), "the finished instance is not run again: %s", r.err.ptr);
	test_run_release(&r);
	resumed = summary("gold", "cut");
	cr_assert_not_null(resumed);
	cr_assert_str_eq(resumed, full);
	free(full);
	free(resumed);
	pl_buf_release(&out);
	pl_buf_release(&a);
}

Test(bench_cmd, shards_merge_into_the_whole_run)
{
	char *whole, *merged, *s1, *s2;
	pl_buf a = PL_BUF_INIT;
	test_run r;

	eval_run("whole", "", 0);
	eval_run("split", "--shard 1/2", 0);
	eval_run("split", "--shard 2/2 --json", 0);
	s1 = summary("gold", "split.shard-1-of-2");
	s2 = summary("gold", "split.shard-2-of-2");
	cr_assert(s1 && s2);
	/* the shards partition the instances */
	cr_assert(strstr(s1, "\"total_instances\": 1,") && strstr(s2, "\"total_instances\": 1,"), "%s\n%s", s1, s2);
	pl_buf_printf(&a, "bench swe merge '%s/gold.split.shard-1-of-2.json' '%s/gold.split.shard-2-of-2.json'",
		      fx.dir.ptr, fx.dir.ptr);
	r = plait_in(a.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, "Instances resolved: 2\n"));
	test_run_release(&r);
	whole = summary("gold", "whole");
	merged = summary("gold", "split");
	cr_assert_str_eq(merged, whole);
	/* a shard given twice is refused */
	pl_buf_reset(&a);
	pl_buf_printf(&a, "bench swe merge '%s/gold.split.shard-1-of-2.json' '%s/gold.split.shard-1-of-2.json'",
		      fx.dir.ptr, fx.dir.ptr);
	r = plait_in(a.ptr);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err.ptr, "is in summaries 1 and 2: they are not shards of one run"), "%s", r.err.ptr);
	test_run_release(&r);
	free(whole);
	free(merged);
	free(s1);
	free(s2);
	pl_buf_release(&a);
}

/* The Slurm script: every array task, then the merge, run here. */
Test(bench_cmd, slurm_job_array_runs_locally)
{
	const char *root = getenv("PLAIT_ROOT");
	char *whole, *merged;
	int k;

	cr_assert(root);
	eval_run("whole", "", 0);
	for (k = 1; k <= 2; k++)
		cr_assert_eq(test_sh(NULL,
				     "cd '%s' && SLURM_ARRAY_TASK_ID=%d SLURM_ARRAY_TASK_COUNT=2 PLAIT='%s' DATASET='%s' "
				     "PREDICTIONS=gold RUN_ID=slurm REPOS='%s' WORKERS=2 "
				     "EVAL_ARGS=--instance-ids=pallets__flask-1,pallets__flask-2 "
				     "bash '%s/configs/cluster/slurm-swe-eval.sh' >/dev/null 2>&1",
				     fx.dir.ptr, k, test_plait_bin(), fx.dataset.ptr, fx.repos.ptr, root),
			     0, "shard %d", k);
	cr_assert_eq(test_sh(NULL, "cd '%s' && RUN_ID=slurm PLAIT='%s' bash '%s/configs/cluster/slurm-swe-eval.sh' merge "
				   ">/dev/null 2>&1",
			     fx.dir.ptr, test_plait_bin(), root),
		     0);
	whole = summary("gold", "whole");
	merged = summary("gold", "slurm");
	cr_assert_not_null(merged);
	cr_assert_str_eq(merged, whole);
	free(whole);
	free(merged);
}

/* The Kubernetes manifest: the Indexed Job's command for every index, then
 * the merge Job's, with the manifest's environment (WORK pointed here). */
Test(bench_cmd, kubernetes_indexed_job_runs_locally)
{
	const char *root = getenv("PLAIT_ROOT");
	pl_buf py = PL_BUF_INIT, out = PL_BUF_INIT;
	char *whole, *merged;
	int st;

	cr_assert(root);
	if (test_sh(NULL, "/usr/bin/python3 -c 'import yaml' 2>/dev/null") != 0) {
		fprintf(stderr, "SKIPPED: Debian's python3-yaml (deps.txt) reads the manifest\n");
		cr_skip_test("python3-yaml missing");
	}
	eval_run("whole", "", 0);
	cr_assert_eq(test_sh(NULL, "mkdir -p '%s/work/reports' && ln -s '%s' '%s/work/repos'", fx.dir.ptr, fx.repos.ptr,
			     fx.dir.ptr),
		     0);
	/* the manifest's jobs, checked, then run index by index */
	pl_buf_printf(&py,
		      "import os, subprocess, sys, yaml\n"
		      "docs = list(yaml.safe_load_all(open(sys.argv[1])))\n"
		      "jobs = {d['metadata']['name']: d for d in docs}\n"
		      "ev, mg = jobs['plait-swe-eval'], jobs['plait-swe-merge']\n"
		      "assert ev['kind'] == 'Job' and ev['spec']['completionMode'] == 'Indexed'\n"
		      "n = ev['spec']['completions']\n"
		      "assert ev['spec']['parallelism'] == n\n"
		      "def run(job, extra):\n"
		      "    c = job['spec']['template']['spec']['containers'][0]\n"
		      "    env = {e['name']: e['value'] for e in c['env']}\n"
		      "    assert job is mg or int(env['SHARDS']) == n\n"
		      "    env.update(extra)\n"
		      "    env['PATH'] = os.environ['PATH']\n"
		      /* the cluster's image has plait installed, profiles in
		       * PREFIX/share/plait; here they are the source tree's */
		      "    env['PLAIT_ROOT'] = os.environ['PLAIT_ROOT']\n"
		      "    env.update({k: v for k, v in os.environ.items() if k.endswith('SAN_OPTIONS')})\n"
		      "    subprocess.run(c['command'] + c['args'], env=env, check=True, stdout=subprocess.DEVNULL)\n"
		      "local = {'WORK': sys.argv[2], 'PLAIT': sys.argv[3], 'DATASET': sys.argv[4], 'PREDICTIONS': 'gold',\n"
		      "         'SHARDS': '2', 'EVAL_ARGS': '--instance-ids pallets__flask-1,pallets__flask-2'}\n"
		      "for i in range(2):\n"
		      "    run(ev, dict(local, JOB_COMPLETION_INDEX=str(i)))\n"
		      "run(mg, {'WORK': sys.argv[2], 'PLAIT': sys.argv[3], 'SHARDS': '2', 'WAIT_SECONDS': '0'})\n");
	pl_path_join(&out, fx.dir.ptr, "k8s.py");
	cr_assert_eq(pl_file_write_atomic(out.ptr, py.ptr, py.len, 0644, NULL), 0);
	pl_buf_reset(&out);
	st = test_sh(&out, "cd '%s' && /usr/bin/python3 k8s.py '%s/configs/cluster/k8s-swe-eval.yaml' '%s/work' '%s' '%s' 2>&1",
		     fx.dir.ptr, root, fx.dir.ptr, test_plait_bin(), fx.dataset.ptr);
	cr_assert_eq(st, 0, "%s", out.ptr);
	whole = summary("gold", "whole");
	pl_buf_reset(&py);
	pl_path_join(&py, fx.dir.ptr, "work/reports/gold.k8s-run.json");
	merged = read_or_null(py.ptr);
	cr_assert_not_null(merged);
	cr_assert_str_eq(merged, whole);
	free(whole);
	free(merged);
	pl_buf_release(&py);
	pl_buf_release(&out);
}

/* v4.1 makes gold predictions of the whole dataset (submitted 3), v5 of
 * the selected instances only (submitted 1). */
Test(bench_cmd, gold_submissions_v4_and_v5)
{
	pl_buf a = PL_BUF_INIT;
	test_run r;

	pl_buf_printf(&a, "bench swe eval %s --predictions gold --run-id g4 --instance-ids pallets__flask-1", env_args.ptr);
	r = plait_in(a.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, "Total instances: 1\nInstances submitted: 3\n"), "%s", r.out.ptr);
	test_run_release(&r);
	pl_buf_reset(&a);
	pl_buf_printf(&a, "bench swe eval %s --predictions gold --run-id g5 --grading v5 --instance-ids pallets__flask-1",
		      env_args.ptr);
	r = plait_in(a.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, "Total instances: 1\nInstances submitted: 1\nInstances completed: 1\n"
				    "Instances incomplete: 0\nInstances resolved: 1\nInstances unresolved: 0\n"
				    "Instances with likely infrastructure failures: 0\n"),
		  "%s", r.out.ptr);
	test_run_release(&r);
	pl_buf_release(&a);
}

/* Ctrl-C: no new instance starts, the one in flight finishes, the summary
 * is written, exit 130; running again finishes the run. */
Test(bench_cmd, ctrl_c_stops_cleanly_and_the_run_resumes)
{
	pl_buf out = PL_BUF_INIT, a = PL_BUF_INIT;
	char *s;
	long pid;
	double deadline;
	test_run r;

	/* int.pid: plait's pid; int.status: its exit status */
	cr_assert_eq(test_sh(NULL, "cd '%s' && ('%s' bench swe eval %s --predictions gold --run-id int >int.out "
				   "2>int.err </dev/null & echo $! > int.pid.tmp; mv int.pid.tmp int.pid; wait $!; "
				   "echo $? > int.status.tmp; mv int.status.tmp int.status) >/dev/null 2>&1 &",
			     fx.dir.ptr, test_plait_bin(), common_args.ptr),
		     0);
	deadline = pl_now() + 300;
	while (!exists_under("int.pid") && pl_now() < deadline)
		nap();
	s = swe_read(fx.dir.ptr, "int.pid");
	pid = atol(s);
	free(s);
	cr_assert_gt(pid, 1);
	/* the first instance has started: its log directory exists */
	while (!exists_under("logs/run_evaluation/int/gold/pallets__flask-1/run_instance.log") && pl_now() < deadline)
		nap();
	cr_assert_eq(kill((pid_t)pid, SIGINT), 0);
	while (!exists_under("int.status") && pl_now() < deadline)
		nap();
	s = swe_read(fx.dir.ptr, "int.status");
	cr_assert_str_eq(s, "130\n");
	free(s);
	s = swe_read(fx.dir.ptr, "int.err");
	cr_assert(strstr(s, "stopping after the instances in flight"), "%s", s);
	cr_assert(strstr(s, "stopped: 1 of 2 instances not started (run again to resume)"), "%s", s);
	free(s);
	/* the instance in flight finished; the summary says what is done */
	cr_assert(exists_under("logs/run_evaluation/int/gold/pallets__flask-1/report.json"));
	cr_assert_not(exists_under("logs/run_evaluation/int/gold/pallets__flask-2"));
	s = summary("gold", "int");
	cr_assert(s && strstr(s, "\"resolved_ids\": [\n        \"pallets__flask-1\"\n    ],"), "%s", s);
	free(s);
	pl_buf_printf(&a, "bench swe eval %s --predictions gold --run-id int", common_args.ptr);
	r = plait_in(a.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, "Instances resolved: 2\n"), "%s", r.out.ptr);
	test_run_release(&r);
	pl_buf_release(&out);
	pl_buf_release(&a);
}

/* On a terminal: a status line rewritten in place, coloured outcomes
 * unless NO_COLOR is set. */
Test(bench_cmd, progress_on_a_terminal)
{
	const char *args[] = { "bench", "swe", "eval", "--dataset", fx.dataset.ptr, "--repos", fx.repos.ptr,
			       "--predictions", "gold", "--run-id", "tty", "--instance-ids", "pallets__flask-1", NULL };
	const char *no_color[] = { "NO_COLOR=1", NULL };
	test_exec_opts o = { 0 };
	test_run r;

	o.cwd = fx.dir.ptr;
	o.pty = true;
	o.env = no_color;
	r = test_plait_argv(args, &o);
	cr_assert_eq(r.status, 0, "%s", r.out.ptr);
	cr_assert(strstr(r.out.ptr, "\r\033[Kresolved   pallets__flask-1 ("), "%s", r.out.ptr);
	cr_assert(strstr(r.out.ptr, "[1/1] resolved 1, unresolved 0, errors 0, running 0, ETA 0s"), "%s", r.out.ptr);
	cr_assert_null(strstr(r.out.ptr, "\033[32m"), "NO_COLOR is respected");
	test_run_release(&r);
	if (getenv("NO_COLOR")) {
		fprintf(stderr, "NO_COLOR is set around the tests: the coloured case is not checked\n");
		return;
	}
	args[10] = "tty2";
	o.env = NULL;
	r = test_plait_argv(args, &o);
	cr_assert_eq(r.status, 0, "%s", r.out.ptr);
	cr_assert(strstr(r.out.ptr, "\r\033[K\033[32mresolved  \033[0m pallets__flask-1 ("), "%s", r.out.ptr);
	test_run_release(&r);
}

/* run: the agent (a scripted OpenAI-compatible server) makes the
 * predictions, then they are evaluated. */
Test(bench_cmd, run_infers_then_evaluates)
{
	static const ss_call fix = { "str_replace", "{\"path\": \"calc/__init__.py\", \"old_str\": \"return a - b\", "
						    "\"new_str\": \"return a + b\"}" };
	static const ss_call submit = { "submit", "{}" };
	ss_server srv;
	pl_buf a = PL_BUF_INIT;
	test_run r;
	char *preds;

	memset(&srv, 0, sizeof(srv));
	cr_assert(ss_start(&srv));
	ss_push(&srv, ss_openai(NULL, &fix, 1, NULL, 100, 10));
	ss_push(&srv, ss_openai(NULL, &submit, 1, NULL, 120, 5));
	pl_buf_printf(&a,
		      "bench swe run %s --instance-ids pallets__flask-1 --run-id agent --backend openai "
		      "--api-base http://127.0.0.1:%d --api-model scripted --set backend.stream=false --model-name org/m",
		      env_args.ptr, srv.port);
	r = plait_in(a.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.err.ptr, "1 prediction added to agent.preds.jsonl"), "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, "Instances submitted: 1\nInstances completed: 1\nInstances incomplete: 0\n"
				    "Instances resolved: 1\n"),
		  "%s", r.out.ptr);
	test_run_release(&r);
	preds = swe_read(fx.dir.ptr, "agent.preds.jsonl");
	cr_assert(strstr(preds, "\"model_name_or_path\":\"org/m\"") || strstr(preds, "\"model_name_or_path\": \"org/m\""),
		  "%s", preds);
	free(preds);
	cr_assert(exists_under("org__m.agent.json"));
	ss_stop(&srv);
	pl_buf_release(&a);
}

/* A model whose first answers wait for the test (or a deadline): the
 * agents are in flight until then. */
typedef struct held {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool release;
	int hold_from; /* first turns before this one are answered at once */
	int first_turns;
} held;

static ss_resp held_first_turns(void *ctx, ss_server *s, size_t i, const ss_req *req)
{
	static const ss_call fix = { "str_replace", "{\"path\": \"calc/__init__.py\", \"old_str\": \"return a - b\", "
						    "\"new_str\": \"return a + b\"}" };
	static const ss_call submit = { "submit", "{}" };
	held *h = ctx;
	double deadline = ss_now() + 120;
	int k;

	(void)s, (void)i;
	if (ss_assistant_turns(req) > 0)
		return ss_openai(NULL, &submit, 1, NULL, 120, 5);
	pthread_mutex_lock(&h->mu);
	k = h->first_turns++;
	while (k >= h->hold_from && !h->release && ss_now() < deadline) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&h->cv, &h->mu, &ts);
	}
	pthread_mutex_unlock(&h->mu);
	return ss_openai(NULL, &fix, 1, NULL, 100, 10);
}

/* Ctrl-C during inference: the agents in flight are cancelled, their
 * instances left out, exit 130; running again makes every prediction. */
Test(bench_cmd, ctrl_c_during_inference_and_the_run_resumes)
{
	ss_server srv;
	held h = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, 0 };
	pl_buf a = PL_BUF_INIT, model = PL_BUF_INIT;
	double deadline;
	test_run r;
	char *s;
	long pid;

	memset(&srv, 0, sizeof(srv));
	cr_assert(ss_start(&srv));
	ss_set_handler(&srv, held_first_turns, &h);
	pl_buf_printf(&model, "--backend openai --api-base http://127.0.0.1:%d --api-model scripted "
			      "--set backend.stream=false --set backend.max_retries=0",
		      srv.port);
	cr_assert_eq(test_sh(NULL, "cd '%s' && ('%s' bench swe infer %s --out inf.jsonl --workers 2 %s >inf.out "
				   "2>inf.err </dev/null & echo $! > inf.pid.tmp; mv inf.pid.tmp inf.pid; wait $!; "
				   "echo $? > inf.status.tmp; mv inf.status.tmp inf.status) >/dev/null 2>&1 &",
			     fx.dir.ptr, test_plait_bin(), common_args.ptr, model.ptr),
		     0);
	deadline = pl_now() + 120;
	while (!exists_under("inf.pid") && pl_now() < deadline)
		nap();
	s = swe_read(fx.dir.ptr, "inf.pid");
	pid = atol(s);
	free(s);
	cr_assert_gt(pid, 1);
	/* both agents wait for the model */
	while (ss_requests(&srv) < 2 && pl_now() < deadline)
		nap();
	cr_assert_eq(ss_requests(&srv), 2);
	cr_assert(dir_under("inf.jsonl.work/pallets__flask-1") && dir_under("inf.jsonl.work/pallets__flask-2"),
		  "each agent in its checkout");
	cr_assert_eq(kill((pid_t)pid, SIGINT), 0);
	while (!exists_under("inf.status") && pl_now() < deadline)
		nap();
	pthread_mutex_lock(&h.mu);
	h.release = true;
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.mu);
	s = swe_read(fx.dir.ptr, "inf.status");
	cr_assert_str_eq(s, "130\n");
	free(s);
	s = swe_read(fx.dir.ptr, "inf.err");
	cr_assert(strstr(s, "the agents in flight are cancelled"), "%s", s);
	cr_assert(strstr(s, "pallets__flask-1: cancelled") && strstr(s, "pallets__flask-2: cancelled"), "%s", s);
	cr_assert(strstr(s, "stopped: 2 of 2 instances without a prediction (run again to resume)"), "%s", s);
	free(s);
	s = swe_read(fx.dir.ptr, "inf.jsonl");
	cr_assert_str_eq(s, "", "no prediction for a cancelled agent");
	free(s);
	cr_assert_not(dir_under("inf.jsonl.work/pallets__flask-1"), "the checkouts are removed");

	pl_buf_printf(&a, "bench swe infer %s --out inf.jsonl --workers 2 %s", common_args.ptr, model.ptr);
	r = plait_in(a.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.err.ptr, "plait bench swe: 2 to infer\n"), "%s", r.err.ptr);
	cr_assert(strstr(r.err.ptr, "2 predictions added to inf.jsonl\n"), "%s", r.err.ptr);
	test_run_release(&r);
	s = swe_read(fx.dir.ptr, "inf.jsonl");
	cr_assert(strstr(s, "\"instance_id\": \"pallets__flask-1\"") || strstr(s, "\"instance_id\":\"pallets__flask-1\""),
		  "%s", s);
	cr_assert(strstr(s, "pallets__flask-2"), "%s", s);
	free(s);
	ss_stop(&srv);
	pl_buf_release(&a);
	pl_buf_release(&model);
}

/* SIGKILL during inference: the predictions file holds the finished
 * instance, whole; the same command again does the rest. */
Test(bench_cmd, a_killed_inference_resumes)
{
	ss_server srv;
	held h = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 1, 0 };
	pl_buf a = PL_BUF_INIT;
	double deadline;
	test_run r;
	char *s;
	long pid;

	memset(&srv, 0, sizeof(srv));
	cr_assert(ss_start(&srv));
	ss_set_handler(&srv, held_first_turns, &h);
	pl_buf_printf(&a, "bench swe infer %s --out kill.jsonl --backend openai --api-base http://127.0.0.1:%d "
			  "--api-model scripted --set backend.stream=false --model-name org/m",
		      common_args.ptr, srv.port);
	cr_assert_eq(test_sh(NULL, "cd '%s' && ('%s' %s >kill.out 2>kill.err </dev/null & echo $! > kill.pid.tmp; "
				   "mv kill.pid.tmp kill.pid; wait $!) >/dev/null 2>&1 &",
			     fx.dir.ptr, test_plait_bin(), a.ptr),
		     0);
	deadline = pl_now() + 120;
	while (!exists_under("kill.pid") && pl_now() < deadline)
		nap();
	s = swe_read(fx.dir.ptr, "kill.pid");
	pid = atol(s);
	free(s);
	cr_assert_gt(pid, 1);
	/* one worker: the first instance's fix and submit, then the second's first turn, held */
	while (ss_requests(&srv) < 3 && pl_now() < deadline)
		nap();
	cr_assert_eq(ss_requests(&srv), 3);
	cr_assert_eq(kill((pid_t)pid, SIGKILL), 0);
	while (kill((pid_t)pid, 0) == 0 && pl_now() < deadline)
		nap();
	s = swe_read(fx.dir.ptr, "kill.jsonl");
	cr_assert(strstr(s, "pallets__flask-1") && !strstr(s, "pallets__flask-2"), "%s", s);
	cr_assert(strstr(s, "+    return a + b\\n"), "%s", s);
	free(s);
	cr_assert(dir_under("kill.jsonl.work/pallets__flask-2"), "the killed instance's checkout is left");

	pthread_mutex_lock(&h.mu);
	h.release = true;
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.mu);
	r = plait_in(a.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.err.ptr, "plait bench swe: 1 to infer, 1 already predicted\n"), "%s", r.err.ptr);
	cr_assert(strstr(r.err.ptr, "1 prediction added to kill.jsonl\n"), "%s", r.err.ptr);
	test_run_release(&r);
	s = swe_read(fx.dir.ptr, "kill.jsonl");
	cr_assert(strstr(s, "pallets__flask-1") && strstr(s, "pallets__flask-2"), "%s", s);
	free(s);
	cr_assert_not(dir_under("kill.jsonl.work/pallets__flask-2"), "the stale checkout was replaced, then removed");
	ss_stop(&srv);
	pl_buf_release(&a);
}
