/* Evaluation end to end on instances the tests make (swe_fixture.h): real
 * git repositories, real sandboxes, Debian's python3 and pytest, under
 * --env host and under --env rootfs:DIR with a root holding the host's
 * /usr. */
#include "bench_test.h"
#include "swe_fixture.h"

#include "bench-harness/internal.h"

static swe_fixture fx;

static void setup(void)
{
	swe_fixture_init(&fx);
}

static void teardown(void)
{
	swe_fixture_release(&fx);
}

TestSuite(eval, .init = setup, .fini = teardown, .timeout = 600);

static bench_eval_opts opts(const char *run_id)
{
	static pl_buf logs = PL_BUF_INIT, reports = PL_BUF_INIT;
	bench_eval_opts o;

	memset(&o, 0, sizeof(o));
	pl_buf_reset(&logs);
	pl_buf_reset(&reports);
	pl_path_join(&logs, fx.dir.ptr, "logs");
	pl_path_join(&reports, fx.dir.ptr, "reports");
	o.run_id = run_id;
	o.log_dir = logs.ptr;
	o.report_dir = reports.ptr;
	o.repos_dir = fx.repos.ptr;
	o.env = BENCH_ENV_HOST;
	o.workers = 2;
	o.timeout = 300;
	return o;
}

static bench_dataset *dataset(const char *const *ids, size_t n)
{
	bench_dataset *ds = NULL;
	pl_err err = { 0 };

	cr_assert_eq(bench_dataset_load(&ds, fx.dataset.ptr, &err), 0, "%s", err.msg);
	if (n)
		cr_assert_eq(bench_dataset_select(ds, (char *const *)ids, n, &err), 0, "%s", err.msg);
	return ds;
}

static json_t *run(const bench_dataset *ds, const bench_preds *p, const bench_eval_opts *o, pl_buf *path)
{
	json_t *s = NULL;
	pl_err err = { 0 };

	cr_assert_eq(bench_eval(&s, path, ds, p, o, &err), 0, "%s", err.msg);
	return s;
}

static char *ids(const json_t *s, const char *key)
{
	const json_t *a = json_object_get(s, key);
	pl_buf b = PL_BUF_INIT;
	size_t i;

	cr_assert(json_is_array(a), "summary has no %s", key);
	for (i = 0; i < json_array_size(a); i++)
		pl_buf_printf(&b, "%s%s", i ? "," : "", json_string_value(json_array_get(a, i)));
	return pl_buf_detach(&b, NULL);
}

static void expect_ids(const json_t *s, const char *key, const char *want)
{
	char *got = ids(s, key);

	cr_expect_str_eq(got, want, "%s", key);
	free(got);
}

/* a file of the instance's log directory */
static char *log_file(const char *run_id, const char *model, const char *id, const char *name)
{
	pl_buf p = PL_BUF_INIT, b = PL_BUF_INIT;

	pl_path_join(&p, fx.dir.ptr, "logs");
	pl_buf_reset(&b);
	bench_instance_log_dir(&b, p.ptr, run_id, model, id);
	pl_buf_reset(&p);
	pl_path_join(&p, b.ptr, name);
	pl_buf_reset(&b);
	if (pl_file_read(&b, p.ptr, 0, NULL) < 0) {
		pl_buf_release(&p);
		pl_buf_release(&b);
		return NULL;
	}
	pl_buf_release(&p);
	return pl_buf_detach(&b, NULL);
}

static const char *const first_two[] = { "pallets__flask-1", "pallets__flask-2" };

