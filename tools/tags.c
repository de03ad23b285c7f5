/* tags.c - definitions and references (tags) from each grammar's
 * queries/tags.scm plus plait's own additions, the ground the code tools
 * and repo_map stand on. */
#define _GNU_SOURCE
#include "tools/internal.h"
#include "tools/ts.h"

#include <pthread.h>
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
	"(type_identifier) @name @reference.type\n"
	"(union_specifier name: (type_identifier) @name body: (_)) @definition.class\n";
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

/* The compiled queries, per tools_langs() index, kept on the context:
 * the whole tags query, and its definition patterns alone (the outline and
 * `definition` need no references, and a large file has many).  Each is
 * compiled when a file first needs it: ts_query_new is slow (the C++ query
 * takes longer to compile than most files take to parse), and compiling
 * every language's two queries up front cost an outline of one Python file
 * or a repo_map of a Python tree several hundred milliseconds of CPU. */
typedef struct queries {
	pthread_mutex_t mu; /* compiling, and reading what is compiled */
	TSQuery *q[16], *defs[16];
	bool failed[16], defs_failed[16];
} queries;

static void queries_release(void *p)
{
	queries *qs = p;
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(qs->q); i++) {
		if (qs->q[i])
			ts_query_delete(qs->q[i]);
		if (qs->defs[i])
			ts_query_delete(qs->defs[i]);
	}
	pthread_mutex_destroy(&qs->mu);
	free(qs);
}

static const tools__state_kind queries_kind = { "tags queries", queries_release };

/* The top-level patterns of a query that capture a definition: a pattern
 * runs from a bracket at depth 0 to the next one (its captures and
 * quantifiers after it), comments and strings skipped. */
static void definition_patterns(pl_buf *out, const char *q)
{
	const char *p = q, *start = NULL;
	int depth = 0;

	for (;;) {
		char c = *p;
		if (!c || (depth == 0 && (c == '(' || c == '['))) {
			if (start) {
				size_t n = (size_t)(p - start);
				if (memmem(start, n, "@definition.", 12)) {
					pl_buf_add(out, start, n);
					pl_buf_putc(out, '\n');
				}
			}
			if (!c)
				break;
			start = p;
		}
		if (c == ';') {
			while (*p && *p != '\n')
				p++;
			continue;
		}
		if (c == '"') {
			for (p++; *p && *p != '"'; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p)
				p++;
			continue;
		}
		if (c == '(' || c == '[')
			depth++;
		else if ((c == ')' || c == ']') && depth > 0)
			depth--;
		p++;
	}
}

void tools__tags_prepare(tools_ctx *ctx)
{
	queries *qs = tools__state_get(ctx, &queries_kind);

	if (!qs) {
		qs = pl_xcalloc(1, sizeof(*qs));
		pthread_mutex_init(&qs->mu, NULL);
		tools__state_set(ctx, &queries_kind, qs);
	}
}

/* The query for language i (the definition patterns alone when
 * defs_only, falling back to the whole query when those do not compile),
 * compiled on first use; NULL when it does not compile.  Under qs->mu. */
static TSQuery *query_for(queries *qs, const tools_ctx *ctx, size_t i, bool defs_only)
{
	const tools_lang *all;
	size_t n;
	uint32_t off = 0;
	TSQueryError e = TSQueryErrorNone;

	all = tools_langs(&n);
	if (i >= n || i >= PL_ARRAY_LEN(qs->q))
		return NULL;
	if (defs_only && !qs->defs[i] && !qs->defs_failed[i]) {
		pl_buf q = PL_BUF_INIT, d = PL_BUF_INIT;
		query_text(&q, all[i].name);
		definition_patterns(&d, q.ptr);
		qs->defs[i] = ts_query_new(all[i].language(), d.ptr, (uint32_t)d.len, &off, &e);
		/* without it, the whole query serves (slower, same answers) */
		qs->defs_failed[i] = !qs->defs[i];
		pl_buf_release(&q);
		pl_buf_release(&d);
	}
	if (defs_only && qs->defs[i])
		return qs->defs[i];
	if (!qs->q[i] && !qs->failed[i]) {
		pl_buf q = PL_BUF_INIT;
		query_text(&q, all[i].name);
		qs->q[i] = ts_query_new(all[i].language(), q.ptr, (uint32_t)q.len, &off, &e);
		if (!qs->q[i]) {
			qs->failed[i] = true;
			pl_log_warn(ctx->log, "tags query for %s does not compile (error %d at offset %u)", all[i].name,
				    (int)e, off);
		}
		pl_buf_release(&q);
	}
	return qs->q[i];
}

void tools__tags_release(tools__tags *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].receiver);
	}
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

/* The kind a definition node's own type says more precisely than the
 * capture (tags.scm files call a C struct, a Rust enum and a Java record
 * all "class"). */
static const char *kind_of_node(TSNode node)
{
	static const struct {
		const char *type, *kind;
	} map[] = {
		{ "struct_specifier", "struct" },   { "union_specifier", "union" },	{ "enum_specifier", "enum" },
		{ "class_specifier", "class" },	    { "struct_item", "struct" },	{ "enum_item", "enum" },
		{ "union_item", "union" },	    { "trait_item", "trait" },	{ "enum_declaration", "enum" },
		{ "record_declaration", "record" }, { "interface_declaration", "interface" },
	};
	const char *t = ts_node_type(node);
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(map); i++)
		if (!strcmp(t, map[i].type))
			return map[i].kind;
	if (!strcmp(t, "type_spec")) { /* Go: type X struct {...} */
		TSNode ty = ts_node_child_by_field_name(node, "type", 4);
		if (!ts_node_is_null(ty) && !strcmp(ts_node_type(ty), "struct_type"))
			return "struct";
		if (!ts_node_is_null(ty) && !strcmp(ts_node_type(ty), "interface_type"))
			return "interface";
	}
	return NULL;
}

