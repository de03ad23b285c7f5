/* dataset.c - SWE-bench instances from JSON Lines or JSON files, plain or
 * compressed, as load_swebench_dataset and make_test_spec read them. */
#include "bench-harness/internal.h"

#include <stdlib.h>
#include <string.h>

static void instance_release(bench_instance *in)
{
	size_t i;

	free(in->instance_id);
	free(in->repo);
	free(in->base_commit);
	free(in->patch);
	free(in->test_patch);
	free(in->version);
	for (i = 0; i < in->n_fail_to_pass; i++)
		free(in->fail_to_pass[i]);
	free(in->fail_to_pass);
	for (i = 0; i < in->n_pass_to_pass; i++)
		free(in->pass_to_pass[i]);
	free(in->pass_to_pass);
	free(in->eval_script);
	free(in->log_parser);
	free(in->eval_type);
	free(in->problem_statement);
	memset(in, 0, sizeof(*in));
}

void bench_dataset_free(bench_dataset *ds)
{
	size_t i;

	if (!ds)
		return;
	for (i = 0; i < ds->n; i++)
		instance_release(&ds->items[i]);
	free(ds->items);
	free(ds->path);
	free(ds);
}

static int req_str(char **out, const json_t *o, const char *key, const char *what, pl_err *err)
{
	const json_t *v = json_object_get(o, key);

	if (!v)
		return pl_err_set(err, PL_EFORMAT, "%s: '%s' is missing", what, key);
	if (!json_is_string(v))
		return pl_err_set(err, PL_EFORMAT, "%s: '%s' must be a string, found %s%s", what, key,
				  pl_json_type_name(v),
				  !strcmp(key, "version") && json_is_number(v) ?
					  " (write the version quoted, \"3.0\": as a number it cannot be told from \"3\")" :
					  "");
	*out = pl_xstrndup(json_string_value(v), json_string_length(v));
	return 0;
}

static int opt_str(char **out, const json_t *o, const char *key, const char *what, pl_err *err)
{
	const json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	return req_str(out, o, key, what, err);
}

/* FAIL_TO_PASS / PASS_TO_PASS: a JSON-encoded string of a list (as
 * published) or the list itself (make_test_spec's _from_json_or_obj). */
static int test_list(char ***out, size_t *n_out, const json_t *o, const char *key, const char *what, pl_err *err)
{
	const json_t *v = json_object_get(o, key);
	json_t *parsed = NULL;
	size_t i;
	int rc = 0;

	if (!v)
		return pl_err_set(err, PL_EFORMAT, "%s: '%s' is missing", what, key);
	if (json_is_string(v)) {
		json_error_t je;

		parsed = json_loadb(json_string_value(v), json_string_length(v), JSON_DECODE_ANY, &je);
		if (!parsed)
			return pl_err_set(err, PL_EFORMAT, "%s: '%s' is a string but not JSON (%s)", what, key,
					  je.text);
		v = parsed;
	}
	if (!json_is_array(v)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: '%s' must be a list of test names, found %s", what, key,
				pl_json_type_name(v));
		goto done;
	}
	for (i = 0; i < json_array_size(v); i++)
		if (!json_is_string(json_array_get(v, i))) {
			rc = pl_err_set(err, PL_EFORMAT, "%s: '%s' item %zu must be a string, found %s", what, key, i,
					pl_json_type_name(json_array_get(v, i)));
			goto done;
		}
	*n_out = json_array_size(v);
	*out = pl_xcalloc(*n_out + 1, sizeof(char *));
	for (i = 0; i < *n_out; i++)
		(*out)[i] = pl_xstrdup(json_string_value(json_array_get(v, i)));
done:
	json_decref(parsed);
	return rc;
}

static int instance_from_json(bench_instance *in, const json_t *o, const char *what, pl_err *err)
{
	int rc;

	if (!json_is_object(o))
		return pl_err_set(err, PL_EFORMAT, "%s: an instance must be an object, found %s", what,
				  pl_json_type_name(o));
	if ((rc = req_str(&in->instance_id, o, "instance_id", what, err)) < 0 ||
	    (rc = req_str(&in->repo, o, "repo", what, err)) < 0 ||
	    (rc = req_str(&in->base_commit, o, "base_commit", what, err)) < 0 ||
	    (rc = req_str(&in->patch, o, "patch", what, err)) < 0 ||
	    (rc = req_str(&in->test_patch, o, "test_patch", what, err)) < 0 ||
	    (rc = req_str(&in->version, o, "version", what, err)) < 0 ||
	    (rc = test_list(&in->fail_to_pass, &in->n_fail_to_pass, o, "FAIL_TO_PASS", what, err)) < 0 ||
	    (rc = test_list(&in->pass_to_pass, &in->n_pass_to_pass, o, "PASS_TO_PASS", what, err)) < 0 ||
	    (rc = opt_str(&in->eval_script, o, "eval_script", what, err)) < 0 ||
	    (rc = opt_str(&in->log_parser, o, "log_parser", what, err)) < 0 ||
	    (rc = opt_str(&in->eval_type, o, "eval_type", what, err)) < 0 ||
	    (rc = opt_str(&in->problem_statement, o, "problem_statement", what, err)) < 0)
		return rc;
	return 0;
}

static int by_id(const void *a, const void *b)
{
	return strcmp((*(const bench_instance *const *)a)->instance_id, (*(const bench_instance *const *)b)->instance_id);
}

