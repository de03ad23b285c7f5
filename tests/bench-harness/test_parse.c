/* The log parsers, on log samples written here: every parser, v4.1 and
 * v5, and the lines on which the official parsers behave oddly.  The
 * expected maps are what the official Python parsers return for the same
 * text (log_parsers/python.py at v4.1.0 and v5.0.2). */
#include "bench_test.h"

#include "bench-harness/internal.h"

/* The map as compact Python json.dumps, for one comparison per case. */
static char *parse(const char *parser, const char *log, bench_grading g)
{
	json_t *m = NULL;
	pl_buf o = PL_BUF_INIT;
	pl_err err = { 0 };

	cr_assert_eq(bench_parse_log(&m, parser, log, strlen(log), g, &err), 0, "%s: %s", parser, err.msg);
	bench_json_dump_py(&o, m, -1);
	json_decref(m);
	return pl_buf_detach(&o, NULL);
}

static void expect(const char *parser, bench_grading g, const char *log, const char *want)
{
	char *got = parse(parser, log, g);

	cr_expect_str_eq(got, want, "%s (%s) on %s", parser, bench_grading_name(g), log);
	free(got);
}

#define V4 BENCH_GRADING_V4
#define V5 BENCH_GRADING_V5

Test(parse, pytest_short_summary)
{
	static const char log[] = "============ short test summary info ============\n"
				  "PASSED tests/test_a.py::test_one\n"
				  "PASSED tests/test_a.py::test_param[a b]\n"
				  "FAILED tests/test_a.py::test_two - AssertionError: x - y\n"
				  "ERROR tests/test_a.py::test_three - fixture 'db' not found\n"
				  "XFAIL tests/test_a.py::test_four - reason\n"
				  "SKIPPED [1] tests/test_a.py:10: no network\n"
				  "PASSED\n"
				  "tests/test_a.py::test_five PASSED\n";
	/* names with spaces are cut at the first space (the 676 truncated
	 * Verified ids); v4 records "[1]" as SKIPPED, v5 drops it */
	expect("parse_log_pytest", V4, log,
	       "{\"tests/test_a.py::test_one\": \"PASSED\", \"tests/test_a.py::test_param[a\": \"PASSED\", "
	       "\"tests/test_a.py::test_two\": \"FAILED\", \"tests/test_a.py::test_three\": \"ERROR\", "
	       "\"tests/test_a.py::test_four\": \"XFAIL\", \"[1]\": \"SKIPPED\"}");
	expect("parse_log_pytest", V5, log,
	       "{\"tests/test_a.py::test_one\": \"PASSED\", \"tests/test_a.py::test_param[a\": \"PASSED\", "
	       "\"tests/test_a.py::test_two\": \"FAILED\", \"tests/test_a.py::test_three\": \"ERROR\", "
	       "\"tests/test_a.py::test_four\": \"XFAIL\"}");
	/* the aliases are the same parser; a later line wins, in place */
	expect("parse_log_flask", V4, "FAILED t::a\nPASSED t::b\nPASSED t::a\n",
	       "{\"t::a\": \"PASSED\", \"t::b\": \"PASSED\"}");
	/* whitespace is Python's: a no-break space splits, a tab splits */
	expect("parse_log_xarray", V4, "PASSED\xc2\xa0t::x\tmore\n", "{\"t::x\": \"PASSED\"}");
}

Test(parse, pytest_options_keeps_the_file_name_of_path_options)
{
	expect("parse_log_requests", V4,
	       "PASSED tests/test_r.py::test_path[/home/user/data/file.txt]\n"
	       "PASSED tests/test_r.py::test_url[//host/x]\n"
	       "PASSED tests/test_r.py::test_glob[/a/*.py]\n"
	       "FAILED tests/test_r.py::test_multi[a][b]tail - boom\n"
	       "PASSED tests/test_r.py::plain\n",
	       "{\"tests/test_r.py::test_path[/file.txt]\": \"PASSED\", \"tests/test_r.py::test_url[//host/x]\": "
	       "\"PASSED\", \"tests/test_r.py::test_glob[/a/*.py]\": \"PASSED\", \"tests/test_r.py::test_multi[a][b]\": "
	       "\"FAILED\", \"tests/test_r.py::plain\": \"PASSED\"}");
	expect("parse_log_pylint", V5, "SKIPPED [2] a.py:1: x\nPASSED t[/x/y]\n", "{\"t[/y]\": \"PASSED\"}");
}

