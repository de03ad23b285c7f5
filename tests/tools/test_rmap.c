/* repo_map: ranking by references, personalisation toward what is
 * mentioned, the token budget, every language, and the per-file cache (in
 * memory, on disk, invalidated by edits, robust to a corrupt file). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

TestSuite(rmap, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

/* A Python project: core.Engine is used by three files, util.helper by
 * one, lonely.unreferenced_constant by none. */
static void python_project(void)
{
	fx_puts("pkg/core.py", "class Engine:\n    def start_engine(self):\n        return 1\n\n\ndef make_engine():\n    return Engine()\n");
	fx_puts("pkg/util.py", "def helper(x):\n    return x\n");
	fx_puts("pkg/a.py", "from pkg.core import Engine\n\ndef run_a():\n    return Engine().start_engine()\n");
	fx_puts("pkg/b.py", "from pkg.core import Engine, make_engine\n\ndef run_b():\n    e = make_engine()\n    return Engine()\n");
	fx_puts("pkg/c.py", "from pkg.core import Engine\nfrom pkg.util import helper\n\ndef run_c():\n    return helper(Engine())\n");
	fx_puts("pkg/lonely.py", "UNREFERENCED_CONSTANT = 3\n");
	fx_puts("README.md", "not source\n");
}

static json_t *map(tools_ctx *c, const char *args, char **text)
{
	tools_obs o;
	json_t *data;

	tools_obs_init(&o);
	cr_assert_eq(fx_call(&o, c, "repo_map", args), 0, "%s", o.text.ptr);
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	if (text)
		*text = pl_xstrdup(o.text.ptr);
	data = json_incref(o.data);
	tools_obs_release(&o);
	return data;
}

static const char *first_file(const json_t *data)
{
	const json_t *f = json_object_get(data, "ranked_files"), *v;
	size_t i;

	json_array_foreach(f, i, v)
		if (json_integer_value(json_object_get(v, "order")) == 0)
			return json_string_value(json_object_get(v, "path"));
	return NULL;
}

Test(rmap, ranks_the_most_referenced_definitions_first)
{
	tools_ctx *c;
	json_t *d;
	char *t, *engine, *lonely;

	python_project();
	fx_git_commit_all("base");
	c = fx_ctx();
	d = map(c, "{}", &t);
	cr_assert_str_eq(first_file(d), "pkg/core.py", "%s", t);
	cr_assert_not_null(engine = strstr(t, "pkg/core.py:\n1: class Engine:\n"), "%s", t);
	lonely = strstr(t, "UNREFERENCED_CONSTANT");
	cr_assert(!lonely || lonely > engine, "%s", t);
	cr_assert(pl_str_starts_with(t, "Repository map: "), "%s", t);
	cr_assert_null(strstr(t, "README"), "%s", t);
	cr_assert_eq(json_integer_value(json_object_get(d, "definitions_total")), 8, "%s", t);
	cr_assert_eq(json_integer_value(json_object_get(d, "files_parsed")), 6);
	free(t);
	json_decref(d);
	tools_ctx_free(c);
}

Test(rmap, mentions_pull_the_map_toward_them)
{
	tools_ctx *c;
	json_t *d;
	char *t;

	python_project();
	fx_git_commit_all("base");
	c = fx_ctx();
	d = map(c, "{\"paths\":[\"pkg/util.py\"],\"max_tokens\":64}", &t);
	cr_assert_str_eq(first_file(d), "pkg/util.py", "%s", t);
	cr_assert(strstr(t, "toward what you mentioned"), "%s", t);
	free(t);
	json_decref(d);
	/* a name in free text: its definition comes first */
	d = map(c, "{\"text\":\"The lonely UNREFERENCED_CONSTANT is wrong\",\"max_tokens\":64}", &t);
	cr_assert_str_eq(first_file(d), "pkg/lonely.py", "%s", t);
	cr_assert(strstr(t, "pkg/lonely.py:\n1: UNREFERENCED_CONSTANT = 3\n"), "%s", t);
	free(t);
	json_decref(d);
	/* Class.method in symbols */
	d = map(c, "{\"symbols\":[\"Engine.start_engine\"],\"max_tokens\":64}", &t);
	cr_assert(strstr(t, "2:     def start_engine(self):"), "%s", t);
	free(t);
	json_decref(d);
	/* what does not exist is said, not silently dropped */
	d = map(c, "{\"paths\":[\"nope.py\"],\"symbols\":[\"no_such_thing\"]}", &t);
	cr_assert(strstr(t, "[note: 'nope.py' is not a Python, C, C++"), "%s", t);
	cr_assert(strstr(t, "[note: no definition of 'no_such_thing' found; try search]"), "%s", t);
	free(t);
	json_decref(d);
	tools_ctx_free(c);
}

