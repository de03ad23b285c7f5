/* code.c - code intelligence with tree-sitter: tags (definitions and
 * references) from each grammar's queries/tags.scm plus plait's own
 * additions, and the outline, definition and references tools. */
#define _GNU_SOURCE
#include "tools/internal.h"
#include "tools/ts.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

uint32_t tools_tags_version(void)
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

void tools_queries_prepare(tools_ctx *ctx)
{
	size_t n, i;
	const tools_lang *all = tools_langs(&n);

	for (i = 0; i < n && i < PL_ARRAY_LEN(ctx->queries); i++) {
		pl_buf q = PL_BUF_INIT;
		uint32_t off = 0;
		TSQueryError e = TSQueryErrorNone;
		if (ctx->queries[i] || ctx->query_failed[i])
			continue;
		query_text(&q, all[i].name);
		ctx->queries[i] = ts_query_new(all[i].language(), q.ptr, (uint32_t)q.len, &off, &e);
		if (!ctx->queries[i]) {
			ctx->query_failed[i] = true;
			pl_log_warn(ctx->log, "tags query for %s does not compile (error %d at offset %u)", all[i].name,
				    (int)e, off);
		}
		pl_buf_release(&q);
	}
}

void tools_queries_release(tools_ctx *ctx)
{
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(ctx->queries); i++) {
		if (ctx->queries[i])
			ts_query_delete(ctx->queries[i]);
		ctx->queries[i] = NULL;
	}
}

void tools_tags_release(tools_tags *t)
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

