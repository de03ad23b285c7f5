/* script.c - the evaluation script of an instance: v4.1's
 * make_eval_script_list_py (test_spec/python.py) with get_test_directives
 * and get_modified_files (unidiff's PatchSet), and v5's dataset scripts
 * with record_test_exit_code (harness/utils.py). */
#include "bench-harness/internal.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ directives */

/* constants NON_TEST_EXTS: "csv" has no dot in the original. */
static const char *const non_test_exts[] = { ".json", ".png", "csv", ".txt", ".md", ".jpg",
					     ".jpeg", ".pkl", ".yml", ".yaml", ".toml" };

static bool ends_with_n(const char *s, size_t n, const char *suf)
{
	size_t m = strlen(suf);

	return n >= m && !memcmp(s + n - m, suf, m);
}

void bench__test_directives(json_t *out, const char *repo, const char *patch)
{
	static const char head[] = "diff --git a/";
	size_t n = strlen(patch), i = 0, k;
	bool django = !strcmp(repo, "django/django");

	if (!strcmp(repo, "swe-bench/humaneval")) {
		json_array_append_new(out, json_string("test.py"));
		return;
	}
	/* re.findall(r"diff --git a/.* b/(.*)"): from each "diff --git a/",
	 * the greedy ".*" puts the group after the line's last " b/"; the
	 * next search starts at the end of the line. */
	while (i < n) {
		const char *h = bench__find(patch + i, n - i, head, sizeof(head) - 1);
		size_t start, eol, j, found = SIZE_MAX;

		if (!h)
			break;
		start = (size_t)(h - patch) + sizeof(head) - 1;
		eol = start;
		while (eol < n && patch[eol] != '\n')
			eol++;
		for (j = eol; j >= start + 3; j--)
			if (!memcmp(patch + j - 3, " b/", 3)) {
				found = j;
				break;
			}
		if (found == SIZE_MAX) {
			/* no match here: findall moves on by one character */
			i = (size_t)(h - patch) + 1;
			continue;
		}
		i = eol;
		{
			const char *d = patch + found;
			size_t dn = eol - found;
			bool keep = true;
			pl_buf b = PL_BUF_INIT;

			for (k = 0; k < PL_ARRAY_LEN(non_test_exts); k++)
				if (ends_with_n(d, dn, non_test_exts[k]))
					keep = false;
			if (!keep)
				continue;
			if (django) {
				if (ends_with_n(d, dn, ".py"))
					dn -= 3;
				if (dn >= 6 && !memcmp(d, "tests/", 6)) {
					d += 6;
					dn -= 6;
				}
				for (k = 0; k < dn; k++)
					pl_buf_putc(&b, d[k] == '/' ? '.' : d[k]);
			} else {
				pl_buf_add(&b, d, dn);
			}
			json_array_append_new(out, json_stringn_nocheck(b.ptr, b.len));
			pl_buf_release(&b);
		}
	}
}

/* ------------------------------------------------------------ unidiff */

typedef struct line_iter {
	const char *s;
	size_t n, pos, no; /* no: number of the last line read */
} line_iter;

/* The next line without its '\n'; *nl says whether it had one.  False at
 * the end (StringIO yields no empty last line). */
static bool next_line(line_iter *it, const char **l, size_t *len, bool *nl)
{
	size_t e;

	if (it->pos >= it->n)
		return false;
	e = it->pos;
	while (e < it->n && it->s[e] != '\n')
		e++;
	*l = it->s + it->pos;
	*len = e - it->pos;
	*nl = e < it->n;
	it->pos = e < it->n ? e + 1 : e;
	it->no++;
	return true;
}

static bool starts(const char *l, size_t n, const char *p)
{
	size_t m = strlen(p);

	return n >= m && !memcmp(l, p, m);
}

/* ^PREFIX(\d+)$ */
static bool mode_line(const char *l, size_t n, const char *prefix)
{
	size_t m = strlen(prefix), i;

	if (!starts(l, n, prefix) || n == m)
		return false;
	for (i = m; i < n; i++)
		if (l[i] < '0' || l[i] > '9')
			return false;
	return true;
}

