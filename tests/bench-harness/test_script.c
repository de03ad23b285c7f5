/* The evaluation scripts: all 500 Verified instances byte for byte against
 * the dataset's eval_script, v5's exit-code lines, test directives and
 * unidiff's view of test patches. */
#include "bench_test.h"

#include "bench-harness/internal.h"

/* The dataset's script with its random heredoc delimiter replaced by
 * v4.1's. */
static void normalise(pl_buf *out, const char *script)
{
	const char *d = strstr(script, "<<'EOF_"), *p;
	char delim[64];
	size_t n = 0;

	cr_assert_not_null(d, "no heredoc in the dataset's script");
	d += 3;
	while (d[n] && d[n] != '\'' && n < sizeof(delim) - 1) {
		delim[n] = d[n];
		n++;
	}
	delim[n] = '\0';
	for (p = script; *p;) {
		const char *q = strstr(p, delim);

		if (!q) {
			pl_buf_puts(out, p);
			break;
		}
		pl_buf_add(out, p, (size_t)(q - p));
		pl_buf_puts(out, BENCH_HEREDOC);
		p = q + n;
	}
}

static bench_dataset *load_or_skip(const char *name)
{
	pl_buf path = PL_BUF_INIT;
	bench_dataset *ds = NULL;
	pl_err err = { 0 };

	if (!bench_test_dataset(&path, name)) {
		fprintf(stderr, "SKIPPED: %s not found (set PLAIT_BENCH_DATASETS to the directory holding the published "
			    "datasets, ../shared/datasets by default)\n", path.ptr);
		pl_buf_release(&path);
		cr_skip_test("%s not found", name);
	}
	cr_assert_eq(bench_dataset_load(&ds, path.ptr, &err), 0, "%s", err.msg);
	pl_buf_release(&path);
	return ds;
}

static size_t first_diff(const char *a, const char *b)
{
	size_t i = 0;

	while (a[i] && a[i] == b[i])
		i++;
	return i;
}

Test(script, all_verified_instances_byte_for_byte)
{
	bench_dataset *ds = load_or_skip("swe-bench-verified.jsonl.xz");
	size_t i, same = 0;

	cr_assert_eq(ds->n, 500);
	for (i = 0; i < ds->n; i++) {
		const bench_instance *in = &ds->items[i];
		pl_buf got = PL_BUF_INIT, want = PL_BUF_INIT;
		pl_err err = { 0 };

		cr_assert_not_null(in->eval_script);
		cr_assert_eq(bench_eval_script(&got, in, BENCH_GRADING_V4, &err), 0, "%s: %s", in->instance_id, err.msg);
		normalise(&want, in->eval_script);
		if (got.len == want.len && !memcmp(got.ptr, want.ptr, got.len)) {
			same++;
		} else {
			size_t k = first_diff(got.ptr, want.ptr);

			cr_log_error("%s differs at byte %zu: got '%.60s' want '%.60s'", in->instance_id, k,
				     got.ptr + k, want.ptr + k);
		}
		pl_buf_release(&got);
		pl_buf_release(&want);
	}
	cr_assert_eq(same, 500, "%zu of 500 scripts equal the dataset's", same);
	bench_dataset_free(ds);
}

/* v5 runs the dataset's script with the exit code recorded; for every
 * instance whose v5 script v4.1 generates unchanged, generating it and
 * taking the dataset's must give the same bytes, and the exit code lines
 * sit around the end marker. */
Test(script, v5_records_the_test_exit_code)
{
	bench_dataset *ds = load_or_skip("swe-bench-verified.v5-fixes.jsonl.xz");
	size_t i, compared = 0;

	for (i = 0; i < ds->n; i++) {
		bench_instance *in = &ds->items[i];
		pl_buf v4 = PL_BUF_INIT, want = PL_BUF_INIT, from_ds = PL_BUF_INIT, generated = PL_BUF_INIT;
		char *saved = in->eval_script;
		const char *end;
		pl_err err = { 0 };

		cr_assert_eq(bench_eval_script(&from_ds, in, BENCH_GRADING_V5, &err), 0, "%s", err.msg);
		end = strstr(from_ds.ptr, "\n: '>>>>> End Test Output'\n");
		cr_assert_not_null(end, "%s", in->instance_id);
		cr_assert(end - from_ds.ptr > 27 && !strncmp(end - 27, "\nSWEBENCH_TEST_EXIT_CODE=$?", 27),
			  "%s: no exit code before the end marker", in->instance_id);
		cr_assert(!strncmp(end + 27, "echo \">>>>> Test Exit Code: $SWEBENCH_TEST_EXIT_CODE\"\n", 54), "%s",
			  in->instance_id);
		cr_assert(pl_str_starts_with(from_ds.ptr, "#!/bin/bash\nset -uxo pipefail\nsource "));
		cr_assert(from_ds.ptr[from_ds.len - 1] == '\n');

		cr_assert_eq(bench_eval_script(&v4, in, BENCH_GRADING_V4, &err), 0, "%s", err.msg);
		normalise(&want, in->eval_script);
		if (v4.len == want.len && !memcmp(v4.ptr, want.ptr, v4.len)) {
			pl_buf norm = PL_BUF_INIT;

			in->eval_script = NULL;
			cr_assert_eq(bench_eval_script(&generated, in, BENCH_GRADING_V5, &err), 0, "%s", err.msg);
			in->eval_script = saved;
			normalise(&norm, from_ds.ptr);
			cr_assert_str_eq(generated.ptr, norm.ptr, "%s", in->instance_id);
			pl_buf_release(&norm);
			compared++;
		}
		pl_buf_release(&v4);
		pl_buf_release(&want);
		pl_buf_release(&from_ds);
		pl_buf_release(&generated);
	}
	/* PROVENANCE.md: the v5 file changes 20 scripts */
	cr_assert_eq(compared, 480, "%zu unchanged scripts", compared);
	bench_dataset_free(ds);
}

