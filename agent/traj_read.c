/* traj_read.c - trajectories read back: one file's records (what a killed
 * run left included), its summary, the sums over a directory, and the
 * list of saved chat sessions. */
#include "agent/internal.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int agent_traj_load(json_t **out, bool *complete, json_t **skipped, const char *path, pl_err *err)
{
	pl_buf text = PL_BUF_INIT;
	json_t *recs = NULL, *bad = json_array();
	size_t line = 0;
	bool ended = false;
	char *p, *nl;
	int rc;

	if ((rc = pl_file_read(&text, path, 0, err)) < 0) {
		if (rc == PL_ENOTFOUND || rc == PL_EIO)
			pl_err_prefix(err, "trajectory");
		return rc;
	}
	recs = json_array();
	for (p = text.ptr; p < text.ptr + text.len; p = nl + 1) {
		json_t *r = NULL;
		char what[64];

		line++;
		nl = memchr(p, '\n', (size_t)(text.ptr + text.len - p));
		if (!nl) {
			/* a last line without its newline: the run was killed while
			 * writing it; what it had finished is in the lines before */
			break;
		}
		if (nl == p)
			continue;
		snprintf(what, sizeof(what), "line %zu", line);
		{
			pl_err e = { 0 };

			if ((rc = pl_json_parse(&r, p, (size_t)(nl - p), what, &e)) < 0 || !json_is_object(r) ||
			    !json_is_string(json_object_get(r, "type"))) {
				if (rc == 0)
					rc = pl_err_set(&e, PL_EFORMAT, "line %zu is not a trajectory record (no \"type\")", line);
				json_decref(r);
				if (line == 1) {
					/* no start: not a trajectory at all */
					pl_err_set(err, rc, "%s: %s", path, e.msg);
					goto done;
				}
				/* one bad line (hand-edited, a disk error) costs that
				 * record, not the whole file */
				json_array_append_new(bad, json_pack("{s:I, s:s}", "line", (json_int_t)line, "error", e.msg));
				rc = 0;
				continue;
			}
		}
		if (line == 1 && strcmp(json_string_value(json_object_get(r, "type")), "start")) {
			json_decref(r);
			rc = pl_err_set(err, PL_EFORMAT, "%s: not a plait trajectory (the first record is not \"start\")",
					path);
			goto done;
		}
		if (!strcmp(json_string_value(json_object_get(r, "type")), "end"))
			ended = true;
		json_array_append_new(recs, r);
	}
	if (!json_array_size(recs)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: empty trajectory (no start record)", path);
		goto done;
	}
	if (complete)
		*complete = ended;
	if (skipped) {
		*skipped = bad;
		bad = NULL;
	}
	*out = recs;
	recs = NULL;
done:
	json_decref(recs);
	json_decref(bad);
	pl_buf_release(&text);
	return rc;
}

static const char *type_of(const json_t *r)
{
	return json_string_value(json_object_get(r, "type"));
}

/* A record's field as a new reference; null when it has none. */
static json_t *field(const json_t *rec, const char *key)
{
	json_t *v = json_object_get(rec, key);

	return v ? json_incref(v) : json_null();
}

