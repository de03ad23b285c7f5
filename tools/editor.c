/* editor.c - view, create, str_replace, insert and undo_edit: the file
 * editor contract the strongest agents converged on, byte-preserving. */
#define _GNU_SOURCE
#include "tools/internal.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_EDIT_FILE (64u << 20) /* files the editor loads whole */
#define SNIPPET_CONTEXT 4

/* ------------------------------------------------------------ helpers */

static bool uses_crlf(const char *s, size_t n)
{
	size_t lf = 0, crlf = 0, i;

	for (i = 0; i < n; i++)
		if (s[i] == '\n') {
			lf++;
			if (i && s[i - 1] == '\r')
				crlf++;
		}
	return crlf && crlf * 2 >= lf;
}

/* s with every bare "\n" turned into "\r\n" when crlf. */
static void add_eol_converted(pl_buf *b, const char *s, size_t n, bool crlf)
{
	size_t i;

	if (!crlf) {
		pl_buf_add(b, s, n);
		return;
	}
	for (i = 0; i < n; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			pl_buf_putc(b, '\r');
		pl_buf_putc(b, s[i]);
	}
}

static size_t count_lines(const char *s, size_t n)
{
	size_t lines = 0, i;

	for (i = 0; i < n; i++)
		lines += s[i] == '\n';
	if (n && s[n - 1] != '\n')
		lines++;
	return lines;
}

/* Byte offset of the start of 1-based line `line` (n when past the end). */
static size_t line_offset(const char *s, size_t n, size_t line)
{
	size_t cur = 1, i = 0;

	while (cur < line && i < n) {
		const char *nl = memchr(s + i, '\n', n - i);
		if (!nl)
			return n;
		i = (size_t)(nl - s) + 1;
		cur++;
	}
	return i;
}

static size_t line_of_offset(const char *s, size_t off)
{
	size_t line = 1, i;

	for (i = 0; i < off; i++)
		line += s[i] == '\n';
	return line;
}

/* Lines [from, to] of s, numbered like `cat -n`, appended to b. */
static void add_numbered(pl_buf *b, const char *s, size_t n, size_t from, size_t to, size_t max, bool *cut,
			 size_t *last_shown)
{
	size_t off = line_offset(s, n, from), line = from;

	*last_shown = from - 1;
	while (line <= to && off < n) {
		const char *nl = memchr(s + off, '\n', n - off);
		size_t end = nl ? (size_t)(nl - s) : n, len = end - off;
		if (len && s[off + len - 1] == '\r')
			len--;
		if (max && b->len + len + 16 > max) {
			*cut = true;
			return;
		}
		pl_buf_printf(b, "%6zu\t", line);
		tools__add_text(b, s + off, len);
		pl_buf_putc(b, '\n');
		*last_shown = line;
		off = end + 1;
		line++;
	}
}

static int read_file(pl_buf *b, struct stat *st, const char *abs, const char *rel, pl_err *err)
{
	if (stat(abs, st) < 0) {
		if (errno == ENOENT)
			return pl_err_set(err, PL_ENOTFOUND, "'%s' does not exist; use `create` to make a new file", rel);
		return pl_err_sys(err, PL_EIO, "'%s'", rel);
	}
	if (S_ISDIR(st->st_mode))
		return pl_err_set(err, PL_EINVAL, "'%s' is a directory, not a file", rel);
	if (!S_ISREG(st->st_mode))
		return pl_err_set(err, PL_EINVAL, "'%s' is not a regular file", rel);
	if ((size_t)st->st_size > MAX_EDIT_FILE)
		return pl_err_set(err, PL_ELIMIT, "'%s' is %lld bytes, more than the editor loads (%u MiB); use `search`",
				  rel, (long long)st->st_size, MAX_EDIT_FILE >> 20);
	return pl_file_read(b, abs, MAX_EDIT_FILE, err);
}

/* Where to write: the target of a symlink (inside the root, checked by
 * tools__resolve) so that editing a link edits what it points to. */
static void write_target(pl_buf *out, const char *abs)
{
	char real[PATH_MAX];
	struct stat st;

	if (lstat(abs, &st) == 0 && S_ISLNK(st.st_mode) && realpath(abs, real))
		pl_buf_puts(out, real);
	else
		pl_buf_puts(out, abs);
}

/* ------------------------------------------------------------ undo history */