static json_t *directives(const char *repo, const char *patch)
{
	json_t *a = json_array();

	bench__test_directives(a, repo, patch);
	return a;
}

static void assert_strings(const json_t *a, const char *const *want, size_t n)
{
	size_t i;

	cr_assert_eq(json_array_size(a), n, "%zu items, expected %zu", json_array_size(a), n);
	for (i = 0; i < n; i++)
		cr_assert_str_eq(json_string_value(json_array_get(a, i)), want[i]);
}

Test(script, directives_as_get_test_directives)
{
	static const char patch[] =
		"diff --git a/tests/auth_tests/test_validators.py b/tests/auth_tests/test_validators.py\n"
		"--- a/tests/auth_tests/test_validators.py\n+++ b/tests/auth_tests/test_validators.py\n"
		"@@ -1 +1 @@\n-a\n+b\n"
		"diff --git a/tests/data/x.csv b/tests/data/x.csv\n"
		"diff --git a/tests/data/y.rst b/tests/data/y.rst\n"
		"diff --git a/docs/fixture.json b/docs/fixture.json\n"
		"diff --git a/tests/weird name b/x.py b/tests/weird name b/x.py\n"; /* the last \" b/\" wins */
	static const char *const want_django[] = { "auth_tests.test_validators", "data.y.rst", "x" };
	static const char *const want_other[] = { "tests/auth_tests/test_validators.py", "tests/data/y.rst", "x.py" };
	json_t *a;

	a = directives("django/django", patch);
	assert_strings(a, want_django, 3);
	json_decref(a);
	a = directives("sympy/sympy", patch);
	assert_strings(a, want_other, 3);
	json_decref(a);
	/* no b/ on the line: no directive; the last " b/" wins */
	a = directives("sympy/sympy", "diff --git a/x\ndiff --git a/p b/q b/r.py\n");
	cr_assert_eq(json_array_size(a), 1);
	cr_assert_str_eq(json_string_value(json_array_get(a, 0)), "r.py");
	json_decref(a);
	/* a patch with only .txt files has none: the whole suite runs */
	a = directives("django/django", "diff --git a/tests/a.txt b/tests/a.txt\n");
	cr_assert_eq(json_array_size(a), 0);
	json_decref(a);
}

static bench_instance instance(const char *repo, const char *version, const char *test_patch)
{
	bench_instance in;

	memset(&in, 0, sizeof(in));
	in.instance_id = (char *)"owner__name-1";
	in.repo = (char *)repo;
	in.version = (char *)version;
	in.base_commit = (char *)"0123456789abcdef0123456789abcdef01234567";
	in.test_patch = (char *)test_patch;
	return in;
}

Test(script, new_files_only_reset_is_a_bare_checkout)
{
	/* v4.1: a test patch that only creates files resets with "git
	 * checkout <base> " (trailing space), which detaches HEAD */
	static const char patch[] = "diff --git a/tests/test_new.py b/tests/test_new.py\nnew file mode 100644\n"
				    "index 0000000..e69de29\n--- /dev/null\n+++ b/tests/test_new.py\n@@ -0,0 +1,2 @@\n"
				    "+def test_a():\n+    pass\n";
	bench_instance in = instance("pallets/flask", "2.3", patch);
	pl_buf s = PL_BUF_INIT;
	pl_err err = { 0 };

	cr_assert_eq(bench_eval_script(&s, &in, BENCH_GRADING_V4, &err), 0, "%s", err.msg);
	cr_assert(strstr(s.ptr, "\npython -m pip install -e .\ngit checkout 0123456789abcdef0123456789abcdef01234567 \n"
				"git apply -v - <<'EOF_114329324912'\n"),
		  "%s", s.ptr);
	cr_assert(strstr(s.ptr, "\n: '>>>>> Start Test Output'\npytest -rA tests/test_new.py\n: '>>>>> End Test "
				"Output'\ngit checkout 0123456789abcdef0123456789abcdef01234567 \n"));
	cr_assert(pl_str_ends_with(s.ptr, " \n"));
	pl_buf_release(&s);
}