Test(parse, pytest_v2_colours_old_style_and_v5_names)
{
	static const char log[] = "\x1b[32mPASSED\x1b[0m tests/t.py::test_a\n"
				  "tests/t.py::test_old PASSED\n"
				  "tests/t.py::test_old2 with space FAILED\n"
				  "FAILED tests/t.py::test_b[x - y] - AssertionError\n"
				  "PASSED tests/t.py::test_c[a b]\n"
				  "SKIPPED [3] tests/t.py:1: skip\n";
	expect("parse_log_astropy", V4, log,
	       "{\"tests/t.py::test_a\": \"PASSED\", \"tests/t.py::test_old\": \"PASSED\", \"tests/t.py::test_old2\": "
	       "\"with\", \"tests/t.py::test_b[x\": \"FAILED\", \"tests/t.py::test_c[a\": \"PASSED\", \"[3]\": "
	       "\"SKIPPED\"}");
	/* v5 joins the tokens and cuts FAILED lines at the first " - " */
	expect("parse_log_sphinx", V5, log,
	       "{\"tests/t.py::test_a\": \"PASSED\", \"tests/t.py::test_old\": \"PASSED\", \"tests/t.py::test_old2 "
	       "with space\": \"FAILED\", \"tests/t.py::test_b[x\": \"FAILED\", \"tests/t.py::test_c[a b]\": "
	       "\"PASSED\"}");
	/* control characters go before the split: a tab joins tokens */
	expect("parse_log_scikit", V4, "PASSED a\tb\n", "{\"ab\": \"PASSED\"}");
}

Test(parse, matplotlib_mouse_buttons)
{
	expect("parse_log_matplotlib", V4, "PASSED lib/t.py::test_click[MouseButton.LEFT]\n"
					   "FAILED lib/t.py::test_click[MouseButton.RIGHT] - x\n",
	       "{\"lib/t.py::test_click[1]\": \"PASSED\", \"lib/t.py::test_click[3]\": \"FAILED\"}");
}

Test(parse, seaborn_forms_and_its_index_error)
{
	json_t *m = NULL;
	pl_err err = { 0 };
	static const char bare[] = "PASSED tests/a.py::t\nPASSED\n";

	expect("parse_log_seaborn", V4, "tests/a.py::t1 PASSED [ 10%]\nPASSED tests/a.py::t2\nFAILED tests/a.py::t3\n"
					"ERROR tests/a.py::t4\nSKIPPED tests/a.py::t5\n",
	       "{\"tests/a.py::t1\": \"PASSED\", \"tests/a.py::t2\": \"PASSED\", \"tests/a.py::t3\": \"FAILED\"}");
	/* a bare "PASSED" line: v4.1 raises IndexError (the instance errors),
	 * v5 skips the line */
	cr_assert_eq(bench_parse_log(&m, "parse_log_seaborn", bare, strlen(bare), V4, &err), PL_EFORMAT);
	cr_assert_str_eq(err.msg, "log line 2: the official parse_log_seaborn raises IndexError on 'PASSED' (the "
				  "instance is an error there)");
	cr_assert_null(m);
	expect("parse_log_seaborn", V5, bare, "{\"tests/a.py::t\": \"PASSED\"}");
}

Test(parse, django_runner)
{
	static const char log[] =
		"test_a (auth_tests.test_x.T) ... ok\n"
		"test_b (auth_tests.test_x.T) ... FAIL\n"
		"test_c (auth_tests.test_x.T) ... ERROR\n"
		"test_d (auth_tests.test_x.T) ... skipped 'no db'\n"
		"Named URLs should be reversible ... ok\n"
		"  test_e (m.T) ...  OK  \n"
		"test_f (m.T) ... some output\n"
		"more output\n"
		"ok\n"
		"test_g (m.T) ... Testing against Django installed in '/x' with up to 4 processes\n"
		"test_z (m.T) ... System check identified no issues (0 silenced).\n"
		"ok\n"
		"test_h (m.T) ... Internal Server Error: /admin/x/\n"
		"ok\n"
		"Applying sites.0002_alter_domain_unique...test_no_migrations (m.T) ... ok\n"
		"======================================================================\n"
		"FAIL: test_b (auth_tests.test_x.T)\n"
		"ERROR: test_c (auth_tests.test_x.T)\n"
		"--version is equivalent to version\n";

	/* test_g only through the first multi-line pattern (prev_test moved on
	 * to test_z before the "ok") */
	expect("parse_log_django", V4, log,
	       "{\"test_a (auth_tests.test_x.T)\": \"PASSED\", \"test_b (auth_tests.test_x.T)\": \"FAILED\", "
	       "\"test_c (auth_tests.test_x.T)\": \"ERROR\", \"test_d (auth_tests.test_x.T)\": \"SKIPPED\", "
	       "\"Named URLs should be reversible\": \"PASSED\", \"test_e (m.T)\": \"PASSED\", \"test_f (m.T)\": "
	       "\"PASSED\", \"test_z (m.T)\": \"PASSED\", \"test_h (m.T)\": \"PASSED\", \"test_no_migrations (m.T)\": "
	       "\"PASSED\", \"test_b\": \"FAILED\", \"test_c\": \"ERROR\", \"--version is equivalent to version\": "
	       "\"PASSED\", \"test_g (m.T)\": \"PASSED\"}");
}

