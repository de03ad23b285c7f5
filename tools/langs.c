/* langs.c - the tree-sitter grammars compiled into plait.
 *
 * The grammars come from npm packages pinned in deps.txt; the Makefile
 * compiles their parser.c/scanner.c and generates grammar_versions.h from
 * the same file, so the versions shown here cannot drift from the pins. */
#include "tools/tools.h"
#include "tools/ts.h"

#include <string.h>

#include "grammar_versions.h"

const TSLanguage *tree_sitter_python(void);
const TSLanguage *tree_sitter_c(void);
const TSLanguage *tree_sitter_cpp(void);
const TSLanguage *tree_sitter_java(void);
const TSLanguage *tree_sitter_javascript(void);
const TSLanguage *tree_sitter_typescript(void);
const TSLanguage *tree_sitter_tsx(void);
const TSLanguage *tree_sitter_go(void);
const TSLanguage *tree_sitter_rust(void);

static const char *const py_exts[] = { ".py", ".pyi", NULL };
static const char *const c_exts[] = { ".c", ".h", NULL };
static const char *const cpp_exts[] = { ".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++",
					".ipp", ".tpp", NULL };
static const char *const java_exts[] = { ".java", NULL };
static const char *const js_exts[] = { ".js", ".mjs", ".cjs", ".jsx", NULL };
static const char *const ts_exts[] = { ".ts", ".mts", ".cts", NULL };
static const char *const tsx_exts[] = { ".tsx", NULL };
static const char *const go_exts[] = { ".go", NULL };
static const char *const rust_exts[] = { ".rs", NULL };

static const tools_lang langs[] = {
	{ "python", "tree-sitter-python", TS_VERSION_PYTHON, py_exts, tree_sitter_python },
	{ "c", "tree-sitter-c", TS_VERSION_C, c_exts, tree_sitter_c },
	{ "cpp", "tree-sitter-cpp", TS_VERSION_CPP, cpp_exts, tree_sitter_cpp },
	{ "java", "tree-sitter-java", TS_VERSION_JAVA, java_exts, tree_sitter_java },
	{ "javascript", "tree-sitter-javascript", TS_VERSION_JAVASCRIPT, js_exts, tree_sitter_javascript },
	{ "typescript", "tree-sitter-typescript", TS_VERSION_TYPESCRIPT, ts_exts, tree_sitter_typescript },
	{ "tsx", "tree-sitter-typescript", TS_VERSION_TYPESCRIPT, tsx_exts, tree_sitter_tsx },
	{ "go", "tree-sitter-go", TS_VERSION_GO, go_exts, tree_sitter_go },
	{ "rust", "tree-sitter-rust", TS_VERSION_RUST, rust_exts, tree_sitter_rust },
};

const tools_lang *tools_langs(size_t *count)
{
	*count = PL_ARRAY_LEN(langs);
	return langs;
}

const tools_lang *tools_lang_for_path(const char *path)
{
	const char *base = strrchr(path, '/'), *dot;
	size_t i, j;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (!dot || dot == base)
		return NULL;
	for (i = 0; i < PL_ARRAY_LEN(langs); i++)
		for (j = 0; langs[i].exts[j]; j++)
			if (!strcmp(dot, langs[i].exts[j]))
				return &langs[i];
	return NULL;
}

bool tools_lang_check(const tools_lang *lang, unsigned *abi_out)
{
	TSParser *p;
	const TSLanguage *l = lang->language();
	bool ok;

	if (tools_ts_load(NULL) < 0)
		return false;
	if (abi_out)
		*abi_out = ts_language_version(l);
	p = ts_parser_new();
	ok = ts_parser_set_language(p, l);
	ts_parser_delete(p);
	return ok;
}

void tools_ts_abi_range(unsigned *min_out, unsigned *max_out)
{
	*min_out = TREE_SITTER_MIN_COMPATIBLE_LANGUAGE_VERSION;
	*max_out = TREE_SITTER_LANGUAGE_VERSION;
}