Test(script, unidiff_files_and_errors)
{
	json_t *f = NULL;
	pl_err err = { 0 };

	/* modified, created, deleted, renamed with a hunk; "--- a/x" inside a
	 * hunk is a removed line, not a header */
	cr_assert_eq(bench__patch_files(&f,
					"diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,1 @@\n--- a/z\n x\n"
					"diff --git a/n.py b/n.py\nnew file mode 100644\n--- /dev/null\n+++ b/n.py\n@@ -0,0 +1 @@\n+y\n"
					"diff --git a/d.py b/d.py\ndeleted file mode 100644\n--- a/d.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-y\n"
					"diff --git a/old.py b/new.py\nsimilarity index 90%\nrename from old.py\nrename to new.py\n"
					"--- a/old.py\n+++ b/new.py\n@@ -1 +1 @@\n-a\n+b\n\n",
					&err),
		     0, "%s", err.msg);
	cr_assert_eq(json_array_size(f), 4);
	cr_assert_str_eq(json_string_value(json_array_get(json_array_get(f, 0), 0)), "a/m.py");
	cr_assert_str_eq(json_string_value(json_array_get(json_array_get(f, 1), 0)), "/dev/null");
	cr_assert_str_eq(json_string_value(json_array_get(json_array_get(f, 2), 1)), "/dev/null");
	cr_assert_str_eq(json_string_value(json_array_get(json_array_get(f, 3), 0)), "a/old.py");
	cr_assert_str_eq(json_string_value(json_array_get(json_array_get(f, 3), 1)), "b/new.py");
	json_decref(f);
	/* a plain (non-git) diff */
	cr_assert_eq(bench__patch_files(&f, "--- a/p.py\t2020-01-01\n+++ b/p.py\n@@ -1 +1 @@\n-a\n+b\n", &err), 0);
	cr_assert_eq(json_array_size(f), 1);
	cr_assert_str_eq(json_string_value(json_array_get(json_array_get(f, 0), 0)), "a/p.py");
	json_decref(f);
	/* a hunk cut short, and a stray line inside a hunk */
	cr_assert_eq(bench__patch_files(&f, "--- a/p.py\n+++ b/p.py\n@@ -1,3 +1,3 @@\n a\n", &err), PL_EFORMAT);
	cr_assert(strstr(err.msg, "hunk is shorter than expected"), "%s", err.msg);
	cr_assert_eq(bench__patch_files(&f, "--- a/p.py\n+++ b/p.py\n@@ -1,3 +1,3 @@\n a\nxx\n", &err), PL_EFORMAT);
	cr_assert(strstr(err.msg, "line 5: hunk diff line expected: 'xx'"), "%s", err.msg);
	cr_assert_eq(bench__patch_files(&f, "@@ -1 +1 @@\n-a\n+b\n", &err), PL_EFORMAT);
	cr_assert(strstr(err.msg, "unexpected hunk"), "%s", err.msg);
}

Test(script, unknown_specs_and_bad_patches_are_errors)
{
	bench_instance in = instance("sympy/sympy", "9.9", "");
	pl_buf s = PL_BUF_INIT;
	pl_err err = { 0 };

	cr_assert_eq(bench_eval_script(&s, &in, BENCH_GRADING_V4, &err), PL_EUNSUPPORTED);
	cr_assert_str_eq(err.msg, "owner__name-1: the official specs have no entry for repository 'sympy/sympy' "
				  "version '9.9'");
	in = instance("dbt-labs/dbt-core", "1.7", "");
	cr_assert_eq(bench_eval_script(&s, &in, BENCH_GRADING_V4, &err), PL_EUNSUPPORTED);
	cr_assert(strstr(err.msg, "has no test command"), "%s", err.msg);
	in = instance("sympy/sympy", "1.1", "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n");
	cr_assert_eq(bench_eval_script(&s, &in, BENCH_GRADING_V4, &err), PL_EFORMAT);
	cr_assert(strstr(err.msg, "owner__name-1: test_patch: line 4: hunk is shorter"), "%s", err.msg);
	cr_assert_eq(s.len, 0, "nothing written on failure");
	/* django 1.9 runs without --parallel; 3.x exports the locale */
	in = instance("django/django", "1.9", "");
	cr_assert_eq(bench_eval_script(&s, &in, BENCH_GRADING_V4, &err), 0);
	cr_assert(strstr(s.ptr, "\n./tests/runtests.py --verbosity 2\n"), "%s", s.ptr);
	pl_buf_reset(&s);
	in = instance("django/django", "3.1", "");
	cr_assert_eq(bench_eval_script(&s, &in, BENCH_GRADING_V4, &err), 0);
	cr_assert(strstr(s.ptr, "cd /testbed\nsed -i '/en_US.UTF-8/s/^# //g' /etc/locale.gen && locale-gen\n"
				"export LANG=en_US.UTF-8\n"));
	pl_buf_release(&s);
}
