/* editor.c - view, create, str_replace, insert and undo_edit: the file
 * editor contract the strongest agents converged on (SWE-agent's and
 * OpenHands' str_replace_editor, after Anthropic's), with their
 * observation texts, byte-preserving, and refusing what would lose work. */
#define _GNU_SOURCE
#include "tools/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_EDIT_FILE (64u << 20) /* files the editor loads whole */
#define SNIPPET_CONTEXT 4         /* lines around an edit, as SWE-agent's SNIPPET_LINES */
#define ERROR_CONTEXT 3           /* lines around a syntax error */
#define MAX_ECHO 400              /* bytes of old_str/new_str echoed in a message */

/* ------------------------------------------------------------ text helpers */

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

/* max_output less what a caller keeps for its own notes (at least half). */
static size_t room(const tools_ctx *ctx, size_t reserve)
{
	return ctx->max_output > 2 * reserve ? ctx->max_output - reserve : ctx->max_output / 2;
}

/* The longest line shown whole: longer ones (minified code, lock files,
 * snapshots) are cut in their middle, so that any line can be viewed and
 * every view shows at least one line. */
static size_t line_max(const tools_ctx *ctx)
{
	size_t m = ctx->max_output / 4;

	return m < 256 ? 256 : m;
}

static void add_line(pl_buf *b, const char *s, size_t len, size_t lineno, size_t lmax)
{
	size_t h, t;

	if (len <= lmax) {
		tools__add_text(b, s, len);
		return;
	}
	h = lmax / 2;
	t = len - lmax / 2;
	/* whole UTF-8 characters on both sides of the cut */
	while (h > 0 && ((unsigned char)s[h] & 0xC0) == 0x80)
		h--;
	while (t < len && ((unsigned char)s[t] & 0xC0) == 0x80)
		t++;
	tools__add_text(b, s, h);
	pl_buf_printf(b,
		      " [... line %zu is %zu bytes long; the %zu bytes in its middle are not shown: `search` inside it, or "
		      "cut it with bash (cut -c) ...] ",
		      lineno, len, t - h);
	tools__add_text(b, s + t, len - t);
}

/* Lines [from, to] of s as `cat -n` prints them (6-wide number, tab,
 * line), stopping before b would pass max bytes (0 = no limit).  Returns
 * the last line shown, from - 1 when none fit. */
static size_t add_numbered(pl_buf *b, const char *s, size_t n, size_t from, size_t to, size_t max, size_t lmax)
{
	size_t off = line_offset(s, n, from), line = from, last = from - 1;

	while (line <= to && off < n) {
		const char *nl = memchr(s + off, '\n', n - off);
		size_t end = nl ? (size_t)(nl - s) : n, len = end - off;
		if (len && s[off + len - 1] == '\r')
			len--;
		if (max && b->len + (len < lmax ? len : lmax + 160) + 16 > max)
			break;
		pl_buf_printf(b, "%6zu\t", line);
		add_line(b, s + off, len, line, lmax);
		pl_buf_putc(b, '\n');
		last = line;
		off = end + 1;
		line++;
	}
	return last;
}

/* A string from the call, echoed in a message: valid UTF-8, cut when long. */
static void add_echo(pl_buf *b, const char *s, size_t n)
{
	if (n <= MAX_ECHO) {
		tools__add_text(b, s, n);
		return;
	}
	tools__add_text(b, s, MAX_ECHO);
	pl_buf_printf(b, "[... %zu more bytes]", n - MAX_ECHO);
}

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
	return h;
}

/* The file open at fd (or the error fd holds, -errno from tools__open)
 * read whole into b, with st its status. */
static int read_fd_file(pl_buf *b, struct stat *st, int fd, const char *rel, pl_err *err)
{
	int rc = fd;

	if (fd >= 0 && fstat(fd, st) < 0)
		rc = -errno;
	else if (fd >= 0 && S_ISDIR(st->st_mode))
		rc = -EISDIR;
	else if (fd >= 0 && S_ISREG(st->st_mode) && (size_t)st->st_size > MAX_EDIT_FILE)
		rc = -EFBIG;
	else if (fd >= 0)
		rc = tools__read_fd(b, fd, MAX_EDIT_FILE);
	switch (rc) {
	case 0:
		return 0;
	case -ENOENT:
		return pl_err_set(err, PL_ENOTFOUND, "'%s' does not exist; use `create` to make a new file", rel);
	case -EISDIR:
		return pl_err_set(err, PL_EINVAL, "'%s' is a directory, not a file; only `view` works on directories", rel);
	case -EINVAL:
		return pl_err_set(err, PL_EINVAL, "'%s' is not a regular file (a FIFO, a socket or a device): it is not read",
				  rel);
	case -EFBIG:
		return pl_err_set(err, PL_ELIMIT, "'%s' is %lld bytes, more than the editor loads (%u MiB); use `search`",
				  rel, (long long)st->st_size, MAX_EDIT_FILE >> 20);
	case -EXDEV:
	case -ELOOP:
		return pl_err_set(err, PL_EINVAL, "path '%s' leads outside the repository through a symlink", rel);
	default:
		return pl_err_set(err, PL_EIO, "'%s': %s", rel, strerror(-rc));
	}
}

