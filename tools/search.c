/* search.c - regex search and file finding over the files git would show:
 * tracked ones and untracked ones that are not ignored.  The pool's threads
 * share the file list; each reads a file with open/fstat/read/close into
 * its own buffer, skips binaries, and narrows regexec to the lines
 * holding a literal the pattern requires. */
#define _GNU_SOURCE
#include "tools/internal.h"

#include <fcntl.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LINE_SHOWN 300

/* ------------------------------------------------------------ literals */

static bool top_level_alternation(const char *re)
{
	int depth = 0;

	for (; *re; re++) {
		if (*re == '\\' && re[1])
			re++;
		else if (*re == '[') {
			/* a bracket expression: ']' first is a member, not the end */
			re++;
			if (*re == '^')
				re++;
			if (*re == ']')
				re++;
			while (*re && *re != ']')
				re++;
			if (!*re)
				return false;
		} else if (*re == '(')
			depth++;
		else if (*re == ')')
			depth--;
		else if (*re == '|' && depth <= 0)
			return true;
	}
	return false;
}

/* The longest run of literal characters every match of an ERE must
 * contain, or "" when none can be proven (alternation, classes only). */
static char *required_literal(const char *re)
{
	pl_buf best = PL_BUF_INIT, cur = PL_BUF_INIT;
	const char *p = re;
	int depth = 0;

	/* An alternation at the top level means no literal is required; one
	 * inside a group only hides that group (its characters are at depth
	 * > 0 and never join a literal run below). */
	if (top_level_alternation(re)) {
		pl_buf_release(&cur);
		return pl_buf_detach(&best, NULL);
	}
	while (*p) {
		char c = *p;
		bool lit = false;
		char litc = 0;
		size_t adv = 1;

		if (c == '\\' && p[1]) {
			if (strchr(".[]()*+?{}|^$\\/-", p[1])) {
				lit = true;
				litc = p[1];
			}
			adv = 2;
		} else if (c == '[') {
			const char *q = p + 1;
			if (*q == '^')
				q++;
			if (*q == ']')
				q++;
			while (*q && *q != ']')
				q++;
			adv = (size_t)(q - p) + (*q ? 1 : 0);
		} else if (c == '(') {
			depth++;
		} else if (c == ')') {
			depth--;
		} else if (!strchr(".*+?{}^$", c)) {
			lit = true;
			litc = c;
		}
		p += adv;
		/* A quantifier makes the atom before it optional or repeated. */
		if (lit && (*p == '*' || *p == '?' || *p == '{'))
			lit = false;
		if (lit && depth == 0) {
			pl_buf_putc(&cur, litc);
			if (*p == '+') {
				if (cur.len > best.len) {
					pl_buf_reset(&best);
					pl_buf_add(&best, cur.ptr, cur.len);
				}
				pl_buf_reset(&cur);
			}
		} else {
			if (cur.len > best.len) {
				pl_buf_reset(&best);
				pl_buf_add(&best, cur.ptr, cur.len);
			}
			pl_buf_reset(&cur);
		}
	}
	if (cur.len > best.len) {
		pl_buf_reset(&best);
		pl_buf_add(&best, cur.ptr, cur.len);
	}
	pl_buf_release(&cur);
	return pl_buf_detach(&best, NULL);
}

static bool is_plain_literal(const char *re)
{
	for (; *re; re++)
		if (strchr(".[]()*+?{}|^$\\", *re))
			return false;
	return true;
}

/* ------------------------------------------------------------ search */

typedef struct file_hits {
	pl_buf text;   /* formatted lines, heading excluded */
	size_t matches; /* matching lines */
	size_t shown;   /* matching lines formatted */
} file_hits;

typedef struct search_job {
	const tools_ctx *ctx;
	char **files;
	size_t nfiles;
	const char *glob;
	regex_t re;
	const char *lit; /* required literal, may be "" */
	bool plain;      /* the whole pattern is lit */
	int context;
	size_t per_file_show; /* lines formatted per file at most */
	file_hits *hits;      /* one per file, text allocated only on a match */
	struct {
		char *buf;    /* the file read whole */
		size_t cap;
		pl_buf path;
	} w[TOOLS__MAX_THREADS]; /* per worker thread */
	atomic_size_t skipped_binary;
	atomic_size_t bytes;
} search_job;