json_t *agent_traj_summary(const json_t *records)
{
	json_t *s = json_object(), *r, *start = json_array_get(records, 0), *end = NULL;
	agent_usage u = { 0 };
	int64_t steps = 0, tools = 0, format_errors = 0, turns = 0;
	const char *first = NULL;
	size_t i;

	u.cost_known = true;
	json_array_foreach(records, i, r) {
		const char *t = type_of(r);

		if (!strcmp(t, "model_call")) {
			const json_t *us = json_object_get(r, "usage"), *c = json_object_get(us, "cost");

			steps++;
			u.input += json_integer_value(json_object_get(us, "input"));
			u.output += json_integer_value(json_object_get(us, "output"));
			u.cached += json_integer_value(json_object_get(us, "cached"));
			u.calls++;
			if (json_is_number(c))
				u.cost += json_number_value(c);
			else
				u.cost_known = false;
		} else if (!strcmp(t, "tool")) {
			tools++;
		} else if (!strcmp(t, "format_error")) {
			format_errors++;
		} else if (!strcmp(t, "message")) {
			const json_t *m = json_object_get(r, "message");

			if (!strcmp(json_string_value(json_object_get(m, "role")) ?: "", "user") &&
			    json_integer_value(json_object_get(r, "step")) == 0) {
				turns++;
				if (!first)
					first = json_string_value(json_object_get(m, "content"));
			}
		} else if (!strcmp(t, "end")) {
			end = r;
		}
	}
	if (!u.calls)
		u.cost_known = true;
	/* a start record written by hand may lack any of them */
	pl_json_set(s, "id", field(start, "id"));
	pl_json_set(s, "kind", field(start, "kind"));
	pl_json_set(s, "repo", field(start, "repo"));
	pl_json_set(s, "model", field(start, "model"));
	pl_json_set(s, "started", field(start, "time"));
	pl_json_set(s, "exit_reason", field(end, "exit_reason"));
	pl_json_set(s, "submitted", json_boolean(end && json_is_true(json_object_get(end, "submitted"))));
	pl_json_set(s, "steps", json_integer(steps));
	pl_json_set(s, "tool_calls", json_integer(tools));
	pl_json_set(s, "format_errors", json_integer(format_errors));
	pl_json_set(s, "turns", json_integer(turns));
	pl_json_set(s, "first", first ? json_string(first) : json_null());
	pl_json_set(s, "usage", agent_usage_json(&u));
	pl_json_set(s, "elapsed", field(end, "elapsed"));
	pl_json_set(s, "complete", json_boolean(end != NULL));
	return s;
}

/* Every *.jsonl below dir (three levels at most), sorted. */
static void walk(json_t *files, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		pl_buf p = PL_BUF_INIT;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		pl_path_join(&p, dir, e->d_name);
		if (lstat(p.ptr, &st) == 0) {
			if (S_ISDIR(st.st_mode) && depth < 3)
				walk(files, p.ptr, depth + 1);
			else if (S_ISREG(st.st_mode) && pl_str_ends_with(e->d_name, ".jsonl"))
				json_array_append_new(files, json_string(p.ptr));
		}
		pl_buf_release(&p);
	}
	closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *sorted_files(const char *dir)
{
	json_t *files = json_array(), *out = json_array();
	size_t n = 0, i;
	const char **v;

	walk(files, dir, 0);
	n = json_array_size(files);
	v = pl_xcalloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(files, i));
	qsort(v, n, sizeof(*v), cmp_str);
	for (i = 0; i < n; i++)
		json_array_append_new(out, json_string(v[i]));
	free(v);
	json_decref(files);
	return out;
}

