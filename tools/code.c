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

/* One file's definitions, nested by indentation, while they fit in room
 * bytes of text; all of them into items (when not NULL).  Sorts the tags
 * (their parent indices no longer hold). */
static size_t outline_tags(pl_buf *text, json_t *items, tools__tags *tags, int indent, size_t room, bool *cut,
			   uint32_t *last_line)
{
	uint32_t stack[64];
	size_t depth = 0, i, defs = 0;

	if (tags->n)
		qsort(tags->v, tags->n, sizeof(tools__tag), cmp_tag_pos);
	for (i = 0; i < tags->n; i++) {
		tools__tag *t = &tags->v[i];
		if (!t->is_def)
			continue;
		while (depth && t->start_byte >= stack[depth - 1])
			depth--;
		if (!*cut && text->len + strlen(t->name) + 40 + depth * 2 < room) {
			pl_buf_printf(text, "%*s%s %s  [%u-%u]\n", (int)depth * 2 + indent, "", t->kind, t->name, t->start_line,
				      t->end_line);
			if (last_line)
				*last_line = t->start_line;
		} else
			*cut = true;
		if (items) {
			json_t *o = json_object();
			pl_json_set(o, "name", json_string(t->name));
			pl_json_set(o, "kind", json_string(t->kind));
			pl_json_set(o, "start_line", json_integer(t->start_line));
			pl_json_set(o, "end_line", json_integer(t->end_line));
			pl_json_set(o, "depth", json_integer((json_int_t)depth));
			json_array_append_new(items, o);
		}
		if (depth < PL_ARRAY_LEN(stack))
			stack[depth++] = t->end_byte;
		defs++;
	}
	return defs;
}

typedef struct dir_job {
	tools_ctx *ctx;
	char **files;
	tools__tags *tags; /* per file */
	signed char *parsed;
	TSParser *parsers[TOOLS__MAX_THREADS];
	pl_buf bufs[TOOLS__MAX_THREADS];
} dir_job;

static void dir_file(size_t i, void *arg, int w)
{
	dir_job *j = arg;
	int rc = -1;

	if (tools__read_source(&j->bufs[w], j->ctx, j->files[i]))
		rc = tools__tags_extract(&j->tags[i], j->ctx, j->parsers[w], j->files[i], j->bufs[w].ptr, j->bufs[w].len,
					 true);
	/* 1 parsed, 0 not a readable text file, -2 nested too deep */
	j->parsed[i] = rc == 0 ? 1 : rc == -2 ? -2 : 0;
}

/* A directory: the outline of each source file under it, in path order,
 * as far as the cap allows. */
