/* json.c - jansson helpers that turn every type mismatch into a message
 * naming the file (or object) and the key. */
#include "common.h"

#include <math.h>
#include <string.h>

int pl_json_load_file(json_t **out, const char *path, pl_err *err)
{
	json_error_t je;
	json_t *v;
	pl_buf b = PL_BUF_INIT;
	int rc;

	/* Read ourselves so that a missing file and bad JSON get distinct codes. */
	if ((rc = pl_file_read(&b, path, 0, err)) < 0)
		return rc;
	v = json_loadb(b.ptr, b.len, JSON_REJECT_DUPLICATES, &je);
	pl_buf_release(&b);
	if (!v)
		return pl_err_set(err, PL_EFORMAT, "%s:%d:%d: invalid JSON: %s", path, je.line, je.column,
				  je.text);
	*out = v;
	return 0;
}

int pl_json_parse(json_t **out, const char *text, size_t len, const char *what, pl_err *err)
{
	json_error_t je;
	json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);

	if (!v)
		return pl_err_set(err, PL_EFORMAT, "%s: invalid JSON at line %d, column %d: %s", what,
				  je.line, je.column, je.text);
	*out = v;
	return 0;
}

const char *pl_json_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "unknown";
}

/* Looks the key up; 1 = found, 0 = absent or null (allowed when optional). */
static int lookup(const json_t **v, const json_t *obj, const char *key, const char *what, bool optional,
		  pl_err *err)
{
	const json_t *x;

	if (!json_is_object(obj))
		return pl_err_set(err, PL_EFORMAT, "%s: expected an object", what);
	x = json_object_get(obj, key);
	if (!x || json_is_null(x)) {
		if (optional)
			return 0;
		return pl_err_set(err, PL_EFORMAT, "%s: missing required field \"%s\"", what, key);
	}
	*v = x;
	return 1;
}

#define TYPE_ERR(want) \
	pl_err_set(err, PL_EFORMAT, "%s: field \"%s\" must be %s, found %s", what, key, want, pl_json_type_name(v))

static int get_str(const char **out, const json_t *obj, const char *key, const char *what, bool opt,
		   pl_err *err)
{
	const json_t *v;
	int rc = lookup(&v, obj, key, what, opt, err);

	if (rc <= 0)
		return rc;
	if (!json_is_string(v))
		return TYPE_ERR("a string");
	*out = json_string_value(v);
	return 0;
}

static int get_int(int64_t *out, const json_t *obj, const char *key, const char *what, bool opt,
		   pl_err *err)
{
	const json_t *v;
	int rc = lookup(&v, obj, key, what, opt, err);

	if (rc <= 0)
		return rc;
	if (json_is_real(v)) {
		double d = json_real_value(v);

		/* Hugging Face configs sometimes write integers as 1.0e5.  The
		 * range is checked before the conversion, which is undefined for
		 * |d| >= 2^63 (2^63 itself is exact as a double). */
		if (d == floor(d)) {
			if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
				return pl_err_set(err, PL_EFORMAT,
						  "%s: field \"%s\" must be an integer, found %.17g, "
						  "beyond the range of a 64-bit integer",
						  what, key, d);
			*out = (int64_t)d;
			return 0;
		}
	}
	if (!json_is_integer(v))
		return TYPE_ERR("an integer");
	*out = json_integer_value(v);
	return 0;
}

static int get_num(double *out, const json_t *obj, const char *key, const char *what, bool opt,
		   pl_err *err)
{
	const json_t *v;
	int rc = lookup(&v, obj, key, what, opt, err);

	if (rc <= 0)
		return rc;
	if (!json_is_number(v))
		return TYPE_ERR("a number");
	*out = json_number_value(v);
	return 0;
}

static int get_bool(bool *out, const json_t *obj, const char *key, const char *what, bool opt,
		    pl_err *err)
{
	const json_t *v;
	int rc = lookup(&v, obj, key, what, opt, err);

	if (rc <= 0)
		return rc;
	if (!json_is_boolean(v))
		return TYPE_ERR("a boolean");
	*out = json_is_true(v);
	return 0;
}

int pl_json_get_str(const char **out, const json_t *obj, const char *key, const char *what, pl_err *err)
{
	return get_str(out, obj, key, what, false, err);
}

int pl_json_get_int(int64_t *out, const json_t *obj, const char *key, const char *what, pl_err *err)
{
	return get_int(out, obj, key, what, false, err);
}

int pl_json_get_num(double *out, const json_t *obj, const char *key, const char *what, pl_err *err)
{
	return get_num(out, obj, key, what, false, err);
}

int pl_json_get_bool(bool *out, const json_t *obj, const char *key, const char *what, pl_err *err)
{
	return get_bool(out, obj, key, what, false, err);
}

int pl_json_opt_str(const char **out, const json_t *obj, const char *key, const char *what, pl_err *err)
{
	return get_str(out, obj, key, what, true, err);
}

int pl_json_opt_int(int64_t *out, const json_t *obj, const char *key, const char *what, pl_err *err)
{
	return get_int(out, obj, key, what, true, err);
}

int pl_json_opt_num(double *out, const json_t *obj, const char *key, const char *what, pl_err *err)
{
	return get_num(out, obj, key, what, true, err);
}

int pl_json_opt_bool(bool *out, const json_t *obj, const char *key, const char *what, pl_err *err)
{
	return get_bool(out, obj, key, what, true, err);
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
	pl_buf_add(data, buffer, size);
	return 0;
}

void pl_json_dump(pl_buf *b, const json_t *v, bool pretty)
{
	size_t flags = JSON_PRESERVE_ORDER | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17);

	flags |= pretty ? JSON_INDENT(2) : JSON_COMPACT;
	if (json_dump_callback(v, dump_cb, b, flags) < 0)
		PL_BUG("json_dump_callback failed");
}

void pl_json_set(json_t *obj, const char *key, json_t *value)
{
	if (!value || json_object_set_new(obj, key, value) < 0)
		PL_BUG("cannot set JSON field \"%s\" (out of memory?)", key);
}
