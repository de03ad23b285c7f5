/* Code intelligence: outline, definition, references in all nine grammars. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

TestSuite(code, .init = fx_setup, .fini = fx_teardown, .timeout = 60);

static const struct {
	const char *path, *src, *outline;
} langs[] = {
	{ "g.py",
		"class Greeter:\n"
		"    def greet(self, name):\n"
		"        return helper(name)\n"
		"\n"
		"\n"
		"def helper(name):\n"
		"    return \"hi \" + name\n",
	  "class Greeter  [1-3]\n  function greet  [2-3]\nfunction helper  [6-7]\n" },
	{ "g.c",
		"#define MAX 10\n"
		"struct greeter { int n; };\n"
		"\n"
		"static int helper(int x)\n"
		"{\n"
		"\treturn x + MAX;\n"
		"}\n"
		"\n"
		"int greet(struct greeter *g)\n"
		"{\n"
		"\treturn helper(g->n);\n"
		"}\n",
	  "macro MAX  [1-1]\nclass greeter  [2-2]\nfunction helper  [4-7]\nfunction greet  [9-12]\n" },
	{ "g.cpp",
		"namespace app {\n"
		"class Greeter {\n"
		"public:\n"
		"\tint greet(int x) { return helper(x); }\n"
		"};\n"
		"int helper(int x) { return x; }\n"
		"}\n",
	  "module app  [1-7]\n  class Greeter  [2-5]\n    function greet  [4-4]\n  function helper  [6-6]\n" },
	{ "Greeter.java",
		"public class Greeter {\n"
		"    public Greeter() {}\n"
		"    public int greet(int x) {\n"
		"        return helper(x);\n"
		"    }\n"
		"    static int helper(int x) { return x; }\n"
		"}\n",
	  "class Greeter  [1-7]\n  method Greeter  [2-2]\n  method greet  [3-5]\n  method helper  [6-6]\n" },
	{ "g.js",
		"class Greeter {\n"
		"  greet(name) {\n"
		"    return helper(name);\n"
		"  }\n"
		"}\n"
		"function helper(name) {\n"
		"  return \"hi \" + name;\n"
		"}\n",
	  "class Greeter  [1-5]\n  method greet  [2-4]\nfunction helper  [6-8]\n" },
	{ "g.ts",
		"interface Named { name: string }\n"
		"class Greeter {\n"
		"  greet(n: Named): string {\n"
		"    return helper(n.name);\n"
		"  }\n"
		"}\n"
		"function helper(name: string): string {\n"
		"  return \"hi \" + name;\n"
		"}\n",
	  "interface Named  [1-1]\nclass Greeter  [2-6]\n  method greet  [3-5]\nfunction helper  [7-9]\n" },
	{ "g.tsx",
		"function helper(name: string): string {\n"
		"  return \"hi \" + name;\n"
		"}\n"
		"export function Greeter(props: { name: string }) {\n"
		"  return <div>{helper(props.name)}</div>;\n"
		"}\n",
	  "function helper  [1-3]\nfunction Greeter  [4-6]\n" },
	{ "g.go",
		"package main\n"
		"\n"
		"type Greeter struct{ n int }\n"
		"\n"
		"func (g *Greeter) Greet() int {\n"
		"\treturn helper(g.n)\n"
		"}\n"
		"\n"
		"func helper(x int) int { return x }\n",
	  "type Greeter  [3-3]\nmethod Greet  [5-7]\nfunction helper  [9-9]\n" },
	{ "g.rs",
		"struct Greeter { n: i32 }\n"
		"\n"
		"impl Greeter {\n"
		"    fn greet(&self) -> i32 {\n"
		"        helper(self.n)\n"
		"    }\n"
		"}\n"
		"\n"
		"fn helper(x: i32) -> i32 { x }\n",
	  "class Greeter  [1-1]\nimpl Greeter  [3-7]\n  method greet  [4-6]\nfunction helper  [9-9]\n" },
};

static void write_langs(void)
{
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(langs); i++)
		fx_puts(langs[i].path, langs[i].src);
	fx_git_commit_all("langs");
}

Test(code, outline_every_language_nested_with_ranges)
{
	tools_ctx *c;
	size_t i;

	write_langs();
	c = fx_ctx();
	for (i = 0; i < PL_ARRAY_LEN(langs); i++) {
		json_t *a = json_pack("{s:s}", "path", langs[i].path);
		tools_obs o;
		tools_obs_init(&o);
		cr_assert_eq(tools_call(&o, c, "outline", a, NULL), 0, "%s: %s", langs[i].path, o.text.ptr);
		cr_assert_str_eq(o.text.ptr, langs[i].outline, "%s", langs[i].path);
		json_decref(a);
		tools_obs_release(&o);
	}
	tools_ctx_free(c);
}

Test(code, definition_and_references_across_languages)
{
	tools_ctx *c;
	tools_obs o;

	write_langs();
	c = fx_ctx();
	o = fx_obs(c, "definition", "{\"symbol\":\"helper\"}");
	cr_assert_eq(json_integer_value(json_object_get(o.data, "count")), 9, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "g.c:4-7 function helper: static int helper(int x)\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "g.rs:9-9 function helper: fn helper(x: i32) -> i32 { x }\n"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "definition", "{\"symbol\":\"Greeter.greet\",\"path\":\"g.py\"}");
	cr_assert_str_eq(o.text.ptr, "g.py:2-3 function greet: def greet(self, name):\n");
	tools_obs_release(&o);
	o = fx_obs(c, "definition", "{\"symbol\":\"Other.greet\"}");
	cr_assert(strstr(o.text.ptr, "No definition of 'Other.greet'"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "references", "{\"symbol\":\"helper\"}");
	cr_assert_eq(json_integer_value(json_object_get(o.data, "count")), 18, "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "g.go:6: return helper(g.n)\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "g.tsx:5: return <div>{helper(props.name)}</div>;\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "g.py:6: (definition) def helper(name):\n"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "references", "{\"symbol\":\"helper\",\"max_results\":2}");
	cr_assert(o.truncated);
	cr_assert(strstr(o.text.ptr, "[18 in 9 files; 16 not shown"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

Test(code, comments_strings_syntax_errors_and_bad_input)
{
	tools_ctx *c;
	tools_obs o;

	fx_puts("s.py", "# helper in a comment\nx = 'helper in a string'\nhelper = 1\n");
	fx_puts("broken.py", "class Ok:\n    def fine(self):\n        pass\n\ndef broken(:\n    pass\n");
	fx_puts("notes.txt", "helper\n");
	fx_puts("empty.go", "package main\n");
	c = fx_ctx();
	o = fx_obs(c, "references", "{\"symbol\":\"helper\"}");
	cr_assert_str_eq(o.text.ptr, "s.py:3: (definition) helper = 1\n");
	tools_obs_release(&o);
	o = fx_obs(c, "outline", "{\"path\":\"broken.py\"}");
	cr_assert(strstr(o.text.ptr, "class Ok  [1-3]\n  function fine  [2-3]\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "[note: the file has syntax errors"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "outline", "{\"path\":\"empty.go\"}");
	cr_assert(strstr(o.text.ptr, "No classes, functions or other definitions found in 'empty.go'"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "outline", "{\"path\":\"notes.txt\"}");
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "no grammar for 'notes.txt'"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "outline", "{\"path\":\"gone.py\"}");
	cr_assert(strstr(o.text.ptr, "'gone.py' does not exist"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "definition", "{\"symbol\":\"a b\"}");
	cr_assert(strstr(o.text.ptr, "symbol 'a b' is not an identifier"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "references", "{\"symbol\":\"x\",\"path\":\"nope\"}");
	cr_assert(strstr(o.text.ptr, "path 'nope' does not exist"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

Test(code, outline_of_a_large_file)
{
	pl_buf b = PL_BUF_INIT;
	tools_ctx *c;
	tools_obs o;
	int i;

	for (i = 0; i < 2000; i++)
		pl_buf_printf(&b, "class C%d:\n    def m(self):\n        return %d\n\n", i, i);
	fx_write("big.py", b.ptr, b.len);
	pl_buf_release(&b);
	c = fx_ctx();
	o = fx_obs(c, "outline", "{\"path\":\"big.py\"}");
	cr_assert_eq(json_array_size(json_object_get(o.data, "definitions")), 4000);
	cr_assert(o.truncated);
	cr_assert(strstr(o.text.ptr, "class C0  [1-3]\n  function m  [2-3]\nclass C1  [5-7]\n"), "%.200s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* Every language with a syntax error appended: the outline still lists
 * what parses and says the file is broken. */