/* The file of a place (tools__place_open), read through its directory. */
static int read_file(pl_buf *b, struct stat *st, const tools__place *pl, const char *rel, pl_err *err)
{
	int fd = pl->dirfd < 0 ? -ENOENT : tools__open_at(pl->dirfd, pl->name.ptr, O_RDONLY, TOOLS__NO_SYMLINKS), rc;

	rc = read_fd_file(b, st, fd, rel, err);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The editor changes text files only: a NUL in the first 8 KiB means the
 * bytes are not text, and a text edit would corrupt them. */
static int refuse_binary(const pl_buf *data, const char *rel, pl_err *err)
{
	if (tools__is_binary(data->ptr, data->len))
		return pl_err_set(err, PL_EINVAL,
				  "'%s' is a binary file (%zu bytes); the editor changes text files only (use bash for binary ones)",
				  rel, data->len);
	return 0;
}

static const char *opt_str(const json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

/* ------------------------------------------------------------ undo history */

/* One saved state of a file for undo_edit, and what the edit wrote, to
 * tell whether something changed the file since. */
typedef struct undo_entry {
	char *path;     /* repository-relative */
	bool existed;   /* false: undo deletes the file */
	char *data;     /* previous content */
	size_t len;
	int mode;
	uint64_t wrote_hash; /* of the content the edit wrote */
	size_t wrote_len;
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

static void push_undo(tools_ctx *ctx, const char *rel, bool existed, const pl_buf *old, int mode, const pl_buf *neu)
{
	editor_state *st = editor_of(ctx);
	undo_entry *u = pl_xcalloc(1, sizeof(*u));

	u->path = pl_xstrdup(rel);
	u->existed = existed;
	u->data = pl_xmalloc(old->len + 1);
	memcpy(u->data, old->ptr, old->len);
	u->len = old->len;
	u->mode = mode;
	u->wrote_hash = hash_bytes(neu->ptr, neu->len);
	u->wrote_len = neu->len;
	u->next = st->undo;
	st->undo = u;
}

/* ------------------------------------------------------------ committing an edit */

enum edit_kind { EDIT_CREATE, EDIT_REPLACE, EDIT_INSERT };

typedef struct edit {
	enum edit_kind kind;
	const char *rel;
	tools__place *place;     /* where it is written */
	bool existed;
	const pl_buf *old, *neu; /* the whole file before and after */
	int mode;
	size_t from, to;         /* lines of neu the edit wrote (create: all) */
	const char *removed, *added; /* the replaced text and what replaces it */
	size_t removed_len, added_len;
} edit;

/* An edit of an existing file (str_replace, insert): old and neu the
 * whole file before and after, st its metadata. */
static void edit_existing(edit *e, enum edit_kind kind, tools__place *place, const char *rel, const pl_buf *old,
			  const pl_buf *neu, const struct stat *st)
{
	e->kind = kind;
	e->place = place;
	e->rel = rel;
	e->existed = true;
	e->old = old;
	e->neu = neu;
	e->mode = st->st_mode & 07777;
}

/* Opening minus closing brackets of each kind, skipping strings and
 * comments roughly (a hint for the message, not a parser). */
static void bracket_balance(int bal[3], const char *s, size_t n, bool python)
{
	size_t i = 0;

	bal[0] = bal[1] = bal[2] = 0;
	while (i < n) {
		char c = s[i];
		if ((python && c == '#') || (!python && c == '/' && i + 1 < n && s[i + 1] == '/')) {
			while (i < n && s[i] != '\n')
				i++;
			continue;
		}
		if (!python && c == '/' && i + 1 < n && s[i + 1] == '*') {
			const char *e = memmem(s + i + 2, n - i - 2, "*/", 2);
			i = e ? (size_t)(e - s) + 2 : n;
			continue;
		}
		if (c == '"' || c == '`' || (c == '\'' && (python || (i + 2 < n && (s[i + 2] == '\'' || s[i + 1] == '\\'))))) {
			i++;
			while (i < n && s[i] != c && (c == '`' || s[i] != '\n')) {
				if (s[i] == '\\')
					i++;
				i++;
			}
			i++;
			continue;
		}
		if (c == '(' || c == '[' || c == '{')
			bal[c == '(' ? 0 : c == '[' ? 1 : 2]++;
		else if (c == ')' || c == ']' || c == '}')
			bal[c == ')' ? 0 : c == ']' ? 1 : 2]--;
		i++;
	}
}

static void add_bracket_note(pl_buf *b, const edit *e)
{
	static const char open[] = "([{", close[] = ")]}";
	const tools_lang *lang = tools_lang_for_path(e->rel);
	bool python = lang && !strcmp(lang->name, "python");
	int before[3], after[3], k;

	bracket_balance(before, e->removed ? e->removed : "", e->removed_len, python);
	bracket_balance(after, e->added ? e->added : "", e->added_len, python);
	for (k = 0; k < 3; k++) {
		int d = after[k] - before[k];
		if (d > 0)
			pl_buf_printf(b, "Your edit opens %d more '%c' than it closes.\n", d, open[k]);
		else if (d < 0)
			pl_buf_printf(b, "Your edit closes %d more '%c' than it opens.\n", -d, close[k]);
	}
}

/* The rollback message: what is wrong, the edited lines as they would
 * have read, and the error's own lines when they are elsewhere; within
 * the observation cap whatever the file's size. */
static void explain_rollback(tools_obs *obs, const tools_ctx *ctx, const edit *e, const char *what, int line, int before)
{
	size_t nlines = count_lines(e->neu->ptr, e->neu->len), max = ctx->max_output, lmax = line_max(ctx);
	size_t from = e->from > 2 ? e->from - 2 : 1, to = e->to + 2, last, budget;
	size_t efrom = (size_t)line > ERROR_CONTEXT ? (size_t)line - ERROR_CONTEXT : 1, eto = (size_t)line + ERROR_CONTEXT;
	pl_buf *b = &obs->text;

	pl_buf_printf(b, "error: the edit was NOT applied: it would introduce a syntax error in '%s': %s at line %d%s",
		      e->rel, what, line, (size_t)line >= nlines ? " (the end of the file)" : "");
	if (before > 0)
		pl_buf_printf(b, " (the file had %d error%s before the edit; this one is new)", before,
			      before == 1 ? "" : "s");
	pl_buf_puts(b, ".\n");
	add_bracket_note(b, e);
	if (to > nlines)
		to = nlines;
	/* the edit first, in at most half of what is left */
	budget = b->len + (max > b->len + 400 ? (max - b->len - 400) / 2 : 0);
	pl_buf_printf(b, "Lines %zu-%zu of the file after your edit would read:\n", from, to);
	last = add_numbered(b, e->neu->ptr, e->neu->len, from, to, budget, lmax);
	if (last < to)
		pl_buf_printf(b, "[... lines %zu-%zu of the edit not shown ...]\n", last + 1, to);
	/* then the error's neighbourhood, unless the edit's lines showed it */
	if (eto > nlines)
		eto = nlines;
	if (efrom > to || eto < from) {
		pl_buf_printf(b, "The error, lines %zu-%zu:\n", efrom, eto);
		last = add_numbered(b, e->neu->ptr, e->neu->len, efrom, eto, max > 200 ? max - 200 : max, lmax);
		if (last < eto)
			pl_buf_puts(b, "[... more lines not shown ...]\n");
	}
	pl_buf_puts(b, "Nothing was written. Fix the edit (balanced brackets, indentation, complete statements) and retry.");
	obs->is_error = true;
	pl_json_set(obs->data, "syntax_error_line", json_integer(line));
	pl_json_set(obs->data, "syntax_error", json_string(what));
}

/* Is the file one the patch leaves out (ignored and not tracked)?  Then
 * say so: an agent that writes its fix there would submit nothing. */
static void note_left_out(pl_buf *b, const tools_ctx *ctx, const char *rel)
{
	if (!tools__is_ignored(ctx, rel) || tools__is_tracked(ctx, rel))
		return;
	pl_buf_printf(b,
		      "\nNote: '%s' is ignored by git (.gitignore or .git/info/exclude), so the patch that `diff` and `submit` "
		      "produce leaves it out. If it belongs to the fix, put it where git does not ignore it.",
		      rel);
}

/* An edit's diff in data.diff, for a caller to show the change without
 * reading the file itself (bytes that are not UTF-8 as \xNN). */
#define MAX_DIFF (1u << 20)
static void add_diff(tools_obs *obs, const char *rel, const char *a, size_t an, const char *b, size_t bn)
{
	pl_buf d = PL_BUF_INIT, t = PL_BUF_INIT;

	tools__diff(&d, rel, a, an, b, bn);
	if (d.len > MAX_DIFF)
		pl_buf_printf(&t, "[the diff of %s is %zu bytes, more than is kept]\n", rel, d.len);
	else
		tools__add_text(&t, d.ptr, d.len);
	if (t.len)
		pl_json_set(obs->data, "diff", json_stringn(t.ptr, t.len));
	pl_buf_release(&d);
	pl_buf_release(&t);
}

/* Check the new content's syntax against the old and write it.  When the
 * edit brings errors the old content did not have, nothing is written and
 * the observation explains why. */
static int commit_edit(tools_obs *obs, tools_ctx *ctx, const edit *e, pl_err *err)
{
	const tools_lang *lang = tools_lang_for_path(e->rel);
	size_t nlines, last;
	bool too_deep = false;
	int rc;

	/* No edit goes unchecked for want of the parser: say it is missing. */
	if (lang && (rc = tools_ts_load(err)) < 0)
		return rc;
	if (lang && !strcmp(lang->name, "python")) {
		/* what py_compile refuses and tree-sitter accepts */
		char what[160], what_old[160];
		int line = 0, line_old = 0;
		if (tools__py_indent_error(&line, what, sizeof(what), e->neu->ptr, e->neu->len) &&
		    !(e->existed && tools__py_indent_error(&line_old, what_old, sizeof(what_old), e->old->ptr, e->old->len))) {
			explain_rollback(obs, ctx, e, what, line, 0);
			return 0;
		}
	}
	if (lang) {
		tools__syntax after, before = { 0 };
		int found = tools__syntax_check(&after, e->rel, e->neu->ptr, e->neu->len, (int)e->from);
		too_deep = found == -2;
		if (found > 0) {
			if (e->existed)
				tools__syntax_check(&before, e->rel, e->old->ptr, e->old->len, 1);
			if (after.count > before.count) {
				explain_rollback(obs, ctx, e, after.what, after.line, before.count);
				return 0;
			}
		}
	}
	/* Parent directories for new files, now that the edit is good. */
	if (e->place->dirfd < 0) {
		tools__place_close(e->place);
		if ((rc = tools__place_open(e->place, ctx, e->rel, true, err)) < 0)
			goto done;
	}
	if ((rc = tools__write_at(e->place->dirfd, e->place->name.ptr, e->neu->ptr, e->neu->len, e->mode, err)) < 0)
		goto done;
	push_undo(ctx, e->rel, e->existed, e->old, e->mode, e->neu);
	json_array_append_new(obs->files, json_string(e->rel));
	add_diff(obs, e->rel, e->existed ? e->old->ptr : "", e->existed ? e->old->len : 0, e->neu->ptr, e->neu->len);
	nlines = count_lines(e->neu->ptr, e->neu->len);
	if (e->kind == EDIT_CREATE) {
		pl_buf_printf(&obs->text,
			      e->existed ? "File overwritten successfully at: %s (%zu lines); undo_edit restores its previous content."
					 : "File created successfully at: %s (%zu lines).",
			      e->rel, nlines);
	} else {
		size_t from = e->from > SNIPPET_CONTEXT ? e->from - SNIPPET_CONTEXT : 1, to = e->to + SNIPPET_CONTEXT;
		if (to > nlines)
			to = nlines;
		if (e->kind == EDIT_REPLACE)
			pl_buf_printf(&obs->text,
				      "The file %s has been edited. Here's the result of running `cat -n` on a snippet of %s:\n",
				      e->rel, e->rel);
		else
			pl_buf_printf(&obs->text,
				      "The file %s has been edited. Here's the result of running `cat -n` on a snippet of the edited file:\n",
				      e->rel);
		last = add_numbered(&obs->text, e->neu->ptr, e->neu->len, from, to, room(ctx, 400),
				    line_max(ctx));
		if (last < to) {
			pl_buf_printf(&obs->text, "[... snippet cut after line %zu; view_range [%zu, %zu] shows the rest ...]\n",
				      last, last + 1, to);
			obs->truncated = true;
		}
		pl_buf_puts(&obs->text, e->kind == EDIT_REPLACE
						? "Review the changes and make sure they are as expected. Edit the file again if necessary."
						: "Review the changes and make sure they are as expected (correct indentation, no duplicate "
						  "lines, etc). Edit the file again if necessary.");
	}
	if (too_deep)
		pl_buf_printf(&obs->text, "\n[syntax not checked: the file nests brackets more than %d deep, which is not "
					  "parsed]",
			      TOOLS__MAX_NESTING);
	note_left_out(&obs->text, ctx, e->rel);
	rc = 0;
done:
	return rc;
}

/* ------------------------------------------------------------ view */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A directory two levels deep, without hidden entries and, unless the
 * directory itself is ignored (the caller asked for it by name), without
 * what git ignores. */
static void list_dir(pl_buf *out, tools_ctx *ctx, int fd, const char *rel, int depth, bool show_ignored,
		     size_t *count, bool *cut)
{
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue; /* hidden files and ".git" */
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			names = pl_xrealloc(names, cap * sizeof(char *));
		}
		names[n++] = pl_xstrdup(e->d_name);
	}
	if (n)
		qsort(names, n, sizeof(char *), cmp_str);
	for (i = 0; i < n; i++) {
		pl_buf r = PL_BUF_INIT;
		struct stat st;
		if (strcmp(rel, "."))
			pl_path_join(&r, rel, names[i]);
		else
			pl_buf_puts(&r, names[i]);
		if (fstatat(dirfd(d), names[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
			bool dir = S_ISDIR(st.st_mode);
			pl_buf probe = PL_BUF_INIT;
			pl_buf_printf(&probe, "%s%s", r.ptr, dir ? "/" : "");
			if (show_ignored || !tools__is_ignored(ctx, probe.ptr)) {
				if (*cut || out->len + r.len + 8 > room(ctx, 300))
					*cut = true;
				else {
					tools__add_text(out, r.ptr, r.len);
					pl_buf_puts(out, dir ? "/\n" : S_ISLNK(st.st_mode) ? "@\n" : "\n");
				}
				(*count)++;
				if (dir && depth < 2)
					list_dir(out, ctx,
						 tools__open_at(dirfd(d), names[i], O_RDONLY | O_DIRECTORY, TOOLS__NO_SYMLINKS),
						 r.ptr, depth + 1, show_ignored, count, cut);
			}
			pl_buf_release(&probe);
		}
		pl_buf_release(&r);
		free(names[i]);
	}
	free(names);
	closedir(d);
}

/* The directory open at fd (taken) as a listing. */
static int view_dir(tools_obs *obs, tools_ctx *ctx, int fd, const char *rel, pl_err *err)
{
	size_t count = 0;
	bool cut = false, ignored = false;

	if (strcmp(rel, ".")) {
		pl_buf probe = PL_BUF_INIT;
		pl_buf_printf(&probe, "%s/", rel);
		ignored = tools__is_ignored(ctx, probe.ptr);
		pl_buf_release(&probe);
	}
	(void)err;
	pl_buf_printf(&obs->text, "Here's the files and directories up to 2 levels deep in %s, excluding hidden items%s:\n",
		      rel, ignored ? "" : " and what git ignores");
	list_dir(&obs->text, ctx, fd, rel, 1, ignored, &count, &cut);
	if (!count)
		pl_buf_puts(&obs->text, "(no entries)\n");
	if (cut) {
		pl_buf_printf(&obs->text, "[listing truncated: %zu entries in all; view a subdirectory to see more]\n", count);
		obs->truncated = true;
	}
	if (ignored)
		pl_buf_printf(&obs->text,
			      "[note: '%s' is ignored by git: `search` and `find` skip it, and the patch leaves out what is in it]\n",
			      rel);
	pl_json_set(obs->data, "entries", json_integer((json_int_t)count));
	pl_json_set(obs->data, "ignored", json_boolean(ignored));
	return 0;
}

static int view_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	pl_buf abs = PL_BUF_INIT, rel = PL_BUF_INIT, data = PL_BUF_INIT;
	const json_t *range = json_object_get(args, "view_range");
	struct stat st;
	size_t nlines, from = 1, to, last = 0;
	bool clamped = false;
	int rc, fd = -1;

	if ((rc = tools__resolve(&abs, &rel, ctx, opt_str(args, "path"), err)) < 0)
		goto done;
	/* opened once, beneath the root: a directory is listed from this
	 * descriptor, a file read from it */
	fd = tools__open(ctx, rel.ptr, O_RDONLY, TOOLS__BENEATH);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (range && !json_is_null(range)) {
			rc = pl_err_set(err, PL_EINVAL,
					"The `view_range` parameter is not allowed when `path` points to a directory ('%s')", rel.ptr);
			goto done;
		}
		rc = view_dir(obs, ctx, fd, rel.ptr, err);
		fd = -1;
		goto done;
	}
	if ((rc = read_fd_file(&data, &st, fd, rel.ptr, err)) < 0)
		goto done;
	if (tools__is_binary(data.ptr, data.len)) {
		pl_buf_printf(&obs->text, "'%s' is a binary file (%zu bytes); it is not shown.\n", rel.ptr, data.len);
		pl_json_set(obs->data, "binary", json_true());
		goto done;
	}
	nlines = count_lines(data.ptr, data.len);
	to = nlines;
	if (range && !json_is_null(range)) {
		json_int_t a = json_integer_value(json_array_get(range, 0)), b = json_integer_value(json_array_get(range, 1));
		if (a < 1 || (size_t)a > (nlines ? nlines : 1)) {
			rc = pl_err_set(err, PL_EINVAL,
					"Invalid `view_range`: [%lld, %lld]. Its first element `%lld` should be within the range of "
					"lines of the file: [1, %zu] (lines are numbered from 1)",
					(long long)a, (long long)b, (long long)a, nlines ? nlines : 1);
			goto done;
		}
		if (b != -1 && b < a) {
			rc = pl_err_set(err, PL_EINVAL,
					"Invalid `view_range`: [%lld, %lld]. Its second element `%lld` should be larger or equal "
					"than its first `%lld` (or -1 for the end of the file)",
					(long long)a, (long long)b, (long long)b, (long long)a);
			goto done;
		}
		from = (size_t)a;
		if (b != -1 && (size_t)b < nlines)
			to = (size_t)b;
		else
			clamped = b != -1 && (size_t)b > nlines;
	}
	pl_buf_printf(&obs->text, "Here's the result of running `cat -n` on %s:\n", rel.ptr);
	if (!data.len)
		pl_buf_printf(&obs->text, "['%s' is empty]\n", rel.ptr);
	last = add_numbered(&obs->text, data.ptr, data.len, from, to, room(ctx, 500), line_max(ctx));
	if (last < to) {
		/* the next range starts where this one stopped: following the
		 * hint always gets further */
		pl_buf_printf(&obs->text,
			      "<response clipped><NOTE>To save on context only part of this file has been shown to you: lines "
			      "%zu-%zu of %zu. View the rest with view_range [%zu, %zu], or search inside the file (`search` "
			      "with path, or `grep -n`) to find the line numbers of what you are looking for.</NOTE>\n",
			      from, last, nlines, last + 1, to);
		obs->truncated = true;
	} else if (clamped)
		pl_buf_printf(&obs->text, "[the file ends at line %zu]\n", nlines);
	if (data.len && data.ptr[data.len - 1] != '\n' && last == nlines)
		pl_buf_puts(&obs->text, "[no newline at end of file]\n");
	pl_json_set(obs->data, "lines", json_integer((json_int_t)nlines));
done:
	if (fd >= 0)
		close(fd);
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
	"appear as \\xNN; a very long line is shown cut in its middle.",
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
	bool overwrite = json_is_true(json_object_get(args, "overwrite"));
	tools__place place = { -1, PL_BUF_INIT };
	struct stat st;
	edit e = { 0 };
	int rc;

	if ((rc = tools__resolve_write(&abs, &rel, ctx, opt_str(args, "path"), err)) < 0 ||
	    (rc = tools__place_open(&place, ctx, rel.ptr, false, err)) < 0)
		goto done;
	e.mode = 0644;
	/* a dangling link (inside the repository) is written over */
	if (place.dirfd >= 0 && fstatat(place.dirfd, place.name.ptr, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !S_ISLNK(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			rc = pl_err_set(err, PL_EINVAL, "'%s' is a directory; give a file path", rel.ptr);
			goto done;
		}
		if (!overwrite) {
			rc = pl_err_set(err, PL_EEXISTS,
					"File already exists at: %s. Cannot overwrite files using command `create`: change it with "
					"`str_replace` or `insert`, or pass overwrite: true to replace its whole content",
					rel.ptr);
			goto done;
		}
		if ((rc = read_file(&old, &st, &place, rel.ptr, err)) < 0)
			goto done;
		e.existed = true;
		e.mode = st.st_mode & 07777;
	}
	pl_buf_add(&neu, json_string_value(text), json_string_length(text));
	e.kind = EDIT_CREATE;
	e.place = &place;
	e.rel = rel.ptr;
	e.old = &old;
	e.neu = &neu;
	e.from = 1;
	e.to = count_lines(neu.ptr, neu.len);
	e.removed = old.ptr;
	e.removed_len = e.existed ? old.len : 0;
	e.added = neu.ptr;
	e.added_len = neu.len;
	rc = commit_edit(obs, ctx, &e, err);
done:
	tools__place_close(&place);
	pl_buf_release(&abs);
	pl_buf_release(&rel);
	pl_buf_release(&old);
	pl_buf_release(&neu);
	return rc;
}

const tools_def tools__def_create = {
	"create",
	"Create a new file with the given content (parent directories are made). An existing file is refused "
	"unless overwrite is true (undo_edit then restores it); change existing files with str_replace or "
	"insert. Source files that would not parse are refused with the error shown.",
	"{\"type\":\"object\",\"properties\":{"
	"\"path\":{\"type\":\"string\",\"description\":\"file to create, relative to the repository root\"},"
	"\"file_text\":{\"type\":\"string\",\"description\":\"the whole content of the file\"},"
	"\"overwrite\":{\"type\":\"boolean\",\"description\":\"replace an existing file's whole content (default false)\"}},"
	"\"required\":[\"path\",\"file_text\"],\"additionalProperties\":false}",
	create_run,
};

/* ------------------------------------------------------------ str_replace */

/* Explain why old_str was not found: a whitespace-insensitive match, or
 * lines resembling its first line. */
static void explain_no_match(pl_buf *out, const pl_buf *file, const char *old, size_t oldlen, const char *shown,
			     size_t shown_len, const char *rel)
{
	pl_buf nf = PL_BUF_INIT, no = PL_BUF_INIT;
	size_t *map = NULL, i, nshown = 0;
	const char *hit, *first, *fe;
	char *key = NULL;

	pl_buf_puts(out, "error: No replacement was performed, old_str `");
	add_echo(out, shown, shown_len);
	pl_buf_printf(out, "` did not appear verbatim in %s.", rel);
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
			if (!nshown)
				pl_buf_puts(out, " Its first line occurs at:\n");
			pl_buf_printf(out, "%6zu\t", line);
			add_echo(out, ls, (size_t)(le - ls) - (le > ls && le[-1] == '\r'));
			pl_buf_putc(out, '\n');
			p = le;
			if (++nshown == 5)
				break;
		}
		if (nshown)
			pl_buf_puts(out, "The lines after it differ; view the region and copy it exactly.");
	}
	if (!nshown)
		pl_buf_puts(out, " No line resembles its first line; view the file to find the text to replace.");
done:
	free(key);
	free(map);
	pl_buf_release(&nf);
	pl_buf_release(&no);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "\xNN" as `view` shows a byte that is not UTF-8, back to that byte.
 * False when s holds no such escape. */
static bool unescape_bytes(pl_buf *out, const char *s, size_t n)
{
	bool any = false;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 && hexval(s[i + 3]) >= 0) {
			pl_buf_putc(out, (char)(hexval(s[i + 2]) * 16 + hexval(s[i + 3])));
			i += 3;
			any = true;
		} else
			pl_buf_putc(out, s[i]);
	}
	return any;
}

