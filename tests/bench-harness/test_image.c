/* test_image.c - plait bench swe eval --env image: the generated instances
 * (swe_fixture.h) evaluated end to end in an image the test builds in the
 * official layout (/testbed holding the repository at the base commit, a
 * conda-style /opt/miniconda3/bin/activate with an environment named
 * testbed, the host's python3 and pytest copied in), loaded through the
 * image API under the official names, run through the image module's
 * runs (an overlay per instance). */
#include "tests/img_test.h"

#include "bench_test.h"
#include "swe_fixture.h"

static swe_fixture fx;
static itest T;

/* The names the official harness pulls: swebench/sweb.eval.x86_64.<id>
 * with "__" written "_1776_". */
#define IMAGE_1 "swebench/sweb.eval.x86_64.pallets_1776_flask-1:latest"
#define IMAGE_2 "swebench/sweb.eval.x86_64.pallets_1776_flask-2:latest"
#define IMAGE_3 "swebench/sweb.eval.x86_64.pallets_1776_flask-3:latest"

/*
 * The image's config: the official images' PATH and WorkingDir, and a
 * User the harness must override (it runs as root, as the official
 * harness's containers do: as root, user 1000 could not write /testbed).
 * Its one layer, as JSON for mkimage.py: bash, git, patch and the
 * host's python3 with the libraries they load; the interpreter's standard
 * library and pytest with what it imports (the big parts nothing here uses
 * left out); /testbed, a clone of the fixture's repository at its base
 * commit; /opt/miniconda3, the conda shim (bin/activate, envs/testbed with
 * /testbed on its path, as the official images' editable install has it).
 */
static void image_spec(pl_buf *spec)
{
	pl_buf layer = PL_BUF_INIT, testbed = PL_BUF_INIT;

	pl_path_join(&testbed, fx.dir.ptr, "testbed");
	cr_assert_eq(
		test_sh(NULL,
			"git clone -q '%s/pallets__flask' '%s' && cd '%s' && git checkout -q --detach %s",
			fx.repos.ptr, testbed.ptr, testbed.ptr, fx.base),
		0);
	/* Debian's interpreter, as every Python in the tests */
	cr_assert_eq(
		test_sh(&layer,
			"/usr/bin/python3 - '%s' '%s' <<'EOF'\n"
			"import glob, json, os, sys, sysconfig\n"
			"import pytest\n"
			"std = sysconfig.get_paths()['stdlib']\n"
			"dist = os.path.dirname(os.path.dirname(pytest.__file__))\n"
			"skip = ['__pycache__', 'test', 'tests', 'idlelib', 'tkinter', 'turtledemo', "
			"'lib2to3',\n"
			"        'pydoc_data', 'ensurepip', 'dist-packages', 'site-packages']\n"
			"skip += [os.path.basename(p) for p in glob.glob(std + '/config-*')]\n"
			"trees = [{'src': std, 'dst': std, 'exclude': skip},\n"
			"         {'src': sys.argv[1], 'dst': 'testbed'},\n"
			"         {'src': sys.argv[2], 'dst': 'opt/miniconda3'}]\n"
			"host = ['/bin/sh', '/bin/bash', '/usr/bin/git', '/usr/bin/patch',\n"
			"        os.path.realpath('/usr/bin/python3')]\n"
			"host += sorted(glob.glob(std + '/lib-dynload/*.so'))\n"
			"mods = {'pytest', '_pytest', 'pluggy', 'iniconfig', 'py', 'packaging', 'attr'}\n"
			"mods |= {k.split('.')[0] for k, v in list(sys.modules.items())\n"
			"         if (getattr(v, '__file__', None) or '').startswith(dist + '/')}\n"
			"for m in sorted(mods):\n"
			"    p = os.path.join(dist, m)\n"
			"    if os.path.isdir(p):\n"
			"        trees.append({'src': p, 'dst': p, 'exclude': ['__pycache__']})\n"
			"    if os.path.isfile(p + '.py'):\n"
			"        host.append(p + '.py')\n"
			"entries = [{'path': 'usr/bin/python3', 'type': 'symlink',\n"
			"            'target': os.path.basename(os.path.realpath('/usr/bin/python3'))},\n"
			"           {'path': 'root/', 'type': 'dir', 'mode': 0o700},\n"
			"           {'path': 'tmp/', 'type': 'dir', 'mode': 0o1777}]\n"
			"json.dump({'compression': 'gzip', 'host': host, 'trees': trees, 'entries': "
			"entries},\n"
			"          sys.stdout)\n"
			"EOF",
			testbed.ptr, fx.shim.ptr),
		0, "the layer's description");
	pl_buf_printf(
		spec,
		"{\"tag\": \"" IMAGE_1 "\",\n"
		" \"config\": {\"Env\": [\"PATH=/opt/miniconda3/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:"
		"/usr/bin:/sbin:/bin\", \"TZ=Etc/UTC\", \"LANG=C.UTF-8\"], \"WorkingDir\": \"/testbed/\","
		" \"User\": \"1000\"},\n"
		" \"layers\": [%s]}\n",
		layer.ptr);
	pl_buf_release(&layer);
	pl_buf_release(&testbed);
}

