/* ts.h - the tree-sitter runtime, opened at first use (internal to tools/).
 *
 * plait links the grammars (libplait-grammars.a: generated tables and
 * scanners, which call nothing in the runtime) but not libtree-sitter:
 * only the code tools parse, and every other invocation of plait would
 * pay for loading it (docs/ARCHITECTURE.md).  As in tools/git2.h, this
 * header declares a table with one pointer per runtime function tools/
 * calls and redirects each name to its pointer, so the code still calls
 * `ts_parser_new()` as usual.
 *
 * The rule: every public entry point that reaches the runtime calls
 * tools_ts_load() first and returns its error; a call through the table
 * before a successful load is a bug and stops the program with PL_ASSERT.
 * A runtime function the tools start to use must be added to
 * TOOLS_TS_FUNCS; a name missing there is an undefined reference at link
 * time, since libtree-sitter is not linked.
 */
#ifndef PLAIT_TOOLS_TS_H
#define PLAIT_TOOLS_TS_H

#include "tools/tools.h"

#include <tree_sitter/api.h>

/* clang-format off */
#define TOOLS_TS_FUNCS(X) \
	X(ts_language_version) \
	X(ts_node_child_by_field_name) \
	X(ts_node_child_count) \
	X(ts_node_end_byte) \
	X(ts_node_end_point) \
	X(ts_node_eq) \
	X(ts_node_has_error) \
	X(ts_node_is_missing) \
	X(ts_node_is_null) \
	X(ts_node_parent) \
	X(ts_node_prev_sibling) \
	X(ts_node_start_byte) \
	X(ts_node_start_point) \
	X(ts_node_type) \
	X(ts_parser_delete) \
	X(ts_parser_new) \
	X(ts_parser_parse_string) \
	X(ts_parser_set_language) \
	X(ts_query_capture_name_for_id) \
	X(ts_query_cursor_delete) \
	X(ts_query_cursor_exec) \
	X(ts_query_cursor_new) \
	X(ts_query_cursor_next_match) \
	X(ts_query_delete) \
	X(ts_query_new) \
	X(ts_tree_cursor_current_node) \
	X(ts_tree_cursor_delete) \
	X(ts_tree_cursor_goto_first_child) \
	X(ts_tree_cursor_goto_next_sibling) \
	X(ts_tree_cursor_goto_parent) \
	X(ts_tree_cursor_new) \
	X(ts_tree_delete) \
	X(ts_tree_root_node) \

/* clang-format on */

typedef struct tools__ts {
#define TOOLS_TS_PTR(f) __typeof__(f) *f;
	TOOLS_TS_FUNCS(TOOLS_TS_PTR)
#undef TOOLS_TS_PTR
} tools__ts;

/* The loaded table; only after a successful tools_ts_load (tools.h). */
const tools__ts *tools__ts_api(void);

#ifndef TOOLS_TS_IMPL
/* clang-format off */
#define ts_language_version (tools__ts_api()->ts_language_version)
#define ts_node_child_by_field_name (tools__ts_api()->ts_node_child_by_field_name)
#define ts_node_child_count (tools__ts_api()->ts_node_child_count)
#define ts_node_end_byte (tools__ts_api()->ts_node_end_byte)
#define ts_node_end_point (tools__ts_api()->ts_node_end_point)
#define ts_node_eq (tools__ts_api()->ts_node_eq)
#define ts_node_has_error (tools__ts_api()->ts_node_has_error)
#define ts_node_is_missing (tools__ts_api()->ts_node_is_missing)
#define ts_node_is_null (tools__ts_api()->ts_node_is_null)
#define ts_node_parent (tools__ts_api()->ts_node_parent)
#define ts_node_prev_sibling (tools__ts_api()->ts_node_prev_sibling)
#define ts_node_start_byte (tools__ts_api()->ts_node_start_byte)
#define ts_node_start_point (tools__ts_api()->ts_node_start_point)
#define ts_node_type (tools__ts_api()->ts_node_type)
#define ts_parser_delete (tools__ts_api()->ts_parser_delete)
#define ts_parser_new (tools__ts_api()->ts_parser_new)
#define ts_parser_parse_string (tools__ts_api()->ts_parser_parse_string)
#define ts_parser_set_language (tools__ts_api()->ts_parser_set_language)
#define ts_query_capture_name_for_id (tools__ts_api()->ts_query_capture_name_for_id)
#define ts_query_cursor_delete (tools__ts_api()->ts_query_cursor_delete)
#define ts_query_cursor_exec (tools__ts_api()->ts_query_cursor_exec)
#define ts_query_cursor_new (tools__ts_api()->ts_query_cursor_new)
#define ts_query_cursor_next_match (tools__ts_api()->ts_query_cursor_next_match)
#define ts_query_delete (tools__ts_api()->ts_query_delete)
#define ts_query_new (tools__ts_api()->ts_query_new)
#define ts_tree_cursor_current_node (tools__ts_api()->ts_tree_cursor_current_node)
#define ts_tree_cursor_delete (tools__ts_api()->ts_tree_cursor_delete)
#define ts_tree_cursor_goto_first_child (tools__ts_api()->ts_tree_cursor_goto_first_child)
#define ts_tree_cursor_goto_next_sibling (tools__ts_api()->ts_tree_cursor_goto_next_sibling)
#define ts_tree_cursor_goto_parent (tools__ts_api()->ts_tree_cursor_goto_parent)
#define ts_tree_cursor_new (tools__ts_api()->ts_tree_cursor_new)
#define ts_tree_delete (tools__ts_api()->ts_tree_delete)
#define ts_tree_root_node (tools__ts_api()->ts_tree_root_node)
/* clang-format on */
#endif

#endif