static void add_line(pl_buf *b, char sep, size_t lineno, const char *s, size_t n)
{
	if (n && s[n - 1] == '\r')
		n--;
	pl_buf_printf(b, "%zu%c", lineno, sep);
	if (n > MAX_LINE_SHOWN) {
		tools__add_text(b, s, MAX_LINE_SHOWN);
		pl_buf_printf(b, " [... %zu more bytes]", n - MAX_LINE_SHOWN);
	} else
		tools__add_text(b, s, n);
	pl_buf_putc(b, '\n');
}

/* Line starts are found lazily: only files with matches pay for numbering. */
static size_t count_nl(const char *s, size_t from, size_t to)
{
	size_t n = 0;
	const char *p = s + from, *e = s + to;

	while (p < e && (p = memchr(p, '\n', (size_t)(e - p)))) {
		n++;
		p++;
	}
	return n;
}

static void search_buffer(search_job *j, file_hits *h, const char *buf, size_t len)
{
	size_t pos = 0, line_no = 1, counted_to = 0, last_shown_line = 0, ctx_after_until = 0;
	size_t litlen = strlen(j->lit);

	while (pos < len) {
		size_t ls, le;
		bool hit = false;

		if (litlen) {
			const char *m = memmem(buf + pos, len - pos, j->lit, litlen);
			if (!m)
				break;
			ls = (size_t)(m - buf);
			while (ls > pos && buf[ls - 1] != '\n')
				ls--;
			{
				const char *nl = memchr(m, '\n', len - (size_t)(m - buf));
				le = nl ? (size_t)(nl - buf) : len;
			}
			if (j->plain)
				hit = true;
			else {
				regmatch_t rm[1];
				rm[0].rm_so = (regoff_t)ls;
				rm[0].rm_eo = (regoff_t)le;
				hit = regexec(&j->re, buf, 1, rm, REG_STARTEND) == 0;
			}
		} else {
			regmatch_t rm[1];
			rm[0].rm_so = (regoff_t)pos;
			rm[0].rm_eo = (regoff_t)len;
			if (regexec(&j->re, buf, 1, rm, REG_STARTEND) != 0)
				break;
			ls = (size_t)rm[0].rm_so;
			while (ls > pos && buf[ls - 1] != '\n')
				ls--;
			{
				const char *nl = memchr(buf + rm[0].rm_so, '\n', len - (size_t)rm[0].rm_so);
				le = nl ? (size_t)(nl - buf) : len;
			}
			hit = true;
		}
		if (hit) {
			line_no += count_nl(buf, counted_to, ls);
			counted_to = ls;
			h->matches++;
			if (h->shown < j->per_file_show) {
				/* context before, not repeating lines already shown */
				if (j->context) {
					size_t first = line_no > (size_t)j->context ? line_no - (size_t)j->context : 1, k, s2 = ls;
					if (first <= last_shown_line)
						first = last_shown_line + 1;
					if (last_shown_line && first > last_shown_line + 1)
						pl_buf_puts(&h->text, "--\n");
					for (k = line_no; k > first; k--) {
						s2--;
						while (s2 > 0 && buf[s2 - 1] != '\n')
							s2--;
					}
					for (k = first; k < line_no; k++) {
						const char *nl = memchr(buf + s2, '\n', ls - s2);
						size_t e2 = nl ? (size_t)(nl - buf) : ls;
						add_line(&h->text, '-', k, buf + s2, e2 - s2);
						s2 = e2 + 1;
					}
				}
				add_line(&h->text, ':', line_no, buf + ls, le - ls);
				h->shown++;
				last_shown_line = line_no;
				ctx_after_until = line_no + (size_t)j->context;
				/* context after: shown unless the next match comes first */
				if (j->context) {
					size_t s2 = le + 1, k = line_no + 1;
					while (k <= ctx_after_until && s2 < len) {
						const char *nl = memchr(buf + s2, '\n', len - s2);
						size_t e2 = nl ? (size_t)(nl - buf) : len;
						regmatch_t rm[1];
						bool next_hit;
						rm[0].rm_so = (regoff_t)s2;
						rm[0].rm_eo = (regoff_t)e2;
						next_hit = j->plain ? memmem(buf + s2, e2 - s2, j->lit, litlen) != NULL
								    : regexec(&j->re, buf, 1, rm, REG_STARTEND) == 0;
						if (next_hit)
							break;
						add_line(&h->text, '-', k, buf + s2, e2 - s2);
						last_shown_line = k;
						s2 = e2 + 1;
						k++;
					}
				}
			}
		}
		pos = le + 1;
	}
}