/* One saved state of a file for undo_edit. */
typedef struct undo_entry {
	char *path;     /* repository-relative */
	bool existed;   /* false: undo deletes the file */
	char *data;     /* previous content */
	size_t len;
	int mode;
	struct undo_entry *next; /* older states, any path */
} undo_entry;

/* The editor's state on the context: every edit's previous content,
 * newest first, shared by the five editor tools. */
typedef struct editor_state {
	undo_entry *undo;
} editor_state;

static void undo_entry_free(undo_entry *u)
{
	free(u->path);
	free(u->data);
	free(u);
}

static void editor_release(void *p)
{
	editor_state *st = p;
	undo_entry *u, *n;

	for (u = st->undo; u; u = n) {
		n = u->next;
		undo_entry_free(u);
	}
	free(st);
}

static const tools__state_kind editor_kind = { "editor", editor_release };

static editor_state *editor_of(tools_ctx *ctx)
{
	editor_state *st = tools__state_get(ctx, &editor_kind);

	if (!st) {
		st = pl_xcalloc(1, sizeof(*st));
		tools__state_set(ctx, &editor_kind, st);
	}
	return st;
}

static void push_undo(tools_ctx *ctx, const char *rel, bool existed, const char *data, size_t len, int mode)
{
	editor_state *st = editor_of(ctx);
	undo_entry *u = pl_xcalloc(1, sizeof(*u));

	u->path = pl_xstrdup(rel);
	u->existed = existed;
	u->data = pl_xmalloc(len + 1);
	memcpy(u->data, data, len);
	u->len = len;
	u->mode = mode;
	u->next = st->undo;
	st->undo = u;
}

/* Check the new content's syntax against the old and write it.  When the
 * edit brings errors the old content did not have, nothing is written and
 * the error region is shown. */
static int commit_edit(tools_obs *obs, tools_ctx *ctx, const char *abs, const char *rel, bool existed,
		       const pl_buf *old, int mode, const pl_buf *neu, size_t show_from, size_t show_to, pl_err *err)
{
	int before = 0, after, f = 0, l = 0, rc;
	pl_buf target = PL_BUF_INIT, slash = PL_BUF_INIT;
	size_t nlines, last;
	bool cut = false;

	/* No edit goes unchecked for want of the parser: say it is missing. */
	if (tools_lang_for_path(rel) && (rc = tools_ts_load(err)) < 0)
		return rc;
	after = tools__syntax_errors(rel, neu->ptr, neu->len, &f, &l);
	if (after > 0 && existed)
		before = tools__syntax_errors(rel, old->ptr, old->len, NULL, NULL);
	if (after > 0 && after > before) {
		size_t from = (size_t)f > 3 ? (size_t)f - 3 : 1, to = (size_t)l + 3;
		pl_buf_printf(&obs->text,
			      "error: the edit was NOT applied: it introduces a syntax error in '%s' at lines %d-%d "
			      "(%d error node%s after the edit, %d before). The file would have read:\n",
			      rel, f, l, after, after == 1 ? "" : "s", before);
		add_numbered(&obs->text, neu->ptr, neu->len, from, to, 0, &cut, &last);
		pl_buf_puts(&obs->text, "Fix the edit (balanced brackets, indentation, complete statements) and retry.");
		obs->is_error = true;
		pl_json_set(obs->data, "syntax_error_line", json_integer(f));
		return 0;
	}
	/* Parent directories for new files. */
	pl_buf_puts(&slash, abs);
	{
		char *p = strrchr(slash.ptr, '/');
		if (p && p != slash.ptr) {
			*p = 0;
			if ((rc = pl_mkdir_p(slash.ptr, 0755, err)) < 0)
				goto done;
		}
	}
	write_target(&target, abs);
	if ((rc = pl_file_write_atomic(target.ptr, neu->ptr, neu->len, mode, err)) < 0)
		goto done;
	push_undo(ctx, rel, existed, old->ptr, old->len, mode);
	json_array_append_new(obs->files, json_string(rel));
	nlines = count_lines(neu->ptr, neu->len);
	if (show_from) {
		size_t from = show_from > SNIPPET_CONTEXT ? show_from - SNIPPET_CONTEXT : 1;
		size_t to = show_to + SNIPPET_CONTEXT;
		pl_buf_printf(&obs->text, "The file %s has been edited. Here is the result of `view` on lines %zu-%zu:\n",
			      rel, from, to < nlines ? to : nlines);
		add_numbered(&obs->text, neu->ptr, neu->len, from, to, ctx->max_output, &cut, &last);
		pl_buf_puts(&obs->text, "Review the changes; use `undo_edit` to revert them if needed.");
		obs->truncated = cut;
	}
	rc = 0;
done:
	pl_buf_release(&target);
	pl_buf_release(&slash);
	return rc;
}

