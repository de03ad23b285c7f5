/* text.c - text for a model: valid UTF-8 only (other bytes as \xNN), no
 * terminal control characters (also \xNN); the binary check every tool
 * shares. */
#include "tools/internal.h"

#include <string.h>

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