Test(rmap, fits_the_token_budget)
{
	tools_ctx *c;
	pl_buf big = PL_BUF_INIT;
	json_t *d;
	char *t;
	int i;

	for (i = 0; i < 300; i++)
		pl_buf_printf(&big, "def function_number_%03d(argument_one, argument_two):\n    return function_number_%03d(1, 2)\n\n", i,
			      (i + 1) % 300);
	fx_puts("big.py", big.ptr);
	fx_git_commit_all("base");
	c = fx_ctx();
	d = map(c, "{\"max_tokens\":200}", &t);
	cr_assert_leq(json_integer_value(json_object_get(d, "tokens")), 200);
	cr_assert_leq(strlen(t), 200 * 4 + 400, "%zu bytes", strlen(t));
	cr_assert_gt(json_integer_value(json_object_get(d, "definitions_shown")), 5);
	cr_assert_lt(json_integer_value(json_object_get(d, "definitions_shown")), 300);
	free(t);
	json_decref(d);
	d = map(c, "{\"max_tokens\":100000}", &t);
	cr_assert_eq(json_integer_value(json_object_get(d, "definitions_shown")), 300);
	cr_assert(strstr(t, "1: def function_number_000(argument_one, argument_two):\n"), "%s", t);
	free(t);
	json_decref(d);
	pl_buf_release(&big);
	tools_ctx_free(c);
}

