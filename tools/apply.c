/* apply.c - applying a unified diff: strictly through libgit2 first, then
 * with plait's own applier, which finds each hunk near its stated line and
 * tolerates fuzz the way `patch --fuzz` does. */
#define _GNU_SOURCE
#include "tools/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct hline {
	char kind; /* ' ', '-', '+' */
	const char *s;
	size_t n;   /* without the line ending */
	bool noeol; /* followed by "\ No newline at end of file" */
} hline;

typedef struct hunk {
	long old_start, old_count, new_start, new_count;
	hline *l;
	size_t n, cap;
	long patch_line;
} hunk;

typedef struct fpatch {
	char *old_path, *new_path; /* NULL for /dev/null */
	bool is_new, is_delete, binary;
	int new_mode;
	hunk *h;
	size_t n, cap;
} fpatch;

typedef struct fline {
	const char *s;
	size_t n;       /* without the line ending */
	const char *eol; /* "\n", "\r\n" or "" */
} fline;

void tools_apply_result_release(tools_apply_result *r)
{
	if (r)
		pl_buf_release(&r->log);
}

static char *strip_path(const char *s, size_t n)
{
	size_t i;

	/* a trailing tab starts a timestamp in traditional diffs */
	for (i = 0; i < n; i++)
		if (s[i] == '\t')
			n = i;
	while (n && (s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (n == 9 && !memcmp(s, "/dev/null", 9))
		return NULL;
	if (n > 2 && (s[0] == 'a' || s[0] == 'b') && s[1] == '/') {
		s += 2;
		n -= 2;
	}
	return pl_xstrndup(s, n);
}

static void free_patches(fpatch *p, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		free(p[i].old_path);
		free(p[i].new_path);
		for (j = 0; j < p[i].n; j++)
			free(p[i].h[j].l);
		free(p[i].h);
	}
	free(p);
}

static fpatch *new_file(fpatch **arr, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*arr = pl_xrealloc(*arr, *cap * sizeof(fpatch));
	}
	memset(&(*arr)[*n], 0, sizeof(fpatch));
	return &(*arr)[(*n)++];
}

