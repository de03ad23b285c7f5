/* parse.c - the log parsers of swebench/harness/log_parsers/python.py, at
 * v4.1.0 and as v5 changed them, reproduced line for line on UTF-8 text.
 * Python's str.split(), strip() and the few regular expressions are
 * emulated exactly (pystr.c); `\d` is taken as an ASCII digit, which is
 * what every published log holds. */
#include "bench-harness/internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const statuses[] = { "FAILED", "PASSED", "SKIPPED", "ERROR", "XFAIL" };

struct django_state;

typedef struct parser {
	json_t *map;
	bool v5;
	bench__toks toks;
	pl_buf tmp;
	struct django_state *dj; /* parse_log_django's prev_test */
} parser;

static void put(parser *ps, const char *k, size_t kn, const char *v, size_t vn)
{
	json_object_setn_new_nocheck(ps->map, k, kn, json_stringn_nocheck(v, vn));
}

static void put_span(parser *ps, bench__span k, bench__span v)
{
	put(ps, k.p, k.n, v.p, v.n);
}

static bool starts(const char *s, size_t n, const char *p)
{
	size_t m = strlen(p);

	return n >= m && !memcmp(s, p, m);
}

static bool ends(const char *s, size_t n, const char *p)
{
	size_t m = strlen(p);

	return n >= m && !memcmp(s + n - m, p, m);
}

static bool starts_status(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(statuses); i++)
		if (starts(s, n, statuses[i]))
			return true;
	return false;
}

static bool ends_status(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(statuses); i++)
		if (ends(s, n, statuses[i]))
			return true;
	return false;
}

/* s.replace(from, to) into out */
static void replace(pl_buf *out, const char *s, size_t n, const char *from, const char *to)
{
	size_t m = strlen(from);
	const char *p = s, *end = s + n, *q;

	while ((q = bench__find(p, (size_t)(end - p), from, m)) != NULL) {
		pl_buf_add(out, p, (size_t)(q - p));
		pl_buf_puts(out, to);
		p = q + m;
	}
	pl_buf_add(out, p, (size_t)(end - p));
}

/* v5's _is_skip_summary: SKIPPED with a name matching ^\[\d+\]$ */
static bool skip_summary(bench__span st, bench__span name)
{
	size_t i;

	if (st.n != 7 || memcmp(st.p, "SKIPPED", 7) || name.n < 3 || name.p[0] != '[' || name.p[name.n - 1] != ']')
		return false;
	for (i = 1; i + 1 < name.n; i++)
		if (name.p[i] < '0' || name.p[i] > '9')
			return false;
	return true;
}

/* Calls fn for every line of log.split("\n"). */
typedef int (*line_fn)(parser *ps, const char *l, size_t n, size_t no, pl_err *err);

static int each_line(parser *ps, const char *log, size_t len, line_fn fn, pl_err *err)
{
	size_t start = 0, i, no = 0;
	int rc;

	for (i = 0; i <= len; i++) {
		if (i < len && log[i] != '\n')
			continue;
		no++;
		if ((rc = fn(ps, log + start, i - start, no, err)) < 0)
			return rc;
		start = i + 1;
	}
	return 0;
}

/* ------------------------------------------------------------ pytest */

/* A pytest status line split into ps->toks (status, name, ...): "FAILED a
 * - reason" read as "FAILED a reason", as the official parsers replace
 * " - " with " "; false for other lines and, under v5, summary lines. */
static bool status_tokens(parser *ps, const char *l, size_t n)
{
	if (!starts_status(l, n))
		return false;
	if (starts(l, n, "FAILED")) {
		pl_buf_reset(&ps->tmp);
		replace(&ps->tmp, l, n, " - ", " ");
		l = ps->tmp.ptr;
		n = ps->tmp.len;
	}
	bench__py_split(&ps->toks, l, n);
	if (ps->toks.n <= 1)
		return false;
	return !(ps->v5 && skip_summary(ps->toks.v[0], ps->toks.v[1]));
}

