/* pyindent.c - Python's indentation rules, which tree-sitter's Python
 * grammar does not enforce (it parses an unindent that matches no outer
 * level, or tabs mixed with spaces, without an error node).  This follows
 * CPython's tokenizer (Parser/tokenizer.c, tok_get: the indentation and
 * "alternate" indentation stacks, tabs to the next multiple of 8 and of 1,
 * form feed resetting the column) and the two indentation errors its
 * parser raises: an indent where no block starts, and a block header
 * (a logical line ending with ':') not followed by an indented line. */
#include "tools/internal.h"

#include <string.h>

#define TABSIZE 8
#define MAXINDENT 100 /* CPython's limit: "too many levels of indentation" */

typedef struct lexer {
	const char *s;
	size_t n, i;
	int line;       /* 1-based line of s[i] */
	int level;      /* bracket nesting: lines inside brackets join */
	bool continued; /* the last line ended with a backslash */
} lexer;

static bool at_eol(const lexer *lx)
{
	return lx->i >= lx->n || lx->s[lx->i] == '\n' || lx->s[lx->i] == '\r';
}

/* Past one end of line ("\n", "\r\n" or "\r": universal newlines). */
static void newline(lexer *lx)
{
	if (lx->i < lx->n && lx->s[lx->i] == '\r')
		lx->i++;
	if (lx->i < lx->n && lx->s[lx->i] == '\n')
		lx->i++;
	lx->line++;
}

static bool is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
	       (unsigned char)c >= 0x80;
}

/* A string literal starting at s[i] (after any prefix): skip it, lines
 * inside a triple-quoted one included.  A backslash always escapes the
 * next character for the tokenizer, raw strings too. */
static void skip_string(lexer *lx)
{
	char q = lx->s[lx->i];
	bool triple = lx->i + 2 < lx->n && lx->s[lx->i + 1] == q && lx->s[lx->i + 2] == q;

	lx->i += triple ? 3 : 1;
	while (lx->i < lx->n) {
		char c = lx->s[lx->i];
		if (c == '\\' && lx->i + 1 < lx->n) {
			lx->i++;
			if (lx->s[lx->i] == '\n' || lx->s[lx->i] == '\r')
				newline(lx);
			else
				lx->i++;
			continue;
		}
		if (c == '\n' || c == '\r') {
			if (!triple)
				return; /* unterminated: tree-sitter reports that one */
			newline(lx);
			continue;
		}
		if (c == q && (!triple || (lx->i + 2 < lx->n && lx->s[lx->i + 1] == q && lx->s[lx->i + 2] == q))) {
			lx->i += triple ? 3 : 1;
			return;
		}
		lx->i++;
	}
}

/* The rest of one physical line after its indentation: strings, comments,
 * brackets and a final backslash.  *last is the last significant
 * character (outside strings and comments), kept across the lines of one
 * logical line by the caller. */
static void scan_line(lexer *lx, char *last)
{
	lx->continued = false;
	while (!at_eol(lx)) {
		char c = lx->s[lx->i];
		if (c == '#') {
			while (!at_eol(lx))
				lx->i++;
			break;
		}
		if (c == '\\' && lx->i + 1 <= lx->n &&
		    (lx->i + 1 == lx->n || lx->s[lx->i + 1] == '\n' || lx->s[lx->i + 1] == '\r')) {
			lx->i++;
			lx->continued = true;
			break;
		}
		if (c == '"' || c == '\'') {
			skip_string(lx);
			*last = 's';
			continue;
		}
		if (is_ident(c)) {
			size_t st = lx->i;
			while (lx->i < lx->n && is_ident(lx->s[lx->i]))
				lx->i++;
			/* string prefixes: r, b, u, f and their pairs */
			if (lx->i < lx->n && (lx->s[lx->i] == '"' || lx->s[lx->i] == '\'') && lx->i - st <= 2) {
				bool prefix = true;
				size_t k;
				for (k = st; k < lx->i; k++)
					if (!strchr("rRbBuUfF", lx->s[k]))
						prefix = false;
				if (prefix) {
					skip_string(lx);
					*last = 's';
					continue;
				}
			}
			*last = 'a';
			continue;
		}
		if (c == '(' || c == '[' || c == '{')
			lx->level++;
		else if ((c == ')' || c == ']' || c == '}') && lx->level > 0)
			lx->level--;
		if (c != ' ' && c != '\t' && c != '\f')
			*last = c;
		lx->i++;
	}
}

