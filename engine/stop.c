/* stop.c - stop strings in generated text, found incrementally: each new
 * piece of text is searched only where an occurrence could end in it, so
 * the cost of a generation is linear in its text, not quadratic. */
#define _GNU_SOURCE /* memmem */
#include "engine/stop.h"

#include <stdlib.h>
#include <string.h>

void eng__stops_init(eng__stops *st, const char *const *strings, size_t n)
{
	size_t i;

	memset(st, 0, sizeof(*st));
	st->s = strings;
	st->n = n;
	st->len = pl_xcalloc(n + 1, sizeof(*st->len));
	for (i = 0; i < n; i++)
		st->len[i] = strlen(strings[i]);
}

void eng__stops_release(eng__stops *st)
{
	free(st->len);
	memset(st, 0, sizeof(*st));
}

size_t eng__stops_find(eng__stops *st, const char *text, size_t old_len, size_t len)
{
	size_t best = SIZE_MAX, i;

	for (i = 0; i < st->n; i++) {
		size_t L = st->len[i], from = old_len >= L ? old_len - (L - 1) : 0;
		const char *p;

		if (!L || len - from < L)
			continue;
		/* an earlier find already ruled out occurrences before best */
		if (best != SIZE_MAX && from >= best)
			continue;
		st->scanned += len - from;
		p = memmem(text + from, len - from, st->s[i], L);
		if (p && (size_t)(p - text) < best)
			best = (size_t)(p - text);
	}
	return best;
}

size_t eng__stops_partial(eng__stops *st, const char *text, size_t from, size_t len)
{
	size_t best = 0, avail = len - from, i, k;

	for (i = 0; i < st->n; i++) {
		size_t L = st->len[i];

		if (!L)
			continue;
		for (k = L - 1 < avail ? L - 1 : avail; k > best; k--) {
			st->scanned += k;
			if (!memcmp(text + len - k, st->s[i], k)) {
				best = k;
				break;
			}
		}
	}
	return best;
}
