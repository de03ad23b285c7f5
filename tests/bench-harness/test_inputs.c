/* Datasets and predictions as the official harness reads them: plain, xz
 * and gzip files, JSON Lines and JSON, names looked up in the data
 * directories, and every bad input with its message. */
#include "bench_test.h"

#include "tests/shell.h"

static pl_buf dir = PL_BUF_INIT;

static void setup(void)
{
	cr_assert_eq(pl_mkdtemp(&dir, "plait-test-inputs", NULL), 0);
}

static void teardown(void)
{
	pl_rm_rf(dir.ptr, NULL);
	pl_buf_release(&dir);
}

TestSuite(inputs, .init = setup, .fini = teardown, .timeout = 60);

static const char line1[] =
	"{\"instance_id\": \"o__r-1\", \"repo\": \"o/r\", \"base_commit\": \"abc\", \"patch\": \"P1\", \"test_patch\": \"T1\", "
	"\"version\": \"3.0\", \"FAIL_TO_PASS\": \"[\\\"t::a\\\"]\", \"PASS_TO_PASS\": \"[]\", \"eval_type\": \"pass_and_fail\"}\n";
static const char line2[] =
	"{\"instance_id\": \"o__r-2\", \"repo\": \"o/r\", \"base_commit\": \"def\", \"patch\": \"P2\", \"test_patch\": \"T2\", "
	"\"version\": \"3.1\", \"FAIL_TO_PASS\": [\"t::b\", \"t::c[x y]\"], \"PASS_TO_PASS\": \"[\\\"t::d\\\"]\"}\n";

static char *path(const char *name)
{
	pl_buf p = PL_BUF_INIT;

	pl_path_join(&p, dir.ptr, name);
	return pl_buf_detach(&p, NULL);
}

static void check_two(const bench_dataset *ds)
{
	cr_assert_eq(ds->n, 2);
	cr_assert_str_eq(ds->items[0].instance_id, "o__r-1");
	cr_assert_str_eq(ds->items[0].version, "3.0");
	cr_assert_eq(ds->items[0].n_fail_to_pass, 1);
	cr_assert_str_eq(ds->items[0].fail_to_pass[0], "t::a");
	cr_assert_eq(ds->items[0].n_pass_to_pass, 0);
	cr_assert_str_eq(ds->items[0].eval_type, "pass_and_fail");
	cr_assert_null(ds->items[1].eval_type);
	cr_assert_eq(ds->items[1].n_fail_to_pass, 2);
	cr_assert_str_eq(ds->items[1].fail_to_pass[1], "t::c[x y]");
	cr_assert_str_eq(ds->items[1].pass_to_pass[0], "t::d");
}

Test(inputs, datasets_plain_xz_gzip_json)
{
	bench_dataset *ds = NULL;
	pl_err err = { 0 };
	char *p = path("d.jsonl");
	const char *names[] = { "d.jsonl", "d.jsonl.xz", "d.jsonl.gz", "d.json" };
	size_t i;

	bench_test_write(dir.ptr, "d.jsonl", "\n");
	cr_assert_eq(bench_dataset_load(&ds, p, &err), 0); /* blank lines only: no instances */
	cr_assert_eq(ds->n, 0);
	bench_dataset_free(ds);
	{
		pl_buf t = PL_BUF_INIT;

		pl_buf_printf(&t, "%s\n%s", line1, line2);
		bench_test_write(dir.ptr, "d.jsonl", t.ptr);
		pl_buf_release(&t);
	}
	cr_assert_eq(test_sh(NULL, "cd '%s' && xz -k d.jsonl && gzip -k d.jsonl && "
				   "(printf '['; sed -n 1p d.jsonl; printf ','; sed -n 3p d.jsonl; printf ']') > d.json",
			     dir.ptr),
		     0);
	for (i = 0; i < PL_ARRAY_LEN(names); i++) {
		char *q = path(names[i]);

		cr_assert_eq(bench_dataset_load(&ds, q, &err), 0, "%s: %s", names[i], err.msg);
		check_two(ds);
		cr_assert_str_eq(ds->path, q);
		bench_dataset_free(ds);
		free(q);
	}
	/* a compressed file is told by its bytes, whatever its name */
	cr_assert_eq(test_sh(NULL, "cd '%s' && cp d.jsonl.xz odd.jsonl", dir.ptr), 0);
	free(p);
	p = path("odd.jsonl");
	cr_assert_eq(bench_dataset_load(&ds, p, &err), 0, "%s", err.msg);
	cr_assert_eq(ds->n, 2);
	bench_dataset_free(ds);
	/* a truncated xz file */
	cr_assert_eq(test_sh(NULL, "cd '%s' && head -c 60 d.jsonl.xz > bad.jsonl.xz", dir.ptr), 0);
	free(p);
	p = path("bad.jsonl.xz");
	cr_assert_lt(bench_dataset_load(&ds, p, &err), 0);
	cr_assert(strstr(err.msg, "bad.jsonl.xz: not a valid xz file"), "%s", err.msg);
	free(p);
}

