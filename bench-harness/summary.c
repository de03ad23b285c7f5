/* summary.c - the run summary of reporting.make_run_report (v4.1's keys,
 * or v5's with the infra-failure fields), written as the official harness
 * writes it, and the merge of the summaries of a run's shards. */
#include "bench-harness/internal.h"

#include <stdlib.h>
#include <string.h>

/* Python truthiness of a JSON value */
static bool truthy(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_TRUE:
		return true;
	case JSON_FALSE:
	case JSON_NULL:
		return false;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_OBJECT:
		return json_object_size(v) > 0;
	}
	return false;
}

/* report.json's verdict: 1 resolved, 0 unresolved, -1 unreadable (empty,
 * not JSON, keys missing: the official harness counts it an error) */
static int read_verdict(const char *path, const char *id)
{
	pl_buf b = PL_BUF_INIT;
	const char *s;
	size_t n;
	json_t *j = NULL, *r;
	int v = -1;

	if (pl_file_read(&b, path, 0, NULL) < 0 || !bench__utf8_valid(b.ptr, b.len, NULL))
		goto done;
	s = b.ptr;
	n = b.len;
	bench__py_strip(&s, &n);
	if (!n || !(j = json_loadb(s, n, 0, NULL)) || !json_is_object(j))
		goto done;
	r = json_object_get(j, id);
	if (!json_is_object(r) || !json_object_get(r, "resolved"))
		goto done;
	v = truthy(json_object_get(r, "resolved")) ? 1 : 0;
done:
	json_decref(j);
	pl_buf_release(&b);
	return v;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* sorted(ids) as a new array */
static json_t *sorted(const json_t *ids)
{
	size_t n = json_array_size(ids), i;
	json_t **v = pl_xmalloc((n ? n : 1) * sizeof(*v)), *out = json_array();

	for (i = 0; i < n; i++)
		v[i] = json_array_get(ids, i);
	qsort(v, n, sizeof(*v), by_str);
	for (i = 0; i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	return out;
}

static void add_id(json_t *a, const char *id)
{
	json_array_append_new(a, json_string(id));
}

/* classify_logs(test_output.txt, run_instance.log): the files that exist,
 * read with errors="replace", joined by "\n" */
static const char *classify_dir(const char *dir, bool *env)
{
	static const char *const names[] = { "test_output.txt", "run_instance.log" };
	pl_buf all = PL_BUF_INIT, p = PL_BUF_INIT, raw = PL_BUF_INIT;
	const char *reason;
	size_t i;
	int chunks = 0;

	for (i = 0; i < PL_ARRAY_LEN(names); i++) {
		pl_buf_reset(&p);
		pl_buf_reset(&raw);
		pl_path_join(&p, dir, names[i]);
		if (!pl_file_exists(p.ptr) || pl_file_read(&raw, p.ptr, 0, NULL) < 0)
			continue;
		if (chunks++)
			pl_buf_putc(&all, '\n');
		bench__universal_newlines(&all, raw.ptr, raw.len);
	}
	reason = bench__classify(all.ptr, all.len, env);
	pl_buf_release(&all);
	pl_buf_release(&p);
	pl_buf_release(&raw);
	return reason;
}

int bench_run_report(json_t **out, const bench_dataset *ds, const bench_preds *p, const char *log_dir,
		     const char *run_id, bench_grading g, pl_err *err)
{
	json_t *completed = json_array(), *incomplete = json_array(), *empty = json_array(), *submitted = json_array(),
	       *resolved = json_array(), *unresolved = json_array(), *errors = json_array(), *infra = json_array(),
	       *ambiguous = json_array(), *reasons = json_object(), *s = json_object();
	pl_buf path = PL_BUF_INIT;
	size_t i;
	bool v5 = g == BENCH_GRADING_V5;

	(void)err;
	for (i = 0; i < ds->n; i++) {
		const bench_instance *in = &ds->items[i];
		const bench_pred *pr = bench_preds_find(p, in->instance_id);
		int v;

		if (!pr) {
			add_id(incomplete, in->instance_id);
			continue;
		}
		if (bench_pred_is_empty(pr)) {
			add_id(empty, in->instance_id);
			continue;
		}
		pl_buf_reset(&path);
		bench_instance_log_dir(&path, log_dir, run_id, pr->model, in->instance_id);
		pl_buf_puts(&path, "/report.json");
		if (!pl_file_exists(path.ptr)) {
			add_id(errors, in->instance_id);
			continue;
		}
		/* completed even when the report turns out unreadable */
		add_id(completed, in->instance_id);
		v = read_verdict(path.ptr, in->instance_id);
		add_id(v < 0 ? errors : v ? resolved : unresolved, in->instance_id);
	}
	if (v5) {
		/* unresolved | error, classified from their logs */
		json_t *both = json_array(), *sb;

		json_array_extend(both, unresolved);
		json_array_extend(both, errors);
		sb = sorted(both);
		for (i = 0; i < json_array_size(sb); i++) {
			const char *id = json_string_value(json_array_get(sb, i)), *reason;
			bool env = false;

			pl_buf_reset(&path);
			bench_instance_log_dir(&path, log_dir, run_id, bench_preds_find(p, id)->model, id);
			if ((reason = classify_dir(path.ptr, &env)) != NULL) {
				pl_json_set(reasons, id, json_string(reason));
				add_id(env ? infra : ambiguous, id);
			}
		}
		json_decref(both);
		json_decref(sb);
	}
	for (i = 0; i < p->n; i++)
		add_id(submitted, p->items[i].instance_id);

	pl_json_set(s, "total_instances", json_integer((json_int_t)ds->n));
	pl_json_set(s, "submitted_instances", json_integer((json_int_t)p->n));
	pl_json_set(s, "completed_instances", json_integer((json_int_t)json_array_size(completed)));
	pl_json_set(s, "resolved_instances", json_integer((json_int_t)json_array_size(resolved)));
	pl_json_set(s, "unresolved_instances", json_integer((json_int_t)json_array_size(unresolved)));
	if (v5) {
		pl_json_set(s, "infra_failure_instances", json_integer((json_int_t)json_array_size(infra)));
		pl_json_set(s, "ambiguous_failure_instances", json_integer((json_int_t)json_array_size(ambiguous)));
	}
	pl_json_set(s, "empty_patch_instances", json_integer((json_int_t)json_array_size(empty)));
	pl_json_set(s, "error_instances", json_integer((json_int_t)json_array_size(errors)));
	pl_json_set(s, "completed_ids", sorted(completed));
	pl_json_set(s, "incomplete_ids", sorted(incomplete));
	pl_json_set(s, "empty_patch_ids", sorted(empty));
	pl_json_set(s, "submitted_ids", sorted(submitted));
	pl_json_set(s, "resolved_ids", sorted(resolved));
	pl_json_set(s, "unresolved_ids", sorted(unresolved));
	if (v5) {
		pl_json_set(s, "infra_failure_ids", sorted(infra));
		pl_json_set(s, "ambiguous_failure_ids", sorted(ambiguous));
		pl_json_set(s, "failure_reasons", json_incref(reasons)); /* built in sorted order */
	}
	pl_json_set(s, "error_ids", sorted(errors));
	pl_json_set(s, "schema_version", json_integer(2));
	if (v5) {
		/* v5's main passes its docker client: these come with it; plait
		 * leaves no container or image behind */
		pl_json_set(s, "unstopped_instances", json_integer(0));
		pl_json_set(s, "unstopped_containers", json_array());
		pl_json_set(s, "unremoved_images", json_array());
	}
	json_decref(completed);
	json_decref(incomplete);
	json_decref(empty);
	json_decref(submitted);
	json_decref(resolved);
	json_decref(unresolved);
	json_decref(errors);
	json_decref(infra);
	json_decref(ambiguous);
	json_decref(reasons);
	pl_buf_release(&path);
	*out = s;
	return 0;
}

int bench_run_report_write(pl_buf *path_out, const json_t *summary, const bench_preds *p, const char *report_dir,
			   const char *run_id, int shard_k, int shard_n, pl_err *err)
{
	pl_buf path = PL_BUF_INIT, name = PL_BUF_INIT, b = PL_BUF_INIT;
	int rc;

	if (!p->n)
		return pl_err_set(err, PL_EINVAL, "no predictions: the summary is named after the first one's model");
	if (!report_dir)
		report_dir = ".";
	if ((rc = pl_mkdir_p(report_dir, 0755, err)) < 0)
		return rc;
	bench_model_dir(&name, p->items[0].model);
	pl_buf_printf(&name, ".%s", run_id);
	if (shard_n > 0)
		pl_buf_printf(&name, ".shard-%d-of-%d", shard_k, shard_n);
	pl_buf_puts(&name, ".json");
	pl_path_join(&path, report_dir, name.ptr);
	/* print(json.dumps(report, indent=4), file=f) */
	bench_json_dump_py(&b, summary, 4);
	pl_buf_putc(&b, '\n');
	rc = pl_file_write_atomic(path.ptr, b.ptr, b.len, 0644, err);
	if (rc == 0 && path_out)
		pl_buf_add(path_out, path.ptr, path.len);
	pl_buf_release(&path);
	pl_buf_release(&name);
	pl_buf_release(&b);
	return rc;
}

/* ------------------------------------------------------------ merge */

static const struct {
	const char *count, *ids;
} counted[] = {
	{ "submitted_instances", "submitted_ids" },
	{ "completed_instances", "completed_ids" },
	{ "resolved_instances", "resolved_ids" },
	{ "unresolved_instances", "unresolved_ids" },
	{ "infra_failure_instances", "infra_failure_ids" },
	{ "ambiguous_failure_instances", "ambiguous_failure_ids" },
	{ "empty_patch_instances", "empty_patch_ids" },
	{ "error_instances", "error_ids" },
	{ "unstopped_instances", "unstopped_containers" },
};

static bool is_list_key(const char *k)
{
	return pl_str_ends_with(k, "_ids") || !strcmp(k, "unstopped_containers") || !strcmp(k, "unremoved_images");
}

/* union of string arrays, sorted, without repeats */
static json_t *unite(json_t *acc, const json_t *more)
{
	json_t *all = json_array(), *s, *out = json_array();
	size_t i;

	json_array_extend(all, acc);
	json_array_extend(all, (json_t *)more);
	s = sorted(all);
	for (i = 0; i < json_array_size(s); i++)
		if (!i || strcmp(json_string_value(json_array_get(s, i)), json_string_value(json_array_get(s, i - 1))))
			json_array_append(out, json_array_get(s, i));
	json_decref(all);
	json_decref(s);
	return out;
}

int bench_summary_merge(json_t **out, json_t *const *shards, size_t n, pl_err *err)
{
	json_t *m = NULL, *seen = json_object();
	size_t i, k;
	int rc = 0;

	if (!n)
		return pl_err_set(err, PL_EINVAL, "no summaries to merge");
	for (i = 0; i < n; i++) {
		const char *key;
		json_t *v;
		void *it1, *it2;

		if (!json_is_object(shards[i]) || !json_object_get(shards[i], "schema_version")) {
			rc = pl_err_set(err, PL_EFORMAT, "summary %zu is not a run summary (no schema_version)", i + 1);
			goto done;
		}
		/* the same keys in the same order: all v4 or all v5 */
		for (it1 = json_object_iter(shards[0]), it2 = json_object_iter(shards[i]); it1 || it2;
		     it1 = json_object_iter_next(shards[0], it1), it2 = json_object_iter_next(shards[i], it2))
			if (!it1 || !it2 || strcmp(json_object_iter_key(it1), json_object_iter_key(it2))) {
				rc = pl_err_set(err, PL_EFORMAT,
						"summary %zu has other keys than summary 1 (v4 and v5 summaries cannot be "
						"merged)",
						i + 1);
				goto done;
			}
		/* every instance of a shard's total belongs to that shard alone */
		{
			static const char *const parts[] = { "incomplete_ids", "empty_patch_ids", "completed_ids",
							     "error_ids" };
			json_t *mine = json_object();

			for (k = 0; k < PL_ARRAY_LEN(parts); k++) {
				size_t j;
				json_t *a = json_object_get(shards[i], parts[k]);

				for (j = 0; j < json_array_size(a); j++)
					json_object_set_new(mine, json_string_value(json_array_get(a, j)),
							    json_integer((json_int_t)i + 1));
			}
			json_object_foreach(mine, key, v) {
				json_t *prev = json_object_get(seen, key);

				if (prev) {
					rc = pl_err_set(err, PL_EFORMAT, "instance '%s' is in summaries %lld and %zu: "
							"they are not shards of one run", key,
							(long long)json_integer_value(prev), i + 1);
					json_decref(mine);
					goto done;
				}
			}
			json_object_update(seen, mine);
			json_decref(mine);
		}
		if (!m) {
			m = json_deep_copy(shards[0]);
			continue;
		}
		json_object_foreach(shards[i], key, v) {
			json_t *acc = json_object_get(m, key);

			if (is_list_key(key)) {
				json_object_set_new(m, key, unite(acc, v));
			} else if (!strcmp(key, "failure_reasons")) {
				json_object_update(acc, v);
			} else if (!strcmp(key, "total_instances")) {
				json_object_set_new(m, key, json_integer(json_integer_value(acc) + json_integer_value(v)));
			} else if (!strcmp(key, "schema_version") && !json_equal(acc, v)) {
				rc = pl_err_set(err, PL_EFORMAT, "summaries 1 and %zu have different schema versions", i + 1);
				goto done;
			}
		}
	}
	/* counts follow the lists; failure_reasons in key order */
	for (k = 0; k < PL_ARRAY_LEN(counted); k++)
		if (json_object_get(m, counted[k].count))
			json_object_set_new(m, counted[k].count,
					    json_integer((json_int_t)json_array_size(json_object_get(m, counted[k].ids))));
	if (json_object_get(m, "failure_reasons")) {
		json_t *fr = json_object_get(m, "failure_reasons"), *keys = json_array(), *sk, *o = json_object();
		const char *key;
		json_t *v;

		json_object_foreach(fr, key, v) json_array_append_new(keys, json_string(key));
		sk = sorted(keys);
		for (k = 0; k < json_array_size(sk); k++) {
			const char *id = json_string_value(json_array_get(sk, k));

			json_object_set(o, id, json_object_get(fr, id));
		}
		json_object_set_new(m, "failure_reasons", o);
		json_decref(keys);
		json_decref(sk);
	}
	*out = m;
	m = NULL;
done:
	json_decref(m);
	json_decref(seen);
	return rc;
}