/* UTF-8 characters U+0080..U+00FF as the Latin-1 bytes they are.  False
 * when s has none, or has a character Latin-1 cannot hold. */
static bool to_latin1(pl_buf *out, const char *s, size_t n)
{
	bool any = false;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x80)
			pl_buf_putc(out, (char)c);
		else if ((c == 0xC2 || c == 0xC3) && i + 1 < n && ((unsigned char)s[i + 1] & 0xC0) == 0x80) {
			pl_buf_putc(out, (char)(((c & 0x03) << 6) | ((unsigned char)s[i + 1] & 0x3F)));
			i++;
			any = true;
		} else
			return false;
	}
	return any;
}

static size_t find_all(const pl_buf *data, const pl_buf *needle, const char **first, size_t *lines, size_t cap,
		       size_t *nl)
{
	const char *p, *hit;
	size_t matches = 0;

	*nl = 0;
	*first = NULL;
	if (!needle->len)
		return 0;
	for (p = data->ptr; (hit = memmem(p, (size_t)(data->ptr + data->len - p), needle->ptr, needle->len)); p = hit + 1) {
		if (!matches)
			*first = hit;
		if (*nl < cap)
			lines[(*nl)++] = line_of_offset(data->ptr, (size_t)(hit - data->ptr));
		matches++;
	}
	return matches;
}

