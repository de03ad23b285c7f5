/* glob.c - the glob `find` takes as its pattern and `search` as its glob
 * argument: shell-like, with '**' across directories and {a,b}.
 *
 * The pattern is compiled into a small program of character steps and
 * forks (a Thompson NFA, as Russ Cox's "Regular Expression Matching Can
 * Be Simple And Fast" describes) and run over the path once, keeping the
 * set of places the pattern may be at.  A backtracking matcher recursed
 * once per '*' and tried every split of the path between the stars: 41
 * stars took 10 s over four files, 400,000 overflowed the stack, and
 * {,} forty times made 2^40 alternatives.  Here a pattern of m bytes over
 * a path of n costs at most O(m * n) steps, whatever it holds, and no
 * recursion. */
#include "tools/internal.h"

#include <string.h>

enum {
	G_CHAR,  /* c, then next */
	G_ONE,   /* any character but '/' ('?', and the loop of '*') */
	G_ALL,   /* any character ('**') */
	G_SET,   /* [set]: pattern bytes [x, y), y at its ']'; never '/' */
	G_NSET,  /* [!set] */
	G_NEVER, /* an unclosed set: matches nothing */
	G_SPLIT, /* go on at x and at y, reading nothing */
	G_JMP,   /* go on at x */
	G_MATCH,
};

typedef struct ginst {
	unsigned char op;
	char c;
	int x, y; /* SPLIT, JMP: targets; SET: the members' span */
	int next; /* a step that reads a character: where it goes then */
} ginst;

/* At most three steps per pattern byte ('*' is two, "**" + "/" four for
 * three bytes, ',' a fork and a jump), the final MATCH, and one spare. */
static size_t prog_cap(size_t len)
{
	return 3 * len + 2;
}

static int emit(ginst *p, int *n, unsigned char op, char c, int x, int y)
{
	int at = (*n)++;

	p[at] = (ginst){ .op = op, .c = c, .x = x, .y = y, .next = at + 1 };
	return at;
}

/* Compile pat[from, to) without braces (a '{' inside an alternative is a
 * literal, as before: one level). */
static void compile_plain(ginst *p, int *n, const char *pat, size_t from, size_t to)
{
	size_t i = from;

	while (i < to) {
		char c = pat[i];
		if (c == '*') {
			bool dbl = i + 1 < to && pat[i + 1] == '*';
			i += dbl ? 2 : 1;
			if (dbl && i < to && pat[i] == '/') {
				/* "**" + "/" also matches zero directories */
				int l0 = *n;
				emit(p, n, G_SPLIT, 0, l0 + 1, l0 + 4);
				emit(p, n, G_SPLIT, 0, l0 + 2, l0 + 3);
				p[emit(p, n, G_ALL, 0, 0, 0)].next = l0 + 1;
				emit(p, n, G_CHAR, '/', 0, 0);
				i++;
			} else {
				int l0 = *n;
				emit(p, n, G_SPLIT, 0, l0 + 1, l0 + 2);
				p[emit(p, n, dbl ? G_ALL : G_ONE, 0, 0, 0)].next = l0;
			}
			continue;
		}
		if (c == '?') {
			emit(p, n, G_ONE, 0, 0, 0);
		} else if (c == '[') {
			size_t q = i + 1;
			bool neg = q < to && (pat[q] == '!' || pat[q] == '^');
			size_t start;
			if (neg)
				q++;
			start = q;
			/* the first member may be ']' */
			do {
				if (q + 2 < to && pat[q + 1] == '-' && pat[q + 2] != ']')
					q += 3;
				else
					q++;
			} while (q < to && pat[q] != ']');
			if (q >= to) {
				/* an unclosed set matches nothing */
				emit(p, n, G_NEVER, 0, 0, 0);
				return;
			}
			emit(p, n, neg ? G_NSET : G_SET, 0, (int)start, (int)q);
			i = q;
		} else {
			emit(p, n, G_CHAR, c, 0, 0);
		}
		i++;
	}
}

