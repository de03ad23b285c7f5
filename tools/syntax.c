/* syntax.c - tree-sitter syntax checks behind the editor's rollback: how
 * many errors a source has, and where and what the first one after a
 * given line is. */
#include "tools/internal.h"
#include "tools/ts.h"

#include <stdio.h>
#include <string.h>

/* The error a rollback shows: the first one at or after from_row (0-based),
 * else the first of all. */
typedef struct pick {
	TSNode node;
	bool have, have_after;
	uint32_t from_row;
	TSNode around; /* an error node spanning from_row */
	bool have_around;
} pick;

static void consider(pick *p, TSNode node)
{
	uint32_t row = ts_node_start_point(node).row;

	if (!p->have) {
		p->node = node;
		p->have = true;
		p->have_after = row >= p->from_row;
	} else if (!p->have_after && row >= p->from_row) {
		p->node = node;
		p->have_after = true;
	}
	if (!p->have_around && row < p->from_row && ts_node_end_point(node).row >= p->from_row) {
		p->around = node;
		p->have_around = true;
	}
}

/* Inside an error node that spans the edit (tree-sitter's Python grammar
 * can make the rest of the module one ERROR), the first nested error at
 * or after from_row. */
static bool nested_after(TSNode *out, TSNode top, uint32_t from_row)
{
	TSTreeCursor cur = ts_tree_cursor_new(top);
	bool found = false;

	if (ts_tree_cursor_goto_first_child(&cur)) {
		for (;;) {
			TSNode n = ts_tree_cursor_current_node(&cur);
			bool err = ts_node_is_missing(n) || !strcmp(ts_node_type(n), "ERROR");
			if (err && ts_node_start_point(n).row >= from_row) {
				*out = n;
				found = true;
				break;
			}
			if (ts_node_end_point(n).row >= from_row && ts_tree_cursor_goto_first_child(&cur))
				continue;
			while (!ts_tree_cursor_goto_next_sibling(&cur))
				if (!ts_tree_cursor_goto_parent(&cur) || ts_node_eq(ts_tree_cursor_current_node(&cur), top))
					goto out;
		}
	}
out:
	ts_tree_cursor_delete(&cur);
	return found;
}

/* Walk the tree with a cursor, visiting only subtrees that contain errors. */
static int count_errors(TSNode root, pick *p)
{
	TSTreeCursor cur = ts_tree_cursor_new(root);
	int n = 0;

	for (;;) {
		TSNode node = ts_tree_cursor_current_node(&cur);
		bool descend = false;
		if (ts_node_is_missing(node) || !strcmp(ts_node_type(node), "ERROR")) {
			consider(p, node);
			n++;
		} else if (ts_node_has_error(node))
			descend = true;
		if (descend && ts_tree_cursor_goto_first_child(&cur))
			continue;
		while (!ts_tree_cursor_goto_next_sibling(&cur)) {
			if (!ts_tree_cursor_goto_parent(&cur)) {
				ts_tree_cursor_delete(&cur);
				return n;
			}
		}
	}
}

int tools__tree_errors(const void *root_node, int *first_line, int *last_line)
{
	TSNode root = *(const TSNode *)root_node;
	pick p = { .from_row = 0 };
	int n = ts_node_has_error(root) ? count_errors(root, &p) : 0;

	if (first_line)
		*first_line = p.have ? (int)ts_node_start_point(p.node).row + 1 : 0;
	if (last_line)
		*last_line = p.have ? (int)ts_node_end_point(p.node).row + 1 : 0;
	return n;
}

/* "missing \"}\"" for a MISSING node, else the first line of the text the
 * parser could not place. */
static void describe(char *out, size_t cap, TSNode node, const char *src, size_t len)
{
	uint32_t sb = ts_node_start_byte(node), eb = ts_node_end_byte(node), e;
	char text[48];
	size_t k = 0;

	if (ts_node_is_missing(node)) {
		snprintf(out, cap, "missing \"%s\"", ts_node_type(node));
		return;
	}
	if (eb > len)
		eb = (uint32_t)len;
	while (sb < eb && (src[sb] == ' ' || src[sb] == '\t'))
		sb++;
	for (e = sb; e < eb && src[e] != '\n' && src[e] != '\r'; e++)
		;
	/* whole characters, the text a model wrote, at most about 40 bytes */
	while (sb + k < e && k < 40)
		k++;
	while (k && sb + k < e && ((unsigned char)src[sb + k] & 0xC0) == 0x80)
		k--;
	memcpy(text, src + sb, k);
	text[k] = 0;
	if (!k)
		snprintf(out, cap, "unexpected end of the code");
	else
		snprintf(out, cap, "cannot parse `%s`%s", text, sb + k < e ? "..." : "");
}

int tools__syntax_check(tools__syntax *out, const char *path, const char *src, size_t len, int from_line)
{
	const tools_lang *lang = tools_lang_for_path(path);
	pick p = { .from_row = from_line > 1 ? (uint32_t)from_line - 1 : 0 };
	TSParser *parser;
	TSTree *t;

	memset(out, 0, sizeof(*out));
	out->count = -1;
	if (!lang || tools_ts_load(NULL) < 0)
		return -1;
	if (tools__too_deep(src, len)) {
		out->count = -2;
		return -2;
	}
	parser = ts_parser_new();
	if (!ts_parser_set_language(parser, lang->language())) {
		ts_parser_delete(parser);
		return -1;
	}
	t = ts_parser_parse_string(parser, NULL, src, (uint32_t)len);
	if (!t) {
		ts_parser_delete(parser);
		return -1;
	}
	out->count = count_errors(ts_tree_root_node(t), &p);
	if (p.have && !p.have_after && p.have_around) {
		TSNode n;
		if (nested_after(&n, p.around, p.from_row)) {
			p.node = n;
			p.have_after = true;
		} else {
			/* one error from before the edit to past it: the edit is
			 * where to look, not the error's first line */
			out->line = (int)p.from_row + 1;
			out->end_line = (int)ts_node_end_point(p.around).row + 1;
			snprintf(out->what, sizeof(out->what), "one error spanning lines %u-%d, around your edit,",
				 ts_node_start_point(p.around).row + 1, out->end_line);
			goto done;
		}
	}
	if (p.have) {
		out->line = (int)ts_node_start_point(p.node).row + 1;
		out->end_line = (int)ts_node_end_point(p.node).row + 1;
		describe(out->what, sizeof(out->what), p.node, src, len);
	}
done:
	ts_tree_delete(t);
	ts_parser_delete(parser);
	return out->count;
}
