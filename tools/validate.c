/* validate.c - tool arguments checked against the tool's JSON schema, with
 * messages a model can act on. */
#include "tools/internal.h"

#include <string.h>

static bool type_ok(const char *type, const json_t *v)
{
	if (!strcmp(type, "string"))
		return json_is_string(v);
	if (!strcmp(type, "integer"))
		return json_is_integer(v) || (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v));
	if (!strcmp(type, "number"))
		return json_is_number(v);
	if (!strcmp(type, "boolean"))
		return json_is_boolean(v);
	if (!strcmp(type, "array"))
		return json_is_array(v);
	if (!strcmp(type, "object"))
		return json_is_object(v);
	return false;
}

static int check_value(const json_t *schema, const json_t *v, const char *name, pl_err *err)
{
	const char *type = json_string_value(json_object_get(schema, "type"));
	const json_t *en = json_object_get(schema, "enum"), *x;
	size_t i;

	if (type && !type_ok(type, v))
		return pl_err_set(err, PL_EINVAL, "argument '%s' must be %s%s, got %s", name,
				  !strcmp(type, "integer") || !strcmp(type, "array") || !strcmp(type, "object") ? "an " : "a ",
				  type, pl_json_type_name(v));
	if (en) {
		pl_buf allowed = PL_BUF_INIT;
		json_array_foreach(en, i, x) {
			if (json_equal(x, v)) {
				pl_buf_release(&allowed);
				return 0;
			}
			pl_buf_printf(&allowed, "%s%s", i ? ", " : "", json_string_value(x) ? json_string_value(x) : "?");
		}
		pl_err_set(err, PL_EINVAL, "argument '%s' must be one of: %s", name, allowed.ptr);
		pl_buf_release(&allowed);
		return PL_EINVAL;
	}
	if ((x = json_object_get(schema, "minimum")) && json_is_number(v) && json_number_value(v) < json_number_value(x))
		return pl_err_set(err, PL_EINVAL, "argument '%s' must be at least %lld, got %g", name,
				  (long long)json_number_value(x), json_number_value(v));
	if ((x = json_object_get(schema, "maximum")) && json_is_number(v) && json_number_value(v) > json_number_value(x))
		return pl_err_set(err, PL_EINVAL, "argument '%s' must be at most %lld, got %g", name,
				  (long long)json_number_value(x), json_number_value(v));
	if ((x = json_object_get(schema, "maxLength")) && json_is_string(v)) {
		/* JSON Schema counts characters (code points): every byte but
		 * UTF-8's continuation bytes */
		const char *s = json_string_value(v);
		size_t len = json_string_length(v), chars = 0, max = (size_t)json_integer_value(x), k;
		for (k = 0; k < len; k++)
			chars += ((unsigned char)s[k] & 0xC0) != 0x80;
		if (chars > max)
			return pl_err_set(err, PL_EINVAL, "argument '%s' must be at most %zu characters long, got %zu",
					  name, max, chars);
	}
	if (json_is_array(v)) {
		const json_t *items = json_object_get(schema, "items");
		if ((x = json_object_get(schema, "minItems")) && json_array_size(v) < (size_t)json_integer_value(x))
			return pl_err_set(err, PL_EINVAL, "argument '%s' must have at least %lld items, got %zu", name,
					  (long long)json_integer_value(x), json_array_size(v));
		if ((x = json_object_get(schema, "maxItems")) && json_array_size(v) > (size_t)json_integer_value(x))
			return pl_err_set(err, PL_EINVAL, "argument '%s' must have at most %lld items, got %zu", name,
					  (long long)json_integer_value(x), json_array_size(v));
		if (items) {
			json_array_foreach(v, i, x) {
				char sub[160];
				int rc;
				snprintf(sub, sizeof(sub), "%s[%zu]", name, i);
				if ((rc = check_value(items, x, sub, err)) < 0)
					return rc;
			}
		}
	}
	return 0;
}

int tools_validate(const json_t *schema, const json_t *args, pl_err *err)
{
	const json_t *props = json_object_get(schema, "properties"), *req = json_object_get(schema, "required"), *v;
	const char *key;
	size_t i;
	int rc;

	if (!json_is_object(args))
		return pl_err_set(err, PL_EINVAL, "arguments must be a JSON object, got %s", pl_json_type_name(args));
	json_array_foreach(req, i, v) {
		const json_t *a = json_object_get(args, json_string_value(v));
		if (!a || json_is_null(a))
			return pl_err_set(err, PL_EINVAL, "missing required argument '%s'", json_string_value(v));
	}
	json_object_foreach((json_t *)args, key, v) {
		const json_t *ps = json_object_get(props, key);
		if (!ps) {
			pl_buf allowed = PL_BUF_INIT;
			const char *k;
			const json_t *p;
			json_object_foreach((json_t *)props, k, p)
				pl_buf_printf(&allowed, "%s%s", allowed.len ? ", " : "", k);
			pl_err_set(err, PL_EINVAL, "unknown argument '%s'; this tool takes: %s", key, allowed.ptr);
			pl_buf_release(&allowed);
			return PL_EINVAL;
		}
		if (json_is_null(v))
			continue; /* an explicit null means "not given" */
		if ((rc = check_value(ps, v, key, err)) < 0)
			return rc;
	}
	return 0;
}