/* RE_DIFF_GIT_HEADER, then RE_DIFF_GIT_HEADER_NO_PREFIX: the greedy source
 * ends at the last space before the first tab that leaves a valid target. */
static bool git_header(const char *l, size_t n, pl_buf *src, pl_buf *dst)
{
	static const char h[] = "diff --git ";
	size_t s = sizeof(h) - 1, e = s, j;
	int pass;

	if (!starts(l, n, h))
		return false;
	while (e < n && l[e] != '\t')
		e++;
	for (pass = 0; pass < 2; pass++) {
		size_t sp = 0; /* chars of the source prefix ("a/" or "\"a/") */

		if (pass == 0) {
			if (starts(l + s, e - s, "a/"))
				sp = 2;
			else if (starts(l + s, e - s, "\"a/"))
				sp = 3;
			else
				continue;
		}
		for (j = e; j-- > s + sp + 1;) {
			size_t t = j + 1, tp = 0;

			if (l[j] != ' ')
				continue;
			if (pass == 0) {
				if (starts(l + t, e - t, "b/"))
					tp = 2;
				else if (starts(l + t, e - t, "\"b/"))
					tp = 3;
				else
					continue;
			}
			if (t + tp >= e)
				continue;
			pl_buf_add(src, l + s, j - s);
			pl_buf_add(dst, l + t, e - t);
			return true;
		}
	}
	return false;
}

/* "--- NAME" / "+++ NAME": the name up to a tab. */
static bool file_line(const char *l, size_t n, const char *prefix, pl_buf *name)
{
	size_t m = strlen(prefix), e;

	if (!starts(l, n, prefix) || n == m)
		return false;
	for (e = m; e < n && l[e] != '\t'; e++)
		;
	if (e == m)
		return false;
	pl_buf_add(name, l + m, e - m);
	return true;
}

static bool digits(const char **p, const char *end, long *v)
{
	const char *q = *p;

	*v = 0;
	while (q < end && *q >= '0' && *q <= '9') {
		*v = *v * 10 + (*q - '0');
		if (*v > 100000000)
			return false;
		q++;
	}
	if (q == *p)
		return false;
	*p = q;
	return true;
}

/* RE_HUNK_HEADER: @@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))?\ @@ */
static bool hunk_header(const char *l, size_t n, long *ss, long *sl, long *ts, long *tl)
{
	const char *p = l, *end = l + n;

	if (!starts(l, n, "@@ -"))
		return false;
	p += 4;
	if (!digits(&p, end, ss))
		return false;
	*sl = 1;
	if (p < end && *p == ',') {
		p++;
		if (!digits(&p, end, sl))
			return false;
	}
	if (end - p < 2 || p[0] != ' ' || p[1] != '+')
		return false;
	p += 2;
	if (!digits(&p, end, ts))
		return false;
	*tl = 1;
	if (p < end && *p == ',') {
		p++;
		if (!digits(&p, end, tl))
			return false;
	}
	return end - p >= 3 && !memcmp(p, " @@", 3);
}

/* PatchedFile._parse_hunk: lines are consumed by the header's counts. */
static int parse_hunk(line_iter *it, long ss, long sl, long ts, long tl, pl_err *err)
{
	long s = ss, t = ts, se = ss + sl, te = ts + tl;
	const char *l;
	size_t n;
	bool nl;

	while (next_line(it, &l, &n, &nl)) {
		char c = n ? l[0] : '\0';

		if (n && (c == '-' || c == '+' || c == ' ' || c == '\\')) {
			if (c == '+')
				t++;
			else if (c == '-')
				s++;
			else if (c == ' ')
				s++, t++;
		} else if (!n && nl) {
			s++, t++; /* an empty line is context */
		} else if (n == 1 && l[0] == '\r' && nl) {
			s++, t++;
		} else {
			return pl_err_set(err, PL_EFORMAT, "line %zu: hunk diff line expected: '%.*s'", it->no,
					  (int)(n > 80 ? 80 : n), l);
		}
		if (s > se || t > te)
			return pl_err_set(err, PL_EFORMAT, "line %zu: hunk is longer than expected", it->no);
		if (s == se && t == te)
			return 0;
	}
	return pl_err_set(err, PL_EFORMAT, "line %zu: hunk is shorter than expected", it->no);
}