Test(rmap, every_language_and_awkward_files)
{
	static const char bin[] = { 'd', 'e', 'f', ' ', 0, 1, 2, 3 };
	tools_ctx *c;
	json_t *d;
	char *t;

	fx_puts("a.py", "def py_function():\n    return c_function_caller()\n");
	fx_puts("b.c", "int c_function(void) { return 1; }\n");
	fx_puts("c.cpp", "namespace ns { class CppClass { public: int m(); }; }\n");
	fx_puts("D.java", "public class JavaClass { void javaMethod() {} }\n");
	fx_puts("e.js", "function jsFunction() { return 1; }\n");
	fx_puts("f.ts", "interface TsInterface { x: number }\nfunction tsFunction(): number { return 1; }\n");
	fx_puts("g.tsx", "function TsxComponent() { return <div/>; }\n");
	fx_puts("h.go", "package main\n\nfunc GoFunction() int { return 1 }\n");
	fx_puts("i.rs", "fn rust_function() -> i32 { 1 }\nstruct RustStruct;\n");
	fx_puts("broken.py", "def broken_but_listed(:\n    pass\n\ndef after_error():\n    pass\n");
	fx_write("crlf.py", "def crlf_function():\r\n    return 1\r\n", 36);
	fx_write("latin1.py", "def latin1_function():\n    return 'caf\xe9'\n", 41);
	fx_write("binary.py", bin, sizeof(bin));
	fx_puts("ignored.py", "def ignored_function():\n    pass\n");
	fx_puts(".gitignore", "ignored.py\n");
	cr_assert_eq(fx_sh(NULL, "ln -s a.py link.py"), 0);
	/* over 1 MiB: listed, not parsed */
	cr_assert_eq(fx_sh(NULL, "{ echo 'def huge_function():'; echo '    pass'; yes 'x = 1' | head -n 200000; } > huge.py"), 0);
	fx_git_commit_all("base");
	cr_assert_eq(fx_sh(NULL, "git update-index --add --cacheinfo 160000,1111111111111111111111111111111111111111,sub.py && git commit -qm sub"), 0);
	c = fx_ctx();
	d = map(c, "{\"max_tokens\":4000}", &t);
	cr_assert(strstr(t, "def py_function():"), "%s", t);
	cr_assert(strstr(t, "int c_function(void)"), "%s", t);
	cr_assert(strstr(t, "class CppClass"), "%s", t);
	cr_assert(strstr(t, "public class JavaClass"), "%s", t);
	cr_assert(strstr(t, "function jsFunction()"), "%s", t);
	cr_assert(strstr(t, "interface TsInterface"), "%s", t);
	cr_assert(strstr(t, "function TsxComponent()"), "%s", t);
	cr_assert(strstr(t, "func GoFunction() int"), "%s", t);
	cr_assert(strstr(t, "fn rust_function() -> i32"), "%s", t);
	cr_assert(strstr(t, "def after_error():"), "%s", t);
	cr_assert(strstr(t, "1: def crlf_function():\n"), "%s", t); /* no \r shown */
	cr_assert(strstr(t, "return 'caf\\xE9'") == NULL && strstr(t, "def latin1_function():"), "%s", t);
	cr_assert_null(strstr(t, "ignored_function"), "%s", t);
	cr_assert_null(strstr(t, "link.py"), "symlinks are not followed: %s", t);
	cr_assert_null(strstr(t, "sub.py"), "%s", t);
	cr_assert_null(strstr(t, "binary.py:"), "%s", t);
	cr_assert_null(strstr(t, "huge_function"), "%s", t);
	cr_assert(strstr(t, "\nother files, by rank:\n") && strstr(t, "\nhuge.py\n"), "%s", t);
	free(t);
	json_decref(d);
	tools_ctx_free(c);
}

Test(rmap, cache_survives_the_context_and_follows_edits)
{
	tools_ctx *c;
	json_t *d;
	char *t;
	pl_buf cache = PL_BUF_INIT;

	python_project();
	fx_git_commit_all("base");
	c = fx_ctx();
	d = map(c, "{}", NULL);
	cr_assert_eq(json_integer_value(json_object_get(d, "files_parsed")), 6);
	json_decref(d);
	/* same context: nothing parsed again */
	d = map(c, "{}", NULL);
	cr_assert_eq(json_integer_value(json_object_get(d, "files_parsed")), 0);
	cr_assert_eq(json_integer_value(json_object_get(d, "files_cached")), 6);
	json_decref(d);
	tools_ctx_free(c);
	/* a new context reads the cache file under .git */
	pl_path_join(&cache, fx_root.ptr, ".git/plait-cache/repo-map.bin");
	cr_assert(pl_file_exists(cache.ptr));
	c = fx_ctx();
	d = map(c, "{}", NULL);
	cr_assert_eq(json_integer_value(json_object_get(d, "files_parsed")), 0);
	cr_assert_eq(json_integer_value(json_object_get(d, "files_cached")), 6);
	json_decref(d);
	/* an edit (uncommitted), a new file, a deleted file */
	fx_puts("pkg/util.py", "def helper(x):\n    return x\n\n\ndef brand_new_helper():\n    pass\n");
	fx_puts("pkg/new.py", "def another_new_function():\n    pass\n");
	cr_assert_eq(fx_sh(NULL, "rm pkg/lonely.py"), 0);
	d = map(c, "{\"max_tokens\":4000}", &t);
	cr_assert_eq(json_integer_value(json_object_get(d, "files_parsed")), 2);
	cr_assert_eq(json_integer_value(json_object_get(d, "files_cached")), 4);
	cr_assert(strstr(t, "brand_new_helper"), "%s", t);
	cr_assert(strstr(t, "another_new_function"), "%s", t);
	cr_assert_null(strstr(t, "UNREFERENCED_CONSTANT"), "%s", t);
	free(t);
	json_decref(d);
	tools_ctx_free(c);
	/* a corrupt cache file is ignored and rewritten */
	cr_assert_eq(fx_sh(NULL, "head -c 100 /dev/urandom > .git/plait-cache/repo-map.bin"), 0);
	c = fx_ctx();
	d = map(c, "{}", NULL);
	cr_assert_eq(json_integer_value(json_object_get(d, "files_parsed")), 6);
	json_decref(d);
	tools_ctx_free(c);
	c = fx_ctx();
	d = map(c, "{}", NULL);
	cr_assert_eq(json_integer_value(json_object_get(d, "files_cached")), 6);
	json_decref(d);
	tools_ctx_free(c);
	/* a truncated one too, and an empty one */
	cr_assert_eq(fx_sh(NULL, "truncate -s 300 .git/plait-cache/repo-map.bin"), 0);
	c = fx_ctx();
	d = map(c, "{}", NULL);
	cr_assert_eq(json_integer_value(json_object_get(d, "files_parsed")), 6);
	json_decref(d);
	tools_ctx_free(c);
	cr_assert_eq(fx_sh(NULL, ": > .git/plait-cache/repo-map.bin"), 0);
	c = fx_ctx();
	d = map(c, "{}", NULL);
	cr_assert_eq(json_integer_value(json_object_get(d, "files_parsed")), 6);
	json_decref(d);
	tools_ctx_free(c);
	pl_buf_release(&cache);
}

