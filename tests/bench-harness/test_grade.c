/* Grading one instance from its test output, v4.1 and v5: the report.json
 * bytes, and each edge case of the reference (missing tests, ERROR, XFAIL,
 * SKIPPED, truncated ids, names with spaces, markers missing, a failed
 * patch, a timeout, fake PASSED lines, invalid output). */
#include "bench_test.h"

#include "bench-harness/internal.h"

#define V4 BENCH_GRADING_V4
#define V5 BENCH_GRADING_V5

static char *f2p_v[8], *p2p_v[8];

/* A pytest instance (pytest-dev/pytest, parse_log_pytest) with these
 * FAIL_TO_PASS and PASS_TO_PASS (NULL-terminated lists). */
static bench_instance make(const char *repo, const char *parser, const char *const *f2p, const char *const *p2p)
{
	bench_instance in;
	size_t i;

	memset(&in, 0, sizeof(in));
	in.instance_id = (char *)"o__r-1";
	in.repo = (char *)repo;
	in.version = (char *)"7.2";
	in.log_parser = (char *)parser;
	in.eval_type = (char *)"pass_and_fail";
	for (i = 0; f2p && f2p[i]; i++)
		f2p_v[i] = (char *)f2p[i];
	in.fail_to_pass = f2p_v;
	in.n_fail_to_pass = i;
	for (i = 0; p2p && p2p[i]; i++)
		p2p_v[i] = (char *)p2p[i];
	in.pass_to_pass = p2p_v;
	in.n_pass_to_pass = i;
	return in;
}

static json_t *grade(const bench_instance *in, const char *log, bench_grading g)
{
	json_t *r = NULL;
	pl_err err = { 0 };

	cr_assert_eq(bench_grade(&r, in, false, log, strlen(log), g, &err), 0, "%s", err.msg);
	return r;
}

static const json_t *field(const json_t *r, const char *k)
{
	return json_object_get(json_object_get(r, "o__r-1"), k);
}

/* "success" or "failure" list of FAIL_TO_PASS or PASS_TO_PASS, as one
 * string "a,b" */
static char *list(const json_t *r, const char *group, const char *which)
{
	const json_t *a = json_object_get(json_object_get(field(r, "tests_status"), group), which);
	pl_buf b = PL_BUF_INIT;
	size_t i;

	cr_assert_not_null(a, "no tests_status.%s.%s", group, which);
	for (i = 0; i < json_array_size(a); i++)
		pl_buf_printf(&b, "%s%s", i ? "," : "", json_string_value(json_array_get(a, i)));
	return pl_buf_detach(&b, NULL);
}

static void expect_lists(const json_t *r, const char *f2p_ok, const char *f2p_bad, const char *p2p_ok,
			 const char *p2p_bad)
{
	char *s;

	s = list(r, "FAIL_TO_PASS", "success");
	cr_expect_str_eq(s, f2p_ok);
	free(s);
	s = list(r, "FAIL_TO_PASS", "failure");
	cr_expect_str_eq(s, f2p_bad);
	free(s);
	s = list(r, "PASS_TO_PASS", "success");
	cr_expect_str_eq(s, p2p_ok);
	free(s);
	s = list(r, "PASS_TO_PASS", "failure");
	cr_expect_str_eq(s, p2p_bad);
	free(s);
}

#define LOG(body) "+ git apply -v -\n+ : '>>>>> Start Test Output'\n" body "+ : '>>>>> End Test Output'\n"