static int line_pytest(parser *ps, const char *l, size_t n, size_t no, pl_err *err)
{
	(void)no;
	(void)err;
	if (!status_tokens(ps, l, n))
		return 0;
	put_span(ps, ps->toks.v[1], ps->toks.v[0]);
	return 0;
}

static int line_matplotlib(parser *ps, const char *l, size_t n, size_t no, pl_err *err)
{
	pl_buf a = PL_BUF_INIT, b = PL_BUF_INIT;
	int rc;

	replace(&a, l, n, "MouseButton.LEFT", "1");
	replace(&b, a.ptr, a.len, "MouseButton.RIGHT", "3");
	rc = line_pytest(ps, b.ptr, b.len, no, err);
	pl_buf_release(&a);
	pl_buf_release(&b);
	return rc;
}

/* re.compile(r"(.*?)\[(.*)\]").search(name): main is up to the first '['
 * that a later ']' closes, option up to the last ']'; what follows the last
 * ']' is dropped. */
static int line_options(parser *ps, const char *l, size_t n, size_t no, pl_err *err)
{
	bench__span name;
	const char *last, *first;
	pl_buf k = PL_BUF_INIT;

	(void)no;
	(void)err;
	if (!status_tokens(ps, l, n))
		return 0;
	name = ps->toks.v[1];
	last = NULL;
	for (const char *p = name.p + name.n; p-- > name.p;)
		if (*p == ']') {
			last = p;
			break;
		}
	first = last ? memchr(name.p, '[', (size_t)(last - name.p)) : NULL;
	if (!first) {
		put_span(ps, name, ps->toks.v[0]);
		return 0;
	}
	{
		const char *opt = first + 1;
		size_t on = (size_t)(last - opt);

		pl_buf_add(&k, name.p, (size_t)(first - name.p));
		pl_buf_putc(&k, '[');
		if (on && opt[0] == '/' && !(on > 1 && opt[1] == '/') && !memchr(opt, '*', on)) {
			/* "/" + option.split("/")[-1] */
			const char *slash = opt + on;

			while (slash > opt && slash[-1] != '/')
				slash--;
			pl_buf_putc(&k, '/');
			pl_buf_add(&k, slash, (size_t)(opt + on - slash));
		} else {
			pl_buf_add(&k, opt, on);
		}
		pl_buf_putc(&k, ']');
	}
	put(ps, k.ptr, k.len, ps->toks.v[0].p, ps->toks.v[0].n);
	pl_buf_release(&k);
	return 0;
}

/* re.sub(r"\[(\d+)m", "", line), then the characters 1 to 31 deleted */
static void clean_v2(pl_buf *out, const char *l, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (l[i] == '[') {
			size_t j = i + 1;

			while (j < n && l[j] >= '0' && l[j] <= '9')
				j++;
			if (j > i + 1 && j < n && l[j] == 'm') {
				i = j + 1;
				continue;
			}
		}
		if (!((unsigned char)l[i] >= 1 && (unsigned char)l[i] <= 31))
			pl_buf_putc(out, l[i]);
		i++;
	}
}

/* " ".join(toks[a:b]) */
static void join(pl_buf *out, const bench__toks *t, size_t a, size_t b)
{
	size_t i;

	for (i = a; i < b; i++) {
		if (i > a)
			pl_buf_putc(out, ' ');
		pl_buf_add(out, t->v[i].p, t->v[i].n);
	}
}

