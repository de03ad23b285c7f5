/* Real instances: the gold patches of SWE-bench Verified's sympy instances
 * under --env host, with Debian's python3 and python3-mpmath.  Needs a
 * sympy clone or mirror (PLAIT_SWEBENCH_REPOS=DIR holding
 * DIR/sympy__sympy) and the published dataset; it skips, saying which is
 * missing, otherwise.  docs/BENCHMARKS.md explains the verdicts. */
#include <unistd.h>

#include "bench_test.h"
#include "swe_fixture.h"

#include "bench-harness/internal.h"

/* The sympy versions whose code imports on Debian 12's Python 3.11: older
 * ones import collections.Mapping & co., removed in Python 3.10, and fail
 * before any test runs (docs/BENCHMARKS.md). */
static bool runs_on_python311(const char *version)
{
	int major = 0, minor = 0;

	if (sscanf(version, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 1 || (major == 1 && minor >= 7);
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
	size_t n = 0, i, recent = 0, recent_resolved = 0;
	pl_err err = { 0 };

	if (!repos || !*repos) {
		cr_log_warn("SKIPPED: no sympy mirror: set PLAIT_SWEBENCH_REPOS=DIR with DIR/sympy__sympy a clone or "
			    "mirror of https://github.com/sympy/sympy");
		cr_skip_test("PLAIT_SWEBENCH_REPOS is not set");
	}
	pl_path_join(&mirror, repos, "sympy__sympy");
	if (!pl_dir_exists(mirror.ptr)) {
		cr_log_warn("SKIPPED: %s does not exist (clone sympy/sympy there)", mirror.ptr);
		cr_skip_test("no sympy mirror");
	}
	if (!bench_test_dataset(&ds_path, "swe-bench-verified.jsonl.xz")) {
		cr_log_warn("SKIPPED: %s not found (PLAIT_BENCH_DATASETS)", ds_path.ptr);
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
		}
	}
	cr_log_info("resolved %lld of %zu; sympy >= 1.7: %zu of %zu",
		    (long long)json_integer_value(json_object_get(s, "resolved_instances")), ds->n, recent_resolved,
		    recent);
	cr_expect_eq(recent_resolved, recent, "every instance of sympy >= 1.7 resolves under Python 3.11");
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