Test(grade, resolved_report_bytes_as_official)
{
	static const char *const f2p[] = { "t.py::test_fix", NULL }, *const p2p[] = { "t.py::test_old", "t.py::x", NULL };
	bench_instance in = make("pytest-dev/pytest", "parse_log_pytest", f2p, p2p);
	json_t *r = grade(&in, LOG("PASSED t.py::test_fix\nPASSED t.py::test_old\nXFAIL t.py::x - flaky\n"), V4);
	pl_buf b = PL_BUF_INIT;

	bench_json_dump_py(&b, r, 4);
	cr_assert_str_eq(b.ptr, "{\n"
				"    \"o__r-1\": {\n"
				"        \"patch_is_None\": false,\n"
				"        \"patch_exists\": true,\n"
				"        \"patch_successfully_applied\": true,\n"
				"        \"resolved\": true,\n"
				"        \"tests_status\": {\n"
				"            \"FAIL_TO_PASS\": {\n"
				"                \"success\": [\n"
				"                    \"t.py::test_fix\"\n"
				"                ],\n"
				"                \"failure\": []\n"
				"            },\n"
				"            \"PASS_TO_PASS\": {\n"
				"                \"success\": [\n"
				"                    \"t.py::test_old\",\n"
				"                    \"t.py::x\"\n"
				"                ],\n"
				"                \"failure\": []\n"
				"            },\n"
				"            \"FAIL_TO_FAIL\": {\n"
				"                \"success\": [],\n"
				"                \"failure\": []\n"
				"            },\n"
				"            \"PASS_TO_FAIL\": {\n"
				"                \"success\": [],\n"
				"                \"failure\": []\n"
				"            }\n"
				"        }\n"
				"    }\n"
				"}");
	json_decref(r);
	/* v5 adds infra_failure after resolved */
	r = grade(&in, LOG("PASSED t.py::test_fix\nPASSED t.py::test_old\nXFAIL t.py::x - flaky\n"), V5);
	pl_buf_reset(&b);
	bench_json_dump_py(&b, r, 4);
	cr_assert(strstr(b.ptr, "\"resolved\": true,\n        \"infra_failure\": false,\n        \"tests_status\""));
	json_decref(r);
	pl_buf_release(&b);
}

Test(grade, missing_error_and_xfail)
{
	static const char *const f2p[] = { "t::a", "t::b", NULL }, *const p2p[] = { "t::c", "t::d", NULL };
	bench_instance in = make("pytest-dev/pytest", "parse_log_pytest", f2p, p2p);
	json_t *r = grade(&in, LOG("XFAIL t::a\nERROR t::b - boom\nPASSED t::c\n"), V4);

	/* b errors, d is missing: both failures, so not resolved */
	expect_lists(r, "t::a", "t::b", "t::c", "t::d");
	cr_assert(json_is_false(field(r, "resolved")));
	cr_assert(json_is_true(field(r, "patch_successfully_applied")));
	json_decref(r);
}

Test(grade, skipped_under_v4_and_v5)
{
	static const char *const f2p[] = { "t::a", NULL }, *const p2p[] = { "t::b", NULL };
	bench_instance in = make("pytest-dev/pytest", "parse_log_pytest", f2p, p2p);
	static const char log[] = LOG("SKIPPED t::a\nSKIPPED t::b\n");
	json_t *r = grade(&in, log, V4);

	/* v4.1: a skipped test is in neither list, and nothing failed */
	expect_lists(r, "", "", "", "");
	cr_assert(json_is_true(field(r, "resolved")));
	json_decref(r);
	/* v5: a skipped FAIL_TO_PASS fails, a skipped PASS_TO_PASS passes */
	r = grade(&in, log, V5);
	expect_lists(r, "", "t::a", "t::b", "");
	cr_assert(json_is_false(field(r, "resolved")));
	json_decref(r);
}

Test(grade, truncated_ids_and_names_with_spaces)
{
	/* 676 Verified ids are cut at a space inside a parameter */
	static const char *const f2p[] = { "t.py::test_p[log(photon", "t.py::test_q[a", NULL };
	static const char *const p2p[] = { "t.py::test_r[x", NULL };
	bench_instance in = make("astropy/astropy", "parse_log_astropy", f2p, p2p);
	static const char log[] = LOG("PASSED t.py::test_p[log(photon cm)]\n"
				      "PASSED t.py::test_q[a-1]\nPASSED t.py::test_q[a-2]\n"
				      "PASSED t.py::test_r[x-1]\nFAILED t.py::test_r[x-2] - no\n");
	json_t *r = grade(&in, log, V4);

	/* v4.1 cuts the log's names the same way, so the first matches; the
	 * others do not exist as such */
	expect_lists(r, "t.py::test_p[log(photon", "t.py::test_q[a", "", "t.py::test_r[x");
	json_decref(r);
	/* v5 keeps whole names and matches a truncated id by prefix when every
	 * match agrees: q's two pass, r's disagree */
	r = grade(&in, log, V5);
	expect_lists(r, "t.py::test_p[log(photon,t.py::test_q[a", "", "", "t.py::test_r[x");
	cr_assert(json_is_false(field(r, "resolved")));
	json_decref(r);
}