Test(rmap, plain_directory_and_bad_arguments)
{
	tools_ctx *c;
	tools_obs o;
	json_t *d;
	char *t;

	python_project();
	c = fx_ctx(); /* no git repository: walk the directory, no cache file */
	d = map(c, "{\"path\":\"pkg\"}", &t);
	cr_assert(strstr(t, "pkg/core.py:\n1: class Engine:"), "%s", t);
	free(t);
	json_decref(d);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "repo_map", "{\"max_tokens\":10}"), 0);
	cr_assert(strstr(o.text.ptr, "argument 'max_tokens' must be at least 64"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "repo_map", "{\"paths\":\"pkg\"}"), 0);
	cr_assert(strstr(o.text.ptr, "argument 'paths' must be an array"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_obs_init(&o);
	cr_assert_lt(fx_call(&o, c, "repo_map", "{\"path\":\"../..\"}"), 0);
	cr_assert(strstr(o.text.ptr, "outside the repository"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* #12.8: with the task pointing somewhere, files the ranking walk never
 * reaches (rank 0) are not listed: they filled the map in alphabetical
 * order under "most relevant". */
Test(rmap, unreached_files_are_not_listed)
{
	tools_ctx *c;
	json_t *d;
	char *t;
	int i;

	fx_puts("core.py", "def target_function():\n    return 1\n");
	fx_puts("user.py", "from core import target_function\n\ndef use_it():\n    return target_function()\n");
	for (i = 0; i < 20; i++) {
		char path[32], body[96];
		snprintf(path, sizeof(path), "aaa_unrelated_%02d.py", i);
		snprintf(body, sizeof(body), "def unrelated_%02d():\n    return %d\n", i, i);
		fx_puts(path, body);
	}
	fx_git_commit_all("base");
	c = fx_ctx();
	d = map(c, "{\"paths\":[\"user.py\"],\"max_tokens\":4000}", &t);
	cr_assert(strstr(t, "core.py:\n"), "%s", t);
	cr_assert(strstr(t, "def target_function():"), "%s", t);
	cr_assert_null(strstr(t, "aaa_unrelated_00.py"), "%s", t);
	cr_assert_null(strstr(t, "unrelated_05"), "%s", t);
	free(t);
	json_decref(d);
	tools_ctx_free(c);
}