static int parse_patch(fpatch **out, size_t *count, const char *text, size_t len, pl_err *err)
{
	fpatch *arr = NULL, *cur = NULL;
	size_t n = 0, cap = 0;
	const char *p = text, *end = text + len;
	long lineno = 0;
	int rc = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		size_t ln = (size_t)(le - p);
		lineno++;
		if (ln >= 11 && !memcmp(p, "diff --git ", 11)) {
			const char *b = NULL, *q;
			cur = new_file(&arr, &n, &cap);
			for (q = p + 11; q + 3 < le; q++)
				if (!memcmp(q, " b/", 3))
					b = q;
			if (b) {
				cur->old_path = strip_path(p + 11, (size_t)(b - p - 11));
				cur->new_path = strip_path(b + 1, (size_t)(le - b - 1));
			}
		} else if (ln >= 4 && !memcmp(p, "--- ", 4) && nl && end - nl > 4 && !memcmp(nl + 1, "+++ ", 4)) {
			const char *n2 = memchr(nl + 1, '\n', (size_t)(end - nl - 1)), *le2 = n2 ? n2 : end;
			if (!cur || cur->n)
				cur = new_file(&arr, &n, &cap);
			free(cur->old_path);
			free(cur->new_path);
			cur->old_path = strip_path(p + 4, ln - 4);
			cur->new_path = strip_path(nl + 5, (size_t)(le2 - nl - 5));
			if (!cur->old_path)
				cur->is_new = true;
			if (!cur->new_path)
				cur->is_delete = true;
			p = n2 ? n2 + 1 : end;
			lineno++;
			continue;
		} else if (cur && ln > 14 && !memcmp(p, "new file mode ", 14)) {
			cur->is_new = true;
			cur->new_mode = (int)strtol(p + 14, NULL, 8);
		} else if (cur && ln > 9 && !memcmp(p, "new mode ", 9)) {
			cur->new_mode = (int)strtol(p + 9, NULL, 8);
		} else if (cur && ln > 18 && !memcmp(p, "deleted file mode ", 18)) {
			cur->is_delete = true;
		} else if (cur && ((ln >= 16 && !memcmp(p, "GIT binary patch", 16)) || (ln > 13 && !memcmp(p, "Binary files ", 13)))) {
			cur->binary = true;
		} else if (cur && ln > 12 && !memcmp(p, "rename from ", 12)) {
			free(cur->old_path);
			cur->old_path = pl_xstrndup(p + 12, ln - 12);
		} else if (cur && ln > 10 && !memcmp(p, "rename to ", 10)) {
			free(cur->new_path);
			cur->new_path = pl_xstrndup(p + 10, ln - 10);
		} else if (ln > 4 && !memcmp(p, "@@ -", 4)) {
			hunk h = { 0 };
			long olds = 0, news = 0;
			char *q;
			if (!cur) {
				rc = pl_err_set(err, PL_EFORMAT, "patch line %ld: hunk before any file header", lineno);
				goto done;
			}
			h.old_start = strtol(p + 4, &q, 10);
			h.old_count = *q == ',' ? strtol(q + 1, &q, 10) : 1;
			if (strncmp(q, " +", 2)) {
				rc = pl_err_set(err, PL_EFORMAT, "patch line %ld: malformed hunk header", lineno);
				goto done;
			}
			h.new_start = strtol(q + 2, &q, 10);
			h.new_count = *q == ',' ? strtol(q + 1, &q, 10) : 1;
			h.patch_line = lineno;
			p = nl ? nl + 1 : end;
			while (p < end && (olds < h.old_count || news < h.new_count || (*p == '\\'))) {
				const char *nl3 = memchr(p, '\n', (size_t)(end - p)), *le3 = nl3 ? nl3 : end;
				size_t l3 = (size_t)(le3 - p);
				char k = l3 ? p[0] : ' ';
				lineno++;
				if (k == '\\') {
					if (h.n)
						h.l[h.n - 1].noeol = true;
				} else if (k == ' ' || k == '-' || k == '+') {
					if (h.n == h.cap) {
						h.cap = h.cap ? h.cap * 2 : 16;
						h.l = pl_xrealloc(h.l, h.cap * sizeof(hline));
					}
					h.l[h.n].kind = k;
					h.l[h.n].s = l3 ? p + 1 : p;
					h.l[h.n].n = l3 ? l3 - 1 : 0;
					if (h.l[h.n].n && h.l[h.n].s[h.l[h.n].n - 1] == '\r')
						h.l[h.n].n--;
					h.l[h.n].noeol = false;
					h.n++;
					if (k != '+')
						olds++;
					if (k != '-')
						news++;
				} else
					break;
				p = nl3 ? nl3 + 1 : end;
			}
			if (olds != h.old_count || news != h.new_count) {
				free(h.l);
				rc = pl_err_set(err, PL_EFORMAT,
						"patch line %ld: hunk says %ld old and %ld new lines but has %ld and %ld",
						h.patch_line, h.old_count, h.new_count, olds, news);
				goto done;
			}
			if (cur->n == cur->cap) {
				cur->cap = cur->cap ? cur->cap * 2 : 4;
				cur->h = pl_xrealloc(cur->h, cur->cap * sizeof(hunk));
			}
			cur->h[cur->n++] = h;
			continue;
		}
		p = nl ? nl + 1 : end;
	}
	if (!n)
		rc = pl_err_set(err, PL_EFORMAT, "no file header (--- / +++ or diff --git) found in the patch");
done:
	if (rc < 0) {
		free_patches(arr, n);
		return rc;
	}
	*out = arr;
	*count = n;
	return 0;
}

static bool line_eq(const fline *f, const hline *h)
{
	size_t n = f->n;

	if (n && f->s[n - 1] == '\r')
		n--;
	return n == h->n && !memcmp(f->s, h->s, n);
}