static int outline_dir(tools_obs *obs, tools_ctx *ctx, const char *rel, pl_err *err)
{
	dir_job j;
	char **all = NULL;
	size_t nall = 0, n = 0, i, shown = 0, room = ctx->max_output > 800 ? ctx->max_output - 400 : ctx->max_output / 2;
	bool cut = false;
	json_t *files = json_array();
	int rc, w;

	memset(&j, 0, sizeof(j));
	if ((rc = tools__list_files(&all, &nall, ctx, strcmp(rel, ".") ? rel : "", err)) < 0)
		goto done;
	j.files = pl_xcalloc(nall + 1, sizeof(char *));
	for (i = 0; i < nall; i++)
		if (tools_lang_for_path(all[i]))
			j.files[n++] = all[i];
	if (!n) {
		pl_buf_printf(&obs->text,
			      "'%s' is a directory without Python, C, C++, Java, JavaScript, TypeScript, TSX, Go or Rust "
			      "files (%zu files in all); `find` lists its files and `view` shows them.\n",
			      rel, nall);
		goto done;
	}
	if ((rc = tools_ts_load(err)) < 0)
		goto done;
	tools__tags_prepare(ctx);
	j.ctx = ctx;
	j.tags = pl_xcalloc(n, sizeof(tools__tags));
	j.parsed = pl_xcalloc(n, sizeof(*j.parsed));
	for (w = 0; w < TOOLS__MAX_THREADS; w++) {
		j.parsers[w] = ts_parser_new();
		pl_buf_init(&j.bufs[w], 0);
	}
	tools__parallel(n, 0, dir_file, &j);
	pl_buf_printf(&obs->text, "Outline of the %zu source files under %s:\n", n, rel);
	for (i = 0; i < n; i++) {
		json_t *o = json_object();
		size_t before = obs->text.len, defs;
		bool file_cut = cut;
		if (!cut && obs->text.len + strlen(j.files[i]) + 64 < room) {
			pl_buf_printf(&obs->text, "%s:\n", j.files[i]);
			defs = outline_tags(&obs->text, NULL, &j.tags[i], 2, room, &file_cut, NULL);
			if (!defs)
				pl_buf_puts(&obs->text, j.parsed[i] == 1 ? "  (no definitions)\n"
							: j.parsed[i] ? "  (not parsed: brackets nested too deep)\n"
								      : "  (not a readable text file)\n");
			if (file_cut && obs->text.len == before + strlen(j.files[i]) + 2)
				pl_buf_setlen(&obs->text, before); /* not even its first definition fitted */
			else
				shown++;
			cut = file_cut;
		} else {
			cut = true;
			defs = outline_tags(&obs->text, NULL, &j.tags[i], 2, 0, &file_cut, NULL);
		}
		pl_json_set(o, "path", json_string(j.files[i]));
		pl_json_set(o, "definitions", json_integer((json_int_t)defs));
		json_array_append_new(files, o);
	}
	if (cut) {
		pl_buf_printf(&obs->text,
			      "[outline cut after %zu of %zu files: outline one file or a subdirectory, or use repo_map for the "
			      "most relevant definitions]\n",
			      shown, n);
		obs->truncated = true;
	}
	pl_json_set(obs->data, "files", json_incref(files));
done:
	for (w = 0; w < TOOLS__MAX_THREADS; w++) {
		if (j.parsers[w])
			ts_parser_delete(j.parsers[w]);
		pl_buf_release(&j.bufs[w]);
	}
	for (i = 0; j.tags && i < n; i++)
		tools__tags_release(&j.tags[i]);
	free(j.tags);
	free(j.parsed);
	free(j.files);
	tools__free_list(all, nall);
	json_decref(files);
	return rc;
}

/* A large file's outline shows its first few hundred definitions (the
 * cap), but parsing all of it took seconds (4.3 MB: 2.7 s).  So a file
 * over OUTLINE_WHOLE bytes is parsed from its start only as far as needed:
 * up to a line that starts a top-level statement (column 0, a letter, '_',
 * '@' or '#') past OUTLINE_PREFIX bytes, growing fourfold until the
 * outline fills the cap; a prefix that does not parse cleanly (the cut
 * fell inside a comment, a string or a block) grows too, up to the whole
 * file. */
#define OUTLINE_WHOLE (1u << 20)
#define OUTLINE_PREFIX (128u << 10)

static size_t cut_point(const char *s, size_t n, size_t from)
{
	const char *p = s + from, *e = s + n;

	while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) && ++p < e)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == '@' || *p == '#')
			return (size_t)(p - s);
	return n;
}