Test(eval, gold_resolves_in_the_official_formats)
{
	bench_dataset *ds = dataset(first_two, 2);
	bench_preds *p = NULL;
	bench_eval_opts o = opts("gold-run");
	pl_buf path = PL_BUF_INIT, want = PL_BUF_INIT, script = PL_BUF_INIT;
	json_t *s;
	char *f;
	pl_err err = { 0 };

	cr_assert_eq(bench_preds_gold(&p, ds, &err), 0);
	s = run(ds, p, &o, &path);
	expect_ids(s, "resolved_ids", "pallets__flask-1,pallets__flask-2");
	expect_ids(s, "error_ids", "");
	cr_assert(pl_str_ends_with(path.ptr, "/reports/gold.gold-run.json"), "%s", path.ptr);
	/* the summary's bytes: make_run_report's keys, in its order */
	f = swe_read(fx.dir.ptr, "reports/gold.gold-run.json");
	cr_assert_str_eq(f, "{\n"
			    "    \"total_instances\": 2,\n"
			    "    \"submitted_instances\": 2,\n"
			    "    \"completed_instances\": 2,\n"
			    "    \"resolved_instances\": 2,\n"
			    "    \"unresolved_instances\": 0,\n"
			    "    \"empty_patch_instances\": 0,\n"
			    "    \"error_instances\": 0,\n"
			    "    \"completed_ids\": [\n        \"pallets__flask-1\",\n        \"pallets__flask-2\"\n    ],\n"
			    "    \"incomplete_ids\": [],\n"
			    "    \"empty_patch_ids\": [],\n"
			    "    \"submitted_ids\": [\n        \"pallets__flask-1\",\n        \"pallets__flask-2\"\n    ],\n"
			    "    \"resolved_ids\": [\n        \"pallets__flask-1\",\n        \"pallets__flask-2\"\n    ],\n"
			    "    \"unresolved_ids\": [],\n"
			    "    \"error_ids\": [],\n"
			    "    \"schema_version\": 2\n"
			    "}\n");
	free(f);
	/* report.json as get_eval_report writes it (no newline at the end) */
	f = log_file("gold-run", "gold", "pallets__flask-1", "report.json");
	cr_assert_str_eq(f, "{\n    \"pallets__flask-1\": {\n        \"patch_is_None\": false,\n"
			    "        \"patch_exists\": true,\n        \"patch_successfully_applied\": true,\n"
			    "        \"resolved\": true,\n        \"tests_status\": {\n            \"FAIL_TO_PASS\": {\n"
			    "                \"success\": [\n                    \"tests/test_calc.py::test_add\"\n"
			    "                ],\n                \"failure\": []\n            },\n"
			    "            \"PASS_TO_PASS\": {\n                \"success\": [\n"
			    "                    \"tests/test_calc.py::test_mul\"\n                ],\n"
			    "                \"failure\": []\n            },\n            \"FAIL_TO_FAIL\": {\n"
			    "                \"success\": [],\n                \"failure\": []\n            },\n"
			    "            \"PASS_TO_FAIL\": {\n                \"success\": [],\n"
			    "                \"failure\": []\n            }\n        }\n    }\n}");
	free(f);
	/* patch.diff verbatim, eval.sh the script, the output with xtrace */
	f = log_file("gold-run", "gold", "pallets__flask-1", "patch.diff");
	cr_assert_str_eq(f, fx.gold[0].ptr);
	free(f);
	f = log_file("gold-run", "gold", "pallets__flask-1", "eval.sh");
	cr_assert_eq(bench_eval_script(&script, &ds->items[0], BENCH_GRADING_V4, &err), 0);
	cr_assert_str_eq(f, script.ptr);
	free(f);
	f = log_file("gold-run", "gold", "pallets__flask-1", "test_output.txt");
	cr_assert(strstr(f, "+ : '>>>>> Start Test Output'\n"), "%s", f);
	cr_assert(strstr(f, "\nPASSED tests/test_calc.py::test_add\n"), "%s", f);
	cr_assert(strstr(f, "+ : '>>>>> End Test Output'\n"));
	free(f);
	f = log_file("gold-run", "gold", "pallets__flask-2", "run_instance.log");
	cr_assert(strstr(f, " - INFO - >>>>> Applied Patch:\n"), "%s", f);
	cr_assert(strstr(f, "Result for pallets__flask-2: resolved: True"));
	free(f);
	/* the checkouts are gone */
	pl_buf_reset(&want);
	pl_path_join(&want, fx.dir.ptr, "logs/plait-work");
	cr_assert_not(pl_dir_exists(want.ptr), "%s left behind", want.ptr);
	json_decref(s);
	bench_preds_free(p);
	bench_dataset_free(ds);
	pl_buf_release(&path);
	pl_buf_release(&want);
	pl_buf_release(&script);
}

