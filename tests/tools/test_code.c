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
	  "class Greeter  [1-3]\n  method greet  [2-3]\nfunction helper  [6-7]\n" },
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
	  "macro MAX  [1-1]\nstruct greeter  [2-2]\nfunction helper  [4-7]\nfunction greet  [9-12]\n" },
	{ "g.cpp",
		"namespace app {\n"
		"class Greeter {\n"
		"public:\n"
		"\tint greet(int x) { return helper(x); }\n"
		"};\n"
		"int helper(int x) { return x; }\n"
		"}\n",
	  "module app  [1-7]\n  class Greeter  [2-5]\n    method greet  [4-4]\n  function helper  [6-6]\n" },
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
	  "struct Greeter  [3-3]\nmethod Greet  [5-7]\nfunction helper  [9-9]\n" },
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
	  "struct Greeter  [1-1]\nimpl Greeter  [3-7]\n  method greet  [4-6]\nfunction helper  [9-9]\n" },
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
	cr_assert_str_eq(o.text.ptr, "g.py:2-3 method greet: def greet(self, name):\n");
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
	cr_assert(strstr(o.text.ptr, "class Ok  [1-3]\n  method fine  [2-3]\n"), "%s", o.text.ptr);
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
	cr_assert(strstr(o.text.ptr, "class C0  [1-3]\n  method m  [2-3]\nclass C1  [5-7]\n"), "%.200s", o.text.ptr);
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

/* The navigation problems of #12.8, on one small repository. */
static void nav_repo(void)
{
	fx_puts("pkg/g.go", "package pkg\n\ntype Walker struct{ n int }\n\nfunc (w *Walker) Step() int { return w.n }\n\n"
			    "func (w Walker) Reset() {}\n\ntype Other struct{}\n\nfunc (o *Other) Step() int { return 1 }\n");
	fx_puts("sim.py", "class Sim:\n    def step(self, dt):\n        step = dt * 2\n        return step\n\n"
			  "    def run(self):\n        step = 1\n        step = self.step(step)\n        return step\n\n\n"
			  "def step(x):\n    return x\n\n\nclass Other:\n    def step(self):\n        return 0\n");
	fx_puts("v.c", "typedef struct {\n\tfloat x, y;\n} vec_t;\n\nstruct node {\n\tint v;\n};\n\nunion u { int a; };\n\n"
		       "enum color { RED, GREEN };\n\nvec_t add(vec_t a, vec_t b);\n");
	fx_puts("docs/notes.txt", "no code here\n");
	fx_git_commit_all("nav");
}

/* Go declares methods outside their type: Type.Method is found by the
 * receiver. */
