/* code.c - code intelligence with tree-sitter: the outline, definition
 * and references tools, over the tags of tags.c. */
#define _GNU_SOURCE
#include "tools/internal.h"
#include "tools/ts.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ outline */

static int cmp_tag_pos(const void *a, const void *b)
{
	const tools__tag *x = a, *y = b;

	if (x->start_byte != y->start_byte)
		return x->start_byte < y->start_byte ? -1 : 1;
	return x->end_byte > y->end_byte ? -1 : x->end_byte < y->end_byte;
}

static int outline_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	pl_buf abs = PL_BUF_INIT, rel = PL_BUF_INIT, src = PL_BUF_INIT;
	tools__tags tags = { 0 };
	const tools_lang *lang;
	TSParser *parser = NULL;
	uint32_t stack[64];
	size_t depth = 0, i, defs = 0;
	json_t *items = json_array();
	int rc;

	if ((rc = tools__resolve(&abs, &rel, ctx, json_string_value(json_object_get(args, "path")), err)) < 0)
		goto done;
	if (!(lang = tools_lang_for_path(rel.ptr))) {
		rc = pl_err_set(err, PL_EUNSUPPORTED,
				"no grammar for '%s'; outline knows Python, C, C++, Java, JavaScript, TypeScript, TSX, Go and Rust files",
				rel.ptr);
		goto done;
	}
	if (!tools__read_source(&src, ctx, rel.ptr)) {
		rc = pl_err_set(err, pl_file_exists(abs.ptr) ? PL_EINVAL : PL_ENOTFOUND,
				pl_file_exists(abs.ptr) ? "'%s' is not a readable text file" : "'%s' does not exist", rel.ptr);
		goto done;
	}
	if ((rc = tools_ts_load(err)) < 0)
		goto done;
	tools__tags_prepare(ctx);
	parser = ts_parser_new();
	if (tools__tags_extract(&tags, ctx, parser, rel.ptr, src.ptr, src.len) < 0) {
		rc = pl_err_set(err, PL_EINTERNAL, "the %s tags query is not available", lang->name);
		goto done;
	}
	if (tags.n)
		qsort(tags.v, tags.n, sizeof(tools__tag), cmp_tag_pos);
	for (i = 0; i < tags.n; i++) {
		tools__tag *t = &tags.v[i];
		json_t *o;
		if (!t->is_def)
			continue;
		while (depth && t->start_byte >= stack[depth - 1])
			depth--;
		if (obs->text.len < ctx->max_output) {
			pl_buf_printf(&obs->text, "%*s%s %s  [%u-%u]\n", (int)depth * 2, "", t->kind, t->name, t->start_line,
				      t->end_line);
		} else
			obs->truncated = true;
		o = json_object();
		pl_json_set(o, "name", json_string(t->name));
		pl_json_set(o, "kind", json_string(t->kind));
		pl_json_set(o, "start_line", json_integer(t->start_line));
		pl_json_set(o, "end_line", json_integer(t->end_line));
		pl_json_set(o, "depth", json_integer((json_int_t)depth));
		json_array_append_new(items, o);
		if (depth < PL_ARRAY_LEN(stack))
			stack[depth++] = t->end_byte;
		defs++;
	}
	if (!defs)
		pl_buf_printf(&obs->text, "No classes, functions or other definitions found in '%s'.\n", rel.ptr);
	if (obs->truncated)
		pl_buf_puts(&obs->text, "[outline truncated; view parts of the file with view_range]\n");
	{
		/* from the tree the tags came from: no second parse */
		if (tags.errors > 0)
			pl_buf_printf(&obs->text, "[note: the file has syntax errors (first at lines %d-%d); the outline may be incomplete]\n",
				      tags.err_first, tags.err_last);
	}
	pl_json_set(obs->data, "language", json_string(lang->name));
	pl_json_set(obs->data, "definitions", json_incref(items));