static void search_file(size_t i, void *arg, int worker)
{
	search_job *j = arg;
	pl_buf *path = &j->w[worker].path;
	size_t len = 0;
	struct stat st;
	int fd;

	if (j->glob && !tools__glob_match(j->glob, j->files[i]))
		return;
	pl_buf_reset(path);
	pl_path_join(path, j->ctx->root, j->files[i]);
	fd = open(path->ptr, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0)
		return; /* deleted, or a symlink: its target is searched under its own name, as rg does */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	if ((size_t)st.st_size + 1 > j->w[worker].cap) {
		char *nb = realloc(j->w[worker].buf, (size_t)st.st_size + 1);
		if (!nb) {
			close(fd);
			return; /* too large to hold: skipped like a binary */
		}
		j->w[worker].buf = nb;
		j->w[worker].cap = (size_t)st.st_size + 1;
	}
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, j->w[worker].buf + len, (size_t)st.st_size - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	j->w[worker].buf[len] = 0;
	atomic_fetch_add(&j->bytes, len);
	if (tools__is_binary(j->w[worker].buf, len)) {
		atomic_fetch_add(&j->skipped_binary, 1);
		return;
	}
	pl_buf_init(&j->hits[i].text, 0);
	search_buffer(j, &j->hits[i], j->w[worker].buf, len);
}

static int sub_path(pl_buf *rel, bool *is_file, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	const char *p = json_string_value(json_object_get(args, "path"));
	pl_buf abs = PL_BUF_INIT;
	struct stat st;
	int rc;

	*is_file = false;
	if (!p || !*p) {
		pl_buf_puts(rel, "");
		return 0;
	}
	if ((rc = tools__resolve(&abs, rel, ctx, p, err)) < 0)
		goto done;
	if (stat(abs.ptr, &st) < 0)
		rc = pl_err_set(err, PL_ENOTFOUND, "path '%s' does not exist", p);
	else
		*is_file = S_ISREG(st.st_mode);
	if (!strcmp(rel->ptr, "."))
		pl_buf_reset(rel);
done:
	pl_buf_release(&abs);
	return rc;
}

