/* term.c - what the agent commands print to a terminal: colours (off for
 * pipes and with NO_COLOR), coloured diffs, short forms of counts, costs
 * and tool calls. */
#include "cli/cli.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool cli_use_color(FILE *f)
{
	const char *term = getenv("TERM");

	if (getenv("NO_COLOR") && *getenv("NO_COLOR"))
		return false;
	if (term && !strcmp(term, "dumb"))
		return false;
	return isatty(fileno(f));
}

const char *cli_c(bool on, const char *code)
{
	return on ? code : "";
}

/* The length of the UTF-8 character at s (1 to 4) and its code point;
 * 0 when the bytes are not one; -1 when they are its valid start but n
 * ends before it does. */
static int utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
	int len, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2, c = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3, c = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return -1;
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	/* overlong forms, surrogates, past U+10FFFF */
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF)) || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

size_t cli_escape(pl_buf *out, const char *s, size_t n, bool final)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		uint32_t cp = 0;
		int len = utf8_char(u + i, n - i, &cp);

		if (len < 0 && !final)
			return i; /* the rest of the character comes with the next piece */
		if (len <= 0) {
			pl_buf_printf(out, "\\x%02x", u[i]);
			i++;
			continue;
		}
		if (cp == '\n' || cp == '\t')
			pl_buf_putc(out, (char)cp);
		else if (cp == '\r')
			pl_buf_puts(out, "\\r");
		else if (cp < 0x20 || cp == 0x7F)
			pl_buf_printf(out, "\\x%02x", cp);
		else if ((cp >= 0x80 && cp <= 0x9F) || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
			 (cp >= 0x2066 && cp <= 0x2069))
			pl_buf_printf(out, "\\u%04x", cp);
		else
			pl_buf_add(out, s + i, (size_t)len);
		i += (size_t)len;
	}
	return n;
}

const char *cli_esc(pl_buf *tmp, const char *s)
{
	pl_buf_reset(tmp);
	if (s)
		cli_escape(tmp, s, strlen(s), true);
	return tmp->ptr;
}

void cli_print_diff(FILE *f, const char *text, size_t len, bool color)
{
	const char *p = text, *end = text + len;
	pl_buf line = PL_BUF_INIT;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *c = "";
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (color) {
			if (n >= 3 && (!strncmp(p, "+++", 3) || !strncmp(p, "---", 3)))
				c = CLI_BOLD;
			else if (*p == '+')
				c = CLI_GREEN;
			else if (*p == '-')
				c = CLI_RED;
			else if (*p == '@')
				c = CLI_CYAN;
			else if (n >= 4 && !strncmp(p, "diff", 4))
				c = CLI_BOLD;
		}
		pl_buf_reset(&line);
		cli_escape(&line, p, n, true);
		fprintf(f, "%s%s%s\n", c, line.ptr, *c ? CLI_RESET : "");
		p += n + 1;
	}
	pl_buf_release(&line);
}

const char *cli_fmt_count(char buf[32], int64_t n)
{
	if (n >= 1000000)
		snprintf(buf, 32, "%.1fM", (double)n / 1e6);
	else if (n >= 10000)
		snprintf(buf, 32, "%.0fk", (double)n / 1e3);
	else if (n >= 1000)
		snprintf(buf, 32, "%.1fk", (double)n / 1e3);
	else
		snprintf(buf, 32, "%lld", (long long)n);
	return buf;
}

const char *cli_fmt_cost(char buf[48], const json_t *cost)
{
	if (json_is_number(cost))
		snprintf(buf, 48, "$%.4f", json_number_value(cost));
	else
		snprintf(buf, 48, "cost unknown");
	return buf;
}

/* The first line of s, at most max bytes, "..." when cut; escaped. */
static void first_line(pl_buf *out, const char *s, size_t max)
{
	size_t n = strcspn(s, "\n");

	if (n > max) {
		while (max && ((unsigned char)s[max] & 0xC0) == 0x80)
			max--; /* not inside a character */
		cli_escape(out, s, max, true);
		pl_buf_puts(out, "...");
	} else {
		cli_escape(out, s, n, true);
		if (s[n])
			pl_buf_puts(out, " ...");
	}
}

void cli_describe_call(pl_buf *out, const char *name, const json_t *args, size_t max)
{
	const char *path = json_string_value(json_object_get(args, "path"));
	const char *cmd = json_string_value(json_object_get(args, "command"));
	const char *pat = json_string_value(json_object_get(args, "pattern"));
	const char *sym = json_string_value(json_object_get(args, "symbol"));

	first_line(out, name ? name : "?", max);
	if (cmd) {
		pl_buf_puts(out, ": ");
		first_line(out, cmd, max);
		return;
	}
	if (pat) {
		pl_buf_printf(out, " '");
		first_line(out, pat, max);
		pl_buf_putc(out, '\'');
	}
	if (sym) {
		pl_buf_putc(out, ' ');
		first_line(out, sym, max);
	}
	if (path) {
		pl_buf_putc(out, ' ');
		first_line(out, path, max);
	}
	if (json_is_array(json_object_get(args, "view_range")))
		pl_buf_printf(out, " [%lld, %lld]", (long long)json_integer_value(json_array_get(json_object_get(args, "view_range"), 0)),
			      (long long)json_integer_value(json_array_get(json_object_get(args, "view_range"), 1)));
}
