/* Real instances: the gold patches of SWE-bench Verified's sympy instances
 * under --env host, with Debian's python3 and python3-mpmath.  Needs a
 * sympy clone or mirror (PLAIT_SWEBENCH_REPOS=DIR holding
 * DIR/sympy__sympy) and the published dataset; it skips, saying which is
 * missing, otherwise.  docs/BENCHMARKS.md explains the verdicts. */
#include <unistd.h>

#include "bench_test.h"
#include "swe_fixture.h"

#include "bench-harness/internal.h"

/* The sympy versions whose code imports on Debian 12's Python 3.11: 1.0
 * and 1.1 import collections.Mapping & co., removed in Python 3.10, and
 * fail before any test runs (docs/BENCHMARKS.md, "sympy verdicts"). */
static bool runs_on_python311(const char *version)
{
	int major = 0, minor = 0;

	if (sscanf(version, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 1 || (major == 1 && minor >= 2);
}

/* Whether the host's Python has scipy: sympy's lambdify tests
 * test_integral and test_double_integral (PASS_TO_PASS of sympy-22080 and
 * -23262) need it, the official images have it, Debian 12 only with
 * python3-scipy. */
static bool have_scipy(void)
{
	return test_sh(NULL, "/usr/bin/python3 -c 'import scipy' >/dev/null 2>&1") == 0;
}

/* Every failing test of the instance's report is one of scipy's. */
static bool fails_for_scipy_only(const char *logs, const bench_instance *in)
{
	pl_buf p = PL_BUF_INIT;
	json_t *r = NULL, *ts;
	const char *groups[] = { "FAIL_TO_PASS", "PASS_TO_PASS" };
	bool only = true;
	size_t g, k;

	bench_instance_log_dir(&p, logs, "sympy-gold", "gold", in->instance_id);
	pl_buf_puts(&p, "/report.json");
	if (pl_json_load_file(&r, p.ptr, NULL) < 0) {
		pl_buf_release(&p);
		return false;
	}
	ts = json_object_get(json_object_get(r, in->instance_id), "tests_status");
	for (g = 0; g < 2; g++) {
		json_t *f = json_object_get(json_object_get(ts, groups[g]), "failure");

		for (k = 0; k < json_array_size(f); k++) {
			const char *t = json_string_value(json_array_get(f, k));

			only &= !strcmp(t, "test_integral") || !strcmp(t, "test_double_integral");
		}
	}
	json_decref(r);
	pl_buf_release(&p);
	return only && ts;
}

Test(sympy, verified_gold_under_the_host_python, .timeout = 36000)
{
	const char *repos = getenv("PLAIT_SWEBENCH_REPOS"), *only = getenv("PLAIT_SWEBENCH_SYMPY_IDS");
	pl_buf ds_path = PL_BUF_INIT, mirror = PL_BUF_INIT, tmp = PL_BUF_INIT, logs = PL_BUF_INIT;
	bench_dataset *ds = NULL;
	bench_preds *p = NULL;
	bench_eval_opts o;
	json_t *s = NULL;
	char **ids = NULL;
	size_t n = 0, i, recent = 0, recent_resolved = 0, scipy_only = 0;
	bool scipy;
	pl_err err = { 0 };

	if (!repos || !*repos) {
		fprintf(stderr, "SKIPPED: no sympy mirror: set PLAIT_SWEBENCH_REPOS=DIR with DIR/sympy__sympy a clone or "
			    "mirror of https://github.com/sympy/sympy\n");
		cr_skip_test("PLAIT_SWEBENCH_REPOS is not set");
	}
	pl_path_join(&mirror, repos, "sympy__sympy");
	if (!pl_dir_exists(mirror.ptr)) {
		fprintf(stderr, "SKIPPED: %s does not exist (clone sympy/sympy there)\n", mirror.ptr);
		cr_skip_test("no sympy mirror");
	}
	if (!bench_test_dataset(&ds_path, "swe-bench-verified.jsonl.xz")) {
		fprintf(stderr, "SKIPPED: %s not found (PLAIT_BENCH_DATASETS)\n", ds_path.ptr);
		cr_skip_test("no dataset");
	}
	cr_assert_eq(bench_dataset_load(&ds, ds_path.ptr, &err), 0, "%s", err.msg);
	for (i = 0; i < ds->n; i++) {
		const char *id = ds->items[i].instance_id;

		if (strcmp(ds->items[i].repo, "sympy/sympy"))
			continue;
		if (only && *only) {
			const char *at = strstr(only, id);

			if (!at || (at != only && at[-1] != ' ') || (at[strlen(id)] && at[strlen(id)] != ' '))
				continue;
		}
		ids = pl_xrealloc(ids, (n + 1) * sizeof(*ids));
		ids[n++] = ds->items[i].instance_id;
	}
	cr_assert_gt(n, 0, "no sympy instance selected");
	cr_assert_eq(bench_dataset_select(ds, ids, n, &err), 0, "%s", err.msg);
	cr_assert_eq(bench_preds_gold(&p, ds, &err), 0);
	cr_assert_eq(pl_mkdtemp(&tmp, "plait-test-sympy", NULL), 0);
	pl_path_join(&logs, tmp.ptr, "logs");
	memset(&o, 0, sizeof(o));
	o.run_id = "sympy-gold";
	o.log_dir = logs.ptr;
	o.report_dir = tmp.ptr;
	o.repos_dir = repos;
	o.env = BENCH_ENV_HOST;
	o.workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
	o.timeout = 1800;
	cr_assert_eq(bench_eval(&s, NULL, ds, p, &o, &err), 0, "%s", err.msg);
	scipy = have_scipy();
	cr_expect_eq(json_integer_value(json_object_get(s, "error_instances")), 0,
		     "every instance completes (a report, no harness error)");
	for (i = 0; i < ds->n; i++) {
		const bench_instance *in = &ds->items[i];
		const json_t *r = json_object_get(s, "resolved_ids");
		bool resolved = false;
		size_t k;

		for (k = 0; k < json_array_size(r); k++)
			resolved |= !strcmp(json_string_value(json_array_get(r, k)), in->instance_id);
		cr_log_info("%s (sympy %s): %s", in->instance_id, in->version, resolved ? "resolved" : "unresolved");
		if (runs_on_python311(in->version)) {
			recent++;
			recent_resolved += resolved;
			if (!resolved && !scipy && fails_for_scipy_only(logs.ptr, in)) {
				cr_log_info("%s: only scipy's tests fail (python3-scipy is not installed)", in->instance_id);
				scipy_only++;
			}
		}
	}
	cr_log_info("resolved %lld of %zu; sympy >= 1.2: %zu of %zu (%zu failing only for want of scipy)",
		    (long long)json_integer_value(json_object_get(s, "resolved_instances")), ds->n, recent_resolved,
		    recent, scipy_only);
	cr_expect_eq(recent_resolved + scipy_only, recent,
		     "every instance of sympy >= 1.2 resolves under Python 3.11 (scipy's tests apart without scipy)");
	json_decref(s);
	free(ids);
	bench_preds_free(p);
	bench_dataset_free(ds);
	pl_rm_rf(tmp.ptr, NULL);
	pl_buf_release(&ds_path);
	pl_buf_release(&mirror);
	pl_buf_release(&tmp);
	pl_buf_release(&logs);
}
