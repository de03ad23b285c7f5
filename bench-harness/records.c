/* records.c - the records of a JSON file as the official tools accept
 * them: one JSON list, JSON Lines, or (predictions) one object of
 * objects keyed by instance id. */
#include "bench-harness/internal.h"

#include <string.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* JSON Lines; blank lines (spaces, tabs, a CR) are skipped; a line that
 * is not JSON is an error naming its line and column. */
static int each_line(const pl_buf *text, const char *path, bench__record_fn fn, void *ctx, pl_err *err)
{
	pl_buf what = PL_BUF_INIT;
	size_t i, start = 0, line = 0;
	int rc = 0;

	for (i = 0; i <= text->len && rc == 0; i++) {
		json_error_t je;
		json_t *o;
		size_t end = i, s = start;

		if (i < text->len && text->ptr[i] != '\n')
			continue;
		line++;
		start = i + 1;
		while (s < end && is_space(text->ptr[s]))
			s++;
		if (s == end)
			continue;
		if (!(o = json_loadb(text->ptr + s, end - s, 0, &je))) {
			rc = pl_err_set(err, PL_EFORMAT, "%s: line %zu, column %d: %s", path, line, je.column, je.text);
			break;
		}
		pl_buf_reset(&what);
		pl_buf_printf(&what, "%s: line %zu", path, line);
		rc = fn(ctx, o, what.ptr, err);
		json_decref(o);
	}
	pl_buf_release(&what);
	return rc;
}

int bench__json_records(const pl_buf *text, const char *path, bool by_key, bench__record_fn fn, void *ctx,
			pl_err *err)
{
	pl_buf what = PL_BUF_INIT;
	json_t *all = NULL, *v;
	json_error_t je;
	const char *key;
	size_t i = 0;
	bool dict = false;
	int rc = 0;

	while (i < text->len && is_space(text->ptr[i]))
		i++;
	if (i < text->len && text->ptr[i] == '[') {
		if (!(all = json_loadb(text->ptr, text->len, 0, &je))) {
			rc = pl_err_set(err, PL_EFORMAT, "%s: line %d, column %d: %s", path, je.line, je.column, je.text);
			goto done;
		}
		for (i = 0; i < json_array_size(all) && rc == 0; i++) {
			pl_buf_reset(&what);
			pl_buf_printf(&what, "%s: item %zu", path, i);
			rc = fn(ctx, json_array_get(all, i), what.ptr, err);
		}
		goto done;
	}
	/* an object whose values are all objects is a preds.json */
	if (by_key && (all = json_loadb(text->ptr, text->len, 0, &je)) && json_is_object(all) && json_object_size(all)) {
		dict = true;
		json_object_foreach(all, key, v) dict &= json_is_object(v);
	}
	if (!dict) {
		rc = each_line(text, path, fn, ctx, err);
		goto done;
	}
	json_object_foreach(all, key, v) {
		pl_buf_reset(&what);
		pl_buf_printf(&what, "%s: '%s'", path, key);
		if ((rc = fn(ctx, v, what.ptr, err)) < 0)
			break;
	}
done:
	json_decref(all);
	pl_buf_release(&what);
	return rc;
}