/* Does seq (old side of h, lines [a, b) of the hunk) match at pos? */
static bool match_at(const fline *fl, size_t nf, size_t pos, const hunk *h, size_t a, size_t b)
{
	size_t i, k = pos;

	for (i = a; i < b; i++) {
		if (h->l[i].kind == '+')
			continue;
		if (k >= nf || !line_eq(&fl[k], &h->l[i]))
			return false;
		k++;
	}
	return true;
}

/* Paths are the patch's, relative to the root; every file is opened
 * beneath the root's descriptor without following a symlink (path.c). */
typedef struct applied {
	fpatch *fp;
	pl_buf content;
	const char *old, *neu; /* the file read, the file written (NULL: none) */
	int mode;              /* the old file's */
} applied;

static int apply_file(applied *res, fpatch *fp, int rootfd, int fuzz, tools_apply_result *out, pl_err *err)
{
	pl_buf src = PL_BUF_INIT;
	tools__place pl;
	fline *fl = NULL, *nfl = NULL;
	size_t nf = 0, cap = 0, h, i, min_pos = 0;
	long delta = 0, shift = 0;
	const char *eol = "\n";
	int rc = 0;

	if (fp->binary)
		return pl_err_set(err, PL_EUNSUPPORTED, "'%s': binary patches apply only when they match exactly",
				  fp->new_path ? fp->new_path : fp->old_path);
	if (!fp->is_new) {
		if (!fp->old_path)
			return pl_err_set(err, PL_EFORMAT, "a file section without a path");
		int fd = -1;
		struct stat st;

		if ((rc = tools__place_open_at(&pl, rootfd, fp->old_path, false, err)) < 0)
			goto done;
		if (pl.dirfd >= 0)
			fd = tools__open_at(pl.dirfd, pl.name.ptr, O_RDONLY, TOOLS__NO_SYMLINKS);
		tools__place_close(&pl);
		rc = fd < 0 || fstat(fd, &st) < 0 ? -1 : tools__read_fd(&src, fd, (size_t)-1);
		if (fd >= 0)
			close(fd);
		if (rc < 0) {
			rc = pl_err_set(err, PL_ENOTFOUND, "'%s' does not exist, so the patch cannot change it", fp->old_path);
			goto done;
		}
		res->old = fp->old_path;
		res->mode = st.st_mode & 07777;
	}
	if (fp->new_path) {
		bool exists = false;

		if ((rc = tools__place_open_at(&pl, rootfd, fp->new_path, false, err)) < 0)
			goto done;
		if (pl.dirfd >= 0) {
			struct stat st;
			exists = fstatat(pl.dirfd, pl.name.ptr, &st, AT_SYMLINK_NOFOLLOW) == 0;
		}
		tools__place_close(&pl);
		if (fp->is_new && exists) {
			rc = pl_err_set(err, PL_EEXISTS, "'%s' already exists; the patch creates it", fp->new_path);
			goto done;
		}
		res->neu = fp->new_path;
	}
	/* Split into lines, keeping each line's ending. */
	{
		const char *p = src.ptr, *end = src.ptr + src.len;
		size_t crlf = 0, lf = 0;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			if (nf == cap) {
				cap = cap ? cap * 2 : 64;
				fl = pl_xrealloc(fl, cap * sizeof(fline));
			}
			fl[nf].s = p;
			if (nl) {
				fl[nf].n = (size_t)(nl - p);
				if (fl[nf].n && p[fl[nf].n - 1] == '\r') {
					fl[nf].n--;
					fl[nf].eol = "\r\n";
					crlf++;
				} else {
					fl[nf].eol = "\n";
					lf++;
				}
				p = nl + 1;
			} else {
				fl[nf].n = (size_t)(end - p);
				fl[nf].eol = "";
				p = end;
			}
			nf++;
		}
		if (crlf > lf)
			eol = "\r\n";
	}
	for (h = 0; h < fp->n; h++) {
		hunk *hk = &fp->h[h];
		size_t lead = 0, trail = 0, a = 0, b = 0, oldn = 0, pos = 0, j, k, nnew = 0, o, used_dl = 0;
		long expect = (hk->old_count ? hk->old_start - 1 : hk->old_start) + delta;
		int f;
		bool found = false;

		while (lead < hk->n && hk->l[lead].kind == ' ')
			lead++;
		while (trail < hk->n - lead && hk->l[hk->n - 1 - trail].kind == ' ')
			trail++;
		for (f = 0; f <= fuzz && !found; f++) {
			size_t dl = (size_t)f < lead ? (size_t)f : lead, dt = (size_t)f < trail ? (size_t)f : trail;
			long span;
			if (f && !dl && !dt)
				break; /* nothing left to drop */
			a = dl;
			b = hk->n - dt;
			for (oldn = 0, j = a; j < b; j++)
				oldn += hk->l[j].kind != '+';
			if (expect < 0)
				expect = 0;
			span = (long)nf + 1;
			for (k = 0; k <= (size_t)span * 2 && !found; k++) {
				long off = (k & 1) ? -(long)((k + 1) / 2) : (long)(k / 2), cand = expect + (long)dl + off;
				if (cand < (long)min_pos || cand + (long)oldn > (long)nf)
					continue;
				if (match_at(fl, nf, (size_t)cand, hk, a, b)) {
					found = true;
					pos = (size_t)cand;
					used_dl = dl;
					long moved = (long)(pos - dl) -
						     ((hk->old_count ? hk->old_start - 1 : hk->old_start) + shift);
					if (moved || f) {
						out->fuzzed_hunks++;
						pl_buf_printf(&out->log, "%s: hunk %zu (patch line %ld) applied at line %zu "
							      "(offset %ld, fuzz %d)\n", fp->new_path ? fp->new_path : fp->old_path,
							      h + 1, hk->patch_line, pos - dl + 1, moved, f);
					}
				}
			}
		}
		if (!found) {
			rc = pl_err_set(err, PL_EINVAL,
					"'%s': hunk %zu (patch line %ld, @@ -%ld,%ld) matches nowhere in the file, even with "
					"fuzz %d; view the file and regenerate the patch",
					fp->old_path ? fp->old_path : fp->new_path, h + 1, hk->patch_line, hk->old_start,
					hk->old_count, fuzz);
			goto done;
		}
		/* Splice: lines [pos, pos+oldn) become the new side of [a, b). */
		for (j = a; j < b; j++)
			nnew += hk->l[j].kind != '-';
		nfl = pl_xmalloc((nf - oldn + nnew + 1) * sizeof(fline));
		if (pos)
			memcpy(nfl, fl, pos * sizeof(fline));
		o = pos;
		k = pos;
		for (j = a; j < b; j++) {
			const hline *hl = &hk->l[j];
			if (hl->kind == ' ') {
				nfl[o] = fl[k++];
				if (hl->noeol)
					nfl[o].eol = "";
				else if (!*nfl[o].eol)
					nfl[o].eol = eol;
				o++;
			} else if (hl->kind == '-')
				k++;
			else {
				nfl[o].s = hl->s;
				nfl[o].n = hl->n;
				nfl[o].eol = hl->noeol ? "" : eol;
				o++;
			}
		}
		if (nf > k)
			memcpy(nfl + o, fl + k, (nf - k) * sizeof(fline));
		o += nf - k;
		free(fl);
		fl = nfl;
		nfl = NULL;
		min_pos = pos + nnew;
		shift += hk->new_count - hk->old_count;
		delta = (long)(pos - used_dl) - (hk->old_count ? hk->old_start - 1 : hk->old_start) +
			(hk->new_count - hk->old_count);
		nf = o;
		cap = o + 1;
		out->hunks++;
	}
	for (i = 0; i < nf; i++) {
		pl_buf_add(&res->content, fl[i].s, fl[i].n);
		pl_buf_puts(&res->content, fl[i].eol);
	}
	if (fp->is_delete && res->content.len) {
		rc = pl_err_set(err, PL_EINVAL, "'%s': the patch deletes the file but its content differs from the patch's",
				fp->old_path);
		goto done;
	}