/* Go: the type a method is declared on, `func (w *Walker) Step()`. */
static char *go_receiver(TSNode node, const char *src)
{
	TSNode recv = ts_node_child_by_field_name(node, "receiver", 8);
	TSTreeCursor cur;
	char *out = NULL;

	if (ts_node_is_null(recv))
		return NULL;
	cur = ts_tree_cursor_new(recv);
	for (;;) {
		TSNode n = ts_tree_cursor_current_node(&cur);
		if (!strcmp(ts_node_type(n), "type_identifier")) {
			uint32_t sb = ts_node_start_byte(n), eb = ts_node_end_byte(n);
			if (eb > sb && eb - sb < 200)
				out = pl_xstrndup(src + sb, eb - sb);
			break;
		}
		if (ts_tree_cursor_goto_first_child(&cur))
			continue;
		while (!ts_tree_cursor_goto_next_sibling(&cur))
			if (!ts_tree_cursor_goto_parent(&cur))
				goto done;
	}
done:
	ts_tree_cursor_delete(&cur);
	return out;
}

static int cmp_def_pos(const void *a, const void *b, void *arg)
{
	const tools__tag *v = arg;
	const tools__tag *x = &v[*(const uint32_t *)a], *y = &v[*(const uint32_t *)b];

	if (x->start_byte != y->start_byte)
		return x->start_byte < y->start_byte ? -1 : 1;
	return x->end_byte > y->end_byte ? -1 : x->end_byte < y->end_byte;
}

/* Each definition's enclosing definition (a stack sweep over the
 * definitions in source order), and "method" for a function defined in a
 * class (Python's tags.scm calls both "function"). */
static void link_parents(tools__tags *out)
{
	uint32_t *idx = pl_xmalloc((out->n + 1) * sizeof(uint32_t)), *stack = pl_xmalloc((out->n + 1) * sizeof(uint32_t));
	size_t n = 0, depth = 0, i;

	for (i = 0; i < out->n; i++) {
		out->v[i].parent = -1;
		if (out->v[i].is_def)
			idx[n++] = (uint32_t)i;
	}
	if (n)
		qsort_r(idx, n, sizeof(uint32_t), cmp_def_pos, out->v);
	for (i = 0; i < n; i++) {
		tools__tag *t = &out->v[idx[i]];
		while (depth && out->v[stack[depth - 1]].end_byte <= t->start_byte)
			depth--;
		if (depth) {
			const tools__tag *p = &out->v[stack[depth - 1]];
			t->parent = (int32_t)stack[depth - 1];
			if (!strcmp(t->kind, "function") &&
			    (!strcmp(p->kind, "class") || !strcmp(p->kind, "struct") || !strcmp(p->kind, "interface") ||
			     !strcmp(p->kind, "trait") || !strcmp(p->kind, "impl")))
				snprintf(t->kind, sizeof(t->kind), "method");
		}
		stack[depth++] = idx[i];
	}
	free(idx);
	free(stack);
}

uint32_t tools__tag_show_line(const tools__tag *t, const char *src, size_t len)
{
	size_t off = t->name_byte < len ? t->name_byte : len;

	while (off > 0 && src[off - 1] != '\n')
		off--;
	while (off < len && (src[off] == ' ' || src[off] == '\t'))
		off++;
	/* `} vec_t;` names a typedef but says nothing: its first line does */
	if (off < len && strchr("})]", src[off]) && t->start_line < t->line)
		return t->start_line;
	return t->line;
}

int tools__tags_extract(tools__tags *out, const tools_ctx *ctx, TSParser *parser, const char *path, const char *src,
			size_t len, bool defs_only)
{
	const tools_lang *lang = tools_lang_for_path(path);
	queries *qs = tools__state_get(ctx, &queries_kind);
	TSQuery *q;
	TSTree *tree;
	TSQueryCursor *cur;
	TSQueryMatch m;
	uint32_t last_def_name = UINT32_MAX;

	if (!lang || !qs)
		return -1;
	pthread_mutex_lock(&qs->mu);
	q = query_for(qs, ctx, lang_index(lang), defs_only);
	pthread_mutex_unlock(&qs->mu);
	if (!q)
		return -1;
	if (tools__too_deep(src, len))
		return -2;
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
		if (!have_name || !have_kind || (defs_only && cap_kind[0] != 'd'))
			continue;
		{
			bool is_def = cap_kind[0] == 'd';
			const char *refined;
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
			memset(t, 0, sizeof(*t));
			t->name = pl_xstrndup(src + sb, eb - sb);
			snprintf(t->kind, sizeof(t->kind), "%s", strchr(cap_kind, '.') + 1);
			if (is_def && (refined = kind_of_node(node)))
				snprintf(t->kind, sizeof(t->kind), "%s", refined);
			if (is_def && !strcmp(ts_node_type(node), "method_declaration") && !strcmp(lang->name, "go"))
				t->receiver = go_receiver(node, src);
			t->is_def = is_def;
			t->line = ts_node_start_point(name).row + 1;
			t->name_byte = sb;
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
	link_parents(out);
	return 0;
}