static int line_v2(parser *ps, const char *l, size_t n, size_t no, pl_err *err)
{
	pl_buf c = PL_BUF_INIT, k = PL_BUF_INIT;

	(void)no;
	(void)err;
	clean_v2(&c, l, n);
	l = c.ptr;
	n = c.len;
	if (starts_status(l, n)) {
		if (starts(l, n, "FAILED")) {
			pl_buf_reset(&ps->tmp);
			if (ps->v5) {
				/* line.split(" - ", 1)[0] */
				const char *d = bench__find(l, n, " - ", 3);

				pl_buf_add(&ps->tmp, l, d ? (size_t)(d - l) : n);
			} else {
				replace(&ps->tmp, l, n, " - ", " ");
			}
			l = ps->tmp.ptr;
			n = ps->tmp.len;
		}
		bench__py_split(&ps->toks, l, n);
		if (ps->toks.n >= 2) {
			if (!ps->v5) {
				put_span(ps, ps->toks.v[1], ps->toks.v[0]);
			} else if (!skip_summary(ps->toks.v[0], ps->toks.v[1])) {
				join(&k, &ps->toks, 1, ps->toks.n);
				put(ps, k.ptr, k.len, ps->toks.v[0].p, ps->toks.v[0].n);
			}
		}
	} else if (ends_status(l, n)) {
		/* older pytest: "path::test PASSED" */
		bench__py_split(&ps->toks, l, n);
		if (ps->toks.n >= 2) {
			if (!ps->v5) {
				put_span(ps, ps->toks.v[0], ps->toks.v[1]);
			} else {
				join(&k, &ps->toks, 0, ps->toks.n - 1);
				put(ps, k.ptr, k.len, ps->toks.v[ps->toks.n - 1].p, ps->toks.v[ps->toks.n - 1].n);
			}
		}
	}
	pl_buf_release(&c);
	pl_buf_release(&k);
	return 0;
}

/* ------------------------------------------------------------ seaborn */

static int index_error(pl_err *err, size_t no, const char *parser, const char *l, size_t n)
{
	return pl_err_set(err, PL_EFORMAT,
			  "log line %zu: the official %s raises IndexError on '%.*s' (the instance is an error there)",
			  no, parser, (int)(n > 80 ? 80 : n), l);
}

static bool contains(const char *s, size_t n, const char *p)
{
	return bench__find(s, n, p, strlen(p)) != NULL;
}

static int line_seaborn(parser *ps, const char *l, size_t n, size_t no, pl_err *err)
{
	static const bench__span failed = { "FAILED", 6 }, passed = { "PASSED", 6 };

	bench__py_split(&ps->toks, l, n);
	if (ps->v5 && ps->toks.n < 2)
		return 0;
	if (starts(l, n, "FAILED")) {
		if (ps->toks.n < 2)
			return index_error(err, no, "parse_log_seaborn", l, n);
		put_span(ps, ps->toks.v[1], failed);
	} else if (contains(l, n, " PASSED ")) {
		if (ps->toks.n < 2)
			return index_error(err, no, "parse_log_seaborn", l, n);
		if (ps->toks.v[1].n == 6 && !memcmp(ps->toks.v[1].p, "PASSED", 6))
			put_span(ps, ps->toks.v[0], passed);
	} else if (starts(l, n, "PASSED")) {
		if (ps->toks.n < 2)
			return index_error(err, no, "parse_log_seaborn", l, n);
		put_span(ps, ps->toks.v[1], passed);
	}
	return 0;
}

/* ------------------------------------------------------------ django */

typedef struct django_state {
	bool set;     /* prev_test is not None */
	pl_buf prev;  /* prev_test */
} django_state;

/* text before the first occurrence of sep (all of it when absent) */
static size_t before(const char *s, size_t n, const char *sep)
{
	const char *q = bench__find(s, n, sep, strlen(sep));

	return q ? (size_t)(q - s) : n;
}