Test(parse, django_index_error)
{
	json_t *m = NULL;
	pl_err err = { 0 };

	cr_assert_eq(bench_parse_log(&m, "parse_log_django", "x ... ok\nFAIL:\n", 16, V5, &err), PL_EFORMAT);
	cr_assert(strstr(err.msg, "log line 2: the official parse_log_django raises IndexError on 'FAIL:'"), "%s",
		  err.msg);
}

Test(parse, sympy_runner)
{
	static const char log[] = "sympy/core/tests/test_basic.py[3] \n"
				  "test_a ok\n"
				  "test_b F\n"
				  "test_c E\n"
				  "test_d ok     [OK]\n"
				  "________________ sympy/core/tests/test_basic.py:test_b ________________\n"
				  "  test_e ok  \n";
	expect("parse_log_sympy", V4, log,
	       "{\"sympy/core/tests/test_basic.py:test_b\": \"FAILED\", \"test_a\": \"PASSED\", \"test_b\": \"FAILED\", "
	       "\"test_c\": \"ERROR\", \"test_e\": \"PASSED\"}");
}

Test(parse, unknown_parser)
{
	json_t *m = NULL;
	pl_err err = { 0 };

	cr_assert_eq(bench_parse_log(&m, "parse_log_go", "", 0, V4, &err), PL_EUNSUPPORTED);
	cr_assert_str_eq(err.msg, "no log parser 'parse_log_go' (plait has the Python repositories' parsers)");
}

Test(pystr, split_strip_utf8_newlines)
{
	bench__toks t = { 0 };
	const char *s = "\xe2\x80\x83 a\x1c" "b \xe3\x80\x80";
	size_t n = strlen(s), bad = 0;
	pl_buf b = PL_BUF_INIT;

	bench__py_split(&t, s, n);
	cr_assert_eq(t.n, 2);
	cr_assert(t.v[0].n == 1 && t.v[0].p[0] == 'a' && t.v[1].n == 1 && t.v[1].p[0] == 'b');
	bench__py_strip(&s, &n);
	cr_assert_eq(n, 3);
	cr_assert(bench__utf8_valid("caf\xc3\xa9", 5, NULL));
	cr_assert_not(bench__utf8_valid("ab\xed\xa0\x80", 5, &bad)); /* a surrogate */
	cr_assert_eq(bad, 2);
	cr_assert_not(bench__utf8_valid("\xc0\xaf", 2, NULL)); /* overlong */
	bench__universal_newlines(&b, "a\r\nb\rc\n\r", 9);
	cr_assert_str_eq(b.ptr, "a\nb\nc\n\n");
	pl_buf_release(&b);
	bench__toks_release(&t);
}

Test(pystr, json_dumps_like_python)
{
	json_t *v = json_pack("{s:b,s:[],s:{},s:[s,s,i],s:n}", "a", 1, "b", "c", "d", "q\"\\\n\x7f\x01\xc3\xa9\xf0\x9f\x98\x80",
			      "/", 3, "e");
	pl_buf o = PL_BUF_INIT;

	bench_json_dump_py(&o, v, 4);
	cr_assert_str_eq(o.ptr, "{\n    \"a\": true,\n    \"b\": [],\n    \"c\": {},\n    \"d\": [\n        "
				"\"q\\\"\\\\\\n\\u007f\\u0001\\u00e9\\ud83d\\ude00\",\n        \"/\",\n        3\n    ],\n"
				"    \"e\": null\n}");
	pl_buf_reset(&o);
	bench_json_dump_py(&o, v, -1);
	cr_assert(pl_str_starts_with(o.ptr, "{\"a\": true, \"b\": [], \"c\": {}, \"d\": [\"q"));
	pl_buf_reset(&o);
	bench__py_repr(&o, v);
	cr_assert(pl_str_starts_with(o.ptr, "{'a': True, 'b': [], 'c': {}, 'd': ['q\"\\\\\\n\\x7f\\x01"), "%s", o.ptr);
	cr_assert(pl_str_ends_with(o.ptr, "', '/', 3], 'e': None}"));
	pl_buf_release(&o);
	json_decref(v);
}