static json_t *pair(const char *src, const char *dst)
{
	json_t *p = json_array();

	json_array_append_new(p, json_string_nocheck(src));
	json_array_append_new(p, json_string_nocheck(dst));
	return p;
}

/* "Binary files A and B differ": A and B, roughly as RE_BINARY_DIFF has
 * them (names without tabs). */
static bool binary_line(const char *l, size_t n, pl_buf *a, pl_buf *b)
{
	const char *p, *and_, *end = l + n;
	size_t skip;

	if (starts(l, n, "Binary files "))
		skip = 13;
	else if (starts(l, n, "Binary file "))
		skip = 12;
	else
		return false;
	if (ends_with_n(l, n, " differ"))
		end -= 7;
	else if (ends_with_n(l, n, " has changed"))
		end -= 12;
	else
		return false;
	p = l + skip;
	and_ = bench__find(p, (size_t)(end - p), " and ", 5);
	if (and_) {
		pl_buf_add(a, p, (size_t)(and_ - p));
		pl_buf_add(b, and_ + 5, (size_t)(end - and_ - 5));
	} else {
		pl_buf_add(a, p, (size_t)(end - p));
	}
	return true;
}

int bench__patch_files(json_t **out, const char *patch, pl_err *err)
{
	line_iter it = { patch, strlen(patch), 0, 0 };
	json_t *files = json_array(), *cur = NULL; /* cur: the current PatchedFile, borrowed */
	pl_buf src = PL_BUF_INIT, dst = PL_BUF_INIT, a = PL_BUF_INIT, b = PL_BUF_INIT;
	bool patch_info = false, cur_has_hunks = false;
	const char *l;
	size_t n;
	bool nl;
	int rc = 0;
	long ss, sl, ts, tl;

	/* the source name of the last "---" line (or diff --git header),
	 * which a following "+++" line pairs with */
	pl_buf last_src = PL_BUF_INIT;

	while (next_line(&it, &l, &n, &nl)) {
		pl_buf_reset(&a);
		pl_buf_reset(&b);
		if (git_header(l, n, &a, &b)) {
			cur = pair(a.ptr, b.ptr);
			json_array_append_new(files, cur);
			cur_has_hunks = false;
			patch_info = true;
			pl_buf_reset(&last_src);
			pl_buf_add(&last_src, a.ptr, a.len);
			continue;
		}
		if (mode_line(l, n, "new file mode ")) {
			if (!cur || !patch_info) {
				rc = pl_err_set(err, PL_EFORMAT, "line %zu: unexpected new file found", it.no);
				goto done;
			}
			json_array_set_new(cur, 0, json_string("/dev/null"));
			continue;
		}
		if (mode_line(l, n, "deleted file mode ")) {
			if (!cur || !patch_info) {
				rc = pl_err_set(err, PL_EFORMAT, "line %zu: unexpected deleted file found", it.no);
				goto done;
			}
			json_array_set_new(cur, 1, json_string("/dev/null"));
			continue;
		}
		if (file_line(l, n, "--- ", &a)) {
			if (cur && strcmp(json_string_value(json_array_get(cur, 0)), a.ptr))
				cur = NULL;
			pl_buf_reset(&last_src);
			pl_buf_add(&last_src, a.ptr, a.len);
			continue;
		}
		if (file_line(l, n, "+++ ", &b)) {
			if (cur && strcmp(json_string_value(json_array_get(cur, 1)), b.ptr)) {
				rc = pl_err_set(err, PL_EFORMAT, "line %zu: target without source: '%.*s'", it.no,
						(int)(n > 80 ? 80 : n), l);
				goto done;
			}
			if (!cur) {
				cur = pair(last_src.ptr, b.ptr);
				json_array_append_new(files, cur);
				cur_has_hunks = false;
				patch_info = false;
			}
			continue;
		}
		if (hunk_header(l, n, &ss, &sl, &ts, &tl)) {
			patch_info = false;
			if (!cur) {
				rc = pl_err_set(err, PL_EFORMAT, "line %zu: unexpected hunk found", it.no);
				goto done;
			}
			if ((rc = parse_hunk(&it, ss, sl, ts, tl, err)) < 0)
				goto done;
			cur_has_hunks = true;
			continue;
		}
		if (starts(l, n, "\\ No newline at end of file")) {
			if (!cur) {
				rc = pl_err_set(err, PL_EFORMAT, "line %zu: unexpected marker", it.no);
				goto done;
			}
			continue;
		}
		/* an empty line belongs to a file that has hunks (a PatchedFile
		 * without hunks is an empty list, so falsy) */
		if (!n && nl && cur && cur_has_hunks)
			continue;
		if (!patch_info) {
			cur = NULL;
			patch_info = true;
		}
		if (binary_line(l, n, &a, &b)) {
			if (!cur)
				json_array_append_new(files, pair(a.ptr, b.ptr));
			patch_info = false;
			cur = NULL;
			continue;
		}
		if (n == 16 && nl && !memcmp(l, "GIT binary patch", 16)) {
			if (!cur) {
				rc = pl_err_set(err, PL_EFORMAT, "line %zu: unexpected binary patch marker", it.no);
				goto done;
			}
			patch_info = false;
			cur = NULL;
			continue;
		}
	}
	*out = files;
	files = NULL;
done:
	json_decref(files);
	pl_buf_release(&src);
	pl_buf_release(&dst);
	pl_buf_release(&a);
	pl_buf_release(&b);
	pl_buf_release(&last_src);
	return rc;
}