static int line_django(parser *ps, const char *l, size_t n, size_t no, pl_err *err)
{
	static const char *const pass_suffixes[] = { " ... ok", " ... OK", " ...  OK" };
	django_state *st = ps->dj;
	size_t i;

	bench__py_strip(&l, &n);
	if (contains(l, n, "--version is equivalent to version"))
		put(ps, "--version is equivalent to version", 34, "PASSED", 6);
	if (contains(l, n, " ... ")) {
		pl_buf_reset(&st->prev);
		pl_buf_add(&st->prev, l, before(l, n, " ... "));
		st->set = true;
	}
	for (i = 0; i < PL_ARRAY_LEN(pass_suffixes); i++) {
		if (!ends(l, n, pass_suffixes[i]))
			continue;
		/* django__django-7188 */
		if (starts(l, n, "Applying sites.0002_alter_domain_unique...test_no_migrations")) {
			const char *d = bench__find(l, n, "...", 3);
			size_t rest = n - (size_t)(d - l) - 3;

			l = d + 3;
			n = rest;
			bench__py_strip(&l, &n);
		}
		/* line.rsplit(suffix, 1)[0] */
		{
			size_t m = strlen(pass_suffixes[i]);
			const char *q = NULL;

			for (const char *p = l + n - m + 1; p-- > l;)
				if (!memcmp(p, pass_suffixes[i], m)) {
					q = p;
					break;
				}
			put(ps, l, q ? (size_t)(q - l) : n, "PASSED", 6);
		}
		break;
	}
	if (contains(l, n, " ... skipped"))
		put(ps, l, before(l, n, " ... skipped"), "SKIPPED", 7);
	if (ends(l, n, " ... FAIL"))
		put(ps, l, before(l, n, " ... FAIL"), "FAILED", 6);
	if (starts(l, n, "FAIL:")) {
		bench__py_split(&ps->toks, l, n);
		if (ps->toks.n < 2)
			return index_error(err, no, "parse_log_django", l, n);
		put(ps, ps->toks.v[1].p, ps->toks.v[1].n, "FAILED", 6);
	}
	if (ends(l, n, " ... ERROR"))
		put(ps, l, before(l, n, " ... ERROR"), "ERROR", 5);
	if (starts(l, n, "ERROR:")) {
		bench__py_split(&ps->toks, l, n);
		if (ps->toks.n < 2)
			return index_error(err, no, "parse_log_django", l, n);
		put(ps, ps->toks.v[1].p, ps->toks.v[1].n, "ERROR", 5);
	}
	if (starts(l, n, "ok") && st->set)
		put(ps, st->prev.ptr, st->prev.len, "PASSED", 6);
	return 0;
}

/* The three multi-line patterns parse_log_django applies to the whole log
 * with re.finditer(pattern, log, re.MULTILINE):
 *   ^(.*?)\s\.\.\.\sTesting\ against\ Django\ installed\ in\ ((?s:.*?))\ silenced\)\.\nok$
 *   ^(.*?)\s\.\.\.\sInternal\ Server\ Error:\ \/(.*)\/\nok$
 *   ^(.*?)\s\.\.\.\sSystem check identified no issues \(0 silenced\)\nok$
 * Each tail returns the end of its match from q, or SIZE_MAX. */

/* "ok" then $ (end of text or a newline) at q */
static size_t ok_end(const char *s, size_t n, size_t q)
{
	if (q + 2 <= n && s[q] == 'o' && s[q + 1] == 'k' && (q + 2 == n || s[q + 2] == '\n'))
		return q + 2;
	return SIZE_MAX;
}

static size_t tail_testing(const char *s, size_t n, size_t q)
{
	static const char lit[] = "Testing against Django installed in ";
	static const char end[] = " silenced).\n";
	size_t m = sizeof(lit) - 1, e = sizeof(end) - 1;

	if (q + m > n || memcmp(s + q, lit, m))
		return SIZE_MAX;
	/* lazy (?s:.*?): the first " silenced).\nok$" from here */
	for (q += m; q + e <= n;) {
		const char *h = bench__find(s + q, n - q, end, e);
		size_t r;

		if (!h)
			return SIZE_MAX;
		if ((r = ok_end(s, n, (size_t)(h - s) + e)) != SIZE_MAX)
			return r;
		q = (size_t)(h - s) + 1;
	}
	return SIZE_MAX;
}

static size_t tail_server_error(const char *s, size_t n, size_t q)
{
	static const char lit[] = "Internal Server Error: /";
	size_t m = sizeof(lit) - 1, eol;

	if (q + m > n || memcmp(s + q, lit, m))
		return SIZE_MAX;
	q += m;
	/* greedy (.*) within the line, then "/\nok$": the line must end in '/' */
	for (eol = q; eol < n && s[eol] != '\n'; eol++)
		;
	if (eol >= n || eol == q || s[eol - 1] != '/')
		return SIZE_MAX;
	return ok_end(s, n, eol + 1);
}

