/* pystr.c - the few behaviours of Python's str the official harness relies
 * on, reproduced on UTF-8 bytes: whitespace, split(), strip(), the strict
 * UTF-8 decoder, universal newlines, json.dumps and repr. */
#define _GNU_SOURCE
#include "bench-harness/internal.h"

#include <stdlib.h>
#include <string.h>

void bench__toks_release(bench__toks *t)
{
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}

size_t bench__py_space(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	if (!n)
		return 0;
	if (u[0] < 0x80)
		return (u[0] >= 0x09 && u[0] <= 0x0d) || (u[0] >= 0x1c && u[0] <= 0x20) ? 1 : 0;
	if (u[0] == 0xc2 && n >= 2)
		return u[1] == 0x85 || u[1] == 0xa0 ? 2 : 0;
	if (n < 3)
		return 0;
	if (u[0] == 0xe1)
		return u[1] == 0x9a && u[2] == 0x80 ? 3 : 0; /* U+1680 */
	if (u[0] == 0xe2 && u[1] == 0x80)                  /* U+2000-200A, 2028, 2029, 202F */
		return (u[2] >= 0x80 && u[2] <= 0x8a) || u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf ? 3 : 0;
	if (u[0] == 0xe2 && u[1] == 0x81)
		return u[2] == 0x9f ? 3 : 0; /* U+205F */
	if (u[0] == 0xe3)
		return u[1] == 0x80 && u[2] == 0x80 ? 3 : 0; /* U+3000 */
	return 0;
}

/* Bytes of the UTF-8 character starting at s (at least 1). */
static size_t char_len(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];
	size_t l = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

	return l > n ? n : l;
}

void bench__py_split(bench__toks *t, const char *s, size_t n)
{
	size_t i = 0, w;

	t->n = 0;
	while (i < n) {
		size_t start;

		while (i < n && (w = bench__py_space(s + i, n - i)))
			i += w;
		if (i >= n)
			break;
		start = i;
		while (i < n && !bench__py_space(s + i, n - i))
			i += char_len(s + i, n - i);
		if (t->n == t->cap) {
			t->cap = t->cap ? 2 * t->cap : 16;
			t->v = pl_xrealloc(t->v, t->cap * sizeof(*t->v));
		}
		t->v[t->n].p = s + start;
		t->v[t->n].n = i - start;
		t->n++;
	}
}

/* Bytes of the whitespace character ending at s + n, or 0. */
static size_t space_before(const char *s, size_t n)
{
	size_t k;

	for (k = 1; k <= 3 && k <= n; k++)
		if (bench__py_space(s + n - k, k) == k)
			return k;
	return 0;
}

void bench__py_strip(const char **s, size_t *n)
{
	size_t w;

	while (*n && (w = bench__py_space(*s, *n))) {
		*s += w;
		*n -= w;
	}
	while (*n && (w = space_before(*s, *n)))
		*n -= w;
}

bool bench__utf8_valid(const char *s, size_t n, size_t *bad)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = u[i];
		size_t l, k;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			l = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			l = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			l = 4;
			cp = c & 0x07;
		} else {
			goto invalid;
		}
		if (i + l > n)
			goto invalid;
		for (k = 1; k < l; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				goto invalid;
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		if ((l == 3 && cp < 0x800) || (l == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			goto invalid;
		i += l;
	}
	return true;
invalid:
	if (bad)
		*bad = i;
	return false;
}

void bench__universal_newlines(pl_buf *out, const char *s, size_t n)
{
	size_t i, start = 0;

	pl_buf_grow(out, n);
	for (i = 0; i < n; i++) {
		if (s[i] != '\r')
			continue;
		pl_buf_add(out, s + start, i - start);
		pl_buf_putc(out, '\n');
		if (i + 1 < n && s[i + 1] == '\n')
			i++;
		start = i + 1;
	}
	pl_buf_add(out, s + start, n - start);
}

const char *bench__find(const char *hay, size_t n, const char *needle, size_t m)
{
	return memmem(hay, n, needle, m);
}

/* ------------------------------------------------------------ json.dumps */

/* The code point at s (valid UTF-8), its length in *len. */
static unsigned decode(const unsigned char *s, size_t n, size_t *len)
{
	unsigned c = s[0];

	if (c < 0x80 || n < 2) {
		*len = 1;
		return c;
	}
	if (c < 0xe0) {
		*len = 2;
		return ((c & 0x1f) << 6) | (s[1] & 0x3f);
	}
	if (c < 0xf0 || n < 4) {
		*len = n < 3 ? n : 3;
		return ((c & 0x0f) << 12) | ((s[1] & 0x3f) << 6) | (n >= 3 ? (s[2] & 0x3fu) : 0);
	}
	*len = 4;
	return ((c & 0x07) << 18) | ((s[1] & 0x3f) << 12) | ((s[2] & 0x3f) << 6) | (s[3] & 0x3f);
}

/* json.encoder.py_encode_basestring_ascii: everything outside ' '..'~' is
 * escaped, \" \\ \n \r \t \b \f by name, the rest as \uXXXX in lower-case
 * hex, characters past the BMP as a surrogate pair. */
static void dump_string(pl_buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, len;

	pl_buf_putc(out, '"');
	while (i < n) {
		unsigned c = u[i];

		if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') {
			size_t j = i;

			while (j < n && u[j] >= 0x20 && u[j] <= 0x7e && u[j] != '"' && u[j] != '\\')
				j++;
			pl_buf_add(out, s + i, j - i);
			i = j;
			continue;
		}
		switch (c) {
		case '"': pl_buf_puts(out, "\\\""); i++; continue;
		case '\\': pl_buf_puts(out, "\\\\"); i++; continue;
		case '\n': pl_buf_puts(out, "\\n"); i++; continue;
		case '\r': pl_buf_puts(out, "\\r"); i++; continue;
		case '\t': pl_buf_puts(out, "\\t"); i++; continue;
		case '\b': pl_buf_puts(out, "\\b"); i++; continue;
		case '\f': pl_buf_puts(out, "\\f"); i++; continue;
		default: break;
		}
		c = decode(u + i, n - i, &len);
		i += len;
		if (c >= 0x10000) {
			c -= 0x10000;
			pl_buf_printf(out, "\\u%04x\\u%04x", 0xd800 | (c >> 10), 0xdc00 | (c & 0x3ff));
		} else {
			pl_buf_printf(out, "\\u%04x", c);
		}
	}
	pl_buf_putc(out, '"');
}