static int str_replace_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	pl_buf abs = PL_BUF_INIT, rel = PL_BUF_INIT, data = PL_BUF_INIT, neu = PL_BUF_INIT, old = PL_BUF_INIT,
	       repl = PL_BUF_INIT, mo = PL_BUF_INIT, mn = PL_BUF_INIT;
	const json_t *jo = json_object_get(args, "old_str"), *jn = json_object_get(args, "new_str");
	const char *os = json_string_value(jo), *ns = jn && !json_is_null(jn) ? json_string_value(jn) : "";
	size_t olen = json_string_length(jo), nlen = jn && !json_is_null(jn) ? json_string_length(jn) : 0;
	const char *first = NULL, *note = NULL;
	size_t matches, lines[10], nl = 0;
	tools__place place = { -1, PL_BUF_INIT };
	struct stat st;
	edit e = { 0 };
	bool crlf;
	int rc;

	if ((rc = tools__resolve_write(&abs, &rel, ctx, opt_str(args, "path"), err)) < 0 ||
	    (rc = tools__place_open(&place, ctx, rel.ptr, false, err)) < 0)
		goto done;
	if (!olen) {
		rc = pl_err_set(err, PL_EINVAL, "old_str is empty; give the exact text to replace (use `insert` to add lines)");
		goto done;
	}
	if ((rc = read_file(&data, &st, &place, rel.ptr, err)) < 0 || (rc = refuse_binary(&data, rel.ptr, err)) < 0)
		goto done;
	crlf = uses_crlf(data.ptr, data.len);
	add_eol_converted(&old, os, olen, crlf);
	add_eol_converted(&repl, ns, nlen, crlf);
	matches = find_all(&data, &old, &first, lines, PL_ARRAY_LEN(lines), &nl);
	/* Bytes that are not UTF-8 (a Latin-1 file): old_str may spell them as
	 * `view` showed them (\xNN) or as the characters they stand for. */
	if (!matches && unescape_bytes(&mo, old.ptr, old.len)) {
		pl_buf tmp = PL_BUF_INIT;
		if ((matches = find_all(&data, &mo, &first, lines, PL_ARRAY_LEN(lines), &nl))) {
			unescape_bytes(&tmp, repl.ptr, repl.len);
			pl_buf_reset(&repl);
			pl_buf_add(&repl, tmp.ptr, tmp.len);
			pl_buf_reset(&old);
			pl_buf_add(&old, mo.ptr, mo.len);
			note = "[old_str matched with its \\xNN escapes read as the bytes they stand for, as new_str was]\n";
		}
		pl_buf_release(&tmp);
	}
	if (!matches && to_latin1(&mn, old.ptr, old.len)) {
		pl_buf tmp = PL_BUF_INIT;
		if ((matches = find_all(&data, &mn, &first, lines, PL_ARRAY_LEN(lines), &nl))) {
			if (repl.len && !to_latin1(&tmp, repl.ptr, repl.len)) {
				bool ascii = true;
				size_t k;
				for (k = 0; k < repl.len; k++)
					ascii = ascii && (unsigned char)repl.ptr[k] < 0x80;
				if (!ascii) {
					pl_buf_release(&tmp);
					rc = pl_err_set(err, PL_EINVAL,
							"'%s' is Latin-1 (old_str matched it as Latin-1), and new_str has characters "
							"Latin-1 cannot hold; write them another way (an escape in the code)",
							rel.ptr);
					goto done;
				}
				pl_buf_add(&tmp, repl.ptr, repl.len);
			}
			pl_buf_reset(&repl);
			pl_buf_add(&repl, tmp.ptr, tmp.len);
			pl_buf_reset(&old);
			pl_buf_add(&old, mn.ptr, mn.len);
			note = "[old_str matched as Latin-1, the file's encoding; new_str was written in Latin-1 too]\n";
		}
		pl_buf_release(&tmp);
	}
	if (!matches) {
		explain_no_match(&obs->text, &data, old.ptr, old.len, os, olen, rel.ptr);
		obs->is_error = true;
		goto done;
	}
	if (matches > 1) {
		size_t i;
		pl_buf_puts(&obs->text, "error: No replacement was performed. Multiple occurrences of old_str `");
		add_echo(&obs->text, os, olen);
		pl_buf_puts(&obs->text, "` in lines [");
		for (i = 0; i < nl; i++)
			pl_buf_printf(&obs->text, "%s%zu", i ? ", " : "", lines[i]);
		pl_buf_printf(&obs->text, "%s]. Please ensure it is unique: include more of the lines around it (it occurs %zu "
					  "times in %s).",
			      matches > nl ? ", ..." : "", matches, rel.ptr);
		obs->is_error = true;
		goto done;
	}
	if (old.len == repl.len && !memcmp(old.ptr, repl.ptr, old.len)) {
		pl_buf_puts(&obs->text, "error: No replacement was performed, old_str `");
		add_echo(&obs->text, os, olen);
		pl_buf_puts(&obs->text, "` is the same as new_str `");
		add_echo(&obs->text, ns, nlen);
		pl_buf_puts(&obs->text, "`.");
		obs->is_error = true;
		goto done;
	}
	pl_buf_add(&neu, data.ptr, (size_t)(first - data.ptr));
	pl_buf_add(&neu, repl.ptr, repl.len);
	pl_buf_add(&neu, first + old.len, (size_t)(data.ptr + data.len - first - old.len));
	edit_existing(&e, EDIT_REPLACE, &place, rel.ptr, &data, &neu, &st);
	e.from = line_of_offset(neu.ptr, (size_t)(first - data.ptr));
	e.to = e.from + (repl.len ? count_lines(repl.ptr, repl.len) - 1 : 0);
	e.removed = old.ptr;
	e.removed_len = old.len;
	e.added = repl.ptr;
	e.added_len = repl.len;
	if ((rc = commit_edit(obs, ctx, &e, err)) == 0 && note && !obs->is_error)
		pl_buf_printf(&obs->text, "\n%s", note);
