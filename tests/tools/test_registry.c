/* The tool registry: table, schemas, validation, unknown tools. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "tools/internal.h"

TestSuite(registry, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

Test(registry, every_tool_has_a_valid_schema_and_description)
{
	size_t n, i;
	const tools_def *const *all = tools_all(&n);
	json_t *l;

	cr_assert_geq(n, 8);
	for (i = 0; i < n; i++) {
		json_t *s = tools_def_schema(all[i]);
		cr_assert_str_eq(json_string_value(json_object_get(s, "type")), "object");
		cr_assert(json_is_false(json_object_get(s, "additionalProperties")), "%s", all[i]->name);
		cr_assert_gt(strlen(all[i]->description), 60, "%s: description too short", all[i]->name);
		cr_assert_eq(tools_find(all[i]->name), all[i]);
		json_decref(s);
	}
	l = tools_list_json();
	cr_assert_eq(json_array_size(l), n);
	json_decref(l);
	cr_assert_null(tools_find("rm_rf"));
}

Test(registry, validation_messages)
{
	json_t *schema = json_loads("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\",\"enum\":[\"x\",\"y\"]},"
				    "\"n\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":9},\"r\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}},"
				    "\"b\":{\"type\":\"boolean\"}},\"required\":[\"a\"],\"additionalProperties\":false}",
				    0, NULL);
	static const struct {
		const char *args, *msg;
	} cases[] = {
		{ "[]", "arguments must be a JSON object, got an array" },
		{ "{}", "missing required argument 'a'" },
		{ "{\"a\":\"z\"}", "argument 'a' must be one of: x, y" },
		{ "{\"a\":\"x\",\"q\":1}", "unknown argument 'q'; this tool takes: a, n, r, b" },
		{ "{\"a\":\"x\",\"n\":0}", "argument 'n' must be at least 1, got 0" },
		{ "{\"a\":\"x\",\"n\":9223372036854775807}", "argument 'n' must be at most 9, got 9.22337e+18" },
		{ "{\"a\":\"x\",\"n\":1.5}", "argument 'n' must be an integer, got a number" },
		{ "{\"a\":\"x\",\"r\":[1,\"2\"]}", "argument 'r[1]' must be an integer, got a string" },
		{ "{\"a\":\"x\",\"b\":\"yes\"}", "argument 'b' must be a boolean, got a string" },
	};
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(cases); i++) {
		json_t *a = json_loads(cases[i].args, JSON_DECODE_ANY, NULL);
		pl_err err = { 0 };
		cr_assert_eq(tools_validate(schema, a, &err), PL_EINVAL, "%s accepted", cases[i].args);
		cr_assert_str_eq(err.msg, cases[i].msg);
		json_decref(a);
	}
	{
		json_t *a = json_loads("{\"a\":\"y\",\"n\":3,\"r\":[1,2],\"b\":true,\"q\":null}", 0, NULL);
		pl_err err = { 0 };
		/* null for an unknown key is still unknown */
		cr_assert_eq(tools_validate(schema, a, &err), PL_EINVAL);
		json_object_del(a, "q");
		cr_assert_eq(tools_validate(schema, a, &err), 0, "%s", err.msg);
		json_decref(a);
	}
	json_decref(schema);
}

Test(registry, unknown_tool_lists_the_tools)
{
	tools_ctx *c = fx_ctx();
	tools_obs o;
	json_t *a = json_object();

	tools_obs_init(&o);
	cr_assert_eq(tools_call(&o, c, "rm_rf", a, NULL), PL_ENOTFOUND);
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "unknown tool 'rm_rf'; the tools are: view, create"), "%s", o.text.ptr);
	tools_obs_release(&o);
	json_decref(a);
	tools_ctx_free(c);
}

Test(registry, ctx_errors)
{
	tools_ctx *c = NULL;
	pl_err err = { 0 };
	tools_ctx_opts opts = { 0 };

	cr_assert_eq(tools_ctx_new(&c, "/nonexistent/plait", NULL, &err), PL_ENOTFOUND);
	cr_assert(strstr(err.msg, "repository root '/nonexistent/plait'"), "%s", err.msg);
	fx_puts("a.txt", "x\n");
	fx_git_commit_all("init");
	opts.base = "no-such-branch";
	cr_assert_eq(tools_ctx_new(&c, fx_root.ptr, &opts, &err), PL_ENOTFOUND);
	cr_assert(strstr(err.msg, "no-such-branch"), "%s", err.msg);
	cr_assert_null(c);
	tools_ctx_free(NULL);
}

/* tools/tools.h is what other modules and installed programs see: no
 * libgit2 or tree-sitter type, no header of theirs, and no helper that
 * hands out a libgit2 object (an outside caller could not free it). */
Test(registry, public_header_exposes_no_libgit2)
{
	const char *root = getenv("PLAIT_ROOT");
	pl_buf h = PL_BUF_INIT, p = PL_BUF_INIT;

	cr_assert_not_null(root, "PLAIT_ROOT is not set (run the tests through make test)");
	pl_path_join(&p, root, "tools/tools.h");
	cr_assert_eq(pl_file_read(&h, p.ptr, 0, NULL), 0, "%s", p.ptr);
	cr_assert_null(strstr(h.ptr, "git_repository"), "tools.h names git_repository");
	cr_assert_null(strstr(h.ptr, "#include <git2"), "tools.h includes libgit2");
	cr_assert_null(strstr(h.ptr, "#include \"tools/git2"), "tools.h includes tools/git2.h");
	cr_assert_null(strstr(h.ptr, "tools_git_open"), "tools.h declares tools_git_open");
	cr_assert_null(strstr(h.ptr, "struct git_"), "tools.h names a libgit2 struct");
	pl_buf_release(&h);
	pl_buf_release(&p);
}