static const char *opt_str(const json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

/* ------------------------------------------------------------ view */

typedef struct dirent_list {
	char **names;
	size_t n, cap;
} dirent_list;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_dir(pl_buf *out, tools_ctx *ctx, const char *abs, const char *rel, int depth, size_t *count,
		     bool *cut)
{
	DIR *d = opendir(abs);
	struct dirent *e;
	dirent_list l = { 0 };
	size_t i;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue; /* hidden files and ".git" */
		if (l.n == l.cap) {
			l.cap = l.cap ? l.cap * 2 : 32;
			l.names = pl_xrealloc(l.names, l.cap * sizeof(char *));
		}
		l.names[l.n++] = pl_xstrdup(e->d_name);
	}
	closedir(d);
	qsort(l.names, l.n, sizeof(char *), cmp_str);
	for (i = 0; i < l.n; i++) {
		pl_buf a = PL_BUF_INIT, r = PL_BUF_INIT;
		struct stat st;
		pl_path_join(&a, abs, l.names[i]);
		if (strcmp(rel, "."))
			pl_path_join(&r, rel, l.names[i]);
		else
			pl_buf_puts(&r, l.names[i]);
		if (lstat(a.ptr, &st) == 0) {
			bool dir = S_ISDIR(st.st_mode);
			pl_buf probe = PL_BUF_INIT;
			pl_buf_printf(&probe, "%s%s", r.ptr, dir ? "/" : "");
			if (!tools__is_ignored(ctx, probe.ptr)) {
				if (*cut || out->len + r.len + 8 > ctx->max_output)
					*cut = true;
				else {
					tools__add_text(out, r.ptr, r.len);
					pl_buf_puts(out, dir ? "/\n" : S_ISLNK(st.st_mode) ? "@\n" : "\n");
				}
				(*count)++;
				if (dir && depth < 2)
					list_dir(out, ctx, a.ptr, r.ptr, depth + 1, count, cut);
			}
			pl_buf_release(&probe);
		}
		pl_buf_release(&a);
		pl_buf_release(&r);
		free(l.names[i]);
	}
	free(l.names);
}

static int view_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	pl_buf abs = PL_BUF_INIT, rel = PL_BUF_INIT, data = PL_BUF_INIT;
	const json_t *range = json_object_get(args, "view_range");
	struct stat st;
	size_t nlines, from = 1, to, last = 0;
	bool cut = false;
	int rc;

	if ((rc = tools__resolve(&abs, &rel, ctx, opt_str(args, "path"), err)) < 0)
		goto done;
	if (stat(abs.ptr, &st) == 0 && S_ISDIR(st.st_mode)) {
		size_t count = 0;
		if (range && !json_is_null(range)) {
			rc = pl_err_set(err, PL_EINVAL, "view_range applies to files only; '%s' is a directory", rel.ptr);
			goto done;
		}
		pl_buf_printf(&obs->text, "Files and directories in '%s', two levels deep, without hidden and git-ignored ones:\n",
			      rel.ptr);
		list_dir(&obs->text, ctx, abs.ptr, rel.ptr, 1, &count, &cut);
		if (cut) {
			pl_buf_printf(&obs->text, "[listing truncated: %zu entries in all; view a subdirectory to see more]\n", count);
			obs->truncated = true;
		}
		pl_json_set(obs->data, "entries", json_integer((json_int_t)count));
		goto done;
	}
	if ((rc = read_file(&data, &st, abs.ptr, rel.ptr, err)) < 0)
		goto done;
	if (tools__is_binary(data.ptr, data.len)) {
		pl_buf_printf(&obs->text, "'%s' is a binary file (%zu bytes); it is not shown.\n", rel.ptr, data.len);
		pl_json_set(obs->data, "binary", json_true());
		goto done;
	}
	nlines = count_lines(data.ptr, data.len);
	to = nlines;
	if (range && !json_is_null(range)) {
		json_int_t a, b;
		if (json_array_size(range) != 2) {
			rc = pl_err_set(err, PL_EINVAL, "view_range must be [start_line, end_line]");
			goto done;
		}
		a = json_integer_value(json_array_get(range, 0));
		b = json_integer_value(json_array_get(range, 1));
		if (a < 1 || (size_t)a > (nlines ? nlines : 1)) {
			rc = pl_err_set(err, PL_EINVAL, "view_range start %lld is outside '%s', which has %zu lines",
					(long long)a, rel.ptr, nlines);
			goto done;
		}
		if (b != -1 && (b < a || (size_t)b > nlines)) {
			rc = pl_err_set(err, PL_EINVAL,
					"view_range end %lld must be -1 (to the end) or between %lld and %zu (the last line of '%s')",
					(long long)b, (long long)a, nlines, rel.ptr);
			goto done;
		}
		from = (size_t)a;
		to = b == -1 ? nlines : (size_t)b;
	}
	if (!data.len)
		pl_buf_printf(&obs->text, "'%s' is empty.\n", rel.ptr);
	add_numbered(&obs->text, data.ptr, data.len, from, to, ctx->max_output, &cut, &last);
	if (cut) {
		pl_buf_printf(&obs->text, "[output truncated after line %zu of %zu; use view_range [%zu, %zu] to see more]\n",
			      last, nlines, last + 1, to);
		obs->truncated = true;
	}
	if (data.len && data.ptr[data.len - 1] != '\n' && !cut && to == nlines)
		pl_buf_puts(&obs->text, "[no newline at end of file]\n");
	pl_json_set(obs->data, "lines", json_integer((json_int_t)nlines));