Test(grade, markers_missing_patch_failure_timeout)
{
	static const char *const f2p[] = { "t::a", NULL };
	bench_instance in = make("pytest-dev/pytest", "parse_log_pytest", f2p, NULL);
	json_t *r;
	const char *logs[] = {
		"PASSED t::a\n",                                                   /* no markers */
		"+ : '>>>>> Start Test Output'\nPASSED t::a\n",                  /* no end marker */
		LOG("PASSED t::a\n") ">>>>> Patch Apply Failed:\n",              /* a bad code anywhere */
		LOG("PASSED t::a\n") ">>>>> Tests Timed Out\n",
	};
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(logs); i++) {
		r = grade(&in, logs[i], V4);
		cr_assert(json_is_true(field(r, "patch_exists")));
		cr_assert(json_is_false(field(r, "patch_successfully_applied")), "log %zu", i);
		cr_assert(json_is_false(field(r, "resolved")));
		cr_assert_null(field(r, "tests_status"), "no tests_status when the log says nothing");
		json_decref(r);
	}
	/* a timed-out run: the end marker never came, and v5 names why */
	r = grade(&in, "+ : '>>>>> Start Test Output'\nPASSED t::a\n\n\nTimeout error: 30 seconds exceeded.", V5);
	cr_assert(json_is_false(field(r, "patch_successfully_applied")));
	cr_assert(json_is_false(field(r, "infra_failure")));
	cr_assert_str_eq(json_string_value(field(r, "infra_failure_reason")), "tests_timed_out");
	json_decref(r);
	/* an OOM kill is an environment failure */
	r = grade(&in, "+ : '>>>>> Start Test Output'\nKilled\n", V5);
	cr_assert(json_is_true(field(r, "infra_failure")));
	cr_assert_str_eq(json_string_value(field(r, "infra_failure_reason")), "out_of_memory");
	json_decref(r);
}

Test(grade, results_outside_the_markers)
{
	static const char *const f2p[] = { "t::a", NULL };
	bench_instance in = make("pytest-dev/pytest", "parse_log_pytest", f2p, NULL);
	/* nothing between the markers: the whole log is parsed */
	json_t *r = grade(&in, "PASSED t::a\n" LOG("collected 1 item\n"), V4);

	cr_assert(json_is_true(field(r, "resolved")));
	json_decref(r);
}

Test(grade, fake_passed_lines_under_v5)
{
	static const char *const f2p[] = { "t::a", NULL };
	bench_instance in = make("pytest-dev/pytest", "parse_log_pytest", f2p, NULL);
	/* a patch printing its own PASSED line while the tests exit 1 */
	static const char log[] = LOG("PASSED t::a\n+ SWEBENCH_TEST_EXIT_CODE=1\n") "+ echo '>>>>> Test Exit Code: 1'\n"
							       ">>>>> Test Exit Code: 1\n";
	json_t *r = grade(&in, log, V4);

	cr_assert(json_is_true(field(r, "resolved")), "v4.1 believes the log");
	json_decref(r);
	r = grade(&in, log, V5);
	cr_assert(json_is_false(field(r, "patch_successfully_applied")), "v5 refuses it");
	cr_assert(json_is_false(field(r, "resolved")));
	json_decref(r);
	/* exit 1 with a FAILED line is an ordinary failing run */
	r = grade(&in, LOG("PASSED t::a\nFAILED t::b\n") ">>>>> Test Exit Code: 1\n", V5);
	cr_assert(json_is_true(field(r, "patch_successfully_applied")));
	cr_assert(json_is_true(field(r, "resolved")));
	json_decref(r);
}

