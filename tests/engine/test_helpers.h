/* test_helpers.h - fixtures shared by the engine tests: running the
 * PyTorch reference (tests/reference/plt_ref.py) and reading what it wrote. */
#ifndef PLAIT_TEST_ENGINE_HELPERS_H
#define PLAIT_TEST_ENGINE_HELPERS_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "tests/shell.h"

/* Run the reference with arguments (already shell-safe); asserts success.
 * Debian's /usr/bin/python3 (python3-torch), or PLAIT_REF_PYTHON where
 * PyTorch lives elsewhere (the GPU machine's image). */
static PL_UNUSED void ref_run(const char *args)
{
	const char *root = getenv("PLAIT_ROOT"), *py = getenv("PLAIT_REF_PYTHON");
	pl_buf cmd = PL_BUF_INIT;
	int st;

	pl_buf_printf(&cmd, "%s %s/tests/reference/plt_ref.py %s", py && *py ? py : "/usr/bin/python3",
		      root ? root : ".", args);
	st = test_sh(NULL, "%s", cmd.ptr);
	cr_assert_eq(st, 0, "reference failed (%d): %s", st, cmd.ptr);
	pl_buf_release(&cmd);
}

static PL_UNUSED char *tmpdir(const char *prefix)
{
	pl_buf b = PL_BUF_INIT;
	pl_err err = { 0 };

	cr_assert_eq(pl_mkdtemp(&b, prefix, &err), 0, "%s", err.msg);
	return pl_buf_detach(&b, NULL);
}

static PL_UNUSED void tmpdir_remove(char *d)
{
	pl_err err = { 0 };

	if (d)
		cr_assert_eq(pl_rm_rf(d, &err), 0, "%s", err.msg);
	free(d);
}

static PL_UNUSED char *path_in(const char *dir, const char *name)
{
	pl_buf b = PL_BUF_INIT;

	pl_path_join(&b, dir, name);
	return pl_buf_detach(&b, NULL);
}

/* Read a JSON file's integer array at key into a malloc'ed array. */
static PL_UNUSED int32_t *read_ids(const char *dir, const char *file, const char *key, size_t *n)
{
	char *p = path_in(dir, file);
	json_t *j = NULL, *a, *v;
	pl_err err = { 0 };
	int32_t *ids;
	size_t i;

	cr_assert_eq(pl_json_load_file(&j, p, &err), 0, "%s", err.msg);
	a = json_object_get(j, key);
	cr_assert(json_is_array(a));
	*n = json_array_size(a);
	ids = malloc((*n + 1) * sizeof(*ids));
	json_array_foreach(a, i, v)
		ids[i] = (int32_t)json_integer_value(v);
	json_decref(j);
	free(p);
	return ids;
}

static PL_UNUSED double *read_doubles(const char *dir, const char *file, const char *key, size_t *n)
{
	char *p = path_in(dir, file);
	json_t *j = NULL, *a, *v;
	pl_err err = { 0 };
	double *x;
	size_t i;

	cr_assert_eq(pl_json_load_file(&j, p, &err), 0, "%s", err.msg);
	a = json_object_get(j, key);
	cr_assert(json_is_array(a));
	*n = json_array_size(a);
	x = malloc((*n + 1) * sizeof(*x));
	json_array_foreach(a, i, v)
		x[i] = json_number_value(v);
	json_decref(j);
	free(p);
	return x;
}

/* float64 little-endian file of exactly n values. */
static PL_UNUSED double *read_f64(const char *dir, const char *file, size_t n)
{
	char *p = path_in(dir, file);
	pl_buf b = PL_BUF_INIT;
	pl_err err = { 0 };
	double *x = malloc(n * sizeof(double));

	cr_assert_eq(pl_file_read(&b, p, 0, &err), 0, "%s", err.msg);
	cr_assert_eq(b.len, n * sizeof(double), "%s: %zu bytes, expected %zu", p, b.len, n * sizeof(double));
	memcpy(x, b.ptr, n * sizeof(double));
	pl_buf_release(&b);
	free(p);
	return x;
}

/* max |a - b| / max |ref| over n values. */
static PL_UNUSED double rel_err_f64(const float *a, const double *ref, size_t n)
{
	double mx = 0, md = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		double d = fabs((double)a[i] - ref[i]);

		if (fabs(ref[i]) > mx)
			mx = fabs(ref[i]);
		if (d > md || isnan(d))
			md = isnan(d) ? INFINITY : d;
	}
	return mx > 0 ? md / mx : md;
}

static PL_UNUSED double rel_err_f32(const float *a, const float *ref, size_t n)
{
	double mx = 0, md = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)ref[i]);

		if (fabs((double)ref[i]) > mx)
			mx = fabs((double)ref[i]);
		if (d > md || isnan(d))
			md = isnan(d) ? INFINITY : d;
	}
	return mx > 0 ? md / mx : md;
}

static PL_UNUSED eng_model *load_ok(const char *dir, int loops, int threads)
{
	eng_load_opts o = { 0 };
	eng_model *m = NULL;
	pl_err err = { 0 };

	o.loops = loops;
	o.threads = threads;
	cr_assert_eq(eng_model_load(&m, dir, &o, &err), 0, "load %s: %s", dir, err.msg);
	return m;
}

#endif