done:
	pl_buf_release(&abs);
	pl_buf_release(&rel);
	pl_buf_release(&data);
	return rc;
}

const tools_def tools__def_view = {
	"view",
	"Show a file with line numbers (like `cat -n`), or list a directory two levels deep without hidden "
	"and git-ignored entries. For a large file, pass view_range [start_line, end_line] (1-based, "
	"inclusive; end_line -1 means to the end). Binary files are not shown; bytes that are not UTF-8 "
	"appear as \\xNN.",
	"{\"type\":\"object\",\"properties\":{"
	"\"path\":{\"type\":\"string\",\"description\":\"file or directory, relative to the repository root\"},"
	"\"view_range\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":2,\"maxItems\":2,"
	"\"description\":\"[start_line, end_line], 1-based; end_line -1 = end of file\"}},"
	"\"required\":[\"path\"],\"additionalProperties\":false}",
	view_run,
};

/* ------------------------------------------------------------ create */

static int create_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	pl_buf abs = PL_BUF_INIT, rel = PL_BUF_INIT, old = PL_BUF_INIT, neu = PL_BUF_INIT;
	const json_t *text = json_object_get(args, "file_text");
	struct stat st;
	bool existed = false;
	int mode = 0644, rc;

	if ((rc = tools__resolve(&abs, &rel, ctx, opt_str(args, "path"), err)) < 0)
		goto done;
	if (stat(abs.ptr, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			rc = pl_err_set(err, PL_EINVAL, "'%s' is a directory; give a file path", rel.ptr);
			goto done;
		}
		if ((rc = read_file(&old, &st, abs.ptr, rel.ptr, err)) < 0)
			goto done;
		existed = true;
		mode = st.st_mode & 07777;
	}
	pl_buf_add(&neu, json_string_value(text), json_string_length(text));
	if ((rc = commit_edit(obs, ctx, abs.ptr, rel.ptr, existed, &old, mode, &neu, 0, 0, err)) < 0 || obs->is_error)
		goto done;
	pl_buf_printf(&obs->text, "%s %s (%zu lines).", existed ? "Overwrote" : "Created", rel.ptr,
		      count_lines(neu.ptr, neu.len));
done:
	pl_buf_release(&abs);
	pl_buf_release(&rel);
	pl_buf_release(&old);
	pl_buf_release(&neu);
	return rc;
}

const tools_def tools__def_create = {
	"create",
	"Create a file with the given content (parent directories are made). An existing file is "
	"overwritten (undo_edit restores it); prefer str_replace for changes to existing files. Source files "
	"that would not parse are refused with the error region shown.",
	"{\"type\":\"object\",\"properties\":{"
	"\"path\":{\"type\":\"string\",\"description\":\"file to create, relative to the repository root\"},"
	"\"file_text\":{\"type\":\"string\",\"description\":\"the whole content of the file\"}},"
	"\"required\":[\"path\",\"file_text\"],\"additionalProperties\":false}",
	create_run,
};