static void expect_bad(const char *text, const char *msg)
{
	bench_dataset *ds = NULL;
	pl_err err = { 0 };
	char *p;

	bench_test_write(dir.ptr, "bad.jsonl", text);
	p = path("bad.jsonl");
	cr_assert_lt(bench_dataset_load(&ds, p, &err), 0, "%s loaded", text);
	cr_assert(strstr(err.msg, msg), "got '%s', expected '%s'", err.msg, msg);
	cr_assert_null(ds);
	free(p);
}

Test(inputs, dataset_errors_name_the_line_and_key)
{
	expect_bad("{\"instance_id\": \"a\", \"repo\": \"o/r\", \"base_commit\": \"x\", \"patch\": \"\", \"test_patch\": \"\", "
		   "\"version\": 3.0, \"FAIL_TO_PASS\": \"[]\", \"PASS_TO_PASS\": \"[]\"}\n",
		   "bad.jsonl: line 1: 'version' must be a string, found a number (write the version quoted");
	expect_bad("\n{\"instance_id\": \"a\"}\n", "bad.jsonl: line 2: 'repo' is missing");
	expect_bad("{\"instance_id\": \"a\", \"repo\": \"o/r\", \"base_commit\": \"x\", \"patch\": \"\", \"test_patch\": \"\", "
		   "\"version\": \"1\", \"FAIL_TO_PASS\": \"[oops\", \"PASS_TO_PASS\": \"[]\"}\n",
		   "bad.jsonl: line 1: 'FAIL_TO_PASS' is a string but not JSON");
	expect_bad("{\"instance_id\": \"a\", \"repo\": \"o/r\", \"base_commit\": \"x\", \"patch\": \"\", \"test_patch\": \"\", "
		   "\"version\": \"1\", \"FAIL_TO_PASS\": [1], \"PASS_TO_PASS\": \"[]\"}\n",
		   "'FAIL_TO_PASS' item 0 must be a string, found an integer");
	expect_bad("{\"instance_id\": \"a\",\n", "bad.jsonl: line 1, column");
	{
		pl_buf t = PL_BUF_INIT;

		pl_buf_printf(&t, "%s%s", line1, line1);
		expect_bad(t.ptr, "bad.jsonl: instance 'o__r-1' appears twice");
		pl_buf_release(&t);
	}
}