static size_t tail_system_check(const char *s, size_t n, size_t q)
{
	static const char lit[] = "System check identified no issues (0 silenced)\n";
	size_t m = sizeof(lit) - 1;

	if (q + m > n || memcmp(s + q, lit, m))
		return SIZE_MAX;
	return ok_end(s, n, q + m);
}

static void django_multiline(parser *ps, const char *s, size_t n, size_t (*tail)(const char *, size_t, size_t))
{
	size_t ls = 0; /* a line start at or after the last match's end */

	while (ls <= n) {
		size_t p, w, match = SIZE_MAX, g_end = 0;

		/* (.*?) lazy: the first p on this line where the rest matches */
		for (p = ls; p <= n; p++) {
			size_t q;

			if ((w = bench__py_space(s + p, n - p)) != 0) {
				q = p + w;
				if (q + 3 <= n && !memcmp(s + q, "...", 3) && (w = bench__py_space(s + q + 3, n - q - 3)) != 0 &&
				    (match = tail(s, n, q + 3 + w)) != SIZE_MAX) {
					g_end = p;
					break;
				}
			}
			if (p == n || s[p] == '\n')
				break;
		}
		if (match != SIZE_MAX) {
			put(ps, s + ls, g_end - ls, "PASSED", 6);
			/* the next search starts at the match's end: the next
			 * line start after it */
			p = match;
		} else {
			p = ls;
		}
		while (p < n && s[p] != '\n')
			p++;
		if (p >= n)
			break;
		ls = p + 1;
	}
}

static int parse_django(parser *ps, const char *log, size_t len, pl_err *err)
{
	django_state st = { false, PL_BUF_INIT };
	int rc;

	ps->dj = &st;
	rc = each_line(ps, log, len, line_django, err);
	ps->dj = NULL;
	pl_buf_release(&st.prev);
	if (rc < 0)
		return rc;
	django_multiline(ps, log, len, tail_testing);
	django_multiline(ps, log, len, tail_server_error);
	django_multiline(ps, log, len, tail_system_check);
	return 0;
}

/* ------------------------------------------------------------ sympy */

/* re.findall(r"(_*) (.*)\.py:(.*) (_*)", log): key group2 + ".py:" +
 * group3 = FAILED.  Within a line: a match starts where a run of
 * underscores (maybe empty) is followed by a space; group 2 runs to the
 * last ".py:" that has a space after it, group 3 to the line's last space. */
static void sympy_headers(parser *ps, const char *s, size_t n)
{
	size_t ls = 0;

	while (ls < n) {
		size_t le = ls, last_sp = SIZE_MAX, i;

		while (le < n && s[le] != '\n')
			le++;
		for (i = ls; i < le; i++)
			if (s[i] == ' ')
				last_sp = i;
		if (last_sp != SIZE_MAX && bench__find(s + ls, le - ls, ".py:", 4)) {
			i = ls;
			while (i < le) {
				size_t j = i, g2, k, found = SIZE_MAX, e;
				pl_buf key = PL_BUF_INIT;

				while (j < le && s[j] == '_')
					j++;
				if (j >= le || s[j] != ' ') {
					i = j > i ? j : i + 1;
					continue;
				}
				g2 = j + 1;
				/* the rightmost ".py:" at k >= g2 with k + 4 <= last_sp */
				for (k = last_sp >= 4 ? last_sp - 4 + 1 : 0; k-- > g2;)
					if (!memcmp(s + k, ".py:", 4)) {
						found = k;
						break;
					}
				if (found == SIZE_MAX || found + 4 > last_sp) {
					i++;
					continue;
				}
				pl_buf_add(&key, s + g2, found - g2);
				pl_buf_puts(&key, ".py:");
				pl_buf_add(&key, s + found + 4, last_sp - found - 4);
				put(ps, key.ptr, key.len, "FAILED", 6);
				pl_buf_release(&key);
				e = last_sp + 1;
				while (e < le && s[e] == '_')
					e++;
				i = e > i ? e : i + 1;
				/* nothing after the last space can start another match
				 * that needs a space after it */
				if (i > last_sp)
					break;
			}
		}
		ls = le + 1;
	}
}