done:
	json_decref(items);
	if (parser)
		ts_parser_delete(parser);
	tools__tags_release(&tags);
	pl_buf_release(&abs);
	pl_buf_release(&rel);
	pl_buf_release(&src);
	return rc;
}

const tools_def tools__def_outline = {
	"outline",
	"List the classes, functions, methods and other definitions of one source file with their line "
	"ranges, nested as in the code (a method under its class). Use it to find your way in a large file "
	"before viewing parts of it with view_range. Works for Python, C, C++, Java, JavaScript, TypeScript, "
	"TSX, Go and Rust.",
	"{\"type\":\"object\",\"properties\":{"
	"\"path\":{\"type\":\"string\",\"description\":\"source file, relative to the repository root\"}},"
	"\"required\":[\"path\"],\"additionalProperties\":false}",
	outline_run,
};

/* ------------------------------------------------------------ definition / references */

typedef struct sym_job {
	tools_ctx *ctx;
	char **files;
	const char *name;      /* last component of the symbol */
	const char *qualifier; /* "" or the enclosing definition's name */
	bool refs;             /* references (else definitions) */
	pl_buf *out;           /* per file: formatted lines */
	size_t *count;         /* per file: hits */
	TSParser *parsers[TOOLS__MAX_THREADS];
	pl_buf bufs[TOOLS__MAX_THREADS];
} sym_job;

static bool ident_like(const char *type)
{
	return strstr(type, "identifier") || !strcmp(type, "constant") || !strcmp(type, "name") ||
	       !strcmp(type, "type") || !strcmp(type, "field_identifier");
}

static void add_src_line(pl_buf *b, const char *src, size_t len, uint32_t line)
{
	size_t off = 0, cur = 1, e;

	while (cur < line && off < len) {
		const char *nl = memchr(src + off, '\n', len - off);
		if (!nl)
			return;
		off = (size_t)(nl - src) + 1;
		cur++;
	}
	for (e = off; e < len && src[e] != '\n'; e++)
		;
	if (e > off && src[e - 1] == '\r')
		e--;
	while (off < e && (src[off] == ' ' || src[off] == '\t'))
		off++;
	if (e - off > 200)
		e = off + 200;
	tools__add_text(b, src + off, e - off);
}

static void sym_file(size_t i, void *arg, int w)
{
	sym_job *j = arg;
	pl_buf *src = &j->bufs[w];
	tools__tags tags = { 0 };
	const char *rel = j->files[i];
	size_t k;

	if (!tools_lang_for_path(rel) || !tools__read_source(src, j->ctx, rel) ||
	    !memmem(src->ptr, src->len, j->name, strlen(j->name)))
		return;
	if (tools__tags_extract(&tags, j->ctx, j->parsers[w], rel, src->ptr, src->len) < 0)
		return;
	if (!j->refs) {
		for (k = 0; k < tags.n; k++) {
			tools__tag *t = &tags.v[k];
			if (!t->is_def || strcmp(t->name, j->name))
				continue;
			if (*j->qualifier) {
				size_t q;
				bool inside = false;
				for (q = 0; q < tags.n && !inside; q++)
					inside = tags.v[q].is_def && q != k && !strcmp(tags.v[q].name, j->qualifier) &&
						 tags.v[q].start_byte <= t->start_byte && tags.v[q].end_byte >= t->end_byte;
				if (!inside)
					continue;
			}
			pl_buf_printf(&j->out[i], "%s:%u-%u %s %s: ", rel, t->start_line, t->end_line, t->kind, t->name);
			add_src_line(&j->out[i], src->ptr, src->len, t->line);
			pl_buf_putc(&j->out[i], '\n');
			j->count[i]++;
		}
	} else {
		/* every identifier leaf spelled like the symbol, outside comments and strings */
		const tools_lang *lang = tools_lang_for_path(rel);
		TSTree *tree;
		TSTreeCursor c;
		size_t nlen = strlen(j->name);
		ts_parser_set_language(j->parsers[w], lang->language());
		tree = ts_parser_parse_string(j->parsers[w], NULL, src->ptr, (uint32_t)src->len);
		if (!tree)
			goto out;
		c = ts_tree_cursor_new(ts_tree_root_node(tree));
		for (;;) {
			TSNode n = ts_tree_cursor_current_node(&c);
			uint32_t sb = ts_node_start_byte(n), eb = ts_node_end_byte(n);
			bool into = eb - sb >= nlen && memmem(src->ptr + sb, eb - sb, j->name, nlen);
			if (into && ts_node_child_count(n) == 0) {
				if (eb - sb == nlen && ident_like(ts_node_type(n))) {
					uint32_t line = ts_node_start_point(n).row + 1;
					bool is_def = false;
					for (k = 0; k < tags.n; k++)
						if (tags.v[k].is_def && tags.v[k].line == line && !strcmp(tags.v[k].name, j->name))
							is_def = true;
					pl_buf_printf(&j->out[i], "%s:%u:%s ", rel, line, is_def ? " (definition)" : "");
					add_src_line(&j->out[i], src->ptr, src->len, line);
					pl_buf_putc(&j->out[i], '\n');
					j->count[i]++;
				}
				into = false;
			}
			if (into && ts_tree_cursor_goto_first_child(&c))
				continue;
			while (!ts_tree_cursor_goto_next_sibling(&c))
				if (!ts_tree_cursor_goto_parent(&c))
					goto walked;
		}
walked:
		ts_tree_cursor_delete(&c);
		ts_tree_delete(tree);
	}
out:
	tools__tags_release(&tags);
}

