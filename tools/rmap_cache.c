/* rmap_cache.c - repo_map's per-file tags (definitions with their source
 * line, reference counts per name), kept in memory on the tools_ctx and on
 * disk in one file under the cache directory, keyed by each file's path,
 * size, mtime and inode: a second call, or a second process, parses only
 * what changed since (uncommitted edits included, which a per-commit key
 * would miss). */
#define _GNU_SOURCE
#include "tools/rmap.h"
#include "tools/ts.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Files larger than this are not parsed for the map: generated parsers
 * and amalgamations cost more to parse than the rest of a repository and
 * their definitions are rarely what a task is about. */
#define MAX_PARSE_BYTES (1u << 20)
#define MAX_TEXT 160
#define CACHE_NAME "repo-map.bin"
#define MAGIC "plait-repo-map\n"
#define FORMAT 2 /* 2: kinds from node types, a typedef's first line */

/* On disk: a header, then per file an entry header, the path and the blob
 * (each padded to 8 bytes), the defs and the refs.  Native byte order: the
 * cache never leaves the machine. */
typedef struct disk_header {
	char magic[16];
	uint32_t format, key;
	uint64_t nfiles;
} disk_header;

typedef struct disk_entry {
	int64_t size, mtime_ns, ino;
	uint32_t path_len, blob_len; /* padded lengths */
	uint32_t ndefs, nrefs;
	uint32_t parsed, pad;
} disk_entry;

#define PAD8(n) (((n) + 7u) & ~(size_t)7u)

/* Changes whenever the tags could: the grammars' versions, their queries
 * and plait's own additions to them. */
static uint32_t cache_key(void)
{
	return tools__tags_version() ^ FORMAT;
}

static void file_release(rm_file *f)
{
	free(f->path);
	free(f->owned);
	memset(f, 0, sizeof(*f));
}

static void cache_release(void *p)
{
	struct rmap_cache *c = p;
	size_t i;

	for (i = 0; i < c->n; i++)
		file_release(&c->files[i]);
	free(c->files);
	if (c->have_disk)
		pl_map_close(&c->disk);
	free(c);
}

/* The cache lives on the context between calls. */
static const tools__state_kind cache_kind = { "repo_map cache", cache_release };