/* Duplicate ids would make "the instance with that id" ambiguous. */
static int check_unique(const bench_dataset *ds, pl_err *err)
{
	const bench_instance **v;
	size_t i;
	int rc = 0;

	if (ds->n < 2)
		return 0;
	v = pl_xmalloc(ds->n * sizeof(*v));
	for (i = 0; i < ds->n; i++)
		v[i] = &ds->items[i];
	qsort(v, ds->n, sizeof(*v), by_id);
	for (i = 1; i < ds->n; i++)
		if (!strcmp(v[i - 1]->instance_id, v[i]->instance_id)) {
			rc = pl_err_set(err, PL_EFORMAT, "%s: instance '%s' appears twice", ds->path,
					v[i]->instance_id);
			break;
		}
	free(v);
	return rc;
}

static void push(bench_dataset *ds, size_t *cap)
{
	if (ds->n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		ds->items = pl_xrealloc(ds->items, *cap * sizeof(*ds->items));
	}
	memset(&ds->items[ds->n], 0, sizeof(ds->items[0]));
}

/* bench__json_records' callback: one instance more. */
typedef struct load_state {
	bench_dataset *ds;
	size_t cap;
} load_state;

static int add_instance(void *ctx, const json_t *o, const char *what, pl_err *err)
{
	load_state *ls = ctx;
	int rc;

	push(ls->ds, &ls->cap);
	if ((rc = instance_from_json(&ls->ds->items[ls->ds->n], o, what, err)) < 0) {
		instance_release(&ls->ds->items[ls->ds->n]);
		return rc;
	}
	ls->ds->n++;
	return 0;
}

int bench_dataset_load(bench_dataset **out, const char *path, pl_err *err)
{
	bench_dataset *ds = pl_xcalloc(1, sizeof(*ds));
	pl_buf text = PL_BUF_INIT;
	load_state ls = { ds, 0 };
	int rc;

	ds->path = pl_xstrdup(path);
	if ((rc = bench_file_read(&text, path, err)) < 0 ||
	    (rc = bench__json_records(&text, path, false, add_instance, &ls, err)) < 0)
		goto done;
	if ((rc = check_unique(ds, err)) < 0)
		goto done;
	*out = ds;
	ds = NULL;
done:
	bench_dataset_free(ds);
	pl_buf_release(&text);
	return rc;
}

const bench_instance *bench_dataset_find(const bench_dataset *ds, const char *instance_id)
{
	size_t i;

	for (i = 0; ds && i < ds->n; i++)
		if (!strcmp(ds->items[i].instance_id, instance_id))
			return &ds->items[i];
	return NULL;
}

int bench_dataset_select(bench_dataset *ds, char *const *ids, size_t n_ids, pl_err *err)
{
	pl_buf missing = PL_BUF_INIT;
	size_t i, j, k = 0, n_missing = 0;
	bool *keep;

	for (j = 0; j < n_ids; j++)
		if (!bench_dataset_find(ds, ids[j])) {
			pl_buf_printf(&missing, "%s%s", n_missing ? " " : "", ids[j]);
			n_missing++;
		}
	if (n_missing) {
		pl_err_set(err, PL_ENOTFOUND, "%s: %zu instance id%s not in the dataset: %.600s", ds->path, n_missing,
			   n_missing == 1 ? " is" : "s are", missing.ptr);
		pl_buf_release(&missing);
		return PL_ENOTFOUND;
	}
	keep = pl_xcalloc(ds->n ? ds->n : 1, sizeof(bool));
	for (i = 0; i < ds->n; i++)
		for (j = 0; j < n_ids && !keep[i]; j++)
			keep[i] = !strcmp(ds->items[i].instance_id, ids[j]);
	for (i = 0; i < ds->n; i++) {
		if (keep[i])
			ds->items[k++] = ds->items[i];
		else
			instance_release(&ds->items[i]);
	}
	ds->n = k;
	free(keep);
	return 0;
}

static int by_id_index(const void *a, const void *b, void *ctx)
{
	const bench_dataset *ds = ctx;

	return strcmp(ds->items[*(const size_t *)a].instance_id, ds->items[*(const size_t *)b].instance_id);
}

/* qsort_r is GNU; a small merge sort keeps this file POSIX. */
static void sort_idx(size_t *v, size_t n, size_t *tmp, const bench_dataset *ds)
{
	size_t m, i, j, k;

	if (n < 2)
		return;
	m = n / 2;
	sort_idx(v, m, tmp, ds);
	sort_idx(v + m, n - m, tmp, ds);
	for (i = 0, j = m, k = 0; i < m || j < n;)
		tmp[k++] = j >= n || (i < m && by_id_index(&v[i], &v[j], (void *)ds) <= 0) ? v[i++] : v[j++];
	memcpy(v, tmp, n * sizeof(*v));
}

int bench_dataset_shard(bench_dataset *ds, int k, int n, pl_err *err)
{
	size_t *order, *tmp, i, out = 0;
	bool *keep;

	if (n < 1 || k < 1 || k > n)
		return pl_err_set(err, PL_EINVAL, "shard %d/%d: shards are numbered 1 to N (1/%d ... %d/%d)", k, n,
				  n > 0 ? n : 4, n > 0 ? n : 4, n > 0 ? n : 4);
	order = pl_xmalloc((ds->n + 1) * sizeof(size_t));
	tmp = pl_xmalloc((ds->n + 1) * sizeof(size_t));
	keep = pl_xcalloc(ds->n + 1, sizeof(bool));
	for (i = 0; i < ds->n; i++)
		order[i] = i;
	sort_idx(order, ds->n, tmp, ds);
	for (i = 0; i < ds->n; i++)
		if (i % (size_t)n == (size_t)(k - 1))
			keep[order[i]] = true;
	for (i = 0; i < ds->n; i++) {
		if (keep[i])
			ds->items[out++] = ds->items[i];
		else
			instance_release(&ds->items[i]);
	}
	ds->n = out;
	free(order);
	free(tmp);
	free(keep);
	return 0;
}
