/* Whole test suites inside the sandbox: a pytest suite (Debian's
 * python3-pytest) and a small C project's `make test`, generated here, give
 * the same results inside as outside. */
#include "sbx_test.h"
#include "tests/shell.h"

static pl_buf tmp = PL_BUF_INIT;

static void setup(void)
{
	pl_err err = { 0 };

	cr_assert_eq(pl_mkdtemp(&tmp, "plait-suites", &err), 0, "%s", err.msg);
	chmod(tmp.ptr, 0755);
}

static void teardown(void)
{
	pl_rm_rf(tmp.ptr, NULL);
	pl_buf_release(&tmp);
}

TestSuite(suites, .init = setup, .fini = teardown, .timeout = 120);

static void put(const char *dir, const char *name, const char *text)
{
	pl_buf p = PL_BUF_INIT;

	pl_path_join(&p, dir, name);
	write_text(p.ptr, text);
	pl_buf_release(&p);
}

/* Run script in dir on the host; output (merged) and exit status. */
static int host_run(pl_buf *out, const char *dir, const char *script)
{
	return test_sh(out, "cd '%s' && { %s ; } 2>&1", dir, script);
}

static int sandbox_run(pl_buf *out, const char *dir, const char *script)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	sbx_config cfg;
	sbx_result r;
	pl_err err = { 0 };
	int code;

	sbx_config_init(&cfg);
	cr_assert_eq(sbx_profile_load(&cfg, "test", &err), 0, "%s", err.msg);
	cfg.merge_output = true;
	cfg.limits.timeout = 100;
	sbx_config_set_workdir(&cfg, dir);
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), 0, "%s", err.msg);
	cr_assert(!r.timed_out);
	pl_buf_add(out, r.out.ptr, r.out.len);
	code = r.exit_code;
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	return code;
}

/* pytest's summary line without its duration: "1 failed, 4 passed, ...". */
static void summary(pl_buf *out, const char *log)
{
	const char *last = NULL, *p;
	const char *in;

	for (p = log; (p = strstr(p, " in ")); p++) {
		const char *bol = p;

		while (bol > log && bol[-1] != '\n')
			bol--;
		if (strstr(bol, "passed") && strstr(bol, "passed") < p)
			last = bol;
	}
	cr_assert(last, "no pytest summary in:\n%s", log);
	in = strstr(last, " in ");
	pl_buf_add(out, last, (size_t)(in - last));
}

static const char calc_py[] =
	"import os, subprocess, sys\n"
	"def add(a, b):\n    return a + b\n"
	"def div(a, b):\n    return a / b\n";

static const char test_calc_py[] =
	"import os, subprocess, sys, socket, pytest\n"
	"from calc import add, div\n"
	"def test_add():\n    assert add(2, 3) == 5\n"
	"def test_div_by_zero():\n    with pytest.raises(ZeroDivisionError):\n        div(1, 0)\n"
	"@pytest.mark.parametrize('a,b,c', [(1, 1, 2), (2, 2, 4), (3, 3, 7)])\n"
	"def test_param(a, b, c):\n    assert add(a, b) == c\n"
	"@pytest.mark.skip(reason='not today')\n"
	"def test_skipped():\n    pass\n"
	"@pytest.mark.xfail\n"
	"def test_expected_failure():\n    assert div(1, 2) == 1\n"
	"def test_tmp_path(tmp_path):\n    (tmp_path / 'f').write_text('x')\n    assert (tmp_path / 'f').read_text() == 'x'\n"
	"def test_subprocess():\n"
	"    out = subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True, text=True)\n"
	"    assert out.stdout.strip() == '42'\n"
	"def test_local_socket():\n"
	"    s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
	"    c = socket.create_connection(s.getsockname()); a, _ = s.accept()\n"
	"    c.sendall(b'ping'); assert a.recv(4) == b'ping'\n"
	"def test_writes_in_the_repo():\n"
	"    with open('written.txt', 'w') as f:\n        f.write('ok')\n"
	"    assert os.path.exists('written.txt')\n";