/* Read the cache file; anything malformed means "no cache", never an error. */
static void load_disk(struct rmap_cache *c, const tools_ctx *ctx)
{
	pl_buf p = PL_BUF_INIT;
	const disk_header *h;
	size_t off, i, n;

	if (!ctx->cache_dir)
		return;
	/* no symlink at the cache's place is followed: mapped through the
	 * descriptor opened beneath its directory */
	{
		int dfd = tools__cache_dir_open(ctx->cache_dir, false, NULL), fd = -1, rc = -1;
		if (dfd >= 0 && (fd = tools__open_at(dfd, CACHE_NAME, O_RDONLY, TOOLS__NO_SYMLINKS)) >= 0) {
			pl_buf_printf(&p, "/proc/self/fd/%d", fd);
			rc = pl_map_open(&c->disk, p.ptr, NULL);
		}
		if (fd >= 0)
			close(fd);
		if (dfd >= 0)
			close(dfd);
		pl_buf_release(&p);
		if (rc < 0)
			return;
	}
	c->have_disk = true;
	h = (const disk_header *)c->disk.data;
	if (c->disk.size < sizeof(*h) || memcmp(h->magic, MAGIC, sizeof(MAGIC)) || h->format != FORMAT ||
	    h->key != cache_key() || h->nfiles > c->disk.size / sizeof(disk_entry))
		return;
	n = (size_t)h->nfiles;
	c->files = pl_xcalloc(n ? n : 1, sizeof(rm_file));
	off = sizeof(*h);
	for (i = 0; i < n; i++) {
		const disk_entry *e;
		rm_file *f = &c->files[i];
		size_t need;
		const char *path;
		uint32_t k;
		if (off + sizeof(*e) > c->disk.size)
			goto bad;
		e = (const disk_entry *)(c->disk.data + off);
		off += sizeof(*e);
		need = (size_t)e->path_len + e->blob_len + (size_t)e->ndefs * sizeof(rm_def) + (size_t)e->nrefs * sizeof(rm_ref);
		if (e->path_len % 8 || e->blob_len % 8 || !e->path_len || need > c->disk.size - off)
			goto bad;
		path = (const char *)c->disk.data + off;
		if (!memchr(path, 0, e->path_len) || (e->blob_len && c->disk.data[off + e->path_len + e->blob_len - 1]))
			goto bad;
		f->path = pl_xstrdup(path);
		f->size = e->size;
		f->mtime_ns = e->mtime_ns;
		f->ino = e->ino;
		f->parsed = e->parsed != 0;
		f->blob = (const char *)c->disk.data + off + e->path_len;
		f->blob_len = e->blob_len;
		f->defs = (const rm_def *)(f->blob + e->blob_len);
		f->ndefs = e->ndefs;
		f->refs = (const rm_ref *)(f->blob + e->blob_len + (size_t)e->ndefs * sizeof(rm_def));
		f->nrefs = e->nrefs;
		c->n = i + 1;
		/* every string offset must land inside the blob */
		for (k = 0; k < f->ndefs; k++)
			if (f->defs[k].name >= f->blob_len || f->defs[k].kind >= f->blob_len || f->defs[k].text >= f->blob_len)
				goto bad;
		for (k = 0; k < f->nrefs; k++)
			if (f->refs[k].name >= f->blob_len)
				goto bad;
		if (i && strcmp(c->files[i - 1].path, f->path) >= 0)
			goto bad;
		off += need;
	}
	return;
bad:
	for (i = 0; i < c->n; i++)
		file_release(&c->files[i]);
	free(c->files);
	c->files = NULL;
	c->n = 0;
}

static int save_disk(const struct rmap_cache *c, const tools_ctx *ctx, pl_err *err)
{
	pl_buf b = PL_BUF_INIT;
	disk_header h;
	size_t i;
	int rc;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, MAGIC, sizeof(MAGIC));
	h.format = FORMAT;
	h.key = cache_key();
	h.nfiles = c->n;
	pl_buf_add(&b, &h, sizeof(h));
	for (i = 0; i < c->n; i++) {
		const rm_file *f = &c->files[i];
		disk_entry e;
		size_t pl = strlen(f->path) + 1;
		static const char zeros[8] = { 0 };
		memset(&e, 0, sizeof(e));
		e.size = f->size;
		e.mtime_ns = f->mtime_ns;
		e.ino = f->ino;
		e.path_len = (uint32_t)PAD8(pl);
		e.blob_len = (uint32_t)PAD8(f->blob_len);
		e.ndefs = f->ndefs;
		e.nrefs = f->nrefs;
		e.parsed = f->parsed;
		pl_buf_add(&b, &e, sizeof(e));
		pl_buf_add(&b, f->path, pl);
		pl_buf_add(&b, zeros, e.path_len - pl);
		pl_buf_add(&b, f->blob, f->blob_len);
		pl_buf_add(&b, zeros, e.blob_len - f->blob_len);
		pl_buf_add(&b, f->defs, f->ndefs * sizeof(rm_def));
		pl_buf_add(&b, f->refs, f->nrefs * sizeof(rm_ref));
	}
	{
		int dfd = tools__cache_dir_open(ctx->cache_dir, true, err);
		rc = dfd < 0 ? PL_EIO : tools__write_at(dfd, CACHE_NAME, b.ptr, b.len, 0644, err);
		if (dfd >= 0)
			close(dfd);
	}
	pl_buf_release(&b);
	return rc;
}

/* ------------------------------------------------------------ parsing */

typedef struct parse_job {
	tools_ctx *ctx;
	rm_file **stale;
	TSParser *parsers[TOOLS__MAX_THREADS];
	pl_buf bufs[TOOLS__MAX_THREADS];
} parse_job;