/* The keyword opening a block header, for CPython's message. */
static void header_kind(char *out, size_t cap, const char *s, size_t n)
{
	size_t k = 0;
	char w[16];

	while (k < n && k + 1 < sizeof(w) && ((s[k] >= 'a' && s[k] <= 'z') || s[k] == '_'))
		k++;
	memcpy(w, s, k);
	w[k] = 0;
	if (!strcmp(w, "async")) {
		size_t j = k;
		while (j < n && (s[j] == ' ' || s[j] == '\t'))
			j++;
		if (n - j >= 3 && !memcmp(s + j, "def", 3)) {
			snprintf(out, cap, "function definition");
			return;
		}
	}
	if (!strcmp(w, "def"))
		snprintf(out, cap, "function definition");
	else if (!strcmp(w, "class"))
		snprintf(out, cap, "class definition");
	else {
		char word[20];
		snprintf(word, sizeof(word), " %s ", w);
		if (k && strstr(" if elif else for while with try except finally match case ", word))
			snprintf(out, cap, "'%s' statement", w);
		else
			snprintf(out, cap, "block header");
	}
}

static const char tab_error[] = "TabError: inconsistent use of tabs and spaces in indentation";

static int fail(int *line_out, char *what, size_t cap, int line, const char *msg)
{
	*line_out = line;
	snprintf(what, cap, "%s", msg);
	return 1;
}

static int fail_block(int *line_out, char *what, size_t cap, int line, const char *header, int header_line)
{
	*line_out = line;
	snprintf(what, cap, "IndentationError: expected an indented block after %s on line %d", header, header_line);
	return 1;
}

int tools__py_indent_error(int *line_out, char *what, size_t cap, const char *src, size_t len)
{
	lexer lx = { src, len, 0, 1, 0, false };
	int ind[MAXINDENT + 1] = { 0 }, alt[MAXINDENT + 1] = { 0 }, top = 0;
	bool expect_block = false, first = true;
	int header_line = 0;
	char header[48] = "";

	while (lx.i < lx.n) {
		int col = 0, altcol = 0, line = lx.line;
		size_t start;
		char last = 0;

		/* indentation of a line that starts a logical line */
		while (lx.i < lx.n) {
			char c = src[lx.i];
			if (c == ' ')
				col++, altcol++;
			else if (c == '\t') {
				col = (col / TABSIZE + 1) * TABSIZE;
				altcol++;
			} else if (c == '\f')
				col = altcol = 0;
			else
				break;
			lx.i++;
		}
		start = lx.i;
		if (at_eol(&lx) || src[lx.i] == '#') {
			/* blank or comment-only: no effect on indentation */
			while (!at_eol(&lx))
				lx.i++;
			newline(&lx);
			continue;
		}
		if (col == ind[top]) {
			if (altcol != alt[top])
				return fail(line_out, what, cap, line, tab_error);
			if (expect_block)
				return fail_block(line_out, what, cap, line, header, header_line);
		} else if (col > ind[top]) {
			if (top + 1 >= MAXINDENT)
				return fail(line_out, what, cap, line, "IndentationError: too many levels of indentation");
			if (altcol <= alt[top])
				return fail(line_out, what, cap, line, tab_error);
			if (!expect_block || first)
				return fail(line_out, what, cap, line, "IndentationError: unexpected indent");
			top++;
			ind[top] = col;
			alt[top] = altcol;
		} else {
			while (top > 0 && col < ind[top])
				top--;
			if (col != ind[top])
				return fail(line_out, what, cap, line,
				    "IndentationError: unindent does not match any outer indentation level");
			if (altcol != alt[top])
				return fail(line_out, what, cap, line, tab_error);
			if (expect_block)
				return fail_block(line_out, what, cap, line, header, header_line);
		}
		first = false;
		/* the logical line: physical lines joined by brackets and backslashes */
		for (;;) {
			scan_line(&lx, &last);
			if (lx.i >= lx.n)
				break;
			newline(&lx);
			if (!lx.continued && lx.level == 0)
				break;
		}
		expect_block = last == ':';
		if (expect_block) {
			header_line = line;
			header_kind(header, sizeof(header), src + start, len - start);
		}
	}
	/* at the end of the file CPython names its last line */
	if (expect_block)
		return fail_block(line_out, what, cap,
				  len && (src[len - 1] == '\n' || src[len - 1] == '\r') ? lx.line - 1 : lx.line, header,
				  header_line);
	return 0;
}
