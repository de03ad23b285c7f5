/* Python's indentation rules (tools/pyindent.c) against CPython itself:
 * each snippet goes through our checker and through Debian's python3
 * compile(), and both must name the same error on the same line, or
 * neither any. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "tools/internal.h"
#include "tests/shell.h"

TestSuite(pyindent, .init = fx_setup, .fini = fx_teardown, .timeout = 120);

static const char *const snippets[] = {
	/* sound */
	"def f():\n    x = 1\n    return x\n",
	"if a:\n\tb = 1\nelse:\n\tb = 2\n",
	"class A:\n    def m(self):\n        pass\n\n    x = 1\n",
	"x = (1,\n  2,\n        3)\ny = 2\n",
	"x = 1 + \\\n      2\ny = 3\n",
	"s = '''\n  not code\n    at all\n'''\nt = 1\n",
	"def f():\n    s = \"\"\"doc\n  x\"\"\"\n    return s\n",
	"if x:  # comment\n    # indented comment\n\n  # other comment\n    y = 1\n",
	"def f(): return 1\nclass A: pass\n",
	"d = {\n    'a': 1,\n  'b':\n        2,\n}\n",
	"if a:\n    pass\n\f\nx = 1\n",
	"x = f'{y:>10}'\nif x:\n    z = rb'\\''\n",
	"async def f():\n    await g()\n",
	"match x:\n    case 1:\n        pass\n",
	"try:\n    a()\nexcept E:\n    b()\nfinally:\n    c()\n",
	"if a:\r\n    b = 1\r\nc = 2\r\n",
	"",
	"# only a comment\n",
	/* unindent that matches no outer level */
	"def f():\n    x = 1\n  y = 2\n",
	"class A:\n    def m(self):\n        if x:\n            pass\n      y = 1\n",
	/* tabs and spaces */
	"def f():\n\tx = 1\n        y = 2\n",
	"if True:\n        x = 1\n\ty = 2\n",
	"if a:\n    if b:\n\tc = 1\n",
	/* unexpected indent */
	"x = 1\n    y = 2\n",
	"    x = 1\n",
	"def f():\n    x = 1\n        y = 2\n",
	/* expected an indented block */
	"def f():\nreturn 1\n",
	"class A:\n\nx = 1\n",
	"if x:\n# comment\ny = 1\n",
	"for i in r:\n",
	"while x:\n    pass\nelse:\nz = 1\n",
	"async def f():\nreturn 1\n",
	"with open(f) as g:\ng.read()\n",
	"try:\n    pass\nexcept E:\nx = 1\n",
	"def f(a,\n      b):\nreturn a\n",
	"if x: \\\n\ny\n",
	/* corners */
	"if a:\n  b\n\tc\n",
	"if a:\n  b\n  ",
	"if x:\n    pass\n  \n",
	"def f():\n    return [\n1]\n",
	"if x:\n\t y = 1\n\t y = 2\n",
	"if x:\n        y = 1\n\ty = 2\n",
	"x = '''a\n'''  \\\n  + 'b'\nif x:\n  pass\n",
	"if x:\n    y = '\\\n  z'\n",
	"if x:\n    y = 1\n   # odd comment\n    z = 2\n",
};

/* CPython's verdict: "Kind: message@line", or "ok", or "other". */
static void python_verdict(pl_buf *out, const char *path)
{
	cr_assert_eq(test_sh(out,
			     "/usr/bin/python3 -c '\n"
			     "import sys\n"
			     "try:\n"
			     "    compile(open(sys.argv[1], \"rb\").read(), sys.argv[1], \"exec\")\n"
			     "    print(\"ok\", end=\"\")\n"
			     "except IndentationError as e:\n"
			     "    print(\"%%s: %%s@%%d\" %% (type(e).__name__, e.msg, e.lineno), end=\"\")\n"
			     "except SyntaxError as e:\n"
			     "    print(\"other: %%s@%%d\" %% (e.msg, e.lineno), end=\"\")\n"
			     "' '%s'",
			     path),
		     0);
}

Test(pyindent, agrees_with_cpython)
{
	size_t i;

	if (access("/usr/bin/python3", X_OK) != 0)
		cr_skip_test("no /usr/bin/python3 to compare with (Debian's python3 package)");
	for (i = 0; i < PL_ARRAY_LEN(snippets); i++) {
		pl_buf want = PL_BUF_INIT, got = PL_BUF_INIT, p = PL_BUF_INIT;
		char what[160] = "";
		int line = 0;

		fx_puts("s.py", snippets[i]);
		pl_path_join(&p, fx_root.ptr, "s.py");
		python_verdict(&want, p.ptr);
		cr_assert(!pl_str_starts_with(want.ptr, "other"), "snippet %zu is not a pure indentation case: %s", i,
			  want.ptr);
		if (tools__py_indent_error(&line, what, sizeof(what), snippets[i], strlen(snippets[i])))
			pl_buf_printf(&got, "%s@%d", what, line);
		else
			pl_buf_puts(&got, "ok");
		cr_expect_str_eq(got.ptr, want.ptr, "snippet %zu:\n%s", i, snippets[i]);
		pl_buf_release(&want);
		pl_buf_release(&got);
		pl_buf_release(&p);
	}
}