static int cmp_tag_name(const void *a, const void *b)
{
	const tools__tag *x = a, *y = b;

	if (x->is_def != y->is_def)
		return x->is_def ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Source line `line` (1-based) into the blob, trimmed at the end, capped;
 * starts[] holds the offset of every line (one pass over the file, not one
 * per definition). */
static void line_at(pl_buf *blob, const char *src, size_t len, const uint32_t *starts, size_t nlines, uint32_t line)
{
	size_t off, e;

	if (line < 1 || line > nlines) {
		pl_buf_putc(blob, 0);
		return;
	}
	off = starts[line - 1];
	e = line < nlines ? starts[line] : len;
	while (e > off && (src[e - 1] == '\n' || src[e - 1] == '\r' || src[e - 1] == ' ' || src[e - 1] == '\t'))
		e--;
	if (e - off > MAX_TEXT)
		e = off + MAX_TEXT;
	tools__add_text(blob, src + off, e - off);
	pl_buf_putc(blob, 0);
}

static uint32_t put_str(pl_buf *blob, const char *s)
{
	uint32_t at = (uint32_t)blob->len;

	pl_buf_add(blob, s, strlen(s) + 1);
	return at;
}

static void parse_one(size_t i, void *arg, int w)
{
	parse_job *j = arg;
	rm_file *f = j->stale[i];
	pl_buf *src = &j->bufs[w], blob = PL_BUF_INIT;
	tools__tags tags = { 0 };
	rm_def *defs;
	rm_ref *refs;
	size_t k, nd = 0, nr = 0, total, nlines = 0;
	uint32_t *starts = NULL;
	char *mem;

	f->parsed = false;
	if (f->size > MAX_PARSE_BYTES || !tools__read_source(src, j->ctx, f->path) ||
	    tools__tags_extract(&tags, j->ctx, j->parsers[w], f->path, src->ptr, src->len, false) < 0)
		goto out;
	f->parsed = true;
	if (tags.n)
		qsort(tags.v, tags.n, sizeof(tools__tag), cmp_tag_name);
	{
		const char *p = src->ptr, *e = src->ptr + src->len;
		size_t cap = 1024;
		starts = pl_xmalloc(cap * sizeof(uint32_t));
		starts[nlines++] = 0;
		while ((p = memchr(p, '\n', (size_t)(e - p))) && ++p < e) {
			if (nlines == cap)
				starts = pl_xrealloc(starts, (cap *= 2) * sizeof(uint32_t));
			starts[nlines++] = (uint32_t)(p - src->ptr);
		}
	}
	defs = pl_xcalloc(tags.n + 1, sizeof(rm_def));
	refs = pl_xcalloc(tags.n + 1, sizeof(rm_ref));
	for (k = 0; k < tags.n; k++) {
		tools__tag *t = &tags.v[k];
		if (t->is_def) {
			defs[nd].name = put_str(&blob, t->name);
			defs[nd].kind = put_str(&blob, t->kind);
			/* the line shown and its number agree: a typedef's first line */
			uint32_t line = tools__tag_show_line(t, src->ptr, src->len);
			defs[nd].text = (uint32_t)blob.len;
			line_at(&blob, src->ptr, src->len, starts, nlines, line);
			defs[nd].line = line;
			nd++;
		} else if (nr && !strcmp(blob.ptr + refs[nr - 1].name, t->name))
			refs[nr - 1].count++;
		else {
			refs[nr].name = put_str(&blob, t->name);
			refs[nr].count = 1;
			nr++;
		}
	}
	/* one allocation: blob (padded), defs, refs */
	total = PAD8(blob.len) + nd * sizeof(rm_def) + nr * sizeof(rm_ref);
	mem = pl_xcalloc(1, total ? total : 8);
	memcpy(mem, blob.ptr, blob.len);
	memcpy(mem + PAD8(blob.len), defs, nd * sizeof(rm_def));
	memcpy(mem + PAD8(blob.len) + nd * sizeof(rm_def), refs, nr * sizeof(rm_ref));
	free(defs);
	free(refs);
	f->owned = mem;
	f->blob = mem;
	f->blob_len = (uint32_t)blob.len;
	f->defs = (const rm_def *)(mem + PAD8(blob.len));
	f->ndefs = (uint32_t)nd;
	f->refs = (const rm_ref *)(mem + PAD8(blob.len) + nd * sizeof(rm_def));
	f->nrefs = (uint32_t)nr;
out:
	free(starts);
	pl_buf_release(&blob);
	tools__tags_release(&tags);
}

int tools__rmap_refresh(struct rmap_cache **out, tools_ctx *ctx, pl_err *err)
{
	struct rmap_cache *c = tools__state_get(ctx, &cache_kind);
	char **list = NULL;
	size_t nlist = 0, i, old = 0, nn = 0, nstale = 0;
	rm_file *next;
	rm_file **stale;
	bool changed;
	int rc, w;

	if ((rc = tools_ts_load(err)) < 0)
		return rc;
	if (!c) {
		c = pl_xcalloc(1, sizeof(*c));
		tools__state_set(ctx, &cache_kind, c);
		load_disk(c, ctx);
	}
	if ((rc = tools__list_files(&list, &nlist, ctx, "", err)) < 0)
		return rc;
	next = pl_xcalloc(nlist ? nlist : 1, sizeof(rm_file));
	stale = pl_xcalloc(nlist ? nlist : 1, sizeof(rm_file *));
	/* merge the sorted listing with the sorted cache */
	for (i = 0; i < nlist; i++) {
		pl_buf abs = PL_BUF_INIT;
		struct stat st;
		rm_file *f;
		int cmp = 1;
		if (!tools_lang_for_path(list[i]))
			continue;
		pl_path_join(&abs, ctx->root, list[i]);
		if (lstat(abs.ptr, &st) < 0 || !S_ISREG(st.st_mode)) {
			pl_buf_release(&abs);
			continue;
		}
		pl_buf_release(&abs);
		while (old < c->n && (cmp = strcmp(c->files[old].path, list[i])) < 0)
			file_release(&c->files[old++]);
		f = &next[nn++];
		if (old < c->n && cmp == 0) {
			*f = c->files[old];
			memset(&c->files[old++], 0, sizeof(rm_file));
		} else
			f->path = pl_xstrdup(list[i]);
		if (f->size != (int64_t)st.st_size || f->mtime_ns != (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec ||
		    f->ino != (int64_t)st.st_ino) {
			free(f->owned);
			f->owned = NULL;
			f->blob = NULL;
			f->defs = NULL;
			f->refs = NULL;
			f->ndefs = f->nrefs = f->blob_len = 0;
			f->size = (int64_t)st.st_size;
			f->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
			f->ino = (int64_t)st.st_ino;
			stale[nstale++] = f;
		}
	}
	changed = nstale > 0 || old < c->n || nn != c->n;
	while (old < c->n)
		file_release(&c->files[old++]);
	free(c->files);
	c->files = next;
	c->n = nn;
	tools__free_list(list, nlist);
	if (nstale) {
		parse_job j;
		memset(&j, 0, sizeof(j));
		j.ctx = ctx;
		j.stale = stale;
		tools__tags_prepare(ctx);
		for (w = 0; w < TOOLS__MAX_THREADS; w++) {
			j.parsers[w] = ts_parser_new();
			pl_buf_init(&j.bufs[w], 0);
		}
		tools__parallel(nstale, 0, parse_one, &j);
		for (w = 0; w < TOOLS__MAX_THREADS; w++) {
			ts_parser_delete(j.parsers[w]);
			pl_buf_release(&j.bufs[w]);
		}
	}
	c->parsed = nstale;
	c->reused = nn - nstale;
	free(stale);
	if (changed && ctx->cache_dir) {
		pl_err werr = { 0 };
		if (save_disk(c, ctx, &werr) < 0)
			pl_log_warn(ctx->log, "repo_map: cannot write its cache (%s); the next call parses again", werr.msg);
	}
	*out = c;
	return 0;
}