Test(eval, empty_wrong_and_unappliable_patches)
{
	static const char *const all[] = { "pallets__flask-1", "pallets__flask-2", "pallets__flask-3" };
	const char *patches[3];
	bench_dataset *ds = dataset(NULL, 0);
	bench_preds *p = NULL;
	bench_eval_opts o = opts("mixed");
	pl_buf pp = PL_BUF_INIT, dir = PL_BUF_INIT;
	json_t *s;
	char *f;
	pl_err err = { 0 };

	patches[0] = "";                 /* empty: never run */
	patches[1] = fx.gold[0].ptr;      /* fixes add, not div: unresolved */
	patches[2] = "diff --git a/calc/__init__.py b/calc/__init__.py\n--- a/calc/__init__.py\n"
		     "+++ b/calc/__init__.py\n@@ -1,2 +1,2 @@\n def nothing_like_this(a, b):\n-    return 0\n"
		     "+    return 1\n"; /* applies nowhere: an error */
	swe_write_preds(&fx, "preds.jsonl", all, patches, 3);
	pl_path_join(&pp, fx.dir.ptr, "preds.jsonl");
	cr_assert_eq(bench_preds_load(&p, pp.ptr, &err), 0, "%s", err.msg);
	s = run(ds, p, &o, NULL);
	expect_ids(s, "empty_patch_ids", "pallets__flask-1");
	expect_ids(s, "unresolved_ids", "pallets__flask-2");
	expect_ids(s, "completed_ids", "pallets__flask-2");
	expect_ids(s, "error_ids", "pallets__flask-3");
	expect_ids(s, "resolved_ids", "");
	/* the empty one was not run at all; the failed patch left no report */
	pl_path_join(&dir, fx.dir.ptr, "logs/run_evaluation/mixed/m__1/pallets__flask-1");
	cr_assert_not(pl_dir_exists(dir.ptr));
	cr_assert_null(log_file("mixed", "m/1", "pallets__flask-3", "report.json"));
	cr_assert_null(log_file("mixed", "m/1", "pallets__flask-3", "test_output.txt"));
	f = log_file("mixed", "m/1", "pallets__flask-3", "run_instance.log");
	cr_assert(strstr(f, "Failed to apply patch to container: git apply --verbose\n"), "%s", f);
	cr_assert(strstr(f, "Failed to apply patch to container: git apply --verbose --reject\n"));
	cr_assert(strstr(f, "Failed to apply patch to container: patch --batch --fuzz=5 -p1 -i\n"));
	cr_assert(strstr(f, " - INFO - >>>>> Patch Apply Failed:\n"));
	free(f);
	f = log_file("mixed", "m/1", "pallets__flask-2", "report.json");
	cr_assert(strstr(f, "\"resolved\": false"));
	cr_assert(strstr(f, "\"failure\": [\n                    \"tests/test_div.py::test_div\"\n"), "%s", f);
	free(f);
	json_decref(s);
	bench_preds_free(p);
	/* all empty: nothing runs, everything counts as empty_patch */
	patches[1] = patches[2] = "";
	swe_write_preds(&fx, "empty.jsonl", all, patches, 3);
	pl_buf_reset(&pp);
	pl_path_join(&pp, fx.dir.ptr, "empty.jsonl");
	cr_assert_eq(bench_preds_load(&p, pp.ptr, &err), 0, "%s", err.msg);
	o = opts("empty");
	s = run(ds, p, &o, NULL);
	cr_assert_eq(json_integer_value(json_object_get(s, "empty_patch_instances")), 3);
	cr_assert_eq(json_integer_value(json_object_get(s, "completed_instances")), 0);
	cr_assert_eq(json_integer_value(json_object_get(s, "error_instances")), 0);
	pl_buf_reset(&dir);
	pl_path_join(&dir, fx.dir.ptr, "logs/run_evaluation/empty");
	cr_assert_not(pl_dir_exists(dir.ptr), "nothing runs for empty patches");
	json_decref(s);
	bench_preds_free(p);
	bench_dataset_free(ds);
	pl_buf_release(&pp);
	pl_buf_release(&dir);
}

