/* syntax.c - tree-sitter syntax checks behind the editor's rollback. */
#include "tools/internal.h"
#include "tools/ts.h"

#include <string.h>

/* Walk the tree with a cursor, visiting only subtrees that contain errors. */
static int count_errors(TSNode root, int *first, int *last)
{
	TSTreeCursor cur = ts_tree_cursor_new(root);
	int n = 0;

	for (;;) {
		TSNode node = ts_tree_cursor_current_node(&cur);
		bool descend = false;
		if (ts_node_is_missing(node) || !strcmp(ts_node_type(node), "ERROR")) {
			if (!n) {
				*first = (int)ts_node_start_point(node).row + 1;
				*last = (int)ts_node_end_point(node).row + 1;
			}
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
	int f = 0, l = 0, n = ts_node_has_error(root) ? count_errors(root, &f, &l) : 0;

	if (first_line)
		*first_line = f;
	if (last_line)
		*last_line = l;
	return n;
}

int tools__syntax_errors(const char *path, const char *src, size_t len, int *first_line, int *last_line)
{
	const tools_lang *lang = tools_lang_for_path(path);
	TSParser *p;
	TSTree *t;
	int n, f = 0, l = 0;

	if (!lang || tools_ts_load(NULL) < 0)
		return -1;
	p = ts_parser_new();
	if (!ts_parser_set_language(p, lang->language())) {
		ts_parser_delete(p);
		return -1;
	}
	t = ts_parser_parse_string(p, NULL, src, (uint32_t)len);
	if (!t) {
		ts_parser_delete(p);
		return -1;
	}
	n = count_errors(ts_tree_root_node(t), &f, &l);
	ts_tree_delete(t);
	ts_parser_delete(p);
	if (first_line)
		*first_line = f;
	if (last_line)
		*last_line = l;
	return n;
}