Test(inputs, names_resolve_in_the_data_directories)
{
	char *const dirs[] = { dir.ptr, NULL };
	pl_buf out = PL_BUF_INIT;
	pl_err err = { 0 };

	bench_test_write(dir.ptr, "swe-bench-lite.test.jsonl.gz", "x");
	cr_assert_eq(bench_dataset_resolve(&out, "lite", dirs, &err), 0, "%s", err.msg);
	cr_assert(pl_str_ends_with(out.ptr, "/swe-bench-lite.test.jsonl.gz"));
	pl_buf_reset(&out);
	cr_assert_eq(bench_dataset_resolve(&out, "verified", dirs, &err), PL_ENOTFOUND);
	cr_assert(strstr(err.msg, "dataset 'verified' (swe-bench-verified.jsonl, plain, .xz or .gz) not found in the "
				  "data directories ("),
		  "%s", err.msg);
	cr_assert(strstr(err.msg, "PLAIT_DATA_PATH"));
	cr_assert_eq(bench_dataset_resolve(&out, "swe-bench-lite.jsonl", dirs, &err), PL_ENOTFOUND);
	cr_assert(strstr(err.msg, "is neither a file nor a known name (verified, verified-v5, lite, dev)"), "%s", err.msg);
	cr_assert_eq(bench_dataset_resolve(&out, "/nonexistent/x.jsonl", dirs, &err), PL_ENOTFOUND);
	cr_assert_str_eq(err.msg, "dataset file '/nonexistent/x.jsonl' does not exist");
	pl_buf_release(&out);
}

Test(inputs, select_and_shard)
{
	bench_dataset *ds = NULL;
	pl_buf t = PL_BUF_INIT;
	pl_err err = { 0 };
	char *p = path("d.jsonl");
	char *ids[] = { (char *)"o__r-2", (char *)"nope-1" };
	int k;

	pl_buf_printf(&t, "%s%s", line2, line1);
	bench_test_write(dir.ptr, "d.jsonl", t.ptr);
	cr_assert_eq(bench_dataset_load(&ds, p, &err), 0);
	cr_assert_eq(bench_dataset_select(ds, ids, 2, &err), PL_ENOTFOUND);
	cr_assert(strstr(err.msg, "1 instance id is not in the dataset: nope-1"), "%s", err.msg);
	cr_assert_eq(ds->n, 2, "nothing changed on error");
	cr_assert_eq(bench_dataset_shard(ds, 0, 2, &err), PL_EINVAL);
	cr_assert(strstr(err.msg, "shards are numbered 1 to N"));
	/* shards by instance-id order, whatever the file's order */
	for (k = 1; k <= 2; k++) {
		bench_dataset *s = NULL;

		cr_assert_eq(bench_dataset_load(&s, p, &err), 0);
		cr_assert_eq(bench_dataset_shard(s, k, 2, &err), 0);
		cr_assert_eq(s->n, 1);
		cr_assert_str_eq(s->items[0].instance_id, k == 1 ? "o__r-1" : "o__r-2");
		bench_dataset_free(s);
	}
	cr_assert_eq(bench_dataset_select(ds, ids, 1, &err), 0);
	cr_assert_eq(ds->n, 1);
	cr_assert_str_eq(ds->items[0].instance_id, "o__r-2");
	bench_dataset_free(ds);
	pl_buf_release(&t);
	free(p);
}

static bench_preds *preds(const char *name, const char *text)
{
	bench_preds *p = NULL;
	pl_err err = { 0 };
	char *f;

	bench_test_write(dir.ptr, name, text);
	f = path(name);
	cr_assert_eq(bench_preds_load(&p, f, &err), 0, "%s: %s", name, err.msg);
	free(f);
	return p;
}

