/* regex_limits.c - what a search pattern may ask of glibc's regcomp,
 * checked before it is compiled. */
#include "tools/internal.h"

#include <stdlib.h>
#include <string.h>

/* glibc's regcomp copies a repeated atom once per count ({m,n} is n
 * copies, {m,} m + 1, '+' two: the atom and a starred copy), so counts
 * multiply through nested groups: a{255}{255}{255} (17 characters) made
 * 16.6 million nodes, 27 s and 3.4 GB; nineteen nested (...)+ took 44 s.
 * Its parser also recurses once per group: 20,000 nested parentheses
 * overflowed the stack.  So the copies are counted as regcomp would make
 * them, and the groups' depth, before anything is compiled; 10,000 nodes
 * compile in a few milliseconds. */
#define MAX_NODES 10000.0
#define MAX_DEPTH 100

typedef struct level {
	double done;   /* the branches before the last '|' */
	double branch; /* the current branch */
	double last;   /* the last atom of the branch, as a quantifier sees it */
} level;

/* Past a bracket expression starting at p (just past '['), or NULL when
 * it does not close (regcomp says so). */
static const char *skip_set(const char *p)
{
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	while (*p && *p != ']') {
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			char close[3] = { p[1], ']', 0 };
			const char *e = strstr(p + 2, close);
			if (!e)
				return NULL;
			p = e + 2;
		} else
			p++;
	}
	return *p ? p + 1 : NULL;
}

int tools__regex_check(const char *ere, const char *pattern, pl_err *err)
{
	level lv[MAX_DEPTH + 1];
	int depth = 0;
	const char *p = ere;

	memset(&lv[0], 0, sizeof(lv[0]));
	while (*p) {
		level *l = &lv[depth];
		double copies = 0, atom = -1;
		char c = *p;

		if (c == '\\' && p[1]) {
			atom = 1;
			p += 2;
		} else if (c == '[') {
			const char *e = skip_set(p + 1);
			if (!e)
				return 0; /* regcomp names the error */
			atom = 1;
			p = e;
		} else if (c == '(') {
			if (depth == MAX_DEPTH)
				return pl_err_set(err, PL_EINVAL,
						  "pattern '%.80s%s' nests groups more than %d deep; search takes at most %d",
						  pattern, strlen(pattern) > 80 ? "..." : "", MAX_DEPTH, MAX_DEPTH);
			memset(&lv[++depth], 0, sizeof(lv[0]));
			p++;
		} else if (c == ')' && depth) {
			atom = l->done + l->branch;
			depth--;
			p++;
		} else if (c == '|') {
			l->done += l->branch;
			l->branch = l->last = 0;
			p++;
		} else if (c == '*' || c == '?') {
			p++;
		} else if (c == '+') {
			copies = 2;
			p++;
		} else if (c == '{') {
			char *e;
			long m = strtol(p + 1, &e, 10), n = m;
			if (*e == ',') {
				n = e[1] == '}' ? m + 1 : strtol(e + 1, &e, 10);
				if (*e == ',')
					e++;
			}
			if (*e != '}')
				return 0; /* not a count: regcomp decides */
			copies = n > m ? (double)n : (double)m;
			if (copies < 1)
				copies = 1;
			p = e + 1;
		} else {
			atom = 1;
			p++;
		}
		l = &lv[depth];
		if (atom >= 0) {
			l->branch += atom;
			l->last = atom;
		} else if (copies > 1) {
			l->branch += l->last * (copies - 1);
			l->last *= copies;
		}
		if (l->done + l->branch > MAX_NODES)
			return pl_err_set(err, PL_EINVAL,
					  "pattern '%.80s%s' repeats too much: its counts multiply to more than %.0f copies of "
					  "what they repeat, which regcomp cannot compile in reasonable time and memory; use "
					  "smaller counts, fewer nested quantifiers, or + and * instead of {m,n}",
					  pattern, strlen(pattern) > 80 ? "..." : "", MAX_NODES);
	}
	return 0;
}

/* 64 KiB of whole lines: one regexec over a whole file could not be
 * interrupted, and glibc's matcher is quadratic in what one call covers
 * when a match fails late. */
#define BLOCK (64u << 10)

size_t tools__regex_block(const char *buf, size_t pos, size_t len)
{
	const char *nl;

	if (len - pos <= BLOCK)
		return len;
	nl = memchr(buf + pos + BLOCK, '\n', len - pos - BLOCK);
	return nl ? (size_t)(nl - buf) + 1 : len;
}