/* Compile the whole pattern: plain runs, and {a,b} groups as forks to
 * each alternative, each jumping to what follows the '}'. */
static int compile(ginst *p, const char *pat, size_t len)
{
	int n = 0;
	size_t i = 0;

	while (i < len) {
		const char *open = memchr(pat + i, '{', len - i), *close;
		size_t o, e, alt;
		int jumps = -1, split = -1;

		if (!open) {
			compile_plain(p, &n, pat, i, len);
			break;
		}
		o = (size_t)(open - pat);
		close = memchr(open, '}', len - o);
		if (!close) {
			/* an unclosed brace is a literal '{' */
			compile_plain(p, &n, pat, i, len);
			break;
		}
		e = (size_t)(close - pat);
		compile_plain(p, &n, pat, i, o);
		for (alt = o + 1;;) {
			const char *comma = memchr(pat + alt, ',', e - alt);
			size_t stop = comma ? (size_t)(comma - pat) : e;
			if (split >= 0)
				p[split].y = n;
			if (comma)
				split = emit(p, &n, G_SPLIT, 0, n + 1, 0);
			compile_plain(p, &n, pat, alt, stop);
			/* jumps chain through x until the end is known */
			jumps = emit(p, &n, G_JMP, 0, jumps, 0);
			if (!comma)
				break;
			alt = stop + 1;
		}
		while (jumps >= 0) {
			int prev = p[jumps].x;
			p[jumps].x = n;
			jumps = prev;
		}
		i = e + 1;
	}
	emit(p, &n, G_MATCH, 0, 0, 0);
	return n;
}

static bool set_has(const char *pat, int from, int to, char ch)
{
	int q = from;

	do {
		if (q + 2 < to && pat[q + 1] == '-' && pat[q + 2] != ']') {
			if (ch >= pat[q] && ch <= pat[q + 2])
				return true;
			q += 3;
		} else {
			if (ch == pat[q])
				return true;
			q++;
		}
	} while (q < to);
	return false;
}

static bool step_ok(const ginst *s, const char *pat, char ch)
{
	switch (s->op) {
	case G_CHAR:
		return s->c == ch;
	case G_ONE:
		return ch != '/';
	case G_ALL:
		return true;
	case G_SET:
	case G_NSET:
		/* a set never matches '/', negated or not, as fnmatch's
		 * FNM_PATHNAME */
		return ch != '/' && set_has(pat, s->x, s->y, ch) == (s->op == G_SET);
	default:
		return false;
	}
}

/* Add pc and everything it reaches without reading to list (mark[] ==
 * gen: already there).  stack holds at most two entries per step. */
static void add(int *list, int *count, int *mark, int gen, int *stack, const ginst *p, int pc)
{
	int sp = 0;

	stack[sp++] = pc;
	while (sp) {
		pc = stack[--sp];
		if (mark[pc] == gen)
			continue;
		mark[pc] = gen;
		if (p[pc].op == G_SPLIT) {
			stack[sp++] = p[pc].y;
			stack[sp++] = p[pc].x;
		} else if (p[pc].op == G_JMP) {
			stack[sp++] = p[pc].x;
		} else {
			list[(*count)++] = pc;
		}
	}
}

static bool run(const ginst *p, int n, const char *pat, const char *path, int *work)
{
	int *clist = work, *nlist = work + n, *mark = work + 2 * n, *stack = work + 3 * n;
	int cn = 0, nn, gen = 1, i;

	for (i = 0; i < n; i++)
		mark[i] = 0;
	add(clist, &cn, mark, gen, stack, p, 0);
	for (; *path && cn; path++) {
		char ch = *path;
		nn = 0;
		gen++;
		for (i = 0; i < cn; i++) {
			const ginst *s = &p[clist[i]];
			bool ok = step_ok(s, pat, ch);
			if (ok)
				add(nlist, &nn, mark, gen, stack, p, s->next);
		}
		{
			int *t = clist;
			clist = nlist;
			nlist = t;
		}
		cn = nn;
	}
	if (*path)
		return false;
	for (i = 0; i < cn; i++)
		if (p[clist[i]].op == G_MATCH)
			return true;
	return false;
}

