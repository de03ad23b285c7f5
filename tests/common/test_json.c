#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

static json_t *parse(const char *s)
{
	json_t *v = NULL;
	pl_err err = { 0 };

	cr_assert_eq(pl_json_parse(&v, s, strlen(s), "test", &err), 0, "%s", err.msg);
	return v;
}

Test(json, parse_errors_name_the_place)
{
	json_t *v = NULL;
	pl_err err = { 0 };

	cr_assert_eq(pl_json_parse(&v, "{\"a\": }", 7, "config.json", &err), PL_EFORMAT);
	cr_assert(pl_str_starts_with(err.msg, "config.json: invalid JSON at line 1"), "%s", err.msg);
	cr_assert_null(v);
	cr_assert_eq(pl_json_parse(&v, "{\"a\":1,\"a\":2}", 13, "dup", &err), PL_EFORMAT);
}

Test(json, typed_getters)
{
	json_t *o = parse("{\"s\":\"x\",\"i\":3,\"r\":1e5,\"f\":0.5,\"b\":true,\"n\":null}");
	const char *s = NULL;
	int64_t i = 0;
	double d = 0;
	bool b = false;
	pl_err err = { 0 };

	cr_assert_eq(pl_json_get_str(&s, o, "s", "cfg", &err), 0);
	cr_assert_str_eq(s, "x");
	cr_assert_eq(pl_json_get_int(&i, o, "i", "cfg", &err), 0);
	cr_assert_eq(i, 3);
	cr_assert_eq(pl_json_get_int(&i, o, "r", "cfg", &err), 0); /* 1e5 is an integer */
	cr_assert_eq(i, 100000);
	cr_assert_eq(pl_json_get_int(&i, o, "f", "cfg", &err), PL_EFORMAT);
	cr_assert_str_eq(err.msg, "cfg: field \"f\" must be an integer, found a number");
	/* reals that are whole numbers beyond int64: an error, never a cast */
	pl_json_set(o, "big", json_real(1e19));
	pl_json_set(o, "two63", json_real(9223372036854775808.0));
	pl_json_set(o, "neg", json_real(-1e300));
	i = 7;
	cr_assert_eq(pl_json_get_int(&i, o, "big", "cfg", &err), PL_EFORMAT);
	cr_assert_str_eq(err.msg, "cfg: field \"big\" must be an integer, found 1e+19, beyond the range of a 64-bit integer");
	cr_assert_eq(pl_json_get_int(&i, o, "two63", "cfg", &err), PL_EFORMAT);
	cr_assert_eq(pl_json_opt_int(&i, o, "neg", "cfg", &err), PL_EFORMAT);
	cr_assert_eq(i, 7, "the value changed on error");
	/* the extremes that do fit */
	pl_json_set(o, "min", json_real(-9223372036854775808.0));
	pl_json_set(o, "max", json_real(9223372036854774784.0)); /* largest double below 2^63 */
	cr_assert_eq(pl_json_get_int(&i, o, "min", "cfg", &err), 0);
	cr_assert_eq(i, INT64_MIN);
	cr_assert_eq(pl_json_get_int(&i, o, "max", "cfg", &err), 0);
	cr_assert_eq(i, 9223372036854774784LL);
	cr_assert_eq(pl_json_get_num(&d, o, "i", "cfg", &err), 0);
	cr_assert_float_eq(d, 3.0, 1e-12);
	cr_assert_eq(pl_json_get_bool(&b, o, "b", "cfg", &err), 0);
	cr_assert(b);
	cr_assert_eq(pl_json_get_str(&s, o, "i", "cfg", &err), PL_EFORMAT);
	cr_assert_str_eq(err.msg, "cfg: field \"i\" must be a string, found an integer");
	cr_assert_eq(pl_json_get_num(&d, o, "s", "cfg", &err), PL_EFORMAT);
	cr_assert_eq(pl_json_get_bool(&b, o, "s", "cfg", &err), PL_EFORMAT);
	cr_assert_eq(pl_json_get_str(&s, o, "missing", "cfg", &err), PL_EFORMAT);
	cr_assert_str_eq(err.msg, "cfg: missing required field \"missing\"");
	cr_assert_eq(pl_json_get_str(&s, o, "n", "cfg", &err), PL_EFORMAT); /* null = missing */
	json_decref(o);
}