int agent_traj_stats(json_t **out, const char *dir, pl_err *err)
{
	json_t *files, *sums, *reasons = json_object(), *list = json_array(), *errors = json_array(), *f;
	agent_usage u = { 0 };
	int64_t runs = 0, complete = 0, submitted = 0, steps = 0, tools = 0, unknown_cost = 0;
	double elapsed = 0;
	size_t i;

	if (!pl_dir_exists(dir)) {
		json_decref(reasons);
		json_decref(list);
		json_decref(errors);
		return pl_err_set(err, PL_ENOTFOUND, "'%s' is not a directory", dir);
	}
	files = sorted_files(dir);
	json_array_foreach(files, i, f) {
		json_t *recs = NULL, *skipped = NULL, *s, *us, *x;
		pl_err e = { 0 };
		size_t k;

		if (agent_traj_load(&recs, NULL, &skipped, json_string_value(f), &e) < 0) {
			json_array_append_new(errors, json_pack("{s:O, s:s}", "file", f, "error", e.msg));
			continue;
		}
		json_array_foreach(skipped, k, x) {
			pl_buf m = PL_BUF_INIT;

			pl_buf_printf(&m, "%s: %s (that record only)", json_string_value(f),
				      json_string_value(json_object_get(x, "error")));
			json_array_append_new(errors, json_pack("{s:O, s:s}", "file", f, "error", m.ptr));
			pl_buf_release(&m);
		}
		json_decref(skipped);
		s = agent_traj_summary(recs);
		json_decref(recs);
		pl_json_set(s, "file", json_incref(f));
		runs++;
		if (json_is_true(json_object_get(s, "complete")))
			complete++;
		if (json_is_true(json_object_get(s, "submitted")))
			submitted++;
		x = json_object_get(s, "exit_reason");
		{
			const char *name = json_is_string(x) ? json_string_value(x) : "unfinished";
			json_int_t n = json_integer_value(json_object_get(reasons, name));

			pl_json_set(reasons, name, json_integer(n + 1));
		}
		steps += json_integer_value(json_object_get(s, "steps"));
		tools += json_integer_value(json_object_get(s, "tool_calls"));
		us = json_object_get(s, "usage");
		u.input += json_integer_value(json_object_get(us, "input"));
		u.output += json_integer_value(json_object_get(us, "output"));
		u.cached += json_integer_value(json_object_get(us, "cached"));
		u.calls += json_integer_value(json_object_get(us, "calls"));
		if (json_is_number(json_object_get(us, "cost")))
			u.cost += json_number_value(json_object_get(us, "cost"));
		else
			unknown_cost++;
		if (json_is_number(json_object_get(s, "elapsed")))
			elapsed += json_number_value(json_object_get(s, "elapsed"));
		json_array_append_new(list, s);
	}
	u.cost_known = true; /* the sum of the known costs; unknown ones are counted apart */
	sums = json_object();
	pl_json_set(sums, "dir", json_string(dir));
	pl_json_set(sums, "runs", json_integer(runs));
	pl_json_set(sums, "complete", json_integer(complete));
	pl_json_set(sums, "submitted", json_integer(submitted));
	pl_json_set(sums, "exit_reasons", reasons);
	pl_json_set(sums, "steps", json_integer(steps));
	pl_json_set(sums, "tool_calls", json_integer(tools));
	pl_json_set(sums, "usage", agent_usage_json(&u));
	pl_json_set(sums, "cost_unknown_runs", json_integer(unknown_cost));
	pl_json_set(sums, "elapsed", json_real(elapsed));
	pl_json_set(sums, "files", list);
	pl_json_set(sums, "errors", errors);
	json_decref(files);
	*out = sums;
	return 0;
}

int agent_sessions_list(json_t **out, const char *dir, const char *repo, pl_err *err)
{
	json_t *files, *list = json_array(), *f;
	size_t i;

	(void)err;
	if (!pl_dir_exists(dir)) {
		*out = list;
		return 0;
	}
	files = sorted_files(dir);
	/* ids start with the date and time: newest last in name order */
	for (i = json_array_size(files); i-- > 0;) {
		json_t *recs = NULL, *s, *start, *o;
		pl_err e = { 0 };
		const char *r;

		f = json_array_get(files, i);
		if (agent_traj_load(&recs, NULL, NULL, json_string_value(f), &e) < 0) {
			/* listed with its error, so that a resume by id says why */
			const char *base = strrchr(json_string_value(f), '/');
			char *id = pl_xstrdup(base ? base + 1 : json_string_value(f));

			id[strlen(id) - strlen(".jsonl")] = '\0';
			json_array_append_new(list, json_pack("{s:s, s:O, s:s}", "id", id, "path", f, "error", e.msg));
			free(id);
			continue;
		}
		start = json_array_get(recs, 0);
		r = json_string_value(json_object_get(start, "repo"));
		if (strcmp(json_string_value(json_object_get(start, "kind")) ?: "", "chat") ||
		    (repo && (!r || strcmp(r, repo)))) {
			json_decref(recs);
			continue;
		}
		s = agent_traj_summary(recs);
		o = json_pack("{s:O?, s:O, s:O?, s:O?, s:O?, s:O?}", "id", json_object_get(s, "id"), "path", f, "repo",
			      json_object_get(s, "repo"), "started", json_object_get(s, "started"), "turns",
			      json_object_get(s, "turns"), "first", json_object_get(s, "first"));
		json_array_append_new(list, o);
		json_decref(s);
		json_decref(recs);
	}
	json_decref(files);
	*out = list;
	return 0;
}