static int search_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	const char *pattern = json_string_value(json_object_get(args, "pattern"));
	const char *glob = json_string_value(json_object_get(args, "glob"));
	json_int_t context = 0, max_results = 100;
	bool icase = json_is_true(json_object_get(args, "case_insensitive")), is_file;
	search_job j;
	pl_buf sub = PL_BUF_INIT;
	char **files = NULL, *single[1];
	size_t nfiles = 0, i, total = 0, files_hit = 0, shown = 0, cut_matches = 0, cut_files = 0;
	int rc, rerr, w;
	char *lit = NULL;

	if (json_is_integer(json_object_get(args, "context")))
		context = json_integer_value(json_object_get(args, "context"));
	if (json_is_integer(json_object_get(args, "max_results")))
		max_results = json_integer_value(json_object_get(args, "max_results"));
	memset(&j, 0, sizeof(j));
	if (!*pattern)
		return pl_err_set(err, PL_EINVAL, "pattern is empty; give a regular expression (POSIX extended syntax)");
	if ((rerr = regcomp(&j.re, pattern, REG_EXTENDED | REG_NEWLINE | (icase ? REG_ICASE : 0))) != 0) {
		char msg[256];
		regerror(rerr, &j.re, msg, sizeof(msg));
		return pl_err_set(err, PL_EINVAL,
				  "pattern '%s' is not a valid POSIX extended regular expression: %s (escape ( ) [ ] { } . * + ? | with \\ to match them literally; \\d and \\w are not supported, use [0-9] and [[:alnum:]_])",
				  pattern, msg);
	}
	if ((rc = sub_path(&sub, &is_file, ctx, args, err)) < 0)
		goto done;
	if (is_file) {
		single[0] = pl_xstrdup(sub.ptr);
		files = pl_xmalloc(sizeof(char *));
		files[0] = single[0];
		nfiles = 1;
	} else if ((rc = tools__list_files(&files, &nfiles, ctx, sub.ptr, err)) < 0)
		goto done;
	lit = icase ? pl_xstrdup("") : required_literal(pattern);
	j.ctx = ctx;
	j.files = files;
	j.nfiles = nfiles;
	j.glob = glob && *glob ? glob : NULL;
	j.lit = lit;
	j.plain = !icase && is_plain_literal(pattern) && *lit;
	j.context = (int)context;
	j.per_file_show = (size_t)max_results;
	j.hits = pl_xcalloc(nfiles ? nfiles : 1, sizeof(file_hits));
	atomic_init(&j.skipped_binary, 0);
	atomic_init(&j.bytes, 0);
	for (w = 0; w < TOOLS__MAX_THREADS; w++)
		pl_buf_init(&j.w[w].path, 0);
	tools__parallel(nfiles, 0, search_file, &j);
	for (w = 0; w < TOOLS__MAX_THREADS; w++) {
		free(j.w[w].buf);
		pl_buf_release(&j.w[w].path);
	}
	/* Merge in path order, showing at most max_results matching lines. */
	for (i = 0; i < nfiles; i++) {
		file_hits *h = &j.hits[i];
		if (!h->matches) {
			pl_buf_release(&h->text);
			continue;
		}
		total += h->matches;
		files_hit++;
		if (shown < (size_t)max_results && obs->text.len < ctx->max_output) {
			size_t before = obs->text.len;
			tools__add_text(&obs->text, files[i], strlen(files[i]));
			pl_buf_putc(&obs->text, '\n');
			pl_buf_add(&obs->text, h->text.ptr, h->text.len);
			shown += h->shown;
			if (obs->text.len > ctx->max_output) {
				/* keep whole lines only */
				pl_buf_setlen(&obs->text, before);
				cut_matches += h->matches;
				cut_files++;
				shown = (size_t)max_results;
			} else if (h->shown < h->matches) {
				pl_buf_printf(&obs->text, "[%zu more matching lines in this file]\n", h->matches - h->shown);
				cut_matches += h->matches - h->shown;
			}
		} else {
			cut_matches += h->matches;
			cut_files++;
		}
		pl_buf_release(&h->text);
	}
	if (!total)
		pl_buf_printf(&obs->text, "No matches for '%s' in %zu files%s%s.\n", pattern, nfiles,
			      j.glob ? " matching " : "", j.glob ? j.glob : "");
	else if (cut_matches) {
		pl_buf_printf(&obs->text,
			      "[%zu matching lines in %zu files in all; %zu lines (%zu files) not shown: narrow the pattern, "
			      "or give path or glob]\n",
			      total, files_hit, cut_matches, cut_files);
		obs->truncated = true;
	}
	pl_json_set(obs->data, "matches", json_integer((json_int_t)total));
	pl_json_set(obs->data, "files_matched", json_integer((json_int_t)files_hit));
	pl_json_set(obs->data, "files_searched", json_integer((json_int_t)nfiles));
	pl_json_set(obs->data, "binary_skipped", json_integer((json_int_t)atomic_load(&j.skipped_binary)));
	pl_json_set(obs->data, "bytes_read", json_integer((json_int_t)atomic_load(&j.bytes)));
	rc = 0;