done:
	tools__place_close(&place);
	pl_buf_release(&abs);
	pl_buf_release(&rel);
	pl_buf_release(&data);
	pl_buf_release(&neu);
	pl_buf_release(&old);
	pl_buf_release(&repl);
	pl_buf_release(&mo);
	pl_buf_release(&mn);
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
	tools__place place = { -1, PL_BUF_INIT };
	struct stat st;
	size_t nlines, off, added;
	edit e = { 0 };
	bool crlf;
	int rc;

	if ((rc = tools__resolve_write(&abs, &rel, ctx, opt_str(args, "path"), err)) < 0 ||
	    (rc = tools__place_open(&place, ctx, rel.ptr, false, err)) < 0)
		goto done;
	if (!json_string_length(jn)) {
		rc = pl_err_set(err, PL_EINVAL, "new_str is empty: there is nothing to insert");
		goto done;
	}
	if ((rc = read_file(&data, &st, &place, rel.ptr, err)) < 0 || (rc = refuse_binary(&data, rel.ptr, err)) < 0)
		goto done;
	nlines = count_lines(data.ptr, data.len);
	if (at < 0 || (size_t)at > nlines) {
		rc = pl_err_set(err, PL_EINVAL,
				"Invalid `insert_line` parameter: %lld. It should be within the range of lines of the file: [0, "
				"%zu] (0 inserts before the first line, %zu after the last)",
				(long long)at, nlines, nlines);
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
	edit_existing(&e, EDIT_INSERT, &place, rel.ptr, &data, &neu, &st);
	e.from = (size_t)at + 1;
	e.to = (size_t)at + (added ? added : 1);
	e.added = text.ptr;
	e.added_len = text.len;
	rc = commit_edit(obs, ctx, &e, err);
done:
	tools__place_close(&place);
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

/* The lines of `restored` that differ from `current`, with context, as
 * `cat -n` would show them. */
static void add_restored_region(pl_buf *b, const tools_ctx *ctx, const char *cur, size_t ncur, const char *res,
				size_t nres)
{
	size_t p = 0, s = 0, from, to, nlines = count_lines(res, nres), last;

	while (p < ncur && p < nres && cur[p] == res[p])
		p++;
	while (s < ncur - p && s < nres - p && cur[ncur - 1 - s] == res[nres - 1 - s])
		s++;
	from = line_of_offset(res, p);
	to = line_of_offset(res, nres - s > p ? nres - s - 1 : p);
	from = from > SNIPPET_CONTEXT ? from - SNIPPET_CONTEXT : 1;
	to += SNIPPET_CONTEXT;
	if (to > nlines)
		to = nlines;
	last = add_numbered(b, res, nres, from, to, room(ctx, 300), line_max(ctx));
	if (last < to)
		pl_buf_printf(b, "[... lines %zu-%zu not shown; view_range shows them ...]\n", last + 1, to);
}

static int undo_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	pl_buf abs = PL_BUF_INIT, rel = PL_BUF_INIT, cur = PL_BUF_INIT;
	editor_state *st = editor_of(ctx);
	tools__place place = { -1, PL_BUF_INIT };
	undo_entry **pp, *u = NULL;
	struct stat sb;
	bool exists;
	int rc;

	if ((rc = tools__resolve_write(&abs, &rel, ctx, opt_str(args, "path"), err)) < 0)
		goto done;
	for (pp = &st->undo; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->path, rel.ptr)) {
			u = *pp;
			break;
		}
	if (!u) {
		rc = pl_err_set(err, PL_ENOTFOUND, "No edit history found for %s (no edit of it to undo in this session)",
				rel.ptr);
		goto done;
	}
	if ((rc = tools__place_open(&place, ctx, rel.ptr, false, err)) < 0)
		goto done;
	/* Undo restores what the file held before the edit: if anything
	 * changed it since (a command, a formatter), that change would be lost
	 * without a word. */
	exists = read_file(&cur, &sb, &place, rel.ptr, NULL) == 0;
	if (!exists || cur.len != u->wrote_len || hash_bytes(cur.ptr, cur.len) != u->wrote_hash) {
		rc = pl_err_set(err, PL_EINVAL,
				"'%s' has %s since your last edit of it (by a command or another program), so undo_edit would "
				"throw that change away; nothing was changed. View the file and edit it with str_replace instead",
				rel.ptr, exists ? "changed" : "been deleted");
		goto done;
	}
	if (u->existed)
		rc = tools__write_at(place.dirfd, place.name.ptr, u->data, u->len, u->mode, err);
	else if (unlinkat(place.dirfd, place.name.ptr, 0) < 0 && errno != ENOENT)
		rc = pl_err_sys(err, PL_EIO, "removing '%s'", rel.ptr);
	if (rc < 0)
		goto done;
	*pp = u->next;
	if (u->existed) {
		pl_buf_printf(&obs->text,
			      "Last edit to %s undone successfully. Here's the result of running `cat -n` on a snippet of %s:\n",
			      rel.ptr, rel.ptr);
		add_restored_region(&obs->text, ctx, cur.ptr, cur.len, u->data, u->len);
	} else
		pl_buf_printf(&obs->text, "Last edit to %s undone successfully: the file did not exist before and was removed.",
			      rel.ptr);
	json_array_append_new(obs->files, json_string(rel.ptr));
	add_diff(obs, rel.ptr, cur.ptr, cur.len, u->existed ? u->data : "", u->existed ? u->len : 0);
	undo_entry_free(u);
done:
	tools__place_close(&place);
	pl_buf_release(&abs);
	pl_buf_release(&rel);
	pl_buf_release(&cur);
	return rc;
}

const tools_def tools__def_undo_edit = {
	"undo_edit",
	"Revert the last edit (create, str_replace or insert) made to a file in this session; repeat to go "
	"further back. A file that create made is removed. Refused when the file changed since that edit "
	"(a command rewrote it), so that nothing is lost.",
	"{\"type\":\"object\",\"properties\":{"
	"\"path\":{\"type\":\"string\",\"description\":\"file whose last edit to revert\"}},"
	"\"required\":[\"path\"],\"additionalProperties\":false}",
	undo_run,
};