done:
	free(fl);
	free(nfl);
	pl_buf_release(&src);
	return rc;
}

static int fuzzy_apply(tools_apply_result *out, int rootfd, const char *text, size_t len, int fuzz, pl_err *err)
{
	fpatch *fp = NULL;
	applied *res = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = parse_patch(&fp, &n, text, len, err)) < 0)
		return rc;
	res = pl_xcalloc(n, sizeof(applied));
	for (i = 0; i < n; i++) {
		pl_buf_init(&res[i].content, 0);
		res[i].fp = &fp[i];
		if ((rc = apply_file(&res[i], &fp[i], rootfd, fuzz, out, err)) < 0)
			goto done;
	}
	/* Everything matched: write, each through the directory opened for it. */
	for (i = 0; i < n && rc == 0; i++) {
		int mode = res[i].old ? res[i].mode : 0644;
		tools__place pl;

		if (fp[i].new_mode)
			mode = fp[i].new_mode & 0777;
		if (fp[i].is_delete) {
			if ((rc = tools__place_open_at(&pl, rootfd, res[i].old, false, err)) == 0 &&
			    (pl.dirfd < 0 || unlinkat(pl.dirfd, pl.name.ptr, 0) < 0))
				rc = pl_err_sys(err, PL_EIO, "removing '%s'", fp[i].old_path);
			tools__place_close(&pl);
		} else {
			if ((rc = tools__place_open_at(&pl, rootfd, res[i].neu, true, err)) == 0)
				rc = tools__write_at(pl.dirfd, pl.name.ptr, res[i].content.ptr, res[i].content.len, mode, err);
			tools__place_close(&pl);
			if (rc == 0 && res[i].old && strcmp(res[i].old, res[i].neu)) {
				if ((rc = tools__place_open_at(&pl, rootfd, res[i].old, false, err)) == 0 &&
				    (pl.dirfd < 0 || unlinkat(pl.dirfd, pl.name.ptr, 0) < 0))
					rc = pl_err_sys(err, PL_EIO, "removing '%s' after the rename", fp[i].old_path);
				tools__place_close(&pl);
			}
		}
		out->files++;
	}
