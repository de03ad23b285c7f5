/* The compiled-in tree-sitter grammars: each loads and parses its language. */
#include <criterion/criterion.h>
#include <string.h>

#include "tools/tools.h"
#include "tools/ts.h"

static const struct {
	const char *lang, *path, *code;
} samples[] = {
	{ "python", "a/b.py", "def f(x):\n    return x + 1\n" },
	{ "c", "x.c", "int main(void) { return 0; }\n" },
	{ "cpp", "x.hpp", "template <class T> struct S { T v; auto g() { return R\"(raw)\"; } };\n" },
	{ "java", "A.java", "class A { int f() { return 1; } }\n" },
	{ "javascript", "a.mjs", "const f = (x) => `t${x}`;\n" },
	{ "typescript", "a.ts", "interface I { a: number }\nfunction f(x: I): number { return x.a; }\n" },
	{ "tsx", "a.tsx", "const e = <div className=\"x\">{1}</div>;\n" },
	{ "go", "m.go", "package main\nfunc main() {}\n" },
	{ "rust", "l.rs", "fn main() { let s = r#\"raw\"#; /* a /* nested */ c */ }\n" },
};

Test(langs, every_grammar_parses_its_language)
{
	size_t i;

	cr_assert_eq(tools_ts_load(NULL), 0);
	for (i = 0; i < PL_ARRAY_LEN(samples); i++) {
		const tools_lang *l = tools_lang_for_path(samples[i].path);
		TSParser *p = ts_parser_new();
		TSTree *t;
		unsigned abi = 0;

		cr_assert_not_null(l, "no grammar for %s", samples[i].path);
		cr_assert_str_eq(l->name, samples[i].lang);
		cr_assert(tools_lang_check(l, &abi), "%s rejected (ABI %u)", l->name, abi);
		cr_assert(ts_parser_set_language(p, l->language()));
		t = ts_parser_parse_string(p, NULL, samples[i].code, (uint32_t)strlen(samples[i].code));
		cr_assert_not_null(t);
		cr_assert_not(ts_node_has_error(ts_tree_root_node(t)), "%s sample did not parse cleanly",
			      l->name);
		ts_tree_delete(t);
		ts_parser_delete(p);
	}
}

Test(langs, syntax_errors_are_seen)
{
	const tools_lang *l = tools_lang_for_path("bad.py");
	const char *code = "def f(:\n  return )\n";
	TSParser *p;
	TSTree *t;

	cr_assert_eq(tools_ts_load(NULL), 0);
	p = ts_parser_new();
	ts_parser_set_language(p, l->language());
	t = ts_parser_parse_string(p, NULL, code, (uint32_t)strlen(code));
	cr_assert(ts_node_has_error(ts_tree_root_node(t)));
	ts_tree_delete(t);
	ts_parser_delete(p);
}

Test(langs, table_and_lookup)
{
	size_t n, i;
	const tools_lang *all = tools_langs(&n);
	unsigned lo, hi;

	cr_assert_eq(n, 9);
	for (i = 0; i < n; i++) {
		cr_assert(pl_str_starts_with(all[i].package, "tree-sitter-"));
		cr_assert_gt(strlen(all[i].version), 0);
	}
	cr_assert_null(tools_lang_for_path("README"));
	cr_assert_null(tools_lang_for_path("notes.txt"));
	cr_assert_null(tools_lang_for_path(".py")); /* a dotfile, not a Python file */
	cr_assert_null(tools_lang_for_path("dir.py/file"));
	cr_assert_str_eq(tools_lang_for_path("src/x.h")->name, "c");
	tools_ts_abi_range(&lo, &hi);
	cr_assert_leq(lo, hi);
}

Test(libgit2, version_and_features)
{
	pl_err err = { 0 };
	json_t *g = tools_libgit2_info(&err);
	int maj, min;

	cr_assert_not_null(g, "%s", err.msg);
	maj = (int)json_integer_value(json_object_get(g, "major"));
	min = (int)json_integer_value(json_object_get(g, "minor"));
	cr_assert_geq(maj * 100 + min, 105, "libgit2 %d.%d is older than the 1.5 plait needs", maj, min);
	cr_assert(json_is_array(json_object_get(g, "features")));
	cr_assert(json_is_string(json_object_get(g, "version")));
	json_decref(g);
}
