/* search.c - regex search and file finding over the files git would show:
 * tracked ones and untracked ones that are not ignored.  The pool's threads
 * share the file list; each reads a file with open/fstat/read/close into
 * its own buffer, skips binaries, and narrows regexec to the lines
 * holding a literal the pattern requires. */
#define _GNU_SOURCE
#include "tools/internal.h"

#include <ctype.h>
#include <fcntl.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINE_SHOWN 300

/* ------------------------------------------------------------ literals */

/* Past the bracket expression starting at p ('['): ']' first is a
 * member, and [:class:], [=x=], [.x.] inside hold a ']' of their own.
 * NULL when it never closes. */
static const char *skip_bracket(const char *p)
{
	const char *q = p + 1;

	if (*q == '^')
		q++;
	if (*q == ']')
		q++;
	while (*q && *q != ']') {
		if (*q == '[' && (q[1] == ':' || q[1] == '=' || q[1] == '.')) {
			const char *e = strstr(q + 2, q[1] == ':' ? ":]" : q[1] == '=' ? "=]" : ".]");
			if (!e)
				return NULL;
			q = e + 2;
			continue;
		}
		q++;
	}
	return *q ? q + 1 : NULL;
}

static bool top_level_alternation(const char *re)
{
	int depth = 0;

	for (; *re; re++) {
		if (*re == '\\' && re[1])
			re++;
		else if (*re == '[') {
			const char *e = skip_bracket(re);
			if (!e)
				return false;
			re = e - 1;
		} else if (*re == '(')
			depth++;
		else if (*re == ')')
			depth--;
		else if (*re == '|' && depth <= 0)
			return true;
	}
	return false;
}

/* A run of literal characters ends: keep it in runs (each followed by a
 * NUL) and as best when it is the longest yet. */
static void end_run(pl_buf *best, pl_buf *runs, pl_buf *cur)
{
	if (cur->len > best->len) {
		pl_buf_reset(best);
		pl_buf_add(best, cur->ptr, cur->len);
	}
	if (cur->len && runs) {
		pl_buf_add(runs, cur->ptr, cur->len);
		pl_buf_putc(runs, 0);
	}
	pl_buf_reset(cur);
}

/* The longest run of literal characters every match of an ERE must
 * contain, or "" when none can be proven (alternation, classes only);
 * every such run into runs (when not NULL), each followed by a NUL. */
static char *required_literal(const char *re, pl_buf *runs)
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
			const char *e = skip_bracket(p);
			adv = e ? (size_t)(e - p) : strlen(p);
		} else if (c == '{') {
			/* an interval's counts are not text to match */
			const char *e = strchr(p, '}');
			adv = e ? (size_t)(e - p) + 1 : strlen(p);
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
			if (*p == '+')
				end_run(&best, runs, &cur);
		} else
			end_run(&best, runs, &cur);
	}
	end_run(&best, runs, &cur);
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
	pl_buf runs;     /* every required literal run, each followed by a NUL */
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
	struct timespec deadline; /* CLOCK_MONOTONIC_COARSE: ctx->search_seconds from the start */
	atomic_bool stopped;      /* the deadline or a cancel cut the search short */
} search_job;

/* Stop here (between files, candidate lines, blocks)?  The caller's
 * cancel flag, or search's time limit: glibc's regexec is quadratic in a
 * line's length when a match fails late, and no call to it can be
 * interrupted, so a slow pattern is bounded between calls. */
static bool stop_now(search_job *j)
{
	struct timespec now;

	if (!tools__cancelled(j->ctx)) {
		clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
		if (now.tv_sec < j->deadline.tv_sec ||
		    (now.tv_sec == j->deadline.tv_sec && now.tv_nsec < j->deadline.tv_nsec))
			return false;
	}
	atomic_store(&j->stopped, true);
	return true;
}

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

/* Does the line buf[ls, le) match?  The line is made a string of its own
 * for regexec (the buffer is the worker's, and buf[le] is put back): with
 * REG_STARTEND on the whole file, a sanitizer's regexec interceptor ran
 * strlen over the rest of the file for every candidate line, quadratic in
 * the file's size. */