done:
	for (i = 0; i < n; i++) {
		pl_buf_release(&res[i].content);
	}
	free(res);
	free_patches(fp, n);
	return rc;
}

int tools_git_apply(tools_apply_result *out, const char *root, const char *patch, size_t len, int fuzz, pl_err *err)
{
	git_repository *r = NULL;
	git_diff *d = NULL;
	int rc, rootfd;

	memset(out, 0, sizeof(*out));
	pl_buf_init(&out->log, 0);
	if (fuzz < 0 || fuzz > 3)
		return pl_err_set(err, PL_EINVAL, "fuzz must be between 0 and 3, got %d", fuzz);
	if ((rc = tools__git2_init(err)) < 0)
		return rc;
	/* a foreign git directory (a planted .git) is not used: the applier below needs none */
	if (git_repository_open_ext(&r, root, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0 &&
	    tools__git_check_dir(r, root, NULL) == 0 && git_diff_from_buffer(&d, patch, len) == 0 &&
	    git_apply(r, d, GIT_APPLY_LOCATION_WORKDIR, NULL) == 0) {
		git_diff_stats *st = NULL;
		out->strict = true;
		out->files = (int)git_diff_num_deltas(d);
		if (git_diff_get_stats(&st, d) == 0) {
			size_t k;
			for (k = 0; k < git_diff_num_deltas(d); k++) {
				git_patch *p = NULL;
				if (git_patch_from_diff(&p, d, k) == 0)
					out->hunks += (int)git_patch_num_hunks(p);
				git_patch_free(p);
			}
			git_diff_stats_free(st);
		}
		rc = 0;
	} else if ((rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		rc = pl_err_sys(err, PL_ENOTFOUND, "'%s'", root);
	else {
		rc = fuzzy_apply(out, rootfd, patch, len, fuzz, err);
		close(rootfd);
	}
	git_diff_free(d);
	git_repository_free(r);
	git_libgit2_shutdown();
	return rc;
}