static int outline_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	pl_buf abs = PL_BUF_INIT, rel = PL_BUF_INIT, src = PL_BUF_INIT;
	tools__tags tags = { 0 };
	const tools_lang *lang;
	TSParser *parser = NULL;
	size_t defs, room = ctx->max_output > 800 ? ctx->max_output - 400 : ctx->max_output / 2;
	json_t *items = json_array();
	uint32_t last_line = 0;
	size_t parsed = 0;
	bool cut = false;
	int rc;

	if ((rc = tools__resolve(&abs, &rel, ctx, json_string_value(json_object_get(args, "path")), err)) < 0)
		goto done;
	if (pl_dir_exists(abs.ptr)) {
		rc = outline_dir(obs, ctx, rel.ptr, err);
		goto done;
	}
	if (!(lang = tools_lang_for_path(rel.ptr))) {
		rc = pl_err_set(err, PL_EUNSUPPORTED,
				"no grammar for '%s'; outline knows Python, C, C++, Java, JavaScript, TypeScript, TSX, Go and Rust "
				"files (use view for others)",
				rel.ptr);
		goto done;
	}
	if ((rc = tools__read_named(&src, ctx, rel.ptr, TOOLS__NO_SYMLINKS, 64u << 20, err)) < 0)
		goto done;
	if (tools__is_binary(src.ptr, src.len)) {
		rc = pl_err_set(err, PL_EINVAL, "'%s' is not a readable text file", rel.ptr);
		goto done;
	}
	if ((rc = tools_ts_load(err)) < 0)
		goto done;
	tools__tags_prepare(ctx);
	parser = ts_parser_new();
	parsed = src.len > OUTLINE_WHOLE ? cut_point(src.ptr, src.len, OUTLINE_PREFIX) : src.len;
	for (;;) {
		int got = tools__tags_extract(&tags, ctx, parser, rel.ptr, src.ptr, parsed, true);
		if (got == -2) {
			rc = pl_err_set(err, PL_EUNSUPPORTED,
					"'%s' nests brackets more than %d deep, which is not parsed (the tree-sitter runtime "
					"fails on such input); use view or search on it",
					rel.ptr, TOOLS__MAX_NESTING);
			goto done;
		}
		if (got < 0) {
			rc = pl_err_set(err, PL_EINTERNAL, "the %s tags query is not available", lang->name);
			goto done;
		}
		defs = outline_tags(&obs->text, items, &tags, 0, room, &cut, &last_line);
		if (parsed == src.len || (cut && !tags.errors))
			break;
		/* not enough to fill the cap, or a cut that broke the parse */
		tools__tags_release(&tags);
		pl_buf_reset(&obs->text);
		json_array_clear(items);
		cut = false;
		parsed = parsed < src.len / 4 ? cut_point(src.ptr, src.len, parsed * 4) : src.len;
	}
	if (!defs)
		pl_buf_printf(&obs->text, "No classes, functions or other definitions found in '%s'.\n", rel.ptr);
	if (cut && parsed < src.len) {
		pl_buf_printf(&obs->text,
			      "[outline cut: the definitions starting after line %u are not shown: view_range [%u, -1] shows that "
			      "part of the file, `definition` finds a name]\n",
			      last_line, last_line + 1);
		obs->truncated = true;
	} else if (cut) {
		pl_buf_printf(&obs->text,
			      "[outline cut: %zu definitions in all, those starting after line %u not shown: view_range [%u, -1] "
			      "shows that part of the file, `definition` finds a name]\n",
			      defs, last_line, last_line + 1);
		obs->truncated = true;
	}
	/* from the tree the tags came from: no second parse */
	if (tags.errors > 0)
		pl_buf_printf(&obs->text, "[note: the file has syntax errors (first at lines %d-%d); the outline may be incomplete]\n",
			      tags.err_first, tags.err_last);
	pl_json_set(obs->data, "language", json_string(lang->name));
	pl_json_set(obs->data, "definitions", json_incref(items));
	/* false: a large file parsed only as far as the outline reaches,
	 * and definitions lists that part */
	pl_json_set(obs->data, "complete", json_boolean(parsed == src.len));
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
	"ranges, nested as in the code (a method under its class); for a directory, of each source file under "
	"it. Use it to find your way in a large file before viewing parts of it with view_range. Works for "
	"Python, C, C++, Java, JavaScript, TypeScript, TSX, Go and Rust.",
	"{\"type\":\"object\",\"properties\":{"
	"\"path\":{\"type\":\"string\",\"description\":\"source file or directory, relative to the repository root\"}},"
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

/* Is the definition t inside (or, for Go, declared on) the qualifier? */
static bool def_in(const tools__tags *tags, const tools__tag *t, const char *qualifier)
{
	return (t->parent >= 0 && !strcmp(tags->v[t->parent].name, qualifier)) ||
	       (t->receiver && !strcmp(t->receiver, qualifier));
}