Test(inputs, predictions_in_every_format)
{
	bench_preds *p;
	pl_buf md = PL_BUF_INIT;

	/* JSON Lines: a duplicate keeps the first place and the last value */
	p = preds("p.jsonl", "{\"instance_id\": \"b\", \"model_name_or_path\": \"org/m\", \"model_patch\": \"x\"}\n"
			     "{\"instance_id\": \"a\", \"model_name_or_path\": \"org/m\", \"model_patch\": null}\n\n"
			     "{\"instance_id\": \"b\", \"model_name_or_path\": \"org/m\", \"model_patch\": \"y\", \"extra\": 1}\n");
	cr_assert_eq(p->n, 2);
	cr_assert_str_eq(p->items[0].instance_id, "b");
	cr_assert_str_eq(p->items[0].patch, "y");
	cr_assert_null(p->items[1].patch);
	cr_assert(bench_pred_is_empty(&p->items[1]));
	bench_model_dir(&md, p->items[0].model);
	cr_assert_str_eq(md.ptr, "org__m");
	bench_preds_free(p);
	/* a JSON list, and a JSON object of predictions (preds.json) */
	p = preds("p.json", "[{\"instance_id\": \"a\", \"model_patch\": \"\"}]");
	cr_assert_eq(p->n, 1);
	cr_assert_str_eq(p->items[0].model, "None");
	cr_assert(bench_pred_is_empty(&p->items[0]));
	bench_preds_free(p);
	p = preds("preds.json", "{\"a\": {\"instance_id\": \"a\", \"model_name_or_path\": \"m\", \"model_patch\": \"d\"},\n"
				"\"b\": {\"instance_id\": \"b\", \"model_name_or_path\": \"m\", \"model_patch\": \"e\"}}");
	cr_assert_eq(p->n, 2);
	cr_assert_str_eq(p->items[1].patch, "e");
	bench_preds_free(p);
	/* one prediction on one line is JSON Lines */
	p = preds("one.jsonl", "{\"instance_id\": \"a\", \"model_patch\": \"d\"}");
	cr_assert_eq(p->n, 1);
	bench_preds_free(p);
	pl_buf_release(&md);
}

Test(inputs, prediction_errors)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "{\"model_patch\": \"x\"}\n", "p.jsonl: line 1: each prediction must contain 'instance_id'" },
		{ "{\"instance_id\": \"a\"}\n", "p.jsonl: line 1: prediction 'a' has no 'model_patch'" },
		{ "{\"instance_id\": \"a\", \"model_patch\": 3}\n", "'model_patch' must be a string or null, found an integer" },
		{ "[1]", "p.jsonl: item 0: each prediction must be an object, found an integer" },
		{ "\n", "p.jsonl: no predictions" },
		{ "{\"instance_id\": \"a\", \"model_patch\": \"x\"}\n{oops\n", "p.jsonl: line 2, column" },
	};
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(bad); i++) {
		bench_preds *p = NULL;
		pl_err err = { 0 };
		char *f;

		bench_test_write(dir.ptr, "p.jsonl", bad[i].text);
		f = path("p.jsonl");
		cr_assert_lt(bench_preds_load(&p, f, &err), 0, "%s loaded", bad[i].text);
		cr_assert(strstr(err.msg, bad[i].msg), "got '%s', expected '%s'", err.msg, bad[i].msg);
		cr_assert_null(p);
		free(f);
	}
}

Test(inputs, predictions_outside_the_dataset_are_refused)
{
	bench_dataset *ds = NULL;
	bench_preds *p, *g = NULL;
	pl_err err = { 0 };
	char *f = path("d.jsonl");

	bench_test_write(dir.ptr, "d.jsonl", line1);
	cr_assert_eq(bench_dataset_load(&ds, f, &err), 0);
	p = preds("p.jsonl", "{\"instance_id\": \"o__r-1\", \"model_patch\": \"x\"}\n"
			     "{\"instance_id\": \"zz-9\", \"model_patch\": \"x\"}\n");
	cr_assert_eq(bench_preds_check(p, ds, &err), PL_EINVAL);
	cr_assert(strstr(err.msg, "1 prediction id is not in the dataset ") && strstr(err.msg, ": zz-9"), "%s", err.msg);
	cr_assert_eq(bench_preds_gold(&g, ds, &err), 0);
	cr_assert_eq(g->n, 1);
	cr_assert_str_eq(g->items[0].model, "gold");
	cr_assert_str_eq(g->items[0].patch, "P1");
	cr_assert_eq(bench_preds_check(g, ds, &err), 0);
	bench_preds_free(p);
	bench_preds_free(g);
	bench_dataset_free(ds);
	free(f);
}