Test(code, go_methods_are_found_by_their_type)
{
	tools_ctx *c;
	tools_obs o;

	nav_repo();
	c = fx_ctx();
	o = fx_obs(c, "definition", "{\"symbol\":\"Walker.Step\"}");
	cr_assert_str_eq(o.text.ptr, "pkg/g.go:5-5 method Step: func (w *Walker) Step() int { return w.n }\n");
	tools_obs_release(&o);
	o = fx_obs(c, "definition", "{\"symbol\":\"Other.Step\"}");
	cr_assert_str_eq(o.text.ptr, "pkg/g.go:11-11 method Step: func (o *Other) Step() int { return 1 }\n");
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* A qualified symbol keeps its class's definition and member uses, not
 * locals or other classes' methods; a line is listed once. */
Test(code, qualified_references_and_one_entry_per_line)
{
	tools_ctx *c;
	tools_obs o;

	nav_repo();
	c = fx_ctx();
	o = fx_obs(c, "references", "{\"symbol\":\"Sim.step\"}");
	cr_assert_str_eq(o.text.ptr, "sim.py:2: (definition) def step(self, dt):\nsim.py:8: step = self.step(step)\n");
	tools_obs_release(&o);
	o = fx_obs(c, "references", "{\"symbol\":\"step\",\"path\":\"sim.py\"}");
	cr_assert_str_eq(o.text.ptr, "sim.py:2: (definition) def step(self, dt):\n"
				     "sim.py:3: step = dt * 2\n"
				     "sim.py:4: return step\n"
				     "sim.py:7: step = 1\n"
				     "sim.py:8: step = self.step(step)\n"
				     "sim.py:9: return step\n"
				     "sim.py:12: (definition) def step(x):\n"
				     "sim.py:17: (definition) def step(self):\n");
	cr_assert_eq(json_integer_value(json_object_get(o.data, "count")), 8);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* A typedef shows its first line, not `} vec_t;`; kinds say what the
 * code says: methods, structs, unions, enums. */
Test(code, typedef_first_line_and_precise_kinds)
{
	tools_ctx *c;
	tools_obs o;

	nav_repo();
	c = fx_ctx();
	o = fx_obs(c, "definition", "{\"symbol\":\"vec_t\"}");
	cr_assert_str_eq(o.text.ptr, "v.c:1-3 type vec_t: typedef struct {\n");
	tools_obs_release(&o);
	o = fx_obs(c, "outline", "{\"path\":\"v.c\"}");
	cr_assert_str_eq(o.text.ptr, "type vec_t  [1-3]\nstruct node  [5-7]\nunion u  [9-9]\nenum color  [11-11]\n"
				     "function add  [13-13]\n");
	tools_obs_release(&o);
	o = fx_obs(c, "outline", "{\"path\":\"sim.py\"}");
	cr_assert_str_eq(o.text.ptr, "class Sim  [1-9]\n  method step  [2-4]\n  method run  [6-9]\nfunction step  [12-13]\n"
				     "class Other  [16-18]\n  method step  [17-18]\n");
	tools_obs_release(&o);
	{
		char *t = NULL;
		json_t *a = json_pack("{s:[s]}", "symbols", "vec_t");
		tools_obs_init(&o);
		cr_assert_eq(tools_call(&o, c, "repo_map", a, NULL), 0, "%s", o.text.ptr);
		t = o.text.ptr;
		cr_assert(strstr(t, "v.c:\n1: typedef struct {\n"), "%s", t);
		cr_assert_null(strstr(t, "} vec_t;"), "%s", t);
		tools_obs_release(&o);
		json_decref(a);
	}
	tools_ctx_free(c);
}

/* outline on a directory outlines its source files, or says it has none. */
Test(code, outline_of_a_directory)
{
	tools_ctx *c;
	tools_obs o;

	nav_repo();
	c = fx_ctx();
	o = fx_obs(c, "outline", "{\"path\":\"pkg\"}");
	cr_assert_not(o.is_error, "%s", o.text.ptr);
	cr_assert_str_eq(o.text.ptr, "Outline of the 1 source files under pkg:\npkg/g.go:\n  struct Walker  [3-3]\n"
				     "  method Step  [5-5]\n  method Reset  [7-7]\n  struct Other  [9-9]\n  method Step  [11-11]\n");
	tools_obs_release(&o);
	o = fx_obs(c, "outline", "{\"path\":\".\"}");
	cr_assert(strstr(o.text.ptr, "Outline of the 3 source files under .:\npkg/g.go:\n"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "\nsim.py:\n  class Sim  [1-9]\n"), "%s", o.text.ptr);
	tools_obs_release(&o);
	o = fx_obs(c, "outline", "{\"path\":\"docs\"}");
	cr_assert(strstr(o.text.ptr, "'docs' is a directory without Python, C"), "%s", o.text.ptr);
	cr_assert(strstr(o.text.ptr, "`find` lists its files"), "%s", o.text.ptr);
	tools_obs_release(&o);
	tools_ctx_free(c);
}

/* A file over 1 MiB is parsed only as far as its outline reaches; a cut
 * that falls inside a string (the prefix does not parse) grows until it
 * does, so definitions after a huge blob are still found. */
Test(code, outline_of_a_huge_file_parses_what_it_shows)
{
	pl_buf b = PL_BUF_INIT;
	tools_ctx *c;
	tools_obs o;
	int i;

	for (i = 0; i < 20000; i++)
		pl_buf_printf(&b, "class C%d(Base):\n    def m(self, a):\n        return helper(a) + %d\n\n", i, i);
	fx_write("huge.py", b.ptr, b.len);
	pl_buf_reset(&b);
	pl_buf_puts(&b, "BLOB = \"\"\"\n");
	for (i = 0; i < 40000; i++)
		pl_buf_printf(&b, "line %d of a data blob that looks like code at column 0\n", i);
	pl_buf_puts(&b, "\"\"\"\n\n\ndef after_the_blob():\n    return BLOB\n\n\nclass Late:\n    pass\n");
	fx_write("blob.py", b.ptr, b.len);
	pl_buf_release(&b);
	c = fx_ctx();
	o = fx_obs(c, "outline", "{\"path\":\"huge.py\"}");
	cr_assert(pl_str_starts_with(o.text.ptr, "class C0  [1-3]\n  method m  [2-3]\nclass C1  [5-7]\n"), "%.200s", o.text.ptr);
	cr_assert(o.truncated);
	cr_assert(json_is_false(json_object_get(o.data, "complete")));
	cr_assert(strstr(o.text.ptr, "[outline cut: the definitions starting after line"), "%s", o.text.ptr + o.text.len - 300);
	cr_assert_leq(o.text.len, 16000);
	tools_obs_release(&o);
	o = fx_obs(c, "outline", "{\"path\":\"blob.py\"}");
	cr_assert(strstr(o.text.ptr, "function after_the_blob  [40005-40006]\nclass Late  [40009-40010]\n"), "%s", o.text.ptr);
	cr_assert(json_is_true(json_object_get(o.data, "complete")));
	tools_obs_release(&o);
	tools_ctx_free(c);
}