static void newline_indent(pl_buf *out, int indent, int level)
{
	pl_buf_putc(out, '\n');
	for (int i = 0; i < indent * level; i++)
		pl_buf_putc(out, ' ');
}

static void dump(pl_buf *out, const json_t *v, int indent, int level)
{
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *val;
		bool first = true;

		if (!json_object_size(v)) {
			pl_buf_puts(out, "{}");
			return;
		}
		pl_buf_putc(out, '{');
		json_object_foreach((json_t *)v, key, val) {
			if (!first)
				pl_buf_puts(out, indent >= 0 ? "," : ", ");
			first = false;
			if (indent >= 0)
				newline_indent(out, indent, level + 1);
			dump_string(out, key, strlen(key));
			pl_buf_puts(out, ": ");
			dump(out, val, indent, level + 1);
		}
		if (indent >= 0)
			newline_indent(out, indent, level);
		pl_buf_putc(out, '}');
		return;
	}
	case JSON_ARRAY:
		if (!json_array_size(v)) {
			pl_buf_puts(out, "[]");
			return;
		}
		pl_buf_putc(out, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i)
				pl_buf_puts(out, indent >= 0 ? "," : ", ");
			if (indent >= 0)
				newline_indent(out, indent, level + 1);
			dump(out, json_array_get(v, i), indent, level + 1);
		}
		if (indent >= 0)
			newline_indent(out, indent, level);
		pl_buf_putc(out, ']');
		return;
	case JSON_STRING:
		dump_string(out, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		pl_buf_printf(out, "%lld", (long long)json_integer_value(v));
		return;
	case JSON_REAL:
		pl_buf_printf(out, "%.17g", json_real_value(v));
		return;
	case JSON_TRUE:
		pl_buf_puts(out, "true");
		return;
	case JSON_FALSE:
		pl_buf_puts(out, "false");
		return;
	case JSON_NULL:
		pl_buf_puts(out, "null");
		return;
	}
}

void bench_json_dump_py(pl_buf *out, const json_t *v, int indent)
{
	dump(out, v, indent, 0);
}

/* ------------------------------------------------------------ repr */

/* str.__repr__: single quotes unless the text holds a single quote and no
 * double quote; \\, the quote, \n \r \t by name, other control characters
 * as \xhh.  Non-ASCII characters are kept (Python keeps the printable ones;
 * the few unprintable ones it escapes are not told apart here: this is a
 * harness log, never graded). */
static void repr_string(pl_buf *out, const char *s, size_t n)
{
	char q = memchr(s, '\'', n) && !memchr(s, '"', n) ? '"' : '\'';
	size_t i;

	pl_buf_putc(out, q);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' || c == (unsigned char)q) {
			pl_buf_putc(out, '\\');
			pl_buf_putc(out, (char)c);
		} else if (c == '\n') {
			pl_buf_puts(out, "\\n");
		} else if (c == '\r') {
			pl_buf_puts(out, "\\r");
		} else if (c == '\t') {
			pl_buf_puts(out, "\\t");
		} else if (c < 0x20 || c == 0x7f) {
			pl_buf_printf(out, "\\x%02x", c);
		} else {
			pl_buf_putc(out, (char)c);
		}
	}
	pl_buf_putc(out, q);
}

void bench__py_repr(pl_buf *out, const json_t *v)
{
	const char *key;
	json_t *val;
	size_t i;
	bool first = true;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		pl_buf_putc(out, '{');
		json_object_foreach((json_t *)v, key, val) {
			if (!first)
				pl_buf_puts(out, ", ");
			first = false;
			repr_string(out, key, strlen(key));
			pl_buf_puts(out, ": ");
			bench__py_repr(out, val);
		}
		pl_buf_putc(out, '}');
		return;
	case JSON_ARRAY:
		pl_buf_putc(out, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i)
				pl_buf_puts(out, ", ");
			bench__py_repr(out, json_array_get(v, i));
		}
		pl_buf_putc(out, ']');
		return;
	case JSON_STRING:
		repr_string(out, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		pl_buf_printf(out, "%lld", (long long)json_integer_value(v));
		return;
	case JSON_REAL:
		pl_buf_printf(out, "%.17g", json_real_value(v));
		return;
	case JSON_TRUE:
		pl_buf_puts(out, "True");
		return;
	case JSON_FALSE:
		pl_buf_puts(out, "False");
		return;
	case JSON_NULL:
		pl_buf_puts(out, "None");
		return;
	}
}