static int line_sympy(parser *ps, const char *l, size_t n, size_t no, pl_err *err)
{
	(void)no;
	(void)err;
	bench__py_strip(&l, &n);
	if (!starts(l, n, "test_"))
		return 0;
	bench__py_split(&ps->toks, l, n); /* starts with "test_": at least one token */
	if (ends(l, n, " E"))
		put(ps, ps->toks.v[0].p, ps->toks.v[0].n, "ERROR", 5);
	if (ends(l, n, " F"))
		put(ps, ps->toks.v[0].p, ps->toks.v[0].n, "FAILED", 6);
	if (ends(l, n, " ok"))
		put(ps, ps->toks.v[0].p, ps->toks.v[0].n, "PASSED", 6);
	return 0;
}

/* ------------------------------------------------------------ dispatch */

typedef enum kind { K_PYTEST, K_OPTIONS, K_V2, K_MATPLOTLIB, K_SEABORN, K_DJANGO, K_SYMPY } kind;

static const struct {
	const char *name;
	kind k;
} registry[] = {
	{ "parse_log_pytest", K_PYTEST },	    { "parse_log_astroid", K_PYTEST },
	{ "parse_log_flask", K_PYTEST },	    { "parse_log_marshmallow", K_PYTEST },
	{ "parse_log_pvlib", K_PYTEST },	    { "parse_log_pyvista", K_PYTEST },
	{ "parse_log_sqlfluff", K_PYTEST },	    { "parse_log_xarray", K_PYTEST },
	{ "parse_log_pytest_options", K_OPTIONS }, { "parse_log_pydicom", K_OPTIONS },
	{ "parse_log_requests", K_OPTIONS },	    { "parse_log_pylint", K_OPTIONS },
	{ "parse_log_pytest_v2", K_V2 },	    { "parse_log_astropy", K_V2 },
	{ "parse_log_scikit", K_V2 },		    { "parse_log_sphinx", K_V2 },
	{ "parse_log_matplotlib", K_MATPLOTLIB },   { "parse_log_seaborn", K_SEABORN },
	{ "parse_log_django", K_DJANGO },	    { "parse_log_sympy", K_SYMPY },
};

const char *bench_parser_name(const bench_instance *inst, bench_grading g)
{
	if (g == BENCH_GRADING_V5 && inst->log_parser)
		return inst->log_parser;
	return bench__repo_parser(inst->repo);
}

int bench_parse_log(json_t **out, const char *name, const char *log, size_t len, bench_grading g, pl_err *err)
{
	parser ps;
	size_t i;
	int rc = 0;

	for (i = 0; i < PL_ARRAY_LEN(registry); i++)
		if (name && !strcmp(registry[i].name, name))
			break;
	if (i == PL_ARRAY_LEN(registry))
		return pl_err_set(err, PL_EUNSUPPORTED, "no log parser '%s' (plait has the Python repositories' parsers)",
				  name ? name : "(none)");
	memset(&ps, 0, sizeof(ps));
	ps.map = json_object();
	ps.v5 = g == BENCH_GRADING_V5;
	pl_buf_init(&ps.tmp, 0);
	switch (registry[i].k) {
	case K_PYTEST:
		rc = each_line(&ps, log, len, line_pytest, err);
		break;
	case K_OPTIONS:
		rc = each_line(&ps, log, len, line_options, err);
		break;
	case K_V2:
		rc = each_line(&ps, log, len, line_v2, err);
		break;
	case K_MATPLOTLIB:
		rc = each_line(&ps, log, len, line_matplotlib, err);
		break;
	case K_SEABORN:
		rc = each_line(&ps, log, len, line_seaborn, err);
		break;
	case K_DJANGO:
		rc = parse_django(&ps, log, len, err);
		break;
	case K_SYMPY:
		sympy_headers(&ps, log, len);
		rc = each_line(&ps, log, len, line_sympy, err);
		break;
	}
	bench__toks_release(&ps.toks);
	pl_buf_release(&ps.tmp);
	if (rc < 0) {
		json_decref(ps.map);
		return rc;
	}
	*out = ps.map;
	return 0;
}