/* ------------------------------------------------------------ str_replace */

/* Explain why old_str was not found: a whitespace-insensitive match, or
 * lines resembling its first line. */
static void explain_no_match(pl_buf *out, const pl_buf *file, const char *old, size_t oldlen, const char *rel)
{
	pl_buf nf = PL_BUF_INIT, no = PL_BUF_INIT;
	size_t *map = NULL, i, shown = 0;
	const char *hit, *first, *fe;
	char *key = NULL;

	pl_buf_printf(out, "error: old_str was not found in '%s' (it must match exactly, whitespace included).", rel);
	/* Whitespace-insensitive search, mapped back to lines. */
	map = malloc((file->len + 1) * sizeof(size_t));
	if (map) {
		for (i = 0; i < file->len; i++)
			if (file->ptr[i] != ' ' && file->ptr[i] != '\t' && file->ptr[i] != '\r' && file->ptr[i] != '\n') {
				map[nf.len] = i;
				pl_buf_putc(&nf, file->ptr[i]);
			}
		for (i = 0; i < oldlen; i++)
			if (old[i] != ' ' && old[i] != '\t' && old[i] != '\r' && old[i] != '\n')
				pl_buf_putc(&no, old[i]);
		if (no.len && (hit = memmem(nf.ptr, nf.len, no.ptr, no.len))) {
			size_t a = map[hit - nf.ptr], b = map[hit - nf.ptr + no.len - 1];
			pl_buf_printf(out, " It matches if whitespace is ignored at lines %zu-%zu: view those lines and copy "
				      "their indentation exactly.", line_of_offset(file->ptr, a), line_of_offset(file->ptr, b));
			goto done;
		}
	}
	/* Lines containing old_str's first non-blank line, trimmed. */
	first = old;
	while (first < old + oldlen && (*first == ' ' || *first == '\t' || *first == '\n' || *first == '\r'))
		first++;
	fe = memchr(first, '\n', (size_t)(old + oldlen - first));
	if (!fe)
		fe = old + oldlen;
	while (fe > first && (fe[-1] == ' ' || fe[-1] == '\t' || fe[-1] == '\r'))
		fe--;
	if (fe > first) {
		const char *p = file->ptr, *end = file->ptr + file->len;
		key = pl_xstrndup(first, (size_t)(fe - first));
		while (p < end && (hit = memmem(p, (size_t)(end - p), key, strlen(key)))) {
			size_t line = line_of_offset(file->ptr, (size_t)(hit - file->ptr));
			const char *ls = hit, *le;
			while (ls > file->ptr && ls[-1] != '\n')
				ls--;
			le = memchr(hit, '\n', (size_t)(end - hit));
			if (!le)
				le = end;
			if (!shown)
				pl_buf_puts(out, " Its first line occurs at:\n");
			pl_buf_printf(out, "%6zu\t", line);
			tools__add_text(out, ls, (size_t)(le - ls) - (le > ls && le[-1] == '\r'));
			pl_buf_putc(out, '\n');
			p = le;
			if (++shown == 5)
				break;
		}
		if (shown)
			pl_buf_puts(out, "The lines after it differ; view the region and copy it exactly.");
	}
	if (!shown)
		pl_buf_puts(out, " No line resembles its first line; view the file to find the text to replace.");
done:
	free(key);
	free(map);
	pl_buf_release(&nf);
	pl_buf_release(&no);
}

