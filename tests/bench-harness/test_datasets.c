#include <criterion/criterion.h>
#include <string.h>

#include "bench-harness/bench.h"

Test(datasets, scan_lists_and_counts)
{
	pl_buf dir = PL_BUF_INIT, p = PL_BUF_INIT;
	json_t *out = json_array(), *o;
	pl_err err = { 0 };
	static const char jsonl[] = "{\"instance_id\":\"a\"}\n\n{\"instance_id\":\"b\"}\r\n{\"instance_id\":\"c\"}";

	cr_assert_eq(pl_mkdtemp(&dir, "plait-test-datasets", NULL), 0);
	pl_path_join(&p, dir.ptr, "verified.jsonl");
	cr_assert_eq(pl_file_write_atomic(p.ptr, jsonl, strlen(jsonl), 0644, NULL), 0);
	pl_buf_reset(&p);
	pl_path_join(&p, dir.ptr, "lite.jsonl.xz");
	cr_assert_eq(pl_file_write_atomic(p.ptr, "\xfd" "7zXZ", 5, 0644, NULL), 0);
	pl_buf_reset(&p);
	pl_path_join(&p, dir.ptr, "notes.txt");
	cr_assert_eq(pl_file_write_atomic(p.ptr, "x", 1, 0644, NULL), 0);
	pl_buf_reset(&p);
	pl_path_join(&p, dir.ptr, "empty.jsonl");
	cr_assert_eq(pl_file_write_atomic(p.ptr, "", 0, 0644, NULL), 0);

	cr_assert_eq(bench_datasets_scan(out, dir.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(json_array_size(out), 3); /* sorted by name, .txt skipped */
	o = json_array_get(out, 0);
	cr_assert(pl_str_ends_with(json_string_value(json_object_get(o, "path")), "/empty.jsonl"));
	cr_assert_eq(json_integer_value(json_object_get(o, "instances")), 0);
	o = json_array_get(out, 1);
	cr_assert(pl_str_ends_with(json_string_value(json_object_get(o, "path")), "/lite.jsonl.xz"));
	cr_assert(json_is_true(json_object_get(o, "compressed")));
	cr_assert_null(json_object_get(o, "instances"));
	o = json_array_get(out, 2);
	cr_assert_eq(json_integer_value(json_object_get(o, "instances")), 3);
	cr_assert_eq(json_integer_value(json_object_get(o, "bytes")), (json_int_t)strlen(jsonl));

	cr_assert_eq(bench_datasets_scan(out, "/nonexistent-plait", &err), 0);
	cr_assert_eq(json_array_size(out), 3);
	cr_assert_eq(bench_datasets_scan(NULL, dir.ptr, &err), PL_EINVAL);
	json_decref(out);
	pl_rm_rf(dir.ptr, NULL);
	pl_buf_release(&dir);
	pl_buf_release(&p);
}
