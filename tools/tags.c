/* tags.c - definitions and references (tags) from each grammar's
 * queries/tags.scm plus plait's own additions, the ground the code tools
 * and repo_map stand on. */
#define _GNU_SOURCE
#include "tools/internal.h"
#include "tools/ts.h"

#include <stdlib.h>
#include <string.h>

#include "tags_queries.h"

/* What the grammars' tags.scm leave out: C and C++ ship no references and
 * no macros, Java no enums or constructors, Rust no impl blocks. */
static const char extra_c[] =
	"(preproc_function_def name: (identifier) @name) @definition.macro\n"
	"(preproc_def name: (identifier) @name) @definition.macro\n"
	"(call_expression function: (identifier) @name) @reference.call\n"
	"(call_expression function: (field_expression field: (field_identifier) @name)) @reference.call\n"
	"(type_identifier) @name @reference.type\n";
static const char extra_cpp[] =
	"(namespace_definition name: (namespace_identifier) @name) @definition.module\n"
	"(call_expression function: (qualified_identifier name: (identifier) @name)) @reference.call\n";
static const char extra_java[] =
	"(enum_declaration name: (identifier) @name) @definition.class\n"
	"(record_declaration name: (identifier) @name) @definition.class\n"
	"(constructor_declaration name: (identifier) @name) @definition.method\n"
	"(field_declaration declarator: (variable_declarator name: (identifier) @name)) @definition.field\n";
static const char extra_python[] =
	"(class_definition superclasses: (argument_list (identifier) @name)) @reference.class\n";
static const char extra_rust[] =
	"(impl_item type: (type_identifier) @name) @definition.impl\n";

/* The query text for tools_langs()[i]. */
static void query_text(pl_buf *b, const char *lang)
{
	if (!strcmp(lang, "python")) {
		pl_buf_puts(b, tags_scm_python);
		pl_buf_puts(b, extra_python);
	} else if (!strcmp(lang, "c")) {
		pl_buf_puts(b, tags_scm_c);
		pl_buf_puts(b, extra_c);
	} else if (!strcmp(lang, "cpp")) {
		pl_buf_puts(b, tags_scm_cpp);
		pl_buf_puts(b, extra_c);
		pl_buf_puts(b, extra_cpp);
	} else if (!strcmp(lang, "java")) {
		pl_buf_puts(b, tags_scm_java);
		pl_buf_puts(b, extra_java);
	} else if (!strcmp(lang, "javascript")) {
		pl_buf_puts(b, tags_scm_javascript);
	} else if (!strcmp(lang, "typescript") || !strcmp(lang, "tsx")) {
		/* TypeScript's tags.scm covers only what JavaScript's does not */
		pl_buf_puts(b, tags_scm_javascript);
		pl_buf_puts(b, tags_scm_typescript);
	} else if (!strcmp(lang, "go")) {
		pl_buf_puts(b, tags_scm_go);
	} else if (!strcmp(lang, "rust")) {
		pl_buf_puts(b, tags_scm_rust);
		pl_buf_puts(b, extra_rust);
	}
}

uint32_t tools__tags_version(void)
{
	size_t n, i, k;
	const tools_lang *all = tools_langs(&n);
	uint32_t h = 2166136261u;

	for (i = 0; i < n; i++) {
		pl_buf q = PL_BUF_INIT;
		query_text(&q, all[i].name);
		pl_buf_puts(&q, all[i].version);
		for (k = 0; k < q.len; k++)
			h = (h ^ (uint8_t)q.ptr[k]) * 16777619u;
		pl_buf_release(&q);
	}
	return h;
}

static size_t lang_index(const tools_lang *l)
{
	size_t n;
	const tools_lang *all = tools_langs(&n);

	return (size_t)(l - all);
}

/* The compiled queries, per tools_langs() index, kept on the context. */
typedef struct queries {
	TSQuery *q[16];
	bool failed[16];
} queries;

static void queries_release(void *p)
{
	queries *qs = p;
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(qs->q); i++)
		if (qs->q[i])
			ts_query_delete(qs->q[i]);
	free(qs);
}

static const tools__state_kind queries_kind = { "tags queries", queries_release };

void tools__tags_prepare(tools_ctx *ctx)
{
	size_t n, i;
	const tools_lang *all = tools_langs(&n);
	queries *qs = tools__state_get(ctx, &queries_kind);

	if (!qs) {
		qs = pl_xcalloc(1, sizeof(*qs));
		tools__state_set(ctx, &queries_kind, qs);
	}
	for (i = 0; i < n && i < PL_ARRAY_LEN(qs->q); i++) {
		pl_buf q = PL_BUF_INIT;
		uint32_t off = 0;
		TSQueryError e = TSQueryErrorNone;
		if (qs->q[i] || qs->failed[i])
			continue;
		query_text(&q, all[i].name);
		qs->q[i] = ts_query_new(all[i].language(), q.ptr, (uint32_t)q.len, &off, &e);
		if (!qs->q[i]) {
			qs->failed[i] = true;
			pl_log_warn(ctx->log, "tags query for %s does not compile (error %d at offset %u)", all[i].name,
				    (int)e, off);
		}
		pl_buf_release(&q);
	}
}