/* ------------------------------------------------------------ eval.sh */

static void add_line(pl_buf *out, const char *s)
{
	pl_buf_puts(out, s);
	pl_buf_putc(out, '\n');
}

/* make_eval_script_list_py + TestSpec.eval_script */
static int script_v4(pl_buf *out, const bench_instance *in, pl_err *err)
{
	const bench__spec *spec = bench__spec_find(in->repo, in->version);
	json_t *files = NULL, *dirs = json_array();
	pl_buf reset = PL_BUF_INIT, test = PL_BUF_INIT;
	const char *const *c;
	size_t i;
	int rc;

	if (!spec) {
		rc = pl_err_set(err, PL_EUNSUPPORTED,
				"%s: the official specs have no entry for repository '%s' version '%s'", in->instance_id,
				in->repo, in->version);
		goto done;
	}
	if (!spec->test_cmd) {
		rc = pl_err_set(err, PL_EUNSUPPORTED, "%s: the official spec of '%s' %s has no test command",
				in->instance_id, in->repo, in->version);
		goto done;
	}
	if ((rc = bench__patch_files(&files, in->test_patch, err)) < 0) {
		pl_err_prefix(err, "%s: test_patch", in->instance_id);
		goto done;
	}
	/* get_modified_files: sources that are not /dev/null and start with
	 * "a/", without it */
	pl_buf_printf(&reset, "git checkout %s ", in->base_commit);
	{
		bool first = true;

		for (i = 0; i < json_array_size(files); i++) {
			const char *s = json_string_value(json_array_get(json_array_get(files, i), 0));

			if (!strcmp(s, "/dev/null") || strncmp(s, "a/", 2))
				continue;
			if (!first)
				pl_buf_putc(&reset, ' ');
			pl_buf_puts(&reset, s + 2);
			first = false;
		}
	}
	pl_buf_puts(&test, spec->test_cmd);
	bench__test_directives(dirs, in->repo, in->test_patch);
	for (i = 0; i < json_array_size(dirs); i++) {
		pl_buf_putc(&test, ' ');
		pl_buf_puts(&test, json_string_value(json_array_get(dirs, i)));
	}
	add_line(out, "#!/bin/bash");
	add_line(out, "set -uxo pipefail");
	add_line(out, "source /opt/miniconda3/bin/activate");
	add_line(out, "conda activate testbed");
	add_line(out, "cd /testbed");
	for (c = spec->eval_commands; c && *c; c++)
		add_line(out, *c);
	add_line(out, "git config --global --add safe.directory /testbed");
	add_line(out, "cd /testbed");
	add_line(out, "git status");
	add_line(out, "git show");
	pl_buf_printf(out, "git -c core.fileMode=false diff %s\n", in->base_commit);
	add_line(out, "source /opt/miniconda3/bin/activate");
	add_line(out, "conda activate testbed");
	if (spec->install)
		add_line(out, spec->install);
	add_line(out, reset.ptr);
	pl_buf_printf(out, "git apply -v - <<'%s'\n%s\n%s\n", BENCH_HEREDOC, in->test_patch, BENCH_HEREDOC);
	add_line(out, ": '>>>>> Start Test Output'");
	add_line(out, test.ptr);
	add_line(out, ": '>>>>> End Test Output'");
	add_line(out, reset.ptr);
done:
	json_decref(files);
	json_decref(dirs);
	pl_buf_release(&reset);
	pl_buf_release(&test);
	return rc;
}