int tools_tags_extract(tools_tags *out, const tools_ctx *ctx, TSParser *parser, const char *path, const char *src,
		       size_t len)
{
	const tools_lang *lang = tools_lang_for_path(path);
	TSQuery *q;
	TSTree *tree;
	TSQueryCursor *cur;
	TSQueryMatch m;
	uint32_t last_def_name = UINT32_MAX;

	if (!lang || !(q = ctx->queries[lang_index(lang)]))
		return -1;
	if (!ts_parser_set_language(parser, lang->language()))
		return -1;
	tree = ts_parser_parse_string(parser, NULL, src, (uint32_t)len);
	if (!tree)
		return -1;
	{
		TSNode root = ts_tree_root_node(tree);
		out->errors = tools_tree_errors(&root, &out->err_first, &out->err_last);
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
			tools_tag *t;
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
				out->v = pl_xrealloc(out->v, out->cap * sizeof(tools_tag));
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

bool tools_read_source(pl_buf *b, const tools_ctx *ctx, const char *rel)
{
	pl_buf p = PL_BUF_INIT;
	struct stat st;
	int fd;
	size_t len = 0;

	pl_path_join(&p, ctx->root, rel);
	fd = open(p.ptr, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	pl_buf_release(&p);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) {
		close(fd);
		return false;
	}
	pl_buf_reset(b);
	pl_buf_grow(b, (size_t)st.st_size);
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, b->ptr + len, (size_t)st.st_size - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	b->len = len;
	b->ptr[len] = 0;
	return !tools_is_binary(b->ptr, len);
}

typedef struct par {
	void (*fn)(size_t, void *, int);
	void *arg;
	size_t n;
	atomic_size_t next;
	int worker;
} par;

typedef struct par_thread {
	par *p;
	int id;
} par_thread;

static void *par_main(void *a)
{
	par_thread *t = a;
	size_t i;

	while ((i = atomic_fetch_add(&t->p->next, 1)) < t->p->n)
		t->p->fn(i, t->p->arg, t->id);
	return NULL;
}

void tools_parallel(size_t n, int threads, void (*fn)(size_t i, void *arg, int worker), void *arg)
{
	par p = { fn, arg, n, 0, 0 };
	pthread_t th[8];
	par_thread pt[8];
	int k, started;

	if (threads <= 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		threads = c < 1 ? 1 : c > 8 ? 8 : (int)c;
	}
	if (threads > 8)
		threads = 8;
	if ((size_t)threads > n)
		threads = n ? (int)n : 1;
	atomic_init(&p.next, 0);
	for (k = 0; k < threads; k++)
		pt[k] = (par_thread){ &p, k };
	for (started = 1; started < threads; started++)
		if (pthread_create(&th[started], NULL, par_main, &pt[started]) != 0)
			break;
	par_main(&pt[0]);
	for (k = 1; k < started; k++)
		pthread_join(th[k], NULL);
}

/* ------------------------------------------------------------ outline */

static int cmp_tag_pos(const void *a, const void *b)
{
	const tools_tag *x = a, *y = b;

	if (x->start_byte != y->start_byte)
		return x->start_byte < y->start_byte ? -1 : 1;
	return x->end_byte > y->end_byte ? -1 : x->end_byte < y->end_byte;
}

static int outline_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	pl_buf abs = PL_BUF_INIT, rel = PL_BUF_INIT, src = PL_BUF_INIT;
	tools_tags tags = { 0 };
	const tools_lang *lang;
	TSParser *parser = NULL;
	uint32_t stack[64];
	size_t depth = 0, i, defs = 0;
	json_t *items = json_array();
	int rc;

	if ((rc = tools_resolve(&abs, &rel, ctx, json_string_value(json_object_get(args, "path")), err)) < 0)
		goto done;
	if (!(lang = tools_lang_for_path(rel.ptr))) {
		rc = pl_err_set(err, PL_EUNSUPPORTED,
				"no grammar for '%s'; outline knows Python, C, C++, Java, JavaScript, TypeScript, TSX, Go and Rust files",
				rel.ptr);
		goto done;
	}
	if (!tools_read_source(&src, ctx, rel.ptr)) {
		rc = pl_err_set(err, pl_file_exists(abs.ptr) ? PL_EINVAL : PL_ENOTFOUND,
				pl_file_exists(abs.ptr) ? "'%s' is not a readable text file" : "'%s' does not exist", rel.ptr);
		goto done;
	}
	if ((rc = tools_ts_load(err)) < 0)
		goto done;
	tools_queries_prepare(ctx);
	parser = ts_parser_new();
	if (tools_tags_extract(&tags, ctx, parser, rel.ptr, src.ptr, src.len) < 0) {
		rc = pl_err_set(err, PL_EINTERNAL, "the %s tags query is not available", lang->name);
		goto done;
	}
	if (tags.n)
		qsort(tags.v, tags.n, sizeof(tools_tag), cmp_tag_pos);
	for (i = 0; i < tags.n; i++) {
		tools_tag *t = &tags.v[i];
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
	tools_tags_release(&tags);
	pl_buf_release(&abs);
	pl_buf_release(&rel);
	pl_buf_release(&src);
	return rc;
}

const tools_def tools_def_outline = {
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
	TSParser *parsers[8];
	pl_buf bufs[8];
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
	tools_add_text(b, src + off, e - off);
}

static void sym_file(size_t i, void *arg, int w)
{
	sym_job *j = arg;
	pl_buf *src = &j->bufs[w];
	tools_tags tags = { 0 };
	const char *rel = j->files[i];
	size_t k;

	if (!tools_lang_for_path(rel) || !tools_read_source(src, j->ctx, rel) ||
	    !memmem(src->ptr, src->len, j->name, strlen(j->name)))
		return;
	if (tools_tags_extract(&tags, j->ctx, j->parsers[w], rel, src->ptr, src->len) < 0)
		return;
	if (!j->refs) {
		for (k = 0; k < tags.n; k++) {
			tools_tag *t = &tags.v[k];
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
	tools_tags_release(&tags);
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
		if ((rc = tools_resolve(&abs, &rel, ctx, path, err)) < 0)
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
	if (!files && (rc = tools_list_files(&files, &nfiles, ctx, rel.len && strcmp(rel.ptr, ".") ? rel.ptr : "", err)) < 0)
		goto done;
	if ((rc = tools_ts_load(err)) < 0)
		goto done;
	tools_queries_prepare(ctx);
	j.ctx = ctx;
	j.files = files;
	j.qualifier = qual.ptr;
	j.refs = refs;
	j.out = pl_xcalloc(nfiles ? nfiles : 1, sizeof(pl_buf));
	j.count = pl_xcalloc(nfiles ? nfiles : 1, sizeof(size_t));
	for (w = 0; w < 8; w++) {
		j.parsers[w] = ts_parser_new();
		pl_buf_init(&j.bufs[w], 0);
	}
	for (i = 0; i < nfiles; i++)
		pl_buf_init(&j.out[i], 0);
	tools_parallel(nfiles, 0, sym_file, &j);
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
	for (w = 0; w < 8; w++) {
		if (j.parsers[w])
			ts_parser_delete(j.parsers[w]);
		pl_buf_release(&j.bufs[w]);
	}
	for (i = 0; j.out && i < nfiles; i++)
		pl_buf_release(&j.out[i]);
	free(j.out);
	free(j.count);
	tools_free_list(files, nfiles);
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

const tools_def tools_def_definition = {
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

const tools_def tools_def_references = {
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