static bool line_matches(const search_job *j, char *buf, size_t ls, size_t le)
{
	char c = buf[le];
	int r;

	buf[le] = 0;
	r = regexec(&j->re, buf + ls, 0, NULL, 0);
	buf[le] = c;
	return r == 0;
}

/* Does the line hold every other literal the pattern requires?  A
 * cheaper question than regexec's: of the 45,000 lines of include/ that
 * hold "struct ", most lack the " {" that `struct [a-z_]+ \{` needs.
 * With REG_NEWLINE a match lies within one line, so all of them must be
 * in it. */
static bool other_runs_in(const search_job *j, const char *line, size_t n)
{
	const char *r = j->runs.ptr, *e = r + j->runs.len;

	for (; r < e; r += strlen(r) + 1)
		if (strcmp(r, j->lit) && !strchr(r, '\n') && !memmem(line, n, r, strlen(r)))
			return false;
	return true;
}

static void search_buffer(search_job *j, file_hits *h, char *buf, size_t len)
{
	size_t pos = 0, line_no = 1, counted_to = 0, last_shown_line = 0, ctx_after_until = 0;
	size_t litlen = strlen(j->lit);

	while (pos < len && !stop_now(j)) {
		size_t ls, le;
		bool hit = false;

		if (litlen) {
			const char *m = tools__find_text(buf + pos, len - pos, j->lit, litlen);
			if (!m)
				break;
			ls = (size_t)(m - buf);
			while (ls > pos && buf[ls - 1] != '\n')
				ls--;
			{
				const char *nl = memchr(m, '\n', len - (size_t)(m - buf));
				le = nl ? (size_t)(nl - buf) : len;
			}
			hit = j->plain || (other_runs_in(j, buf + ls, le - ls) && line_matches(j, buf, ls, le));
		} else {
			regmatch_t rm[1];
			size_t end = tools__regex_block(buf, pos, len);
			rm[0].rm_so = (regoff_t)pos;
			rm[0].rm_eo = (regoff_t)end;
			if (regexec(&j->re, buf, 1, rm, REG_STARTEND) != 0) {
				if (end == len)
					break;
				pos = end;
				continue;
			}
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
						bool next_hit = j->plain ? tools__find_text(buf + s2, e2 - s2, j->lit, litlen) != NULL
									 : line_matches(j, buf, s2, e2);
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
	size_t len = 0;
	struct stat st;
	int fd;

	if ((j->glob && !tools__glob_match(j->glob, j->files[i])) || stop_now(j))
		return;
	/* no symlink on the way (its target is searched under its own name,
	 * as rg does; a directory swapped for one leads nowhere), and a FIFO
	 * does not block */
	fd = tools__open(j->ctx, j->files[i], O_RDONLY, TOOLS__NO_SYMLINKS);
	if (fd < 0)
		return;
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
	else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		rc = pl_err_set(err, PL_EINVAL, "'%s' is not a regular file (a FIFO, a socket or a device): it is not read",
				p);
	else
		*is_file = S_ISREG(st.st_mode);
	if (!strcmp(rel->ptr, "."))
		pl_buf_reset(rel);
done:
	pl_buf_release(&abs);
	return rc;
}

/* ------------------------------------------------------------ patterns */

/* Agents write ripgrep/PCRE syntax (\d, \w, \s, (?:...), lazy
 * quantifiers, a literal '{'); glibc's POSIX extended syntax reads \d as
 * 'd' and answers "No matches", which is worse than an error.  So the
 * pattern is translated: what has a POSIX meaning gets it, what has none
 * (lookaround, \p{...}) is refused with a message. */
typedef struct set {
	bool has[256]; /* literal bytes */
	pl_buf extra;  /* classes ([:digit:]) and ranges (a-z) */
} set;

static int bad_pattern(pl_err *err, const char *pattern, const char *what)
{
	return pl_err_set(err, PL_EINVAL,
			  "pattern '%s' uses %s, which search does not support; rewrite it without (or set fixed_strings "
			  "to search for the text as it is)",
			  pattern, what);
}

/* A bracket expression from s (just past '['); *end is set past ']'. */
static int translate_set(pl_buf *out, const char *s, const char **end, const char *pattern, pl_err *err)
{
	set st;
	bool neg = false, first = true;
	size_t body;
	int c;

	memset(st.has, 0, sizeof(st.has));
	pl_buf_init(&st.extra, 0);
	if (*s == '^') {
		neg = true;
		s++;
	}
	while (*s && (first || *s != ']')) {
		first = false;
		if (*s == '[' && (s[1] == ':' || s[1] == '=' || s[1] == '.')) {
			const char *e = strstr(s + 2, s[1] == ':' ? ":]" : s[1] == '=' ? "=]" : ".]");
			if (!e)
				break;
			pl_buf_add(&st.extra, s, (size_t)(e + 2 - s));
			s = e + 2;
			continue;
		}
		if (*s == '\\' && s[1]) {
			char e = s[1];
			s += 2;
			switch (e) {
			case 'd':
				pl_buf_puts(&st.extra, "[:digit:]");
				continue;
			case 'w':
				pl_buf_puts(&st.extra, "[:alnum:]");
				st.has['_'] = true;
				continue;
			case 's':
				pl_buf_puts(&st.extra, "[:space:]");
				continue;
			case 'D':
			case 'W':
			case 'S':
				pl_buf_release(&st.extra);
				return bad_pattern(err, pattern, "\\D, \\W or \\S inside [...]");
			case 't':
				st.has['\t'] = true;
				continue;
			case 'n':
				st.has['\n'] = true;
				continue;
			case 'r':
				st.has['\r'] = true;
				continue;
			default:
				if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) {
					pl_buf_release(&st.extra);
					return bad_pattern(err, pattern, "an escape inside [...] that POSIX has no equivalent for");
				}
				st.has[(unsigned char)e] = true;
				continue;
			}
		}
		if (s[1] == '-' && s[2] && s[2] != ']') {
			char lo = s[0], hi = s[2];
			if (hi == '\\' && s[3])
				hi = s[3], s++;
			if (lo == '-' || hi == '-' || lo == ']' || hi == ']' || lo == '^' || hi == '^') {
				int k;
				for (k = (unsigned char)lo; k <= (unsigned char)hi; k++)
					st.has[k] = true;
			} else {
				pl_buf_putc(&st.extra, lo);
				pl_buf_putc(&st.extra, '-');
				pl_buf_putc(&st.extra, hi);
			}
			s += 3;
			continue;
		}
		st.has[(unsigned char)*s] = true;
		s++;
	}
	if (*s != ']') {
		pl_buf_release(&st.extra);
		return pl_err_set(err, PL_EINVAL, "pattern '%s' has a '[' without its ']'", pattern);
	}
	*end = s + 1;
	/* POSIX: ']' first, '-' last, '^' anywhere but first */
	pl_buf_putc(out, '[');
	if (neg)
		pl_buf_putc(out, '^');
	body = out->len;
	if (st.has[']'])
		pl_buf_putc(out, ']');
	pl_buf_add(out, st.extra.ptr, st.extra.len);
	for (c = 1; c < 256; c++)
		if (st.has[c] && c != ']' && c != '-' && c != '^')
			pl_buf_putc(out, (char)c);
	if (st.has['^'])
		pl_buf_puts(out, out->len == body ? "[=^=]" : "^");
	if (st.has['-'])
		pl_buf_putc(out, '-');
	if (out->len == body) {
		pl_buf_release(&st.extra);
		return pl_err_set(err, PL_EINVAL, "pattern '%s' has an empty [...]", pattern);
	}
	pl_buf_putc(out, ']');
	pl_buf_release(&st.extra);
	return 0;
}

/* Is s a quantifier's inside, "n}", "n,}" or "n,m}"?  Length with '}', or 0. */
static size_t quantifier(const char *s)
{
	size_t i = 0;

	if (!(s[i] >= '0' && s[i] <= '9'))
		return 0;
	while (s[i] >= '0' && s[i] <= '9')
		i++;
	if (s[i] == ',') {
		i++;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return s[i] == '}' ? i + 1 : 0;
}

static void add_literal(pl_buf *out, char c)
{
	if (strchr(".[]()*+?{}|^$\\", c))
		pl_buf_putc(out, '\\');
	pl_buf_putc(out, c);
}

static int translate(pl_buf *out, bool *icase, const char *pattern, bool fixed, pl_err *err)
{
	const char *p = pattern;
	int rc;

	if (fixed) {
		for (; *p; p++)
			add_literal(out, *p);
		return 0;
	}
	if (!strncmp(p, "(?i)", 4)) {
		*icase = true;
		p += 4;
	}
	while (*p) {
		char c = *p;
		if (c == '\\' && p[1]) {
			char e = p[1];
			p += 2;
			switch (e) {
			case 'd': pl_buf_puts(out, "[[:digit:]]"); break;
			case 'D': pl_buf_puts(out, "[^[:digit:]]"); break;
			case 'w': pl_buf_puts(out, "[[:alnum:]_]"); break;
			case 'W': pl_buf_puts(out, "[^[:alnum:]_]"); break;
			case 's': pl_buf_puts(out, "[[:space:]]"); break;
			case 'S': pl_buf_puts(out, "[^[:space:]]"); break;
			/* word boundaries: GNU extensions glibc's regcomp has */
			case 'b': pl_buf_puts(out, "\\b"); break;
			case 'B': pl_buf_puts(out, "\\B"); break;
			case '<': pl_buf_puts(out, "\\<"); break;
			case '>': pl_buf_puts(out, "\\>"); break;
			case 't': pl_buf_putc(out, '\t'); break;
			case 'n': pl_buf_putc(out, '\n'); break;
			case 'r': pl_buf_putc(out, '\r'); break;
			case 'f': pl_buf_putc(out, '\f'); break;
			case 'v': pl_buf_putc(out, '\v'); break;
			case 'A': pl_buf_putc(out, '^'); break;
			case 'z':
			case 'Z': pl_buf_putc(out, '$'); break;
			case 'x': {
				int v = 0, k;
				for (k = 0; k < 2 && isxdigit((unsigned char)*p); k++, p++)
					v = v * 16 + (isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
				if (!k)
					return bad_pattern(err, pattern, "\\x without two hex digits");
				add_literal(out, (char)v);
				break;
			}
			default:
				if (e >= '1' && e <= '9') {
					pl_buf_putc(out, '\\');
					pl_buf_putc(out, e); /* a back-reference */
				} else if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || e == '0') {
					char what[40];
					snprintf(what, sizeof(what), "\\%c", e);
					return bad_pattern(err, pattern, what);
				} else
					add_literal(out, e); /* \. \( \/ \- \' ...: the character itself */
			}
			continue;
		}
		if (c == '[') {
			if ((rc = translate_set(out, p + 1, &p, pattern, err)) < 0)
				return rc;
			continue;
		}
		if (c == '(' && p[1] == '?') {
			if (p[2] == ':') {
				pl_buf_putc(out, '(');
				p += 3;
			} else if ((p[2] == 'P' && p[3] == '<') || (p[2] == '<' && p[3] != '=' && p[3] != '!')) {
				const char *e = strchr(p, '>');
				if (!e)
					return bad_pattern(err, pattern, "an unfinished named group");
				pl_buf_putc(out, '('); /* a named group: the name does not matter for which lines match */
				p = e + 1;
			} else
				return bad_pattern(err, pattern, "lookaround or another (?...) group");
			continue;
		}
		if (c == '{') {
			size_t q = quantifier(p + 1);
			if (q && out->len) {
				pl_buf_add(out, p, q + 1);
				p += q + 1;
			} else {
				pl_buf_puts(out, "\\{"); /* PCRE: a '{' that starts no quantifier is literal */
				p++;
			}
			if (*p == '?')
				p++; /* lazy: the same lines match */
			continue;
		}
		if (c == '}') {
			pl_buf_puts(out, "\\}");
			p++;
			continue;
		}
		pl_buf_putc(out, c);
		p++;
		/* lazy (*?, +?, ??) and possessive (*+) quantifiers match the
		 * same lines as greedy ones; POSIX would read the '?' or '+' as
		 * a second quantifier */
		if ((c == '*' || c == '+' || c == '?') && (*p == '?' || *p == '+') && out->len > 1)
			p++;
	}
	return 0;
}

/* ------------------------------------------------------------ search */

/* Append the first lines of a file's group that fit, at most `remaining`
 * matching lines and `room` bytes; returns the matching lines added. */
static size_t add_group(pl_buf *out, const file_hits *h, size_t remaining, size_t room, bool *cut)
{
	const char *p = h->text.ptr, *e = p + h->text.len;
	size_t added = 0, start = out->len;

	*cut = false;
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t len = (size_t)(nl ? nl - p + 1 : e - p);
		const char *d = p;
		bool match;
		while (d < p + len && *d >= '0' && *d <= '9')
			d++;
		match = d > p && *d == ':';
		if ((match && added == remaining) || out->len - start + len > room) {
			*cut = true;
			break;
		}
		pl_buf_add(out, p, len);
		added += match;
		p += len;
	}
	/* a context separator left last separates nothing */
	if (*cut && out->len - start >= 3 && !memcmp(out->ptr + out->len - 3, "--\n", 3))
		pl_buf_setlen(out, out->len - 3);
	return added;
}

static bool ignored_path(const tools_ctx *ctx, const char *rel, bool is_file)
{
	pl_buf probe = PL_BUF_INIT;
	bool ign;

	if (!*rel)
		return false;
	pl_buf_printf(&probe, "%s%s", rel, is_file ? "" : "/");
	ign = tools__is_ignored(ctx, probe.ptr) && !(is_file && tools__is_tracked(ctx, rel));
	pl_buf_release(&probe);
	return ign;
}

static int search_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	const char *pattern = json_string_value(json_object_get(args, "pattern"));
	const char *glob = json_string_value(json_object_get(args, "glob"));
	json_int_t context = 0, max_results = 100;
	bool icase = json_is_true(json_object_get(args, "case_insensitive")), is_file;
	bool fixed = json_is_true(json_object_get(args, "fixed_strings"));
	search_job j;
	pl_buf sub = PL_BUF_INIT, ere = PL_BUF_INIT;
	char **files = NULL;
	size_t nfiles = 0, i, total = 0, files_hit = 0, shown = 0, shown_files = 0, room;
	int rc, rerr, w;
	bool compiled = false, stop = false;
	char *lit = NULL;

	if (json_is_integer(json_object_get(args, "context")))
		context = json_integer_value(json_object_get(args, "context"));
	if (json_is_integer(json_object_get(args, "max_results")))
		max_results = json_integer_value(json_object_get(args, "max_results"));
	memset(&j, 0, sizeof(j));
	if (!*pattern)
		return pl_err_set(err, PL_EINVAL, "pattern is empty; give a regular expression");
	pl_buf_init(&j.runs, 0);
	if ((rc = translate(&ere, &icase, pattern, fixed, err)) < 0)
		goto done;
	if ((rc = tools__regex_check(ere.ptr, pattern, err)) < 0)
		goto done;
	if ((rerr = regcomp(&j.re, ere.ptr, REG_EXTENDED | REG_NEWLINE | (icase ? REG_ICASE : 0))) != 0) {
		char msg[256];
		regerror(rerr, &j.re, msg, sizeof(msg));
		rc = pl_err_set(err, PL_EINVAL,
				"pattern '%s' is not a valid regular expression: %s (escape ( ) [ ] . * + ? | with \\ to match "
				"them literally, or set fixed_strings)",
				pattern, msg);
		goto done;
	}
	compiled = true;
	if ((rc = sub_path(&sub, &is_file, ctx, args, err)) < 0)
		goto done;
	if (ignored_path(ctx, sub.ptr, is_file)) {
		pl_buf_printf(&obs->text,
			      "'%s' is ignored by git (.gitignore or .git/info/exclude), so search does not look in it: it "
			      "searches the files git shows. To search it anyway, run grep -rn in bash.\n",
			      sub.ptr);
		pl_json_set(obs->data, "ignored", json_true());
		pl_json_set(obs->data, "matches", json_integer(0));
		goto done;
	}
	if (is_file) {
		files = pl_xmalloc(sizeof(char *));
		files[0] = pl_xstrdup(sub.ptr);
		nfiles = 1;
	} else if ((rc = tools__list_files(&files, &nfiles, ctx, sub.ptr, err)) < 0)
		goto done;
	/* text as it is: finding it alone finds the lines */
	lit = icase ? pl_xstrdup("") : fixed ? pl_xstrdup(pattern) : required_literal(ere.ptr, &j.runs);
	j.ctx = ctx;
	j.files = files;
	j.nfiles = nfiles;
	j.glob = glob && *glob ? glob : NULL;
	j.lit = lit;
	j.plain = !icase && (fixed || is_plain_literal(ere.ptr)) && *lit && !strchr(lit, '\n');
	j.context = (int)context;
	j.per_file_show = (size_t)max_results;
	j.hits = pl_xcalloc(nfiles ? nfiles : 1, sizeof(file_hits));
	atomic_init(&j.stopped, false);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &j.deadline);
	j.deadline.tv_sec += (time_t)ctx->search_seconds;
	j.deadline.tv_nsec += (long)((ctx->search_seconds - (double)(time_t)ctx->search_seconds) * 1e9);
	if (j.deadline.tv_nsec >= 1000000000L) {
		j.deadline.tv_sec++;
		j.deadline.tv_nsec -= 1000000000L;
	}
	atomic_init(&j.skipped_binary, 0);
	atomic_init(&j.bytes, 0);
	for (w = 0; w < TOOLS__MAX_THREADS; w++)
		pl_buf_init(&j.w[w].path, 0);
	tools__parallel(nfiles, 0, search_file, &j);
	for (w = 0; w < TOOLS__MAX_THREADS; w++) {
		free(j.w[w].buf);
		pl_buf_release(&j.w[w].path);
	}
	/* Merge in path order, at most max_results matching lines and the
	 * cap's bytes; the group that does not fit is cut, not dropped. */
	room = ctx->max_output > 800 ? ctx->max_output - 400 : ctx->max_output / 2;
	for (i = 0; i < nfiles; i++) {
		file_hits *h = &j.hits[i];
		size_t before = obs->text.len, added;
		bool cut;
		if (!h->matches) {
			pl_buf_release(&h->text);
			continue;
		}
		total += h->matches;
		files_hit++;
		if (!stop && shown < (size_t)max_results && obs->text.len + strlen(files[i]) + 64 < room) {
			tools__add_text(&obs->text, files[i], strlen(files[i]));
			pl_buf_putc(&obs->text, '\n');
			added = add_group(&obs->text, h, (size_t)max_results - shown, room - obs->text.len, &cut);
			if (!added) {
				pl_buf_setlen(&obs->text, before);
				stop = true;
			} else {
				shown += added;
				shown_files++;
				if (added < h->matches)
					pl_buf_printf(&obs->text, "[%zu more matching lines in this file]\n", h->matches - added);
				if (cut)
					stop = true;
			}
		} else
			stop = true;
		pl_buf_release(&h->text);
	}
	if (!total)
		pl_buf_printf(&obs->text, "No matches for '%s' in %zu files%s%s.\n", pattern, nfiles,
			      j.glob ? " matching " : "", j.glob ? j.glob : "");
	else if (shown < total) {
		pl_buf_printf(&obs->text,
			      "[%zu matching lines in %zu files in all; %zu lines in %zu files shown: narrow the pattern, give path "
			      "or glob, or raise max_results]\n",
			      total, files_hit, shown, shown_files);
		obs->truncated = true;
	}
	if (atomic_load(&j.stopped) && tools__cancelled(ctx)) {
		pl_buf_puts(&obs->text, "[search cancelled: what is above is what it found until then]\n");
		pl_json_set(obs->data, "cancelled", json_true());
	} else if (atomic_load(&j.stopped)) {
		pl_buf_printf(&obs->text,
			      "[search stopped after %g s, its time limit: the pattern is slow on these files (long lines?); "
			      "what is above is what it found until then. Narrow path or glob, or give the pattern a "
			      "literal part to look for]\n",
			      ctx->search_seconds);
		pl_json_set(obs->data, "timed_out", json_true());
	}
	pl_json_set(obs->data, "matches", json_integer((json_int_t)total));
	pl_json_set(obs->data, "matches_shown", json_integer((json_int_t)shown));
	pl_json_set(obs->data, "files_matched", json_integer((json_int_t)files_hit));
	pl_json_set(obs->data, "files_searched", json_integer((json_int_t)nfiles));
	pl_json_set(obs->data, "binary_skipped", json_integer((json_int_t)atomic_load(&j.skipped_binary)));
	pl_json_set(obs->data, "bytes_read", json_integer((json_int_t)atomic_load(&j.bytes)));
	if (strcmp(ere.ptr, pattern))
		pl_json_set(obs->data, "regex", json_string(ere.ptr));
	rc = 0;
