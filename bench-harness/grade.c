/* grade.c - grading one instance from its test output: grading.py's
 * get_logs_eval, get_eval_tests_report and get_eval_report, at v4.1.0 and
 * as v5 changed them (skipped tests, truncated ids, the test exit code, an
 * empty result with no sign of a run), and v5's infra_failure.py. */
#include "bench-harness/internal.h"

#include <stdlib.h>
#include <string.h>

#define START ">>>>> Start Test Output"
#define END ">>>>> End Test Output"

static const char *const bad_codes[] = { ">>>>> Patch Apply Failed", ">>>>> Reset Failed", ">>>>> Tests Errored",
					 ">>>>> Tests Timed Out" };

static bool has(const char *s, size_t n, const char *p)
{
	return bench__find(s, n, p, strlen(p)) != NULL;
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ------------------------------------------------------------ SUITE_RAN */

/* The digit run ending just before s + at holds a digit 1-9: "[1-9]\d*"
 * can end there. */
static bool nonzero_run_before(const char *s, size_t at)
{
	while (at > 0 && digit(s[at - 1])) {
		if (s[at - 1] != '0')
			return true;
		at--;
	}
	return false;
}

/* "[1-9]\d*" exactly at q: its end, or SIZE_MAX */
static size_t count_at(const char *s, size_t n, size_t q)
{
	if (q >= n || s[q] < '1' || s[q] > '9')
		return SIZE_MAX;
	while (q < n && digit(s[q]))
		q++;
	return q;
}

static size_t spaces(const char *s, size_t n, size_t q)
{
	size_t w;

	while (q < n && (w = bench__py_space(s + q, n - q)))
		q += w;
	return q;
}

static bool word_char(unsigned char c)
{
	/* \w: ASCII letters, digits, '_', and (approximately) every
	 * non-ASCII character */
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

/* Each occurrence of lit; fn decides from its offset. */
static bool any_at(const char *s, size_t n, const char *lit, bool (*fn)(const char *, size_t, size_t, size_t))
{
	size_t m = strlen(lit), i = 0;
	const char *h;

	while (i < n && (h = bench__find(s + i, n - i, lit, m)) != NULL) {
		if (fn(s, n, (size_t)(h - s), m))
			return true;
		i = (size_t)(h - s) + 1;
	}
	return false;
}

static bool executed(const char *s, size_t n, size_t at, size_t m)
{
	/* Executed [1-9]\d* of \d+ */
	size_t q = count_at(s, n, at + m);

	return q != SIZE_MAX && q + 5 <= n && !memcmp(s + q, " of ", 4) && digit(s[q + 4]);
}

static bool total(const char *s, size_t n, size_t at, size_t m)
{
	/* TOTAL: [1-9]\d* (?:SUCCESS|FAILED) */
	size_t q = count_at(s, n, at + m);

	return q != SIZE_MAX && q < n && s[q] == ' ' &&
	       ((q + 8 <= n && !memcmp(s + q + 1, "SUCCESS", 7)) || (q + 7 <= n && !memcmp(s + q + 1, "FAILED", 6)));
}

static bool passing(const char *s, size_t n, size_t at, size_t m)
{
	(void)n;
	(void)m;
	return nonzero_run_before(s, at); /* [1-9]\d* passing */
}

static bool tests_colon(const char *s, size_t n, size_t at, size_t m)
{
	/* Tests:\s+[1-9]\d* */
	size_t q = spaces(s, n, at + m);

	return q > at + m && count_at(s, n, q) != SIZE_MAX;
}

static bool test_suites(const char *s, size_t n, size_t at, size_t m)
{
	/* Test Suites:\s+(?:\d+ \w+, )*[1-9]\d* total */
	size_t q = spaces(s, n, at + m);

	if (q == at + m)
		return false;
	for (;;) {
		size_t e = count_at(s, n, q), d, w;

		if (e != SIZE_MAX && e + 6 <= n && !memcmp(s + e, " total", 6))
			return true;
		for (d = q; d < n && digit(s[d]); d++)
			;
		if (d == q || d >= n || s[d] != ' ')
			return false;
		for (w = d + 1; w < n && word_char((unsigned char)s[w]); w++)
			;
		if (w == d + 1 || w + 2 > n || s[w] != ',' || s[w + 1] != ' ')
			return false;
		q = w + 2;
	}
}

static bool hash_tests(const char *s, size_t n, size_t at, size_t m)
{
	/* ^# tests [1-9]\d* (multiline) */
	return (at == 0 || s[at - 1] == '\n') && count_at(s, n, at + m) != SIZE_MAX;
}

static bool specs(const char *s, size_t n, size_t at, size_t m)
{
	/* [1-9]\d* specs?, \d+ failures? */
	size_t q = at + m;

	if (!nonzero_run_before(s, at))
		return false;
	if (q < n && s[q] == 's')
		q++;
	if (q + 2 > n || s[q] != ',' || s[q + 1] != ' ')
		return false;
	q += 2;
	if (q >= n || !digit(s[q]))
		return false;
	while (q < n && digit(s[q]))
		q++;
	return q + 8 <= n && !memcmp(s + q, " failure", 8);
}

static bool ok_eol(const char *s, size_t n, size_t at, size_t m)
{
	/* ': ok$ (multiline) */
	return at + m == n || s[at + m] == '\n';
}

bool bench__suite_ran(const char *s, size_t n)
{
	return any_at(s, n, "Executed ", executed) || any_at(s, n, "TOTAL: ", total) ||
	       any_at(s, n, " passing", passing) || any_at(s, n, "Tests:", tests_colon) ||
	       any_at(s, n, "Test Suites:", test_suites) || any_at(s, n, "# tests ", hash_tests) ||
	       any_at(s, n, " spec", specs) || any_at(s, n, "': ok", ok_eol);
}

/* ------------------------------------------------------------ infra failures */

static bool killed_line(const char *s, size_t n, size_t at, size_t m)
{
	return (at == 0 || s[at - 1] == '\n') && (at + m == n || s[at + m] == '\n');
}

static bool timeout_error(const char *s, size_t n, size_t at, size_t m)
{
	size_t q = at + m, d = q;

	while (d < n && digit(s[d]))
		d++;
	return d > q && d + 18 <= n && !memcmp(s + d, " seconds exceeded", 17);
}

const char *bench__classify(const char *s, size_t n, bool *environment)
{
	static const struct {
		const char *reason;
		bool env;
		const char *subs[3];
	} sig[] = {
		{ "browser_launch_failed", true, { "Failed to launch", "Failed to connect to the bus", NULL } },
		{ "display_unavailable", true, { "cannot open display", "Missing X server", "unable to open X display" } },
		{ "out_of_memory", true, { "Cannot allocate memory", "OutOfMemoryError", NULL } },
		{ "container_unavailable", true, { "Error response from daemon", "Cannot connect to the Docker daemon", NULL } },
		{ "network_unreachable", true, { "Could not resolve host", "Temporary failure in name resolution", NULL } },
		{ "missing_module", false, { "Cannot find module", "MODULE_NOT_FOUND", "ModuleNotFoundError" } },
		{ "no_tests_collected", false, { "no tests ran", "collected 0 items", NULL } },
		{ "tests_timed_out", false, { NULL, NULL, NULL } },
	};
	size_t i, k;

	if (!n)
		return NULL;
	for (i = 0; i < PL_ARRAY_LEN(sig); i++) {
		bool hit = false;

		for (k = 0; k < 3 && sig[i].subs[k] && !hit; k++)
			hit = has(s, n, sig[i].subs[k]);
		if (!strcmp(sig[i].reason, "out_of_memory") && !hit)
			hit = any_at(s, n, "Killed", killed_line); /* ^Killed$ */
		if (!strcmp(sig[i].reason, "tests_timed_out"))
			hit = any_at(s, n, "Timeout error: ", timeout_error); /* Timeout error: \d+ seconds exceeded */
		if (hit) {
			if (environment)
				*environment = sig[i].env;
			return sig[i].reason;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------ get_logs_eval */

/* v5's parse_test_exit_code: the first ">>>>> Test Exit Code:\s*(-?\d+)";
 * false when absent. */
static bool exit_code(const char *s, size_t n, long *code)
{
	static const char lit[] = ">>>>> Test Exit Code:";
	size_t m = sizeof(lit) - 1, i = 0;
	const char *h;

	while (i < n && (h = bench__find(s + i, n - i, lit, m)) != NULL) {
		size_t q = spaces(s, n, (size_t)(h - s) + m);
		bool neg = q < n && s[q] == '-';
		long v = 0;
		size_t d;

		if (neg)
			q++;
		for (d = q; d < n && digit(s[d]) && v < 100000000; d++)
			v = v * 10 + (s[d] - '0');
		if (d > q) {
			*code = neg ? -v : v;
			return true;
		}
		i = (size_t)(h - s) + 1;
	}
	return false;
}

/* (map, found); the map is NULL when not found. */
static int logs_eval(json_t **map, bool *found, const bench_instance *in, const char *c, size_t n, bench_grading g,
		     pl_err *err)
{
	const char *parser = bench_parser_name(in, g), *a, *b, *e;
	size_t i;
	int rc;
	long code;

	*map = NULL;
	*found = false;
	for (i = 0; i < PL_ARRAY_LEN(bad_codes); i++)
		if (has(c, n, bad_codes[i]))
			return 0;
	if (!has(c, n, START) || !has(c, n, END))
		return 0;
	/* content.split(START)[1].split(END)[0] */
	a = bench__find(c, n, START, strlen(START)) + strlen(START);
	b = bench__find(a, (size_t)(c + n - a), START, strlen(START));
	if (!b)
		b = c + n;
	e = bench__find(a, (size_t)(b - a), END, strlen(END));
	if (!e)
		e = b;
	if ((rc = bench_parse_log(map, parser, a, (size_t)(e - a), g, err)) < 0)
		return rc;
	if (!json_object_size(*map)) {
		/* results outside the markers: parse the whole log */
		json_decref(*map);
		if ((rc = bench_parse_log(map, parser, c, n, g, err)) < 0) {
			*map = NULL;
			return rc;
		}
	}
	if (g == BENCH_GRADING_V5) {
		bool failure = false;
		const char *k;
		json_t *v;

		if (!json_object_size(*map) && !bench__suite_ran(c, n)) {
			json_decref(*map);
			*map = NULL;
			return 0;
		}
		json_object_foreach(*map, k, v) {
			if (!strcmp(json_string_value(v), "FAILED") || !strcmp(json_string_value(v), "ERROR"))
				failure = true;
		}
		if (exit_code(c, n, &code) && code != 0 && json_object_size(*map) && !failure) {
			json_decref(*map);
			*map = NULL;
			return 0;
		}
	}
	*found = true;
	return 0;
}

/* ------------------------------------------------------------ tests report */

static bool is_status(const json_t *v, const char *s)
{
	return v && !strcmp(json_string_value(v), s);
}

static bool passing_status(const json_t *v)
{
	return is_status(v, "PASSED") || is_status(v, "XFAIL");
}

/* v5's _resolve_case: exact, or for an id with more '[' than ']' the first
 * key it prefixes when every such key agrees on pass or fail. */
static const json_t *resolve(const char *test, const json_t *map, bool v5)
{
	const json_t *v = json_object_get(map, test), *first = NULL;
	size_t open = 0, close = 0, tn;
	const char *p, *k;
	json_t *val;
	int agree = -1;

	if (v || !v5)
		return v;
	for (p = test; *p; p++) {
		open += *p == '[';
		close += *p == ']';
	}
	if (open <= close)
		return NULL;
	tn = strlen(test);
	json_object_foreach((json_t *)map, k, val) {
		if (strncmp(k, test, tn))
			continue;
		if (!first)
			first = val;
		if (agree == -1)
			agree = passing_status(val);
		else if (agree != (int)passing_status(val))
			return NULL;
	}
	return first;
}

typedef enum { T_SUCCESS, T_FAILURE, T_NEITHER } verdict;

static verdict check(const char *test, const json_t *map, bool v5, bool p2p, bool fail_only)
{
	const json_t *v;

	if (fail_only) {
		/* only an explicit FAILED fails */
		v = json_object_get(map, test);
		return is_status(v, "FAILED") ? T_FAILURE : T_SUCCESS;
	}
	v = resolve(test, map, v5);
	if (passing_status(v))
		return T_SUCCESS;
	if (v5 && p2p && is_status(v, "SKIPPED"))
		return T_SUCCESS; /* test_maintained */
	if (!v || is_status(v, "FAILED") || is_status(v, "ERROR") || (v5 && is_status(v, "SKIPPED")))
		return T_FAILURE;
	return T_NEITHER; /* v4.1: SKIPPED (and any other status) counts nowhere */
}

static json_t *lists(void)
{
	json_t *o = json_object();

	pl_json_set(o, "success", json_array());
	pl_json_set(o, "failure", json_array());
	return o;
}

/* {"success": [...], "failure": [...]}; *failures gets the failure count */
static json_t *group(char *const *tests, size_t n, const json_t *map, bool v5, bool p2p, bool fail_only,
		     size_t *failures)
{
	json_t *o = lists();
	size_t i;

	*failures = 0;
	for (i = 0; i < n; i++) {
		verdict r = check(tests[i], map, v5, p2p, fail_only);

		if (r == T_SUCCESS)
			json_array_append_new(json_object_get(o, "success"), json_string_nocheck(tests[i]));
		else if (r == T_FAILURE) {
			json_array_append_new(json_object_get(o, "failure"), json_string_nocheck(tests[i]));
			(*failures)++;
		}
	}
	return o;
}

static bool fail_only(const bench_instance *in, bench_grading g)
{
	if (g == BENCH_GRADING_V5 && in->eval_type)
		return !strcmp(in->eval_type, "fail_only");
	return bench__repo_fail_only(in->repo);
}

int bench_grade(json_t **out, const bench_instance *in, bool patch_is_none, const char *output, size_t len,
		bench_grading g, pl_err *err)
{
	json_t *report = json_object(), *r = json_object(), *map = NULL, *ts;
	pl_buf text = PL_BUF_INIT;
	size_t bad = 0, f2p_fail, p2p_fail;
	bool found, v5 = g == BENCH_GRADING_V5, fo;
	int rc = 0;

	pl_json_set(report, in->instance_id, r);
	pl_json_set(r, "patch_is_None", json_false());
	pl_json_set(r, "patch_exists", json_false());
	pl_json_set(r, "patch_successfully_applied", json_false());
	pl_json_set(r, "resolved", json_false());
	if (v5)
		pl_json_set(r, "infra_failure", json_false());
	if (patch_is_none) {
		pl_json_set(r, "patch_is_None", json_true());
		goto ok;
	}
	pl_json_set(r, "patch_exists", json_true());
	/* open(log_fp).read(): strict UTF-8, universal newlines */
	if (!bench__utf8_valid(output, len, &bad)) {
		rc = pl_err_set(err, PL_EFORMAT,
				"the test output is not valid UTF-8 at byte %zu (the official harness fails to decode it)",
				bad);
		goto done;
	}
	bench__universal_newlines(&text, output, len);
	if ((rc = logs_eval(&map, &found, in, text.ptr, text.len, g, err)) < 0)
		goto done;
	if (!found) {
		if (v5) {
			bool env = false;
			const char *reason = bench__classify(text.ptr, text.len, &env);

			if (reason) {
				pl_json_set(r, "infra_failure", json_boolean(env));
				pl_json_set(r, "infra_failure_reason", json_string(reason));
			}
		}
		goto ok;
	}
	pl_json_set(r, "patch_successfully_applied", json_true());
	fo = fail_only(in, g);
	ts = json_object();
	pl_json_set(ts, "FAIL_TO_PASS", group(in->fail_to_pass, in->n_fail_to_pass, map, v5, false, fo, &f2p_fail));
	pl_json_set(ts, "PASS_TO_PASS", group(in->pass_to_pass, in->n_pass_to_pass, map, v5, true, fo, &p2p_fail));
	pl_json_set(ts, "FAIL_TO_FAIL", lists());
	pl_json_set(ts, "PASS_TO_FAIL", lists());
	/* RESOLVED_FULL: f2p == 1 and p2p == 1, each success / (success +
	 * failure) or 1 when both are empty: no failure in either */
	pl_json_set(r, "resolved", json_boolean(!f2p_fail && !p2p_fail));
	pl_json_set(r, "tests_status", ts);
ok:
	*out = report;
	report = NULL;
done:
	json_decref(report);
	json_decref(map);
	pl_buf_release(&text);
	return rc;
}