/* The image under name in the store, through the image API. */
static void load_as(const char *name)
{
	img_store *s = NULL;
	img_image *v = NULL;
	size_t n = 0;
	pl_buf tar = PL_BUF_INIT;
	pl_err err = { 0, "" };

	pl_path_join(&tar, T.dir, "swe.tar");
	cr_assert_eq(img_store_open(&s, T.store, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(img_load(&v, &n, s, tar.ptr, name, NULL, &err), 0, "%s", err.msg);
	cr_assert_eq(n, 1);
	img_images_free(v, n);
	img_store_close(s);
	pl_buf_release(&tar);
}

static void setup(void)
{
	pl_buf spec = PL_BUF_INIT;

	it_need_sandbox();
	swe_fixture_init(&fx);
	it_init(&T);
	image_spec(&spec);
	it_mkimage(&T, "swe", spec.ptr, "--docker-archive swe.tar");
	load_as(IMAGE_1);
	/* flask-2 has the same base commit: the same image under its name
	 * (its blobs and root stored once) */
	load_as(IMAGE_2);
	pl_buf_release(&spec);
}

static void teardown(void)
{
	it_done(&T);
	swe_fixture_release(&fx);
}

TestSuite(image_env, .init = setup, .fini = teardown, .timeout = 150);

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
	o.repos_dir = NULL; /* the image holds /testbed */
	o.env = BENCH_ENV_IMAGE;
	o.image_store = T.store;
	o.workers = 2;
	o.timeout = 300;
	return o;
}

static bench_dataset *dataset(void)
{
	bench_dataset *ds = NULL;
	pl_err err = { 0, "" };

	cr_assert_eq(bench_dataset_load(&ds, fx.dataset.ptr, &err), 0, "%s", err.msg);
	return ds;
}

static void expect_ids(const json_t *s, const char *key, const char *want)
{
	const json_t *a = json_object_get(s, key);
	pl_buf b = PL_BUF_INIT;
	size_t i;

	cr_assert(json_is_array(a), "summary has no %s", key);
	for (i = 0; i < json_array_size(a); i++)
		pl_buf_printf(&b, "%s%s", i ? "," : "", json_string_value(json_array_get(a, i)));
	cr_expect_str_eq(b.ptr, want, "%s", key);
	pl_buf_release(&b);
}

/* a file of an instance's log directory, or NULL */
static char *log_file(const char *run_id, const char *model, const char *id, const char *name)
{
	pl_buf p = PL_BUF_INIT, b = PL_BUF_INIT;

	pl_path_join(&p, fx.dir.ptr, "logs");
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

/* No run left its changes in the store, and the image is as loaded. */
static void expect_nothing_left(void)
{
	pl_buf root = PL_BUF_INIT, p = PL_BUF_INIT, text = PL_BUF_INIT;

	pl_buf_printf(&p, "%s/runs", T.store);
	cr_assert_eq(test_sh(NULL, "[ -z \"$(ls -A '%s' 2>/dev/null)\" ]", p.ptr), 0,
		     "a run's changes were left in %s", p.ptr);
	it_root(&root, &T, IMAGE_1);
	pl_buf_reset(&p);
	pl_path_join(&p, root.ptr, "testbed/calc/__init__.py");
	cr_assert_eq(pl_file_read(&text, p.ptr, 0, NULL), 0);
	cr_assert(strstr(text.ptr, "return a - b"), "the image's /testbed changed: %s", text.ptr);
	pl_buf_reset(&p);
	pl_path_join(&p, root.ptr, "testbed/tests/test_div.py");
	cr_assert_not(pl_file_exists(p.ptr), "the test patch reached the image");
	pl_buf_reset(&p);
	pl_path_join(&p, fx.dir.ptr, "logs/plait-work");
	cr_assert_not(pl_dir_exists(p.ptr), "%s left behind", p.ptr);
	pl_buf_release(&root);
	pl_buf_release(&p);
	pl_buf_release(&text);
}

/* gold resolves, a wrong patch does not, an empty one is never run; the
 * same grading and files as the other environments */
Test(image_env, gold_wrong_and_empty_patches)
{
	static const char *const all[] = { "pallets__flask-1", "pallets__flask-2", "pallets__flask-3" };
	const char *patches[3];
	bench_dataset *ds = dataset();
	bench_preds *p = NULL;
	bench_eval_opts o = opts("img");
	pl_buf pp = PL_BUF_INIT;
	json_t *s = NULL;
	char *f;
	pl_err err = { 0, "" };

	patches[0] = fx.gold[0].ptr; /* resolves */
	patches[1] = fx.gold[0].ptr; /* fixes add, not div: unresolved */
	patches[2] = "";	     /* empty: never run (it has no image) */
	swe_write_preds(&fx, "preds.jsonl", all, patches, 3);
	pl_path_join(&pp, fx.dir.ptr, "preds.jsonl");
	cr_assert_eq(bench_preds_load(&p, pp.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(bench_eval(&s, NULL, ds, p, &o, &err), 0, "%s", err.msg);
	expect_ids(s, "resolved_ids", "pallets__flask-1");
	expect_ids(s, "unresolved_ids", "pallets__flask-2");
	expect_ids(s, "empty_patch_ids", "pallets__flask-3");
	expect_ids(s, "completed_ids", "pallets__flask-1,pallets__flask-2");
	expect_ids(s, "error_ids", "");
	/* report.json's bytes are the other environments' */
	f = log_file("img", "m/1", "pallets__flask-1", "report.json");
	cr_assert_not_null(f);
	cr_assert_str_eq(
		f,
		"{\n    \"pallets__flask-1\": {\n        \"patch_is_None\": false,\n"
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
	f = log_file("img", "m/1", "pallets__flask-2", "report.json");
	cr_assert(strstr(f, "\"failure\": [\n                    \"tests/test_div.py::test_div\"\n"), "%s",
		  f);
	free(f);
	/* the script ran in the image: its conda environment, its /testbed */
	f = log_file("img", "m/1", "pallets__flask-1", "test_output.txt");
	cr_assert(strstr(f, "+ conda activate testbed\n"), "%s", f);
	cr_assert(strstr(f, "\nPASSED tests/test_calc.py::test_add\n"), "%s", f);
	cr_assert(strstr(f, "rootdir: /testbed"), "%s", f);
	free(f);
	f = log_file("img", "m/1", "pallets__flask-1", "run_instance.log");
	cr_assert(strstr(f, "Sandbox for pallets__flask-1 started (image " IMAGE_1 ")"), "%s", f);
	cr_assert(strstr(f, " - INFO - >>>>> Applied Patch:\n"), "%s", f);
	free(f);
	expect_nothing_left();
	json_decref(s);
	bench_preds_free(p);
	bench_dataset_free(ds);
	pl_buf_release(&pp);
}

/* An instance whose image the store lacks is that instance's error, saying
 * how to get it; once loaded, it runs, and its hanging test is killed at
 * the timeout with the official ending, its run's changes removed. */
Test(image_env, a_missing_image_then_a_timeout)
{
	static const char *const hang[] = { "pallets__flask-3" };
	bench_dataset *ds = dataset();
	bench_preds *p = NULL;
	bench_eval_opts o = opts("noimage");
	json_t *s = NULL;
	char *f;
	pl_err err = { 0, "" };

	o.image_no_pull = true; /* --no-pull: nothing is downloaded */
	cr_assert_eq(bench_dataset_select(ds, (char *const *)hang, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(bench_preds_gold(&p, ds, &err), 0);
	cr_assert_eq(bench_eval(&s, NULL, ds, p, &o, &err), 0, "%s", err.msg);
	expect_ids(s, "error_ids", "pallets__flask-3");
	f = log_file("noimage", "gold", "pallets__flask-3", "run_instance.log");
	cr_assert_not_null(f);
	cr_assert(strstr(f, "image '" IMAGE_3 "' is not in the image store ("), "%s", f);
	cr_assert(strstr(f, "get it with `plait image pull " IMAGE_3 "`"), "%s", f);
	free(f);
	cr_assert_null(log_file("noimage", "gold", "pallets__flask-3", "report.json"));
	json_decref(s);
	s = NULL;

	load_as(IMAGE_3);
	o = opts("hang");
	/* long enough for the script to reach the test on a loaded machine */
	o.timeout = 20;
	cr_assert_eq(bench_eval(&s, NULL, ds, p, &o, &err), 0, "%s", err.msg);
	expect_ids(s, "error_ids", "pallets__flask-3");
	expect_ids(s, "completed_ids", "");
	f = log_file("hang", "gold", "pallets__flask-3", "test_output.txt");
	cr_assert_not_null(f);
	cr_assert(strstr(f, "+ : '>>>>> Start Test Output'\n"), "%s", f);
	cr_assert(pl_str_ends_with(f, "\n\nTimeout error: 20 seconds exceeded."), "%s", f);
	free(f);
	f = log_file("hang", "gold", "pallets__flask-3", "run_instance.log");
	cr_assert(strstr(f, "Test timed out after 20 seconds."), "%s", f);
	free(f);
	expect_nothing_left();
	json_decref(s);
	bench_preds_free(p);
	bench_dataset_free(ds);
}

/* An image missing from the store is pulled from its registry on first
 * use, then cached: the test's image pushed with skopeo to Debian's
 * docker-registry on loopback (anonymous bearer tokens), named under
 * that registry as a namespace (--env image:127.0.0.1:PORT/mirror). */
Test(image_env, a_missing_image_is_pulled_on_first_use)
{
	static const char *const one[] = { "pallets__flask-1" };
	bench_dataset *ds = dataset();
	bench_preds *p = NULL;
	bench_eval_opts o = opts("pulled");
	it_registry reg = { -1, 0, "", "-" };
	char ns[128], digest[128], name[256];
	img_store *st = NULL;
	img_image im;
	json_t *s = NULL;
	pl_err err = { 0, "" };

	it_registry_start(&reg, &T, "");
	it_registry_push(&reg, &T, "docker-archive:swe.tar", "mirror/sweb.eval.x86_64.pallets_1776_flask-1:latest", "",
			 digest, sizeof(digest));
	snprintf(ns, sizeof(ns), "127.0.0.1:%d/mirror", reg.port);
	snprintf(name, sizeof(name), "%s/sweb.eval.x86_64.pallets_1776_flask-1:latest", ns);
	cr_assert_eq(img_store_open(&st, T.store, NULL, &err), 0, "%s", err.msg);
	memset(&im, 0, sizeof(im));
	cr_assert_eq(img_get(&im, st, name, &err), PL_ENOTFOUND, "the image was there before the run");
	o.image = ns;
	cr_assert_eq(bench_dataset_select(ds, (char *const *)one, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(bench_preds_gold(&p, ds, &err), 0);
	cr_assert_eq(bench_eval(&s, NULL, ds, p, &o, &err), 0, "%s", err.msg);
	expect_ids(s, "resolved_ids", "pallets__flask-1");
	cr_assert_eq(img_get(&im, st, name, &err), 0, "not cached after the run: %s", err.msg);
	img_image_release(&im);
	json_decref(s);
	s = NULL;
	/* the second run finds it in the store: the registry is gone */
	it_registry_stop(&reg);
	o = opts("cached");
	o.image = ns;
	cr_assert_eq(bench_eval(&s, NULL, ds, p, &o, &err), 0, "%s", err.msg);
	expect_ids(s, "resolved_ids", "pallets__flask-1");
	json_decref(s);
	img_store_close(st);
	bench_preds_free(p);
	bench_dataset_free(ds);
}

/* plait bench swe eval --env image as a user types it: no --repos, the
 * store named, the official names by default, a namespace or a template
 * otherwise. */
Test(image_env, the_command_line)
{
	pl_buf args = PL_BUF_INIT, common = PL_BUF_INIT;
	test_run r;
	char *f;

	pl_buf_printf(&common,
		      "bench swe eval --dataset '%s' --predictions gold --instance-ids pallets__flask-1 "
		      "--image-store '%s' --log-dir '%s/logs' --report-dir '%s/reports'",
		      fx.dataset.ptr, T.store, fx.dir.ptr, fx.dir.ptr);
	pl_buf_printf(&args, "%s --run-id cli --env image --keep-work", common.ptr);
	r = test_plait(fx.dir.ptr, NULL, args.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, "Instances resolved: 1\n"), "%s", r.out.ptr);
	test_run_release(&r);
	/* --keep-work kept what the instance changed: the patched file */
	cr_assert_eq(test_sh(NULL, "grep -q 'return a + b' '%s'/runs/run-*/upper/testbed/calc/__init__.py",
			     T.store),
		     0, "the run's changes were not kept");
	f = log_file("cli", "gold", "pallets__flask-1", "run_instance.log");
	cr_assert(f && strstr(f, "/upper (kept)\n"), "%s", f);
	free(f);
	/* a template naming the same image */
	pl_buf_reset(&args);
	pl_buf_printf(&args, "%s --run-id tmpl --env 'image:swebench/sweb.eval.x86_64.{id}:latest' --json",
		      common.ptr);
	r = test_plait(fx.dir.ptr, NULL, args.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, "\"resolved_instances\": 1,"), "%s", r.out.ptr);
	test_run_release(&r);
	/* another namespace, --no-pull: the store has no such image, the
	 * instance says which and how to get it */
	pl_buf_reset(&args);
	pl_buf_printf(&args, "%s --run-id mirror --env image:localhost:5000/mirror --no-pull", common.ptr);
	r = test_plait(fx.dir.ptr, NULL, args.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, "Instances with errors: 1\n"), "%s", r.out.ptr);
	cr_assert(
		strstr(r.err.ptr,
		       "plait image pull localhost:5000/mirror/sweb.eval.x86_64.pallets_1776_flask-1:latest"),
		"%s", r.err.ptr);
	test_run_release(&r);
	f = log_file("mirror", "gold", "pallets__flask-1", "run_instance.log");
	cr_assert(f && strstr(f, "localhost:5000/mirror/sweb.eval.x86_64.pallets_1776_flask-1:latest"), "%s",
		  f);
	free(f);
	/* a template with an unknown field is a usage error */
	pl_buf_reset(&args);
	pl_buf_printf(&args, "%s --run-id bad --env 'image:x/{name}'", common.ptr);
	r = test_plait(fx.dir.ptr, NULL, args.ptr);
	cr_assert_eq(r.status, 2, "%s", r.err.ptr);
	cr_assert(strstr(r.err.ptr, "unknown field at '{name}' (expected {id} or {instance_id})"), "%s",
		  r.err.ptr);
	test_run_release(&r);
	pl_buf_release(&args);
	pl_buf_release(&common);
}

/* ------------------------------------------------------------ names */

static void expect_name(const char *spec, const char *id, const char *want)
{
	pl_buf b = PL_BUF_INIT;
	pl_err err = { 0, "" };

	cr_assert_eq(bench_image_name(&b, spec, id, &err), 0, "%s", err.msg);
	cr_assert_str_eq(b.ptr, want);
	pl_buf_release(&b);
}

Test(image_name, as_the_official_harness_names_them)
{
	pl_buf b = PL_BUF_INIT;
	pl_err err = { 0, "" };

	expect_name(NULL, "django__django-11099",
		    "swebench/sweb.eval.x86_64.django_1776_django-11099:latest");
	expect_name("", "Org__Repo-1", "swebench/sweb.eval.x86_64.org_1776_repo-1:latest");
	expect_name("localhost:5000/swe", "sympy__sympy-20590",
		    "localhost:5000/swe/sweb.eval.x86_64.sympy_1776_sympy-20590:latest");
	/* "__" anywhere in the name, as the official replace() */
	expect_name("my__ns", "a__b-1", "my_1776_ns/sweb.eval.x86_64.a_1776_b-1:latest");
	expect_name("reg.example/{instance_id}:v2", "a__b-1", "reg.example/a__b-1:v2");
	expect_name("x/sweb.eval.x86_64.{id}:latest", "a__B-1", "x/sweb.eval.x86_64.a_1776_b-1:latest");
	cr_assert_eq(bench_image_name(&b, "x/{ID}", "a__b-1", &err), PL_EINVAL);
	cr_assert_str_eq(
		err.msg,
		"image name template 'x/{ID}': unknown field at '{ID}' (expected {id} or {instance_id})");
	pl_buf_release(&b);
}

/* Every published instance's `image` column is the name plait looks up. */
Test(image_name, the_published_datasets_image_column)
{
	static const char *const files[] = { "swe-bench-verified.jsonl.xz", "swe-bench-lite.test.jsonl.xz",
					     "swe-bench.dev.jsonl.xz" };
	size_t k, checked = 0;

	for (k = 0; k < PL_ARRAY_LEN(files); k++) {
		pl_buf path = PL_BUF_INIT, text = PL_BUF_INIT, name = PL_BUF_INIT;
		pl_err err = { 0, "" };
		char *line, *save = NULL;

		if (!bench_test_dataset(&path, files[k])) {
			fprintf(stderr,
				"SKIPPED: %s not found (set PLAIT_BENCH_DATASETS to the directory holding "
				"the "
				"published datasets, ../shared/datasets by default)\n",
				path.ptr);
			pl_buf_release(&path);
			continue;
		}
		cr_assert_eq(bench_file_read(&text, path.ptr, &err), 0, "%s", err.msg);
		for (line = strtok_r(text.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			json_t *j = json_loads(line, 0, NULL);
			const char *id = json_string_value(json_object_get(j, "instance_id"));
			const char *image = json_string_value(json_object_get(j, "image"));

			cr_assert(id, "%s: a line without instance_id", files[k]);
			if (image) {
				pl_buf_reset(&name);
				cr_assert_eq(bench_image_name(&name, NULL, id, &err), 0, "%s", err.msg);
				cr_assert_str_eq(name.ptr, image, "%s: %s", files[k], id);
				checked++;
			}
			json_decref(j);
		}
		pl_buf_release(&path);
		pl_buf_release(&text);
		pl_buf_release(&name);
	}
	if (!checked) {
		fprintf(stderr, "SKIPPED: no published dataset with an image column\n");
		cr_skip_test("no published dataset with an image column");
	}
}