done:
	if (compiled)
		regfree(&j.re);
	pl_buf_release(&j.runs);
	free(j.hits);
	free(lit);
	tools__free_list(files, nfiles);
	pl_buf_release(&sub);
	pl_buf_release(&ere);
	return rc;
}

const tools_def tools__def_search = {
	"search",
	"Search file contents with a regular expression (ripgrep/PCRE style: \\d, \\w, \\s, \\b, (?:...), "
	"[[:space:]] all work; lookarounds do not) over the repository's tracked files and untracked files "
	"that git does not ignore; binary files are skipped. Set fixed_strings to search for the text as it "
	"is. Results are grouped by file as `LINE:text`, with `LINE-text` for context lines. Narrow with path "
	"(a directory or file) and glob (e.g. \"*.py\", \"src/**/*.ts\"). At most max_results matching lines "
	"are shown, with a count of the rest.",
	"{\"type\":\"object\",\"properties\":{"
	"\"pattern\":{\"type\":\"string\",\"maxLength\":2048,\"description\":\"regular expression (or text, with fixed_strings)\"},"
	"\"path\":{\"type\":\"string\",\"description\":\"directory or file to search, relative to the root (default: all)\"},"
	"\"glob\":{\"type\":\"string\",\"maxLength\":1024,\"description\":\"only files whose path matches, e.g. *.py\"},"
	"\"context\":{\"type\":\"integer\",\"minimum\":0,\"description\":\"lines of context around each match (default 0)\"},"
	"\"case_insensitive\":{\"type\":\"boolean\"},"
	"\"fixed_strings\":{\"type\":\"boolean\",\"description\":\"pattern is plain text, not a regular expression\"},"
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
	if (ignored_path(ctx, sub.ptr, is_file)) {
		pl_buf_printf(&obs->text,
			      "'%s' is ignored by git (.gitignore or .git/info/exclude), so find does not look in it: it lists "
			      "the files git shows. To list it anyway, use view on it, or find/ls in bash.\n",
			      sub.ptr);
		pl_json_set(obs->data, "ignored", json_true());
		pl_json_set(obs->data, "matches", json_integer(0));
		goto done;
	}
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
	"\"pattern\":{\"type\":\"string\",\"maxLength\":1024,\"description\":\"file name or path glob\"},"
	"\"path\":{\"type\":\"string\",\"description\":\"directory to look in (default: the whole repository)\"},"
	"\"max_results\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"paths shown (default 200)\"}},"
	"\"required\":[\"pattern\"],\"additionalProperties\":false}",
	find_run,
};