/* The same run with the set of places as the bits of one word, for
 * programs of at most 64 steps (every pattern a model writes, nearly).
 * Forks and jumps only ever lead forwards (a star's loop goes back
 * through a step that reads), so what each step reaches without reading
 * is one pass from the end. */
static bool run64(const ginst *p, int n, const char *pat, const char *path)
{
	uint64_t reach[64], cur, next;
	int i;

	for (i = n - 1; i >= 0; i--) {
		if (p[i].op == G_SPLIT)
			reach[i] = reach[p[i].x] | reach[p[i].y];
		else if (p[i].op == G_JMP)
			reach[i] = reach[p[i].x];
		else
			reach[i] = (uint64_t)1 << i;
	}
	cur = reach[0];
	for (; *path && cur; path++) {
		uint64_t left = cur;
		next = 0;
		while (left) {
			int s = __builtin_ctzll(left);
			left &= left - 1;
			if (step_ok(&p[s], pat, *path))
				next |= reach[p[s].next];
		}
		cur = next;
	}
	return !*path && (cur >> (n - 1) & 1);
}

/* Patterns of literals, '?' and single stars (most of those models
 * write: "*.py", "test_*.go") need no program: one pointer
 * into each, and the last star to go back to, as in fnmatch.  Going back
 * to the last star only is enough: a star never crosses '/', so once the
 * pattern has matched a '/' after a star, that star's share is fixed; and
 * the star gives up when the next character it would take is a '/'.
 * O(m * n) at worst, linear on the paths a pattern is tried on. */
static bool is_simple(const char *pat, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (pat[i] == '[' || pat[i] == '{' || (pat[i] == '*' && pat[i + 1] == '*'))
			return false;
	return true;
}

static bool simple_match(const char *p, const char *s)
{
	const char *star_p = NULL, *star_s = NULL;

	while (*s) {
		if (*p == '*') {
			star_p = ++p;
			star_s = s;
		} else if (*p && (*p == *s || (*p == '?' && *s != '/'))) {
			p++;
			s++;
		} else if (star_p && *star_s != '/') {
			p = star_p;
			s = ++star_s;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return !*p;
}

bool tools__glob_match(const char *pat, const char *path)
{
	/* Short patterns run on the stack; a long one gets the heap. */
	enum { SMALL = 256 };
	ginst sp[SMALL];
	size_t len = strlen(pat), cap = prog_cap(len);
	ginst *p;
	bool ok;
	int n;

	/* Decided once for the whole pattern: deciding it again in each
	 * step let "a/" "*c" match "a/b/c" (the rest after the star, "c",
	 * has no slash and was matched against the base name). */
	if (!memchr(pat, '/', len)) {
		const char *base = strrchr(path, '/');
		path = base ? base + 1 : path;
	}
	if (is_simple(pat, len))
		return simple_match(pat, path);
	/* Most paths a pattern is tried on fail at its literal head ("src/"
	 * of "src/" "**" "/x") or tail (".py"): check those first, without
	 * compiling anything. */
	{
		size_t h = 0, t = len, plen;
		while (h < len && !strchr("*?[]{},", pat[h]))
			h++;
		if (strncmp(path, pat, h))
			return false;
		while (t && !strchr("*?[]{},", pat[t - 1]))
			t--;
		plen = strlen(path);
		if (len - t > plen || memcmp(path + plen - (len - t), pat + t, len - t))
			return false;
	}
	p = cap <= SMALL ? sp : pl_xmalloc(cap * sizeof(*p));
	n = compile(p, pat, len);
	PL_ASSERT((size_t)n <= cap);
	if (n <= 64) {
		ok = run64(p, n, pat, path);
	} else {
		int *work = pl_xmalloc(5 * (size_t)n * sizeof(int));
		ok = run(p, n, pat, path, work);
		free(work);
	}
	if (p != sp)
		free(p);
	return ok;
}