static int symbol_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, bool refs, pl_err *err)
{
	const char *symbol = json_string_value(json_object_get(args, "symbol"));
	const char *path = json_string_value(json_object_get(args, "path"));
	json_int_t max_results = refs ? 100 : 30;
	pl_buf rel = PL_BUF_INIT, abs = PL_BUF_INIT, qual = PL_BUF_INIT;
	sym_job j;
	char **files = NULL;
	size_t nfiles = 0, i, total = 0, shown = 0, files_hit = 0;
	const char *sep;
	int rc = 0, w;

	memset(&j, 0, sizeof(j));
	if (json_is_integer(json_object_get(args, "max_results")))
		max_results = json_integer_value(json_object_get(args, "max_results"));
	/* "Class.method" / "mod::func": the last part, inside the one before */
	sep = NULL;
	{
		const char *p;
		for (p = symbol; *p; p++)
			if (*p == '.' || (*p == ':' && p[1] == ':') || (*p == '#'))
				sep = p;
	}
	if (sep) {
		const char *qs = sep;
		while (qs > symbol && qs[-1] != '.' && qs[-1] != ':' && qs[-1] != '#')
			qs--;
		pl_buf_add(&qual, qs, (size_t)(sep - qs));
		j.name = sep + 1;
		if (*sep == ':')
			j.name++;
	} else
		j.name = symbol;
	if (!*j.name || strspn(j.name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$") != strlen(j.name)) {
		rc = pl_err_set(err, PL_EINVAL, "symbol '%s' is not an identifier (give a name like parse_args, or Class.method)",
				symbol);
		goto done;
	}
	if (path && *path) {
		if ((rc = tools__resolve(&abs, &rel, ctx, path, err)) < 0)
			goto done;
		if (!pl_file_exists(abs.ptr) && !pl_dir_exists(abs.ptr)) {
			rc = pl_err_set(err, PL_ENOTFOUND, "path '%s' does not exist", path);
			goto done;
		}
		if (!pl_dir_exists(abs.ptr)) {
			files = pl_xmalloc(sizeof(char *));
			files[0] = pl_xstrdup(rel.ptr);
			nfiles = 1;
		}
	}
	if (!files && (rc = tools__list_files(&files, &nfiles, ctx, rel.len && strcmp(rel.ptr, ".") ? rel.ptr : "", err)) < 0)
		goto done;
	if ((rc = tools_ts_load(err)) < 0)
		goto done;
	tools__tags_prepare(ctx);
	j.ctx = ctx;
	j.files = files;
	j.qualifier = qual.ptr;
	j.refs = refs;
	j.out = pl_xcalloc(nfiles ? nfiles : 1, sizeof(pl_buf));
	j.count = pl_xcalloc(nfiles ? nfiles : 1, sizeof(size_t));
	for (w = 0; w < TOOLS__MAX_THREADS; w++) {
		j.parsers[w] = ts_parser_new();
		pl_buf_init(&j.bufs[w], 0);
	}
	for (i = 0; i < nfiles; i++)
		pl_buf_init(&j.out[i], 0);
	tools__parallel(nfiles, 0, sym_file, &j);
	for (i = 0; i < nfiles; i++) {
		if (!j.count[i])
			continue;
		total += j.count[i];
		files_hit++;
		if (shown < (size_t)max_results) {
			/* whole lines, up to the cap */
			const char *p = j.out[i].ptr, *e = p + j.out[i].len;
			while (p < e && shown < (size_t)max_results) {
				const char *nl = memchr(p, '\n', (size_t)(e - p));
				pl_buf_add(&obs->text, p, (size_t)(nl - p) + 1);
				p = nl + 1;
				shown++;
			}
		}
	}
	if (!total)
		pl_buf_printf(&obs->text, "No %s of '%s' found in %zu files. Try `search` with a regular expression.\n",
			      refs ? "reference" : "definition", symbol, nfiles);
	else if (shown < total) {
		pl_buf_printf(&obs->text, "[%zu in %zu files; %zu not shown: give path to narrow]\n", total, files_hit,
			      total - shown);
		obs->truncated = true;
	}
	pl_json_set(obs->data, "count", json_integer((json_int_t)total));
	pl_json_set(obs->data, "files", json_integer((json_int_t)files_hit));
done:
	for (w = 0; w < TOOLS__MAX_THREADS; w++) {
		if (j.parsers[w])
			ts_parser_delete(j.parsers[w]);
		pl_buf_release(&j.bufs[w]);
	}
	for (i = 0; j.out && i < nfiles; i++)
		pl_buf_release(&j.out[i]);
	free(j.out);
	free(j.count);
	tools__free_list(files, nfiles);
	pl_buf_release(&rel);
	pl_buf_release(&abs);
	pl_buf_release(&qual);
	return rc;
}

static int definition_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	return symbol_run(obs, ctx, args, false, err);
}

