/* buf.c - pl_buf, the growable byte string; rules in common.h. */
#include "common.h"

#include <stdlib.h>
#include <string.h>

/* The shared empty string every fresh buffer points at.  Nobody writes to it:
 * every write path grows (and so allocates) first.  Mutable only because
 * pl_buf.ptr is `char *`. */
char pl_buf_empty_[1];

void pl_buf_init(pl_buf *b, size_t hint)
{
	b->ptr = pl_buf_empty_;
	b->len = 0;
	b->cap = 0;
	if (hint)
		pl_buf_grow(b, hint);
}

void pl_buf_release(pl_buf *b)
{
	if (b->cap)
		free(b->ptr);
	pl_buf_init(b, 0);
}

void pl_buf_grow(pl_buf *b, size_t extra)
{
	size_t need, cap;

	if (extra > SIZE_MAX - b->len - 1)
		PL_BUG("pl_buf size overflow (%zu + %zu)", b->len, extra);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (b->cap) {
		b->ptr = pl_xrealloc(b->ptr, cap);
	} else {
		b->ptr = pl_xmalloc(cap);
		b->ptr[0] = '\0';
	}
	b->cap = cap;
}

void pl_buf_add(pl_buf *b, const void *data, size_t n)
{
	const char *src = data;

	if (!n)
		return;
	/* Appending (part of) the buffer to itself: growing may move the bytes,
	 * so remember the offset rather than the pointer. */
	if (b->cap && src >= b->ptr && src < b->ptr + b->cap) {
		size_t off = (size_t)(src - b->ptr);

		pl_buf_grow(b, n);
		src = b->ptr + off;
	} else {
		pl_buf_grow(b, n);
	}
	memmove(b->ptr + b->len, src, n);
	b->len += n;
	b->ptr[b->len] = '\0';
}

void pl_buf_puts(pl_buf *b, const char *s)
{
	pl_buf_add(b, s, strlen(s));
}

void pl_buf_putc(pl_buf *b, char c)
{
	pl_buf_grow(b, 1);
	b->ptr[b->len++] = c;
	b->ptr[b->len] = '\0';
}

void pl_buf_vprintf(pl_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(b->ptr + b->len, b->cap ? b->cap - b->len : 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		PL_BUG("vsnprintf failed for format \"%s\"", fmt);
	if ((size_t)n >= (b->cap ? b->cap - b->len : 0)) {
		pl_buf_grow(b, (size_t)n);
		n = vsnprintf(b->ptr + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void pl_buf_printf(pl_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pl_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

void pl_buf_setlen(pl_buf *b, size_t n)
{
	if (n > b->len)
		PL_BUG("pl_buf_setlen(%zu) past length %zu", n, b->len);
	b->len = n;
	if (b->cap)
		b->ptr[n] = '\0';
}

char *pl_buf_detach(pl_buf *b, size_t *len_out)
{
	char *p;

	if (len_out)
		*len_out = b->len;
	if (!b->cap)
		p = pl_xstrdup("");
	else
		p = b->ptr;
	pl_buf_init(b, 0);
	return p;
}

void pl_buf_rtrim(pl_buf *b)
{
	size_t n = b->len;

	while (n > 0 && (b->ptr[n - 1] == ' ' || b->ptr[n - 1] == '\t' || b->ptr[n - 1] == '\n' ||
			 b->ptr[n - 1] == '\r' || b->ptr[n - 1] == '\v' || b->ptr[n - 1] == '\f'))
		n--;
	pl_buf_setlen(b, n);
}

void pl_buf_add_truncated(pl_buf *b, const char *s, size_t n, size_t max)
{
	char marker[96];
	size_t head, tail, mlen;

	if (n <= max) {
		pl_buf_add(b, s, n);
		return;
	}
	snprintf(marker, sizeof(marker), "\n[... %zu bytes cut ...]\n", n - max);
	mlen = strlen(marker);
	/* Keep more of the head than the tail: the start of output usually says
	 * what ran, the end says how it ended; both matter. */
	head = max / 2;
	tail = max - head;
	pl_buf_add(b, s, head);
	pl_buf_add(b, marker, mlen);
	pl_buf_add(b, s + n - tail, tail);
}
