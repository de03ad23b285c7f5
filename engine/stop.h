/* stop.h - private: finding stop strings in text that grows at its end,
 * reading only the bytes a new occurrence can touch (generate.c). */
#ifndef PLAIT_ENGINE_STOP_H
#define PLAIT_ENGINE_STOP_H

#include "common/common.h"

typedef struct eng__stops {
	const char *const *s; /* borrowed; empty strings never match */
	size_t *len;
	size_t n;
	uint64_t scanned; /* bytes of text the searches have read: linear in
			   * the text's length (tests check it) */
} eng__stops;

void eng__stops_init(eng__stops *st, const char *const *strings, size_t n);
void eng__stops_release(eng__stops *st);

/* The text grew from old_len to len bytes, and no stop string occurs in
 * text[0, old_len).  Returns the offset of the first occurrence of any stop
 * string in text[0, len) (the one that starts first), or SIZE_MAX.  Reads
 * only text[old_len - (L - 1), len) for a string of L bytes: an occurrence
 * found now must end in the new bytes. */
size_t eng__stops_find(eng__stops *st, const char *text, size_t old_len, size_t len);

/* The length of the longest end of text[from, len) that is a proper prefix
 * of a stop string: what must be held back, because the next bytes may
 * complete the stop string and cut it off.  Reads at most L^2 / 2 bytes per
 * stop string of L bytes, whatever the text's length. */
size_t eng__stops_partial(eng__stops *st, const char *text, size_t from, size_t len);

#endif