Test(suites, pytest_same_inside_and_outside)
{
	pl_buf a = PL_BUF_INIT, b = PL_BUF_INIT, out_a = PL_BUF_INIT, out_b = PL_BUF_INIT, sa = PL_BUF_INIT,
	       sb = PL_BUF_INIT;
	const char *script = "/usr/bin/python3 -m pytest -q -p no:cacheprovider";
	int ca, cb;

	cr_assert_eq(host_sh("/usr/bin/python3 -c 'import pytest' 2>/dev/null"), 0,
		     "Debian's python3-pytest is missing (make deps)");
	pl_path_join(&a, tmp.ptr, "outside");
	pl_path_join(&b, tmp.ptr, "inside");
	cr_assert_eq(mkdir(a.ptr, 0755), 0);
	cr_assert_eq(mkdir(b.ptr, 0755), 0);
	put(a.ptr, "calc.py", calc_py);
	put(a.ptr, "test_calc.py", test_calc_py);
	put(b.ptr, "calc.py", calc_py);
	put(b.ptr, "test_calc.py", test_calc_py);
	ca = host_run(&out_a, a.ptr, script);
	cb = sandbox_run(&out_b, b.ptr, script);
	summary(&sa, out_a.ptr);
	summary(&sb, out_b.ptr);
	cr_assert_str_eq(sa.ptr, "1 failed, 8 passed, 1 skipped, 1 xfailed", "outside:\n%s", out_a.ptr);
	cr_assert_str_eq(sb.ptr, sa.ptr, "inside:\n%s", out_b.ptr);
	cr_assert_eq(ca, 1);
	cr_assert_eq(cb, ca);
	pl_buf_release(&a);
	pl_buf_release(&b);
	pl_buf_release(&out_a);
	pl_buf_release(&out_b);
	pl_buf_release(&sa);
	pl_buf_release(&sb);
}

static const char makefile[] =
	"CFLAGS = -O1 -Wall\n"
	"test: check\n\t./check\n"
	"check: check.o vec.o\n\t$(CC) -o $@ $^\n"
	"%.o: %.c vec.h\n\t$(CC) $(CFLAGS) -c $<\n"
	"clean:\n\trm -f *.o check\n";

static const char vec_h[] = "int vec_sum(const int *v, int n);\nint vec_max(const int *v, int n);\n";

static const char vec_c[] =
	"#include \"vec.h\"\n"
	"int vec_sum(const int *v, int n) { int s = 0; while (n--) s += *v++; return s; }\n"
	"int vec_max(const int *v, int n) { int m = v[0]; for (int i = 1; i < n; i++) if (v[i] > m) m = v[i]; "
	"return m; }\n";

static const char check_c[] =
	"#include <stdio.h>\n#include <stdlib.h>\n#include \"vec.h\"\n"
	"static int fails, runs;\n"
	"#define CHECK(c) do { runs++; if (!(c)) { fails++; printf(\"FAIL %s\\n\", #c); } else printf(\"ok %s\\n\", #c); } while (0)\n"
	"int main(void) {\n"
	"  int v[] = { 3, 9, -2, 4 };\n"
	"  FILE *f = tmpfile();\n"
	"  CHECK(vec_sum(v, 4) == 14);\n"
	"  CHECK(vec_max(v, 4) == 9);\n"
	"  CHECK(vec_sum(v, 0) == 0);\n"
	"  CHECK(f != NULL && fputs(\"x\", f) >= 0);\n"
	"  CHECK(getenv(\"HOME\") != NULL);\n"
	"  printf(\"%d/%d passed\\n\", runs - fails, runs);\n"
	"  return fails != 0;\n}\n";

Test(suites, c_project_make_test_same_inside_and_outside)
{
	pl_buf a = PL_BUF_INIT, b = PL_BUF_INIT, out_a = PL_BUF_INIT, out_b = PL_BUF_INIT;
	/* The project's own make, not a child of the make that may be running
	 * this suite: an outer `make -jN` exports its jobserver in MAKEFLAGS. */
	const char *script = "unset MAKEFLAGS MFLAGS MAKELEVEL; make -s test";
	int ca, cb;

	pl_path_join(&a, tmp.ptr, "outside");
	pl_path_join(&b, tmp.ptr, "inside");
	cr_assert_eq(mkdir(a.ptr, 0755), 0);
	cr_assert_eq(mkdir(b.ptr, 0755), 0);
	put(a.ptr, "Makefile", makefile);
	put(a.ptr, "vec.h", vec_h);
	put(a.ptr, "vec.c", vec_c);
	put(a.ptr, "check.c", check_c);
	put(b.ptr, "Makefile", makefile);
	put(b.ptr, "vec.h", vec_h);
	put(b.ptr, "vec.c", vec_c);
	put(b.ptr, "check.c", check_c);
	ca = host_run(&out_a, a.ptr, script);
	cb = sandbox_run(&out_b, b.ptr, script);
	cr_assert_eq(ca, 0, "outside:\n%s", out_a.ptr);
	cr_assert(strstr(out_a.ptr, "5/5 passed\n"), "outside:\n%s", out_a.ptr);
	cr_assert_str_eq(out_b.ptr, out_a.ptr, "inside:\n%s", out_b.ptr);
	cr_assert_eq(cb, ca);
	pl_buf_release(&a);
	pl_buf_release(&b);
	pl_buf_release(&out_a);
	pl_buf_release(&out_b);
}