void tools__tags_release(tools__tags *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* C and C++ name the declarator; the outline wants the whole function. */
static TSNode widen(TSNode n)
{
	TSNode p = n;
	int hops = 0;

	if (strcmp(ts_node_type(n), "function_declarator"))
		return n;
	while (hops++ < 6) {
		TSNode up = ts_node_parent(p);
		const char *t;
		if (ts_node_is_null(up))
			break;
		t = ts_node_type(up);
		if (!strcmp(t, "function_definition") || !strcmp(t, "declaration") || !strcmp(t, "field_declaration") ||
		    !strcmp(t, "template_declaration"))
			return up;
		if (strstr(t, "declarator") == NULL)
			break;
		p = up;
	}
	return n;
}

int tools__tags_extract(tools__tags *out, const tools_ctx *ctx, TSParser *parser, const char *path, const char *src,
			size_t len)
{
	const tools_lang *lang = tools_lang_for_path(path);
	const queries *qs = tools__state_get(ctx, &queries_kind);
	TSQuery *q;
	TSTree *tree;
	TSQueryCursor *cur;
	TSQueryMatch m;
	uint32_t last_def_name = UINT32_MAX;

	if (!lang || !qs || !(q = qs->q[lang_index(lang)]))
		return -1;
	if (!ts_parser_set_language(parser, lang->language()))
		return -1;
	tree = ts_parser_parse_string(parser, NULL, src, (uint32_t)len);
	if (!tree)
		return -1;
	{
		TSNode root = ts_tree_root_node(tree);
		out->errors = tools__tree_errors(&root, &out->err_first, &out->err_last);
	}
	cur = ts_query_cursor_new();
	ts_query_cursor_exec(cur, q, ts_tree_root_node(tree));
	while (ts_query_cursor_next_match(cur, &m)) {
		TSNode name = { 0 }, node = { 0 };
		const char *cap_kind = NULL;
		bool have_name = false, have_kind = false;
		uint16_t i;
		for (i = 0; i < m.capture_count; i++) {
			uint32_t cl;
			const char *cn = ts_query_capture_name_for_id(q, m.captures[i].index, &cl);
			if (cl == 4 && !memcmp(cn, "name", 4)) {
				name = m.captures[i].node;
				have_name = true;
			} else if ((cl > 11 && !memcmp(cn, "definition.", 11)) || (cl > 10 && !memcmp(cn, "reference.", 10))) {
				node = m.captures[i].node;
				cap_kind = cn;
				have_kind = true;
			}
		}
		if (!have_name || !have_kind)
			continue;
		{
			bool is_def = cap_kind[0] == 'd';
			uint32_t sb = ts_node_start_byte(name), eb = ts_node_end_byte(name);
			tools__tag *t;
			size_t k;
			if (eb <= sb || eb - sb > 200)
				continue;
			if (is_def) {
				/* one definition per name node (Rust methods match twice) */
				bool dup = false;
				if (sb == last_def_name)
					dup = true;
				for (k = out->n; !dup && k > 0 && out->v[k - 1].start_byte + 4096 > sb; k--)
					if (out->v[k - 1].is_def && out->v[k - 1].line == ts_node_start_point(name).row + 1 &&
					    out->v[k - 1].end_byte >= sb && !strncmp(out->v[k - 1].name, src + sb, eb - sb) &&
					    !out->v[k - 1].name[eb - sb])
						dup = true;
				if (dup)
					continue;
				last_def_name = sb;
				node = widen(node);
			}
			if (out->n == out->cap) {
				out->cap = out->cap ? out->cap * 2 : 64;
				out->v = pl_xrealloc(out->v, out->cap * sizeof(tools__tag));
			}
			t = &out->v[out->n++];
			t->name = pl_xstrndup(src + sb, eb - sb);
			snprintf(t->kind, sizeof(t->kind), "%s", strchr(cap_kind, '.') + 1);
			t->is_def = is_def;
			t->line = ts_node_start_point(name).row + 1;
			t->start_line = ts_node_start_point(node).row + 1;
			t->end_line = ts_node_end_point(node).row + 1;
			if (ts_node_end_point(node).column == 0 && t->end_line > t->start_line)
				t->end_line--;
			t->start_byte = ts_node_start_byte(node);
			t->end_byte = ts_node_end_byte(node);
		}
	}
	ts_query_cursor_delete(cur);
	ts_tree_delete(tree);
	return 0;
}