Test(code, syntax_errors_in_every_language)
{
	tools_ctx *c;
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(langs); i++) {
		pl_buf b = PL_BUF_INIT;
		pl_buf_printf(&b, "%s\n)))( @@ {{ \"\n", langs[i].src);
		fx_puts(langs[i].path, b.ptr);
		pl_buf_release(&b);
	}
	c = fx_ctx();
	for (i = 0; i < PL_ARRAY_LEN(langs); i++) {
		json_t *a = json_pack("{s:s}", "path", langs[i].path);
		tools_obs o;
		const char *first_nl = strchr(langs[i].outline, '\n');
		pl_buf first = PL_BUF_INIT;
		tools_obs_init(&o);
		cr_assert_eq(tools_call(&o, c, "outline", a, NULL), 0, "%s: %s", langs[i].path, o.text.ptr);
		cr_assert(strstr(o.text.ptr, "[note: the file has syntax errors (first at lines "), "%s: %s", langs[i].path, o.text.ptr);
		/* the first definition is still there, by name */
		pl_buf_add(&first, langs[i].outline, (size_t)(strchr(langs[i].outline, ' ') - langs[i].outline));
		cr_assert(first_nl && strstr(o.text.ptr, first.ptr), "%s: %s", langs[i].path, o.text.ptr);
		pl_buf_release(&first);
		json_decref(a);
		tools_obs_release(&o);
	}
	tools_ctx_free(c);
}