Test(eval, a_hanging_test_is_an_error_after_the_timeout)
{
	static const char *const hang[] = { "pallets__flask-3" };
	bench_dataset *ds = dataset(hang, 1);
	bench_preds *p = NULL;
	bench_eval_opts o = opts("hang");
	json_t *s;
	char *f;
	pl_err err = { 0 };

	/* long enough for the script to reach the test on a loaded machine */
	o.timeout = 20;
	cr_assert_eq(bench_preds_gold(&p, ds, &err), 0);
	s = run(ds, p, &o, NULL);
	expect_ids(s, "error_ids", "pallets__flask-3");
	expect_ids(s, "completed_ids", "");
	f = log_file("hang", "gold", "pallets__flask-3", "test_output.txt");
	cr_assert_not_null(f);
	cr_assert(strstr(f, "+ : '>>>>> Start Test Output'\n"));
	cr_assert(pl_str_ends_with(f, "\n\nTimeout error: 20 seconds exceeded."), "%s", f);
	free(f);
	cr_assert_null(log_file("hang", "gold", "pallets__flask-3", "report.json"));
	f = log_file("hang", "gold", "pallets__flask-3", "run_instance.log");
	cr_assert(strstr(f, "Test timed out after 20 seconds."));
	free(f);
	json_decref(s);
	bench_preds_free(p);
	bench_dataset_free(ds);
}

typedef struct seen {
	size_t calls, total, cached;
	char last[64];
} seen;

static void count(void *ctx, const bench_progress *pg)
{
	seen *s = ctx;

	s->calls++;
	s->total = pg->total;
	s->cached = pg->cached;
	if (pg->instance_id)
		snprintf(s->last, sizeof(s->last), "%s", pg->instance_id);
}