static int references_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	return symbol_run(obs, ctx, args, true, err);
}

const tools_def tools__def_definition = {
	"definition",
	"Find where a symbol (class, function, method, type, macro...) is defined across the repository, "
	"parsed with tree-sitter: one line per definition with its file, line range, kind and first line. "
	"Qualify a method as Class.method (or mod::func) to keep only the one inside that class.",
	"{\"type\":\"object\",\"properties\":{"
	"\"symbol\":{\"type\":\"string\",\"description\":\"name, or Class.method\"},"
	"\"path\":{\"type\":\"string\",\"description\":\"directory or file to look in (default: the whole repository)\"},"
	"\"max_results\":{\"type\":\"integer\",\"minimum\":1}},"
	"\"required\":[\"symbol\"],\"additionalProperties\":false}",
	definition_run,
};

const tools_def tools__def_references = {
	"references",
	"Find every use of a symbol across the repository: identifiers spelled exactly like it in parsed "
	"source code (comments and strings excluded), one per line as `path:line: code`, definitions marked. "
	"Use before renaming or changing a function's signature.",
	"{\"type\":\"object\",\"properties\":{"
	"\"symbol\":{\"type\":\"string\",\"description\":\"identifier to look for\"},"
	"\"path\":{\"type\":\"string\",\"description\":\"directory or file to look in (default: the whole repository)\"},"
	"\"max_results\":{\"type\":\"integer\",\"minimum\":1}},"
	"\"required\":[\"symbol\"],\"additionalProperties\":false}",
	references_run,
};
