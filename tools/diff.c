/* diff.c - a unified diff of one edited file, for showing an edit. */
#include "tools/internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct lines {
	const char **p; /* line starts */
	size_t *len;    /* line lengths, newline included */
	size_t n;
} lines;

static void split(lines *l, const char *s, size_t n)
{
	size_t i, start = 0, cap = 64;

	l->p = pl_xmalloc(cap * sizeof(*l->p));
	l->len = pl_xmalloc(cap * sizeof(*l->len));
	l->n = 0;
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '\n')
			continue;
		if (i == n && start == n)
			break;
		if (l->n == cap) {
			cap *= 2;
			l->p = pl_xrealloc(l->p, cap * sizeof(*l->p));
			l->len = pl_xrealloc(l->len, cap * sizeof(*l->len));
		}
		l->p[l->n] = s + start;
		l->len[l->n] = (i < n ? i + 1 : i) - start;
		l->n++;
		start = i + 1;
	}
}

static bool same(const lines *a, size_t i, const lines *b, size_t j)
{
	return a->len[i] == b->len[j] && !memcmp(a->p[i], b->p[j], a->len[i]);
}

static void put(pl_buf *out, char mark, const char *p, size_t n)
{
	pl_buf_putc(out, mark);
	pl_buf_add(out, p, n);
	if (!n || p[n - 1] != '\n')
		pl_buf_puts(out, "\n\\ No newline at end of file\n");
}

void tools__diff(pl_buf *out, const char *path, const char *old, size_t old_len, const char *new_, size_t new_len)
{
	lines a, b;
	size_t head = 0, tail = 0, from, to_a, to_b, i;

	if (old_len == new_len && !memcmp(old, new_, old_len))
		return;
	split(&a, old, old_len);
	split(&b, new_, new_len);
	while (head < a.n && head < b.n && same(&a, head, &b, head))
		head++;
	while (tail < a.n - head && tail < b.n - head && same(&a, a.n - 1 - tail, &b, b.n - 1 - tail))
		tail++;
	from = head > 3 ? head - 3 : 0;
	to_a = a.n - tail + (tail > 3 ? 3 : tail);
	to_b = b.n - tail + (tail > 3 ? 3 : tail);
	pl_buf_printf(out, "--- a/%s\n+++ b/%s\n", path, path);
	pl_buf_printf(out, "@@ -%zu,%zu +%zu,%zu @@\n", to_a > from ? from + 1 : from, to_a - from,
		      to_b > from ? from + 1 : from, to_b - from);
	for (i = from; i < head; i++)
		put(out, ' ', a.p[i], a.len[i]);
	for (i = head; i < a.n - tail; i++)
		put(out, '-', a.p[i], a.len[i]);
	for (i = head; i < b.n - tail; i++)
		put(out, '+', b.p[i], b.len[i]);
	for (i = a.n - tail; i < to_a; i++)
		put(out, ' ', a.p[i], a.len[i]);
	free(a.p);
	free(a.len);
	free(b.p);
	free(b.len);
}