/* The definition tag whose name is on `line`, or NULL. */
static const tools__tag *def_on_line(const tools__tags *tags, const char *name, uint32_t line)
{
	size_t k;

	for (k = 0; k < tags->n; k++)
		if (tags->v[k].is_def && tags->v[k].line == line && !strcmp(tags->v[k].name, name))
			return &tags->v[k];
	return NULL;
}

/* x.name, x->name, X::name, x?.name: a member of some object, which a
 * qualified symbol can be (a bare name is a local or another function). */
static bool member_access(TSNode n)
{
	TSNode prev = ts_node_prev_sibling(n);
	const char *t;

	if (ts_node_is_null(prev))
		return false;
	t = ts_node_type(prev);
	return !strcmp(t, ".") || !strcmp(t, "->") || !strcmp(t, "::") || !strcmp(t, "?.");
}

/* A bare call inside the qualifier's own definition: Java's and C++'s
 * implicit this. */
static bool call_inside(const tools__tags *tags, TSNode n, const char *qualifier)
{
	TSNode parent = ts_node_parent(n);
	uint32_t sb = ts_node_start_byte(n);
	const char *pt;
	size_t k;

	if (ts_node_is_null(parent))
		return false;
	pt = ts_node_type(parent);
	if (!strstr(pt, "call") && !strstr(pt, "invocation"))
		return false;
	for (k = 0; k < tags->n; k++)
		if (tags->v[k].is_def && !strcmp(tags->v[k].name, qualifier) && tags->v[k].start_byte <= sb &&
		    tags->v[k].end_byte > sb)
			return true;
	return false;
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
	if (tools__tags_extract(&tags, j->ctx, j->parsers[w], rel, src->ptr, src->len, true) < 0)
		return;
	if (!j->refs) {
		for (k = 0; k < tags.n; k++) {
			tools__tag *t = &tags.v[k];
			if (!t->is_def || strcmp(t->name, j->name) || (*j->qualifier && !def_in(&tags, t, j->qualifier)))
				continue;
			pl_buf_printf(&j->out[i], "%s:%u-%u %s %s: ", rel, t->start_line, t->end_line, t->kind, t->name);
			add_src_line(&j->out[i], src->ptr, src->len, tools__tag_show_line(t, src->ptr, src->len));
			pl_buf_putc(&j->out[i], '\n');
			j->count[i]++;
		}
	} else {
		/* every identifier leaf spelled like the symbol, outside comments
		 * and strings; one entry per line */
		const tools_lang *lang = tools_lang_for_path(rel);
		TSTree *tree;
		TSTreeCursor c;
		size_t nlen = strlen(j->name);
		uint32_t last_line = 0;
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
				uint32_t line = ts_node_start_point(n).row + 1;
				if (eb - sb == nlen && ident_like(ts_node_type(n)) && line != last_line) {
					const tools__tag *d = def_on_line(&tags, j->name, line);
					bool keep = true;
					if (*j->qualifier)
						keep = d ? def_in(&tags, d, j->qualifier)
							 : member_access(n) || call_inside(&tags, n, j->qualifier);
					if (keep) {
						pl_buf_printf(&j->out[i], "%s:%u:%s ", rel, line, d ? " (definition)" : "");
						add_src_line(&j->out[i], src->ptr, src->len, line);
						pl_buf_putc(&j->out[i], '\n');
						j->count[i]++;
						last_line = line;
					}
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
	"source code (comments and strings excluded), one line each as `path:line: code`, definitions marked. "
	"Qualified as Class.method, it keeps that class's definition and member uses (x.method, X::method), "
	"not plain names (locals, other functions). Use before renaming or changing a function's signature.",
	"{\"type\":\"object\",\"properties\":{"
	"\"symbol\":{\"type\":\"string\",\"description\":\"identifier to look for, or Class.method\"},"
	"\"path\":{\"type\":\"string\",\"description\":\"directory or file to look in (default: the whole repository)\"},"
	"\"max_results\":{\"type\":\"integer\",\"minimum\":1}},"
	"\"required\":[\"symbol\"],\"additionalProperties\":false}",
	references_run,
};