Test(eval, resumes_without_running_finished_instances_and_regrades)
{
	static const char *const one[] = { "pallets__flask-1" };
	bench_dataset *ds = dataset(one, 1);
	bench_preds *p = NULL;
	bench_eval_opts o = opts("again");
	seen sn = { 0 };
	json_t *s1, *s2, *s3;
	char *r1, *r2, *out;
	pl_buf path = PL_BUF_INIT, b1 = PL_BUF_INIT, b2 = PL_BUF_INIT;
	pl_err err = { 0 };
	size_t n = 0;

	cr_assert_eq(bench_preds_gold(&p, ds, &err), 0);
	o.on_progress = count;
	o.progress_ctx = &sn;
	s1 = run(ds, p, &o, NULL);
	cr_assert_eq(sn.total, 1);
	cr_assert_str_eq(sn.last, "pallets__flask-1");
	r1 = log_file("again", "gold", "pallets__flask-1", "report.json");
	memset(&sn, 0, sizeof(sn));
	s2 = run(ds, p, &o, NULL);
	/* nothing to run: one progress call, the instance cached */
	cr_assert_eq(sn.calls, 1);
	cr_assert_eq(sn.total, 0);
	cr_assert_eq(sn.cached, 1);
	r2 = log_file("again", "gold", "pallets__flask-1", "report.json");
	cr_assert_str_eq(r1, r2);
	bench_json_dump_py(&b1, s1, 4);
	bench_json_dump_py(&b2, s2, 4);
	cr_assert_str_eq(b1.ptr, b2.ptr);
	/* regrading reads test_output.txt: a FAILED line there flips it */
	out = log_file("again", "gold", "pallets__flask-1", "test_output.txt");
	{
		char *at = strstr(out, "\nPASSED tests/test_calc.py::test_add");
		pl_buf t = PL_BUF_INIT;

		cr_assert_not_null(at);
		memcpy(at + 1, "FAILED", 6);
		pl_path_join(&path, fx.dir.ptr, "logs/run_evaluation/again/gold/pallets__flask-1/test_output.txt");
		cr_assert_eq(pl_file_write_atomic(path.ptr, out, strlen(out), 0644, NULL), 0);
		pl_buf_release(&t);
	}
	cr_assert_eq(bench_regrade(&s3, NULL, &n, ds, p, &o, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 1);
	expect_ids(s3, "unresolved_ids", "pallets__flask-1");
	free(r2);
	r2 = log_file("again", "gold", "pallets__flask-1", "report.json");
	cr_assert(strstr(r2, "\"failure\": [\n                    \"tests/test_calc.py::test_add\""), "%s", r2);
	free(r1);
	free(r2);
	free(out);
	json_decref(s1);
	json_decref(s2);
	json_decref(s3);
	bench_preds_free(p);
	bench_dataset_free(ds);
	pl_buf_release(&path);
	pl_buf_release(&b1);
	pl_buf_release(&b2);
}

Test(eval, v5_grading_writes_v5_files)
{
	static const char *const one[] = { "pallets__flask-1" };
	bench_dataset *ds = dataset(one, 1);
	bench_preds *p = NULL;
	bench_eval_opts o = opts("five");
	json_t *s, *meta;
	char *f;
	pl_buf path = PL_BUF_INIT;
	pl_err err = { 0 };
	const char *key;
	json_t *v;
	pl_buf keys = PL_BUF_INIT;

	o.grading = BENCH_GRADING_V5;
	o.dataset_name = "fixture";
	cr_assert_eq(bench_preds_gold(&p, ds, &err), 0);
	s = run(ds, p, &o, NULL);
	expect_ids(s, "resolved_ids", "pallets__flask-1");
	json_object_foreach(s, key, v) pl_buf_printf(&keys, "%s ", key);
	cr_assert_str_eq(keys.ptr, "total_instances submitted_instances completed_instances resolved_instances "
				   "unresolved_instances infra_failure_instances ambiguous_failure_instances "
				   "empty_patch_instances error_instances completed_ids incomplete_ids empty_patch_ids "
				   "submitted_ids resolved_ids unresolved_ids infra_failure_ids ambiguous_failure_ids "
				   "failure_reasons error_ids schema_version unstopped_instances unstopped_containers "
				   "unremoved_images ");
	f = log_file("five", "gold", "pallets__flask-1", "report.json");
	cr_assert(strstr(f, "\"resolved\": true,\n        \"infra_failure\": false,\n"), "%s", f);
	free(f);
	f = log_file("five", "gold", "pallets__flask-1", "eval.sh");
	cr_assert(strstr(f, "\nSWEBENCH_TEST_EXIT_CODE=$?\n: '>>>>> End Test Output'\n"));
	free(f);
	f = log_file("five", "gold", "pallets__flask-1", "test_output.txt");
	cr_assert(strstr(f, "\n>>>>> Test Exit Code: 0\n"), "%s", f);
	free(f);
	pl_path_join(&path, fx.dir.ptr, "logs/run_evaluation/five/run.json");
	cr_assert_eq(pl_json_load_file(&meta, path.ptr, &err), 0, "%s", err.msg);
	cr_assert_str_eq(json_string_value(json_object_get(meta, "dataset")), "fixture");
	cr_assert_str_eq(json_string_value(json_object_get(meta, "split")), "test");
	cr_assert(json_is_null(json_object_get(meta, "task_repo")));
	json_decref(meta);
	json_decref(s);
	bench_preds_free(p);
	bench_dataset_free(ds);
	pl_buf_release(&path);
	pl_buf_release(&keys);
}

Test(eval, setup_errors_stop_the_run)
{
	bench_dataset *ds = dataset(first_two, 2);
	bench_preds *p = NULL;
	bench_eval_opts o = opts("bad");
	json_t *s = NULL;
	pl_err err = { 0 };

	cr_assert_eq(bench_preds_gold(&p, ds, &err), 0);
	o.repos_dir = "/nonexistent-plait-repos";
	cr_assert_eq(bench_eval(&s, NULL, ds, p, &o, &err), PL_ENOTFOUND);
	cr_assert_str_eq(err.msg, "repositories directory '/nonexistent-plait-repos' does not exist");
	o = opts("a/b");
	cr_assert_eq(bench_eval(&s, NULL, ds, p, &o, &err), PL_EINVAL);
	cr_assert(strstr(err.msg, "must not contain '/'"));
	o = opts("bad");
	o.sandbox_profile = "/nonexistent-profile.json";
	cr_assert_lt(bench_eval(&s, NULL, ds, p, &o, &err), 0);
	cr_assert(strstr(err.msg, "nonexistent-profile.json"), "%s", err.msg);
	cr_assert_null(s);
	/* a missing mirror is the instance's error, named in its log */
	o = opts("nomirror");
	{
		pl_buf empty = PL_BUF_INIT;
		char *f;

		pl_path_join(&empty, fx.dir.ptr, "norepos");
		cr_assert_eq(pl_mkdir_p(empty.ptr, 0755, NULL), 0);
		o.repos_dir = empty.ptr;
		s = run(ds, p, &o, NULL);
		expect_ids(s, "error_ids", "pallets__flask-1,pallets__flask-2");
		f = log_file("nomirror", "gold", "pallets__flask-1", "run_instance.log");
		cr_assert(strstr(f, "repository 'pallets/flask' not found as "), "%s", f);
		free(f);
		pl_buf_release(&empty);
	}
	json_decref(s);
	bench_preds_free(p);
	bench_dataset_free(ds);
}

/* An image root: DIR/<instance_id>, else DIR/<owner__name>/<version>,
 * else DIR itself; here a root of the host's /usr with the shim as its
 * conda, at DIR/pallets__flask/2.3. */
Test(eval, rootfs_env_finds_the_root_of_the_environment)
{
	static const char *const one[] = { "pallets__flask-1" };
	bench_dataset *ds = dataset(one, 1);
	bench_preds *p = NULL;
	bench_eval_opts o = opts("rootfs");
	pl_buf roots = PL_BUF_INIT, env = PL_BUF_INIT;
	json_t *s;
	char *f;
	pl_err err = { 0 };

	pl_path_join(&roots, fx.dir.ptr, "roots");
	pl_path_join(&env, roots.ptr, "pallets__flask");
	cr_assert_eq(pl_mkdir_p(env.ptr, 0755, NULL), 0);
	pl_buf_puts(&env, "/2.3");
	cr_assert_eq(rename(fx.rootfs.ptr, env.ptr), 0);
	o.env = BENCH_ENV_ROOTFS;
	o.rootfs = roots.ptr;
	o.sandbox_profile = fx.profile.ptr;
	cr_assert_eq(bench_preds_gold(&p, ds, &err), 0);
	s = run(ds, p, &o, NULL);
	expect_ids(s, "resolved_ids", "pallets__flask-1");
	f = log_file("rootfs", "gold", "pallets__flask-1", "run_instance.log");
	cr_assert(strstr(f, "Sandbox for pallets__flask-1 started (") && strstr(f, "/roots/pallets__flask/2.3)"), "%s", f);
	free(f);
	cr_assert_eq(rename(env.ptr, fx.rootfs.ptr), 0);
	json_decref(s);
	bench_preds_free(p);
	bench_dataset_free(ds);
	pl_buf_release(&roots);
	pl_buf_release(&env);
}