/* parse_eval_script + record_test_exit_code + TestSpec.eval_script */
static void script_v5(pl_buf *out, const char *script, size_t len)
{
	const char *s = script, *p, *end;
	size_t n = len;
	bool marked = false;

	bench__py_strip(&s, &n);
	end = s + n;
	add_line(out, "#!/bin/bash");
	add_line(out, "set -uxo pipefail");
	for (p = s;;) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		size_t ln = e ? (size_t)(e - p) : (size_t)(end - p);

		if (!((ln == 11 && !memcmp(p, "#!/bin/bash", 11)) || (ln == 17 && !memcmp(p, "set -uxo pipefail", 17)))) {
			bool is_end = !marked && bench__find(p, ln, ">>>>> End Test Output", 21);

			if (is_end)
				add_line(out, "SWEBENCH_TEST_EXIT_CODE=$?");
			pl_buf_add(out, p, ln);
			pl_buf_putc(out, '\n');
			if (is_end) {
				add_line(out, "echo \">>>>> Test Exit Code: $SWEBENCH_TEST_EXIT_CODE\"");
				marked = true;
			}
		}
		if (!e)
			break;
		p = e + 1;
	}
}

int bench_eval_script(pl_buf *out, const bench_instance *inst, bench_grading g, pl_err *err)
{
	pl_buf v4 = PL_BUF_INIT;
	int rc = 0;

	if (g == BENCH_GRADING_V4)
		return script_v4(out, inst, err);
	if (inst->eval_script) {
		script_v5(out, inst->eval_script, strlen(inst->eval_script));
		return 0;
	}
	if ((rc = script_v4(&v4, inst, err)) == 0)
		script_v5(out, v4.ptr, v4.len);
	pl_buf_release(&v4);
	return rc;
}

int bench_grading_parse(bench_grading *out, const char *s, pl_err *err)
{
	if (!strcmp(s, "v4") || !strcmp(s, "v4.1") || !strcmp(s, "4"))
		*out = BENCH_GRADING_V4;
	else if (!strcmp(s, "v5") || !strcmp(s, "5"))
		*out = BENCH_GRADING_V5;
	else
		return pl_err_set(err, PL_EINVAL, "grading '%s': expected v4 (the default, v4.1's rules) or v5", s);
	return 0;
}

const char *bench_grading_name(bench_grading g)
{
	return g == BENCH_GRADING_V5 ? "v5" : "v4";
}