Test(json, optional_getters_leave_defaults)
{
	json_t *o = parse("{\"i\":7,\"n\":null,\"bad\":\"x\"}");
	int64_t i = 99;
	double d = 1.5;
	bool b = true;
	const char *s = "default";
	pl_err err = { 0 };

	cr_assert_eq(pl_json_opt_int(&i, o, "missing", "c", &err), 0);
	cr_assert_eq(i, 99);
	cr_assert_eq(pl_json_opt_int(&i, o, "n", "c", &err), 0);
	cr_assert_eq(i, 99);
	cr_assert_eq(pl_json_opt_int(&i, o, "i", "c", &err), 0);
	cr_assert_eq(i, 7);
	cr_assert_eq(pl_json_opt_num(&d, o, "missing", "c", &err), 0);
	cr_assert_float_eq(d, 1.5, 0);
	cr_assert_eq(pl_json_opt_bool(&b, o, "missing", "c", &err), 0);
	cr_assert(b);
	cr_assert_eq(pl_json_opt_str(&s, o, "missing", "c", &err), 0);
	cr_assert_str_eq(s, "default");
	cr_assert_eq(pl_json_opt_int(&i, o, "bad", "c", &err), PL_EFORMAT); /* present but wrong */
	json_decref(o);
}

Test(json, getters_on_non_objects)
{
	json_t *a = parse("[1,2]");
	int64_t i;
	pl_err err = { 0 };

	cr_assert_eq(pl_json_get_int(&i, a, "x", "arr", &err), PL_EFORMAT);
	cr_assert_str_eq(err.msg, "arr: expected an object");
	json_decref(a);
}

Test(json, dump_keeps_order_and_round_trips)
{
	json_t *o = json_object();
	pl_buf b = PL_BUF_INIT;
	json_t *back = NULL;

	pl_json_set(o, "z", json_integer(1));
	pl_json_set(o, "a", json_string("ü\n\"q\""));
	pl_json_set(o, "r", json_real(0.1));
	pl_json_dump(&b, o, false);
	cr_assert_str_eq(b.ptr, "{\"z\":1,\"a\":\"ü\\n\\\"q\\\"\",\"r\":0.10000000000000001}");
	cr_assert_eq(pl_json_parse(&back, b.ptr, b.len, "dump", NULL), 0);
	cr_assert(json_equal(o, back));
	pl_buf_reset(&b);
	pl_json_dump(&b, o, true);
	cr_assert_not_null(strstr(b.ptr, "\n  \"a\""));
	json_decref(back);
	json_decref(o);
	pl_buf_release(&b);
}

Test(json, load_file_errors)
{
	pl_buf dir = PL_BUF_INIT, p = PL_BUF_INIT;
	json_t *v = NULL;
	pl_err err = { 0 };

	cr_assert_eq(pl_mkdtemp(&dir, "plait-test-json", NULL), 0);
	pl_path_join(&p, dir.ptr, "bad.json");
	cr_assert_eq(pl_json_load_file(&v, p.ptr, &err), PL_ENOTFOUND);
	cr_assert_eq(pl_file_write_atomic(p.ptr, "{\n  \"a\": tru\n}", 14, 0644, NULL), 0);
	cr_assert_eq(pl_json_load_file(&v, p.ptr, &err), PL_EFORMAT);
	cr_assert_not_null(strstr(err.msg, "bad.json:2:"), "%s", err.msg);
	cr_assert_eq(pl_file_write_atomic(p.ptr, "{\"a\": true}", 11, 0644, NULL), 0);
	cr_assert_eq(pl_json_load_file(&v, p.ptr, &err), 0);
	cr_assert(json_is_true(json_object_get(v, "a")));
	json_decref(v);
	pl_rm_rf(dir.ptr, NULL);
	pl_buf_release(&dir);
	pl_buf_release(&p);
}

Test(json, type_names_read_in_messages)
{
	json_t *v[] = { json_object(), json_array(), json_string("x"), json_integer(1), json_real(1.5),
			json_true(), json_false(), json_null() };
	const char *want[] = { "an object", "an array", "a string", "an integer", "a number",
			       "a boolean", "a boolean", "null" };
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cr_assert_str_eq(pl_json_type_name(v[i]), want[i]);
		json_decref(v[i]);
	}
}
