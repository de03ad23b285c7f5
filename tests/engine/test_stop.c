/* Stop strings found incrementally (engine/stop.c, private): the same
 * first occurrence as a search of the whole text, and a cost linear in
 * the text, however long it grows. */
#define _GNU_SOURCE /* memmem */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine/stop.h"

static uint64_t rng = 0x243f6a8885a308d3ull;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/* The first occurrence of any stop string in text, searching all of it. */
static size_t naive_first(const char *const *s, size_t n, const char *text, size_t len)
{
	size_t best = SIZE_MAX, i;

	for (i = 0; i < n; i++) {
		const char *p = s[i][0] ? memmem(text, len, s[i], strlen(s[i])) : NULL;

		if (p && (size_t)(p - text) < best)
			best = (size_t)(p - text);
	}
	return best;
}

Test(stops, incremental_search_finds_what_a_whole_search_finds)
{
	/* small alphabet, so that stop strings occur and overlap */
	const char *const s[] = { "abca", "ca", "bbb", "", "cab" };
	int trial;

	for (trial = 0; trial < 2000; trial++) {
		eng__stops st;
		pl_buf text = PL_BUF_INIT;
		size_t found = SIZE_MAX, want;

		eng__stops_init(&st, s, PL_ARRAY_LEN(s));
		while (found == SIZE_MAX && text.len < 60) {
			size_t old = text.len, k = 1 + rnd(4), i, held;

			for (i = 0; i < k; i++)
				pl_buf_putc(&text, (char)('a' + rnd(3)));
			found = eng__stops_find(&st, text.ptr, old, text.len);
			want = naive_first(s, PL_ARRAY_LEN(s), text.ptr, text.len);
			cr_assert_eq(found, want, "trial %d: '%s' grown from %zu: %zu, whole search %zu", trial, text.ptr,
				     old, found, want);
			if (found == SIZE_MAX) {
				/* what is held back is the longest end that starts a stop string */
				held = eng__stops_partial(&st, text.ptr, 0, text.len);
				for (i = 0; i < PL_ARRAY_LEN(s); i++) {
					size_t L = strlen(s[i]), m;

					for (m = held + 1; m < L && m <= text.len; m++)
						cr_assert(memcmp(text.ptr + text.len - m, s[i], m),
							  "'%s': %zu bytes held, but its last %zu start '%s'", text.ptr,
							  held, m, s[i]);
				}
				if (held)
					cr_assert(naive_first(s, PL_ARRAY_LEN(s), text.ptr + text.len - held, held) ==
							  SIZE_MAX);
			}
		}
		eng__stops_release(&st);
		pl_buf_release(&text);
	}
}

Test(stops, cost_is_linear_in_the_text)
{
	/* 20000 pieces of 1 to 8 bytes, no occurrence: each find reads the new
	 * bytes plus L - 1 before them per stop string, each partial at most
	 * L(L-1)/2 per stop string.  Searching the whole text at each step
	 * instead reads about steps x length / 2 x 3 = 2.7e9 bytes. */
	const char *const s[] = { "</tool_call>", "\n\nUser:", "zq" };
	size_t per_step = 0, i, step, steps = 20000;
	uint64_t bound;
	eng__stops st;
	pl_buf text = PL_BUF_INIT;

	eng__stops_init(&st, s, PL_ARRAY_LEN(s));
	for (i = 0; i < PL_ARRAY_LEN(s); i++) {
		size_t L = strlen(s[i]);

		per_step += (L - 1) + L * (L - 1) / 2;
	}
	for (step = 0; step < steps; step++) {
		size_t old = text.len, k = 1 + rnd(8);

		for (i = 0; i < k; i++)
			pl_buf_putc(&text, (char)("abcdefgh<>/ \n:"[rnd(14)]));
		cr_assert_eq(eng__stops_find(&st, text.ptr, old, text.len), SIZE_MAX);
		eng__stops_partial(&st, text.ptr, 0, text.len);
	}
	bound = (uint64_t)text.len * PL_ARRAY_LEN(s) + (uint64_t)steps * per_step;
	cr_assert_leq(st.scanned, bound, "%llu bytes read for %zu bytes of text in %zu steps (bound %llu)",
		      (unsigned long long)st.scanned, text.len, steps, (unsigned long long)bound);
	cr_assert_lt(st.scanned, 100ull * text.len, "%llu bytes read for %zu bytes of text",
		     (unsigned long long)st.scanned, text.len);
	eng__stops_release(&st);
	pl_buf_release(&text);
}
