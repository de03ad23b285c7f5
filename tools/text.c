/* text.c - text for a model: valid UTF-8 only (other bytes as \xNN), no
 * terminal control characters (also \xNN); the binary check every tool
 * shares; finding a literal in text. */
#define _GNU_SOURCE
#include "tools/internal.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

void tools__add_text(pl_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, start = 0;

	while (i < n) {
		unsigned char c = u[i];
		size_t len = 0;
		/* control characters a terminal acts on (escape sequences,
		 * carriage return and backspace that overwrite what was shown,
		 * BEL, DEL) as \xNN; \n, \t and the \r of a CRLF stay */
		if (c < 0x20)
			len = c == '\n' || c == '\t' || (c == '\r' && i + 1 < n && u[i + 1] == '\n') ? 1 : 0;
		else if (c < 0x7F)
			len = 1;
		else if (c == 0x7F)
			len = 0;
		else if (c == 0xC2 && i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F) {
			/* C1 controls (U+0080..U+009F; U+009B is a CSI to some
			 * terminals): both bytes, as `str_replace` reads them back */
			pl_buf_add(b, s + start, i - start);
			pl_buf_printf(b, "\\x%02X\\x%02X", c, u[i + 1]);
			i += 2;
			start = i;
			continue;
		}
		else if (c >= 0xC2 && c <= 0xDF)
			len = 2;
		else if (c >= 0xE0 && c <= 0xEF)
			len = 3;
		else if (c >= 0xF0 && c <= 0xF4)
			len = 4;
		if (len > 1) {
			size_t k;
			if (i + len > n)
				len = 0;
			for (k = 1; len && k < len; k++)
				if ((u[i + k] & 0xC0) != 0x80)
					len = 0;
			if (len == 3 && ((c == 0xE0 && u[i + 1] < 0xA0) || (c == 0xED && u[i + 1] > 0x9F)))
				len = 0;
			if (len == 4 && ((c == 0xF0 && u[i + 1] < 0x90) || (c == 0xF4 && u[i + 1] > 0x8F)))
				len = 0;
		}
		if (!len) {
			pl_buf_add(b, s + start, i - start);
			pl_buf_printf(b, "\\x%02X", c);
			i++;
			start = i;
		} else
			i += len;
	}
	pl_buf_add(b, s + start, n - start);
}

bool tools__is_binary(const char *s, size_t n)
{
	return memchr(s, 0, n < 8192 ? n : 8192) != NULL;
}

/* How common a byte is in source code, roughly (higher: more common). */
static int byte_rank(unsigned char c)
{
	if (c == ' ')
		return 255;
	if (c == '\t' || c == '\n' || strchr("etaoinsr", c))
		return 220;
	if (c >= 'a' && c <= 'z')
		return 190;
	if (c == '_' || c == '(' || c == ')' || c == ',' || c == ';' || c == '.' || c == '=' || c == '*' || c == '-')
		return 150;
	if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 120;
	if (c >= 0x21 && c < 0x7f)
		return 100;
	return 20;
}

/* The first occurrence of the needle nd (m bytes) in h (n bytes), as
 * memmem, which stays the reference (tests compare the two).  glibc's
 * memmem looks at every byte and fills a table on each call; a search
 * calls it once per candidate line, and it was over a third of the CPU
 * time of a search whose literal is on many lines.  This one compares 16
 * positions at once against two of the needle's bytes (SSE2, which every
 * x86-64 has) and the whole needle only where both agree.  The two are
 * its rarest byte and the one farthest from it, as ripgrep picks rare
 * bytes: " * " compared on its spaces stopped at every indentation, and a
 * pair far apart is rarer than its bytes say ("_t" is in every uint32_t).
 * Over the 120 MB of /usr/include, finding each line's first " * " took
 * 90 ms with memmem, 83 ms on the first and last bytes, 40 ms so. */
const char *tools__find_text(const char *h, size_t n, const char *nd, size_t m)
{
#if defined(__SSE2__)
	size_t i = 0, o1 = 0, o2, k;

	if (m < 2 || n < m + 16)
		return m == 1 ? memchr(h, nd[0], n) : memmem(h, n, nd, m);
	for (k = 0; k < m; k++)
		if (byte_rank((unsigned char)nd[k]) < byte_rank((unsigned char)nd[o1]))
			o1 = k;
	o2 = o1 ? 0 : m - 1;
	for (k = 0; k < m; k++) {
		size_t dk = k > o1 ? k - o1 : o1 - k, d2 = o2 > o1 ? o2 - o1 : o1 - o2;
		if (k == o1 || nd[k] == nd[o1])
			continue;
		if (nd[o2] == nd[o1] || dk > d2 || (dk == d2 && byte_rank((unsigned char)nd[k]) < byte_rank((unsigned char)nd[o2])))
			o2 = k;
	}
	{
		const __m128i b1 = _mm_set1_epi8(nd[o1]), b2 = _mm_set1_epi8(nd[o2]);
		for (; i + m - 1 + 16 <= n; i += 16) {
			__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(h + i + o1));
			__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(h + i + o2));
			unsigned mask = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, b1), _mm_cmpeq_epi8(b, b2)));
			while (mask) {
				unsigned bit = (unsigned)__builtin_ctz(mask);
				if (!memcmp(h + i + bit, nd, m))
					return h + i + bit;
				mask &= mask - 1;
			}
		}
	}
	return memmem(h + i, n - i, nd, m);
#else
	return memmem(h, n, nd, m);
#endif
}
