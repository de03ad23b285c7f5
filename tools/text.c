/* text.c - text for a model: valid UTF-8 only (other bytes as \xNN); the
 * binary check every tool shares. */
#include "tools/internal.h"

#include <string.h>

void tools__add_text(pl_buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, start = 0;

	while (i < n) {
		unsigned char c = u[i];
		size_t len = 0;
		if (c < 0x80)
			len = c ? 1 : 0;
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