static int str_replace_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	pl_buf abs = PL_BUF_INIT, rel = PL_BUF_INIT, data = PL_BUF_INIT, neu = PL_BUF_INIT, old = PL_BUF_INIT,
	       repl = PL_BUF_INIT;
	const json_t *jo = json_object_get(args, "old_str"), *jn = json_object_get(args, "new_str");
	struct stat st;
	const char *p, *hit, *first = NULL;
	size_t matches = 0, lines[10], nl = 0;
	bool crlf;
	int rc;

	if ((rc = tools__resolve(&abs, &rel, ctx, opt_str(args, "path"), err)) < 0)
		goto done;
	if (!json_string_length(jo)) {
		rc = pl_err_set(err, PL_EINVAL, "old_str is empty; give the exact text to replace (use `insert` to add lines)");
		goto done;
	}
	if ((rc = read_file(&data, &st, abs.ptr, rel.ptr, err)) < 0)
		goto done;
	crlf = uses_crlf(data.ptr, data.len);
	add_eol_converted(&old, json_string_value(jo), json_string_length(jo), crlf);
	if (jn && !json_is_null(jn))
		add_eol_converted(&repl, json_string_value(jn), json_string_length(jn), crlf);
	for (p = data.ptr; (hit = memmem(p, (size_t)(data.ptr + data.len - p), old.ptr, old.len)); p = hit + 1) {
		if (!matches)
			first = hit;
		if (nl < PL_ARRAY_LEN(lines))
			lines[nl++] = line_of_offset(data.ptr, (size_t)(hit - data.ptr));
		matches++;
	}
	if (!matches) {
		explain_no_match(&obs->text, &data, old.ptr, old.len, rel.ptr);
		obs->is_error = true;
		goto done;
	}
	if (matches > 1) {
		size_t i;
		pl_buf_printf(&obs->text, "error: old_str occurs %zu times in '%s', at lines", matches, rel.ptr);
		for (i = 0; i < nl; i++)
			pl_buf_printf(&obs->text, "%s %zu", i ? "," : "", lines[i]);
		pl_buf_puts(&obs->text, matches > nl ? ", ..." : "");
		pl_buf_puts(&obs->text, ". Nothing was changed: include more surrounding lines so that it is unique.");
		obs->is_error = true;
		goto done;
	}
	pl_buf_add(&neu, data.ptr, (size_t)(first - data.ptr));
	pl_buf_add(&neu, repl.ptr, repl.len);
	pl_buf_add(&neu, first + old.len, (size_t)(data.ptr + data.len - first - old.len));
	{
		size_t a = line_of_offset(neu.ptr, (size_t)(first - data.ptr));
		size_t b = a + (repl.len ? count_lines(repl.ptr, repl.len) - 1 : 0);
		rc = commit_edit(obs, ctx, abs.ptr, rel.ptr, true, &data, st.st_mode & 07777, &neu, a, b, err);
	}
done:
	pl_buf_release(&abs);
	pl_buf_release(&rel);
	pl_buf_release(&data);
	pl_buf_release(&neu);
	pl_buf_release(&old);
	pl_buf_release(&repl);
	return rc;
}

const tools_def tools__def_str_replace = {
	"str_replace",
	"Replace old_str with new_str in a file. old_str must match exactly one place in the file, "
	"whitespace and indentation included (include enough surrounding lines to make it unique); when it "
	"matches nowhere or several times nothing changes and the error says where the near matches are. "
	"Omit new_str to delete old_str. Line endings (CRLF) and bytes outside old_str are kept as they are.",
	"{\"type\":\"object\",\"properties\":{"
	"\"path\":{\"type\":\"string\",\"description\":\"file to edit, relative to the repository root\"},"
	"\"old_str\":{\"type\":\"string\",\"description\":\"exact text to replace, occurring exactly once\"},"
	"\"new_str\":{\"type\":\"string\",\"description\":\"replacement text (empty or absent deletes)\"}},"
	"\"required\":[\"path\",\"old_str\"],\"additionalProperties\":false}",
	str_replace_run,
};

/* ------------------------------------------------------------ insert */

