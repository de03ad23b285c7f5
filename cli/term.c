/* term.c - what the agent commands print to a terminal: colours (off for
 * pipes and with NO_COLOR), coloured diffs, short forms of counts, costs
 * and tool calls. */
#include "cli/cli.h"

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

void cli_print_diff(FILE *f, const char *text, size_t len, bool color)
{
	const char *p = text, *end = text + len;

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
		fprintf(f, "%s%.*s%s\n", c, (int)n, p, *c ? CLI_RESET : "");
		p += n + 1;
	}
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

/* The first line of s, at most max bytes, "..." when cut. */
static void first_line(pl_buf *out, const char *s, size_t max)
{
	size_t n = strcspn(s, "\n");

	if (n > max) {
		pl_buf_add(out, s, max);
		pl_buf_puts(out, "...");
	} else {
		pl_buf_add(out, s, n);
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

	pl_buf_puts(out, name);
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
	if (sym)
		pl_buf_printf(out, " %s", sym);
	if (path)
		pl_buf_printf(out, " %s", path);
	if (json_is_array(json_object_get(args, "view_range")))
		pl_buf_printf(out, " [%lld, %lld]", (long long)json_integer_value(json_array_get(json_object_get(args, "view_range"), 0)),
			      (long long)json_integer_value(json_array_get(json_object_get(args, "view_range"), 1)));
}