done:
	regfree(&j.re);
	free(j.hits);
	free(lit);
	tools__free_list(files, nfiles);
	pl_buf_release(&sub);
	return rc;
}

const tools_def tools__def_search = {
	"search",
	"Search file contents with a regular expression (POSIX extended syntax: use [0-9] for digits, "
	"[[:space:]] for blanks, \\( to match a parenthesis) over the repository's tracked files and "
	"untracked files that git does not ignore; binary files are skipped. Results are grouped by file "
	"as `LINE:text`, with `LINE-text` for context lines. Narrow with path (a directory or file) and glob "
	"(e.g. \"*.py\", \"src/**/*.ts\"). At most max_results matching lines are shown, with a count of the rest.",
	"{\"type\":\"object\",\"properties\":{"
	"\"pattern\":{\"type\":\"string\",\"description\":\"POSIX extended regular expression\"},"
	"\"path\":{\"type\":\"string\",\"description\":\"directory or file to search, relative to the root (default: all)\"},"
	"\"glob\":{\"type\":\"string\",\"description\":\"only files whose path matches, e.g. *.py\"},"
	"\"context\":{\"type\":\"integer\",\"minimum\":0,\"description\":\"lines of context around each match (default 0)\"},"
	"\"case_insensitive\":{\"type\":\"boolean\"},"
	"\"max_results\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"matching lines shown (default 100)\"}},"
	"\"required\":[\"pattern\"],\"additionalProperties\":false}",
	search_run,
};

/* ------------------------------------------------------------ find */

static int find_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	const char *pattern = json_string_value(json_object_get(args, "pattern"));
	json_int_t max_results = 200;
	pl_buf sub = PL_BUF_INIT;
	char **files = NULL;
	size_t n = 0, i, hits = 0;
	bool is_file;
	int rc;

	if (json_is_integer(json_object_get(args, "max_results")))
		max_results = json_integer_value(json_object_get(args, "max_results"));
	if (!*pattern)
		return pl_err_set(err, PL_EINVAL, "pattern is empty; give a file name glob such as \"*.py\" or \"test_*\"");
	if ((rc = sub_path(&sub, &is_file, ctx, args, err)) < 0)
		goto done;
	if ((rc = tools__list_files(&files, &n, ctx, sub.ptr, err)) < 0)
		goto done;
	for (i = 0; i < n; i++) {
		if (!tools__glob_match(pattern, files[i]))
			continue;
		if (hits < (size_t)max_results) {
			tools__add_text(&obs->text, files[i], strlen(files[i]));
			pl_buf_putc(&obs->text, '\n');
		}
		hits++;
	}
	if (!hits)
		pl_buf_printf(&obs->text, "No file matches '%s' (%zu files looked at).\n", pattern, n);
	else if (hits > (size_t)max_results) {
		pl_buf_printf(&obs->text, "[%zu files match; %zu not shown: make the pattern more specific or give path]\n",
			      hits, hits - (size_t)max_results);
		obs->truncated = true;
	}
	pl_json_set(obs->data, "matches", json_integer((json_int_t)hits));
done:
	tools__free_list(files, n);
	pl_buf_release(&sub);
	return rc;
}

const tools_def tools__def_find = {
	"find",
	"Find files by name with a glob: \"*.py\" matches file names anywhere, a pattern with a slash "
	"(\"src/**/test_*.py\") matches whole paths; ** spans directories, {a,b} gives alternatives. Lists "
	"tracked and untracked-but-not-ignored files, sorted.",
	"{\"type\":\"object\",\"properties\":{"
	"\"pattern\":{\"type\":\"string\",\"description\":\"file name or path glob\"},"
	"\"path\":{\"type\":\"string\",\"description\":\"directory to look in (default: the whole repository)\"},"
	"\"max_results\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"paths shown (default 200)\"}},"
	"\"required\":[\"pattern\"],\"additionalProperties\":false}",
	find_run,
};