Test(grade, v5_empty_results_need_a_sign_of_a_run)
{
	static const char *const f2p[] = { "t::a", NULL };
	bench_instance in = make("pytest-dev/pytest", "parse_log_pytest", f2p, NULL);
	json_t *r = grade(&in, LOG("nothing\n"), V5);

	cr_assert(json_is_false(field(r, "patch_successfully_applied")));
	json_decref(r);
	r = grade(&in, LOG("nothing\n"), V4);
	cr_assert(json_is_true(field(r, "patch_successfully_applied")));
	expect_lists(r, "", "t::a", "", "");
	json_decref(r);
	r = grade(&in, LOG("Test Suites: 1 failed, 2 passed, 3 total\n"), V5);
	cr_assert(json_is_true(field(r, "patch_successfully_applied")));
	json_decref(r);
}

Test(grade, universal_newlines_none_patch_and_bad_utf8)
{
	static const char *const f2p[] = { "t::a", NULL };
	bench_instance in = make("pytest-dev/pytest", "parse_log_pytest", f2p, NULL);
	json_t *r = grade(&in, "+ : '>>>>> Start Test Output'\r\nPASSED t::a\r+ : '>>>>> End Test Output'\r\n", V4);
	pl_err err = { 0 };

	cr_assert(json_is_true(field(r, "resolved")));
	json_decref(r);
	cr_assert_eq(bench_grade(&r, &in, true, "", 0, V4, &err), 0);
	cr_assert(json_is_true(field(r, "patch_is_None")));
	cr_assert(json_is_false(field(r, "patch_exists")));
	json_decref(r);
	r = NULL;
	cr_assert_eq(bench_grade(&r, &in, false, "ok\n\xff", 4, V4, &err), PL_EFORMAT);
	cr_assert_str_eq(err.msg, "the test output is not valid UTF-8 at byte 3 (the official harness fails to decode it)");
	cr_assert_null(r);
}

Test(grade, fail_only_repositories)
{
	static const char *const f2p[] = { "a", "b", NULL };
	bench_instance in = make("markedjs/marked", NULL, f2p, NULL);
	json_t *r;

	in.log_parser = (char *)"parse_log_pytest"; /* any parser: only FAILED counts */
	/* v5 goes by the dataset's eval_type (v4.1 by repository, the
	 * JavaScript ones, whose parsers plait does not have) */
	r = grade(&in, LOG("FAILED b\n"), V5);
	expect_lists(r, "", "a,b", "", "");
	json_decref(r);
	in.eval_type = (char *)"fail_only";
	r = grade(&in, LOG("FAILED b\n"), V5);
	expect_lists(r, "a", "b", "", "");
	json_decref(r);
}

Test(grade, suite_ran_and_classify)
{
	static const char *const yes[] = { "Executed 3 of 5", "TOTAL: 2 SUCCESS", "10 passing", "Tests:   4 passed",
					   "Test Suites: 2 failed, 1 passed, 3 total", "x\n# tests 2", "12 specs, 0 failures",
					   "case': ok\nmore" };
	static const char *const no[] = { "Executed 0 of 5", "0 passing", "Tests: 0", "# tests 0", "a # tests 1",
					  "case': okay", "TOTAL: 0 FAILED" };
	size_t i;
	bool env;

	for (i = 0; i < PL_ARRAY_LEN(yes); i++)
		cr_expect(bench__suite_ran(yes[i], strlen(yes[i])), "%s", yes[i]);
	for (i = 0; i < PL_ARRAY_LEN(no); i++)
		cr_expect_not(bench__suite_ran(no[i], strlen(no[i])), "%s", no[i]);
	cr_assert_str_eq(bench__classify("x\nModuleNotFoundError: y\nKilled\n", 31, &env), "out_of_memory");
	cr_assert(env);
	cr_assert_str_eq(bench__classify("ModuleNotFoundError: y", 22, &env), "missing_module");
	cr_assert_not(env);
	cr_assert_null(bench__classify("Killed by x", 11, &env));
}