static int insert_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	pl_buf abs = PL_BUF_INIT, rel = PL_BUF_INIT, data = PL_BUF_INIT, neu = PL_BUF_INIT, text = PL_BUF_INIT;
	const json_t *jn = json_object_get(args, "new_str");
	json_int_t at = json_integer_value(json_object_get(args, "insert_line"));
	struct stat st;
	size_t nlines, off, added;
	bool crlf;
	int rc;

	if ((rc = tools__resolve(&abs, &rel, ctx, opt_str(args, "path"), err)) < 0)
		goto done;
	if ((rc = read_file(&data, &st, abs.ptr, rel.ptr, err)) < 0)
		goto done;
	nlines = count_lines(data.ptr, data.len);
	if (at < 0 || (size_t)at > nlines) {
		rc = pl_err_set(err, PL_EINVAL, "insert_line %lld is outside '%s': give 0 (before the first line) to %zu (after the last)",
				(long long)at, rel.ptr, nlines);
		goto done;
	}
	crlf = uses_crlf(data.ptr, data.len);
	add_eol_converted(&text, json_string_value(jn), json_string_length(jn), crlf);
	off = line_offset(data.ptr, data.len, (size_t)at + 1);
	pl_buf_add(&neu, data.ptr, off);
	if (off == data.len && data.len && data.ptr[data.len - 1] != '\n') {
		/* After the last line of a file without a final newline: the
		 * file keeps ending without one. */
		pl_buf_puts(&neu, crlf ? "\r\n" : "\n");
		if (text.len && text.ptr[text.len - 1] == '\n')
			pl_buf_setlen(&text, text.len - 1 - (crlf && text.len > 1 && text.ptr[text.len - 2] == '\r'));
		pl_buf_add(&neu, text.ptr, text.len);
	} else {
		pl_buf_add(&neu, text.ptr, text.len);
		if (text.len && text.ptr[text.len - 1] != '\n')
			pl_buf_puts(&neu, crlf ? "\r\n" : "\n");
	}
	pl_buf_add(&neu, data.ptr + off, data.len - off);
	added = text.len ? count_lines(text.ptr, text.len) : 0;
	rc = commit_edit(obs, ctx, abs.ptr, rel.ptr, true, &data, st.st_mode & 07777, &neu, (size_t)at + 1,
			 (size_t)at + (added ? added : 1), err);
done:
	pl_buf_release(&abs);
	pl_buf_release(&rel);
	pl_buf_release(&data);
	pl_buf_release(&neu);
	pl_buf_release(&text);
	return rc;
}

const tools_def tools__def_insert = {
	"insert",
	"Insert new_str as new lines after line insert_line of a file (0 inserts before the first line; "
	"the number of lines inserts at the end). The file's line endings are kept.",
	"{\"type\":\"object\",\"properties\":{"
	"\"path\":{\"type\":\"string\",\"description\":\"file to edit, relative to the repository root\"},"
	"\"insert_line\":{\"type\":\"integer\",\"minimum\":0,\"description\":\"line after which to insert\"},"
	"\"new_str\":{\"type\":\"string\",\"description\":\"the lines to insert\"}},"
	"\"required\":[\"path\",\"insert_line\",\"new_str\"],\"additionalProperties\":false}",
	insert_run,
};

/* ------------------------------------------------------------ undo_edit */

static int undo_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	pl_buf abs = PL_BUF_INIT, rel = PL_BUF_INIT, target = PL_BUF_INIT;
	editor_state *st = editor_of(ctx);
	undo_entry **pp, *u = NULL;
	int rc;

	if ((rc = tools__resolve(&abs, &rel, ctx, opt_str(args, "path"), err)) < 0)
		goto done;
	for (pp = &st->undo; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->path, rel.ptr)) {
			u = *pp;
			break;
		}
	if (!u) {
		rc = pl_err_set(err, PL_ENOTFOUND, "no edit of '%s' to undo in this session", rel.ptr);
		goto done;
	}
	write_target(&target, abs.ptr);
	if (u->existed)
		rc = pl_file_write_atomic(target.ptr, u->data, u->len, u->mode, err);
	else if (unlink(target.ptr) < 0 && errno != ENOENT)
		rc = pl_err_sys(err, PL_EIO, "removing '%s'", rel.ptr);
	if (rc < 0)
		goto done;
	*pp = u->next;
	pl_buf_printf(&obs->text, u->existed ? "Last edit of %s undone; it is back to its previous content (%zu lines)."
					     : "Last edit of %s undone; the file did not exist before and was removed.",
		      rel.ptr, count_lines(u->data, u->len));
	json_array_append_new(obs->files, json_string(rel.ptr));
	undo_entry_free(u);
done:
	pl_buf_release(&abs);
	pl_buf_release(&rel);
	pl_buf_release(&target);
	return rc;
}

const tools_def tools__def_undo_edit = {
	"undo_edit",
	"Revert the last edit (create, str_replace or insert) made to a file in this session; repeat to go "
	"further back. A file that create made is removed.",
	"{\"type\":\"object\",\"properties\":{"
	"\"path\":{\"type\":\"string\",\"description\":\"file whose last edit to revert\"}},"
	"\"required\":[\"path\"],\"additionalProperties\":false}",
	undo_run,
};