/* CRLF, Latin-1, binary, symlinked, ignored and submodule entries. */
Test(code, awkward_files)
{
	static const char bin[] = { 'i', 'n', 't', ' ', 'w', 'i', 'd', 'g', 'e', 't', '(', ')', ';', 0, 1, 2 };
	const char crlf[] = "int widget(void)\r\n{\r\n\treturn 1;\r\n}\r\n\r\nint user(void)\r\n{\r\n\treturn widget();\r\n}\r\n";
	const char lat1[] = "def widget_py():\n    return 'caf\xe9'\n\nx = widget_py()\n";
	tools_ctx *c;
	tools_obs o;

	fx_write("crlf.c", crlf, strlen(crlf));
	fx_write("lat1.py", lat1, strlen(lat1));
	fx_write("bin.c", bin, sizeof(bin));
	fx_puts("ignored.c", "int widget(void) { return 2; }\n");
	fx_puts(".gitignore", "ignored.c\n");
	cr_assert_eq(fx_sh(NULL, "ln -s crlf.c link.c"), 0);
	fx_git_commit_all("base");
	cr_assert_eq(fx_sh(NULL, "git update-index --add --cacheinfo 160000,1111111111111111111111111111111111111111,sub.c && git commit -qm sub"), 0);
	c = fx_ctx();
	o = fx_obs(c, "outline", "{\"path\":\"crlf.c\"}");
	cr_assert_str_eq(o.text.ptr, "function widget  [1-4]\nfunction user  [6-9]\n");
	tools_obs_release(&o);
	/* one definition: the binary, ignored, symlinked and submodule entries are skipped */
	o = fx_obs(c, "definition", "{\"symbol\":\"widget\"}");
	cr_assert_str_eq(o.text.ptr, "crlf.c:1-4 function widget: int widget(void)\n");
	tools_obs_release(&o);
	o = fx_obs(c, "references", "{\"symbol\":\"widget\"}");
	cr_assert_str_eq(o.text.ptr, "crlf.c:1: (definition) int widget(void)\ncrlf.c:8: return widget();\n");
	tools_obs_release(&o);
	o = fx_obs(c, "references", "{\"symbol\":\"widget_py\"}");
	cr_assert_str_eq(o.text.ptr, "lat1.py:1: (definition) def widget_py():\nlat1.py:4: x = widget_py()\n");
	tools_obs_release(&o);
	o = fx_obs(c, "outline", "{\"path\":\"lat1.py\"}");
	cr_assert_str_eq(o.text.ptr, "function widget_py  [1-2]\nconstant x  [4-4]\n");
	tools_obs_release(&o);
	o = fx_obs(c, "outline", "{\"path\":\"bin.c\"}");
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "'bin.c' is not a readable text file"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "outline", "{\"path\":\"link.c\"}");
	cr_assert(o.is_error);
	cr_assert(strstr(o.text.ptr, "'link.c' is not a readable text file"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}
