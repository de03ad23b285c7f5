/* rmap.c - the repo_map tool: the repository's most relevant definitions in
 * a token budget, ranked the way Aider's repo map ranks them (see
 * ../shared/reference/agents.md): a PageRank over the graph whose nodes are
 * files and whose edges go from a file that references a name to the files
 * that define it, personalised toward the files and names the task
 * mentions; each file's rank is then shared out over its edges to score
 * (file, name) definitions. */
#define _GNU_SOURCE
#include "tools/rmap.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TOKENS 2048
#define DAMPING 0.85
#define MAX_ITER 100

/* ------------------------------------------------------------ names */

typedef struct ident {
	const char *name;
	uint32_t ndef, nref;  /* files defining / referencing it */
	uint32_t def_at, ref_at; /* CSR offsets */
	double mul;           /* edge multiplier (Aider's heuristics) */
	bool mentioned;
} ident;

typedef struct names {
	ident *v;
	size_t n, cap;
	uint32_t *slots; /* open addressing: id + 1, 0 = empty */
	size_t nslots;
} names;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h;
}

/* The id of name (added when `add`), or UINT32_MAX. */
static uint32_t names_get(names *t, const char *name, bool add)
{
	size_t i, mask;

	if (t->n * 2 >= t->nslots) {
		size_t k, ns = t->nslots ? t->nslots * 2 : 4096;
		uint32_t *s = pl_xcalloc(ns, sizeof(uint32_t));
		for (k = 0; k < t->n; k++) {
			size_t j = hash_str(t->v[k].name) & (ns - 1);
			while (s[j])
				j = (j + 1) & (ns - 1);
			s[j] = (uint32_t)k + 1;
		}
		free(t->slots);
		t->slots = s;
		t->nslots = ns;
	}
	mask = t->nslots - 1;
	for (i = hash_str(name) & mask; t->slots[i]; i = (i + 1) & mask)
		if (!strcmp(t->v[t->slots[i] - 1].name, name))
			return t->slots[i] - 1;
	if (!add)
		return UINT32_MAX;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 4096;
		t->v = pl_xrealloc(t->v, t->cap * sizeof(ident));
	}
	memset(&t->v[t->n], 0, sizeof(ident));
	t->v[t->n].name = name;
	t->slots[i] = (uint32_t)t->n + 1;
	return (uint32_t)t->n++;
}

/* ------------------------------------------------------------ graph */

/* Definitions of one name in one file: the unit that gets a score. */
typedef struct group {
	uint32_t file, first, count, id;
	double score;
} group;

typedef struct graph {
	names names;
	group *groups;
	size_t ngroups;
	uint32_t *def_files;  /* per ident, files defining it (CSR) */
	uint32_t *ref_files;  /* per ident, files referencing it (CSR) */
	double *ref_w;        /* weight of that reference edge (before the per-definer split) */
	bool *file_mentioned;
	double *pers, *rank, *out_w;
} graph;

static void graph_release(graph *g)
{
	free(g->names.v);
	free(g->names.slots);
	free(g->groups);
	free(g->def_files);
	free(g->ref_files);
	free(g->ref_w);
	free(g->file_mentioned);
	free(g->pers);
	free(g->rank);
	free(g->out_w);
}

/* snake_case, kebab-case or camelCase: names specific enough to matter. */
static bool is_compound(const char *s)
{
	bool lower = false, upper = false;

	if (strchr(s, '_') || strchr(s, '-'))
		return true;
	for (; *s; s++) {
		if (islower((unsigned char)*s))
			lower = true;
		else if (isupper((unsigned char)*s))
			upper = true;
	}
	return lower && upper;
}

static void build(graph *g, const struct rmap_cache *c)
{
	size_t f, k, ndefpairs = 0, nrefpairs = 0, nid;
	uint32_t *dfill, *rfill;

	/* groups (runs of one name: defs are sorted by name) and counts */
	for (f = 0; f < c->n; f++) {
		const rm_file *fi = &c->files[f];
		for (k = 0; k < fi->ndefs;) {
			size_t e = k + 1;
			const char *nm = fi->blob + fi->defs[k].name;
			uint32_t id = names_get(&g->names, nm, true);
			while (e < fi->ndefs && !strcmp(fi->blob + fi->defs[e].name, nm))
				e++;
			if (g->ngroups % 1024 == 0)
				g->groups = pl_xrealloc(g->groups, (g->ngroups + 1024) * sizeof(group));
			g->groups[g->ngroups++] = (group){ (uint32_t)f, (uint32_t)k, (uint32_t)(e - k), id, 0 };
			g->names.v[id].ndef++;
			ndefpairs++;
			k = e;
		}
	}
	for (f = 0; f < c->n; f++) {
		const rm_file *fi = &c->files[f];
		for (k = 0; k < fi->nrefs; k++) {
			uint32_t id = names_get(&g->names, fi->blob + fi->refs[k].name, false);
			if (id != UINT32_MAX) { /* names nobody defines have no edge */
				g->names.v[id].nref++;
				nrefpairs++;
			}
		}
	}
	nid = g->names.n;
	g->def_files = pl_xcalloc(ndefpairs + 1, sizeof(uint32_t));
	g->ref_files = pl_xcalloc(nrefpairs + 1, sizeof(uint32_t));
	g->ref_w = pl_xcalloc(nrefpairs + 1, sizeof(double));
	dfill = pl_xcalloc(nid + 1, sizeof(uint32_t));
	rfill = pl_xcalloc(nid + 1, sizeof(uint32_t));
	{
		uint32_t da = 0, ra = 0;
		for (k = 0; k < nid; k++) {
			g->names.v[k].def_at = da;
			g->names.v[k].ref_at = ra;
			da += g->names.v[k].ndef;
			ra += g->names.v[k].nref;
		}
	}
	for (k = 0; k < g->ngroups; k++) {
		ident *d = &g->names.v[g->groups[k].id];
		g->def_files[d->def_at + dfill[g->groups[k].id]++] = g->groups[k].file;
	}
	for (f = 0; f < c->n; f++) {
		const rm_file *fi = &c->files[f];
		for (k = 0; k < fi->nrefs; k++) {
			uint32_t id = names_get(&g->names, fi->blob + fi->refs[k].name, false);
			if (id == UINT32_MAX)
				continue;
			g->ref_files[g->names.v[id].ref_at + rfill[id]] = (uint32_t)f;
			/* Aider: sqrt of the count, so one file calling a name a
			 * hundred times does not drown the others */
			g->ref_w[g->names.v[id].ref_at + rfill[id]] = sqrt((double)fi->refs[k].count);
			rfill[id]++;
		}
	}
	free(dfill);
	free(rfill);
}

/* Aider's edge multipliers, applied once the mentions are known. */
static void weigh(graph *g, size_t nfiles)
{
	size_t k, r;

	for (k = 0; k < g->names.n; k++) {
		ident *d = &g->names.v[k];
		double mul = 1;
		if (d->mentioned)
			mul *= 10;
		if (is_compound(d->name) && strlen(d->name) >= 8)
			mul *= 10;
		if (d->name[0] == '_')
			mul *= 0.1;
		if (d->ndef > 5)
			mul *= 0.1;
		/* Beyond Aider: names most files reference (append, get, join) are
		 * mostly calls into the standard library that merely share a
		 * name with a repository method; weigh them down like an IDF */
		if (d->nref)
			mul *= log(1.0 + (double)nfiles / (double)d->nref);
		d->mul = mul;
		for (r = 0; r < d->nref; r++) {
			uint32_t from = g->ref_files[d->ref_at + r];
			g->ref_w[d->ref_at + r] *= mul * (g->file_mentioned[from] ? 50 : 1);
			g->out_w[from] += g->ref_w[d->ref_at + r] * d->ndef;
		}
		/* a name nobody references keeps its definers' rank at home
		 * (Aider's 0.1 self-edge) */
		if (!d->nref)
			for (r = 0; r < d->ndef; r++)
				g->out_w[g->def_files[d->def_at + r]] += 0.1;
	}
}

/* The flow along every name's edges for the current ranks: per name, what
 * each of its definers receives. */
static double flow_of(const graph *g, const ident *d, const double *rank, uint32_t definer)
{
	double s = 0;
	uint32_t r;

	if (!d->nref)
		return rank[definer] * 0.1 / g->out_w[definer];
	for (r = 0; r < d->nref; r++) {
		uint32_t from = g->ref_files[d->ref_at + r];
		s += rank[from] * g->ref_w[d->ref_at + r] / g->out_w[from];
	}
	return s;
}

static void pagerank(graph *g, size_t n)
{
	double *next = pl_xcalloc(n + 1, sizeof(double));
	size_t it, f, k, r;

	for (f = 0; f < n; f++)
		g->rank[f] = g->pers[f];
	for (it = 0; it < MAX_ITER; it++) {
		double dangling = 0, diff = 0;
		for (f = 0; f < n; f++)
			if (g->out_w[f] == 0)
				dangling += g->rank[f];
		for (f = 0; f < n; f++)
			next[f] = (1 - DAMPING) * g->pers[f] + DAMPING * dangling * g->pers[f];
		for (k = 0; k < g->names.n; k++) {
			const ident *d = &g->names.v[k];
			if (!d->ndef)
				continue;
			if (!d->nref) {
				for (r = 0; r < d->ndef; r++) {
					uint32_t to = g->def_files[d->def_at + r];
					next[to] += DAMPING * flow_of(g, d, g->rank, to);
				}
				continue;
			}
			double s = flow_of(g, d, g->rank, 0);
			for (r = 0; r < d->ndef; r++)
				next[g->def_files[d->def_at + r]] += DAMPING * s;
		}
		for (f = 0; f < n; f++) {
			diff += fabs(next[f] - g->rank[f]);
			g->rank[f] = next[f];
		}
		if (diff < 1e-8 * (double)n)
			break;
	}
	free(next);
}

/* ------------------------------------------------------------ mentions */

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$';
}

static bool under_dir(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strcmp(dir, ".") || !*dir || (!strncmp(path, dir, n) && (path[n] == '/' || !path[n]));
}

/* Files and names the task mentions: `paths`, `symbols`, and in `text`
 * any defined name spelled as a word and any file's path or base name. */
static void mentions(graph *g, const struct rmap_cache *c, tools_ctx *ctx, const json_t *args, pl_buf *notes)
{
	const json_t *v;
	const char *text = json_string_value(json_object_get(args, "text"));
	size_t i, f;

	json_array_foreach(json_object_get(args, "paths"), i, v) {
		pl_buf rel = PL_BUF_INIT;
		bool any = false;
		if (tools__resolve(NULL, &rel, ctx, json_string_value(v), NULL) == 0)
			for (f = 0; f < c->n; f++)
				if (under_dir(c->files[f].path, rel.ptr))
					any = g->file_mentioned[f] = true;
		if (!any)
			pl_buf_printf(notes, "[note: '%s' is not a Python, C, C++, Java, JavaScript, TypeScript, Go or Rust source in the repository]\n",
				      json_string_value(v));
		pl_buf_release(&rel);
	}
	json_array_foreach(json_object_get(args, "symbols"), i, v) {
		const char *s = json_string_value(v), *last = s, *p;
		uint32_t id;
		/* Class.method, mod::func: the last part names the definition */
		for (p = s; *p; p++)
			if (!ident_char(*p) && ident_char(p[1]))
				last = p + 1;
		id = names_get(&g->names, last, false);
		if (id == UINT32_MAX || !g->names.v[id].ndef)
			pl_buf_printf(notes, "[note: no definition of '%s' found; try search]\n", s);
		else
			g->names.v[id].mentioned = true;
	}
	if (text) {
		const char *p = text;
		pl_buf w = PL_BUF_INIT;
		while (*p) {
			const char *s;
			uint32_t id;
			while (*p && !ident_char(*p))
				p++;
			s = p;
			while (ident_char(*p))
				p++;
			if (p == s)
				continue;
			pl_buf_reset(&w);
			pl_buf_add(&w, s, (size_t)(p - s));
			id = names_get(&g->names, w.ptr, false);
			if (id != UINT32_MAX && g->names.v[id].ndef)
				g->names.v[id].mentioned = true;
		}
		pl_buf_release(&w);
		for (f = 0; f < c->n; f++) {
			const char *path = c->files[f].path, *base = strrchr(path, '/');
			base = base ? base + 1 : path;
			if (strstr(text, path) || (strlen(base) >= 5 && strstr(text, base)))
				g->file_mentioned[f] = true;
		}
	}
	/* files named like a mentioned name (a "parser" mention favours parser.py) */
	for (f = 0; f < c->n; f++) {
		const char *p = c->files[f].path;
		while (*p && !g->file_mentioned[f]) {
			const char *s = p;
			pl_buf comp = PL_BUF_INIT;
			uint32_t id;
			while (*p && *p != '/' && *p != '.')
				p++;
			pl_buf_add(&comp, s, (size_t)(p - s));
			id = comp.len ? names_get(&g->names, comp.ptr, false) : UINT32_MAX;
			if (id != UINT32_MAX && g->names.v[id].mentioned)
				g->file_mentioned[f] = true;
			pl_buf_release(&comp);
			while (*p == '/' || *p == '.')
				p++;
		}
	}
}

/* ------------------------------------------------------------ rendering */

static size_t tokens_of(size_t bytes)
{
	/* about four bytes per token for code in BPE/SentencePiece vocabularies;
	 * Aider also estimates rather than tokenizes */
	return (bytes + 3) / 4;
}

static int cmp_group(const void *a, const void *b)
{
	const group *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

typedef struct sel_def {
	uint32_t order; /* rank of its file in the output */
	uint32_t line;
	const rm_file *file;
	const rm_def *def;
} sel_def;

static int cmp_sel(const void *a, const void *b)
{
	const sel_def *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

typedef struct file_rank {
	double rank;
	uint32_t file;
} file_rank;

static int cmp_file_rank(const void *a, const void *b)
{
	const file_rank *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	return x->file < y->file ? -1 : x->file > y->file;
}

static size_t def_line_len(const rm_file *f, const rm_def *d)
{
	char num[16];

	return (size_t)snprintf(num, sizeof(num), "%u", d->line) + 3 + strlen(f->blob + d->text);
}

static int repo_map_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	const json_t *mt = json_object_get(args, "max_tokens");
	size_t budget = json_is_integer(mt) ? (size_t)json_integer_value(mt) : DEFAULT_TOKENS;
	const char *sub_arg = json_string_value(json_object_get(args, "path"));
	pl_buf sub = PL_BUF_INIT, notes = PL_BUF_INIT, body = PL_BUF_INIT;
	struct rmap_cache *c;
	graph g;
	sel_def *sel = NULL;
	uint32_t *order = NULL, *ngroups_of = NULL;
	size_t nsel = 0, used = 0, i, n, files_shown = 0, defs_total = 0, next_order = 0, misses = 0;
	json_t *ranked = json_array();
	int rc;

	memset(&g, 0, sizeof(g));
	if (sub_arg && *sub_arg && (rc = tools__resolve(NULL, &sub, ctx, sub_arg, err)) < 0)
		goto done;
	if ((rc = tools__rmap_refresh(&c, ctx, err)) < 0)
		goto done;
	n = c->n;
	build(&g, c);
	g.file_mentioned = pl_xcalloc(n + 1, sizeof(bool));
	g.pers = pl_xcalloc(n + 1, sizeof(double));
	g.rank = pl_xcalloc(n + 1, sizeof(double));
	g.out_w = pl_xcalloc(n + 1, sizeof(double));
	mentions(&g, c, ctx, args, &notes);
	weigh(&g, n);
	/* Beyond Aider: the files defining a mentioned name are where the
	 * walk restarts too, not only files named outright */
	for (i = 0; i < g.ngroups; i++)
		if (g.names.v[g.groups[i].id].mentioned)
			g.file_mentioned[g.groups[i].file] = true;
	{
		size_t nm = 0;
		for (i = 0; i < n; i++)
			nm += g.file_mentioned[i];
		for (i = 0; i < n; i++)
			g.pers[i] = nm ? (g.file_mentioned[i] ? 1.0 / (double)nm : 0) : 1.0 / (double)n;
	}
	pagerank(&g, n);
	ngroups_of = pl_xcalloc(n + 1, sizeof(uint32_t));
	for (i = 0; i < g.ngroups; i++)
		ngroups_of[g.groups[i].file]++;
	for (i = 0; i < g.ngroups; i++) {
		const ident *d = &g.names.v[g.groups[i].id];
		uint32_t f = g.groups[i].file;
		g.groups[i].score = flow_of(&g, d, g.rank, f);
		/* Beyond Aider (which leaves the files in the chat out of the
		 * map): a share of the file's own rank, so that the definitions
		 * of a mentioned file show even when nothing references them */
		g.groups[i].score += g.rank[f] / ngroups_of[f] * (g.file_mentioned[f] ? 1 : 0.1);
		/* Beyond Aider: a definition nobody references comes after the
		 * referenced ones of a file of similar rank (else a file holding
		 * one unreferenced constant puts all its rank on it) */
		if (!d->nref && !d->mentioned)
			g.groups[i].score *= 0.1;
		/* what the task names comes first, whatever the graph says */
		if (d->mentioned)
			g.groups[i].score += 1.0;
		defs_total += g.groups[i].count;
	}
	if (g.ngroups)
		qsort(g.groups, g.ngroups, sizeof(group), cmp_group);
	/* greedy fill: the best-scored definitions whose lines (and their
	 * file's heading, the first time) still fit */
	order = pl_xmalloc((n + 1) * sizeof(uint32_t));
	for (i = 0; i < n; i++)
		order[i] = UINT32_MAX;
	sel = pl_xmalloc((defs_total + 1) * sizeof(sel_def));
	for (i = 0; i < g.ngroups; i++) {
		const group *gr = &g.groups[i];
		const rm_file *f = &c->files[gr->file];
		size_t cost = 0, k;
		/* sorted by score: from here on nothing reaches these
		 * definitions (their files' rank is 0 and nothing mentioned
		 * refers to them); they are not relevant, only alphabetical */
		if (gr->score <= 1e-12)
			break;
		if (sub.len && !under_dir(f->path, sub.ptr))
			continue;
		for (k = 0; k < gr->count; k++)
			cost += def_line_len(f, &f->defs[gr->first + k]);
		if (order[gr->file] == UINT32_MAX)
			cost += strlen(f->path) + 2;
		if (used + tokens_of(cost) > budget) {
			/* the budget is full for all practical purposes: stop
			 * looking (a large repository has ~10^6 definitions) */
			if (++misses > 1000 || budget - used < 8)
				break;
			continue;
		}
		misses = 0;
		used += tokens_of(cost);
		if (order[gr->file] == UINT32_MAX)
			order[gr->file] = (uint32_t)next_order++;
		for (k = 0; k < gr->count; k++)
			sel[nsel++] = (sel_def){ order[gr->file], f->defs[gr->first + k].line, f, &f->defs[gr->first + k] };
	}
	if (nsel)
		qsort(sel, nsel, sizeof(sel_def), cmp_sel);
	for (i = 0; i < nsel; i++) {
		if (!i || sel[i].file != sel[i - 1].file) {
			pl_buf_printf(&body, "%s%s:\n", i ? "\n" : "", sel[i].file->path);
			files_shown++;
		}
		pl_buf_printf(&body, "%u: %s\n", sel[i].line, sel[i].file->blob + sel[i].def->text);
	}
	/* then other files by rank, as bare paths, while the budget lasts */
	{
		file_rank *byrank = pl_xmalloc((n + 1) * sizeof(file_rank));
		size_t k, m = 0, listed = 0;
		/* a file the walk never reaches (rank 0: nothing mentioned links
		 * to it) is not relevant, whatever its name; listing those in
		 * alphabetical order filled the map with noise */
		for (k = 0; k < n; k++)
			if (order[k] == UINT32_MAX && g.rank[k] > 1e-12 && (!sub.len || under_dir(c->files[k].path, sub.ptr)))
				byrank[m++] = (file_rank){ g.rank[k], (uint32_t)k };
		if (m)
			qsort(byrank, m, sizeof(file_rank), cmp_file_rank);
		for (k = 0; k < m; k++) {
			const char *path = c->files[byrank[k].file].path;
			size_t cost = tokens_of(strlen(path) + 1) + (listed ? 0 : 4);
			if (used + cost > budget)
				break;
			if (!listed)
				pl_buf_puts(&body, "\nother files, by rank:\n");
			pl_buf_printf(&body, "%s\n", path);
			used += cost;
			listed++;
		}
		free(byrank);
	}
	pl_buf_printf(&obs->text, "Repository map: %zu of %zu definitions in %zu of %zu source files, most relevant first "
				  "(ranked by who references what%s; about %zu tokens). Each line is `line: source`.\n",
		      nsel, defs_total, files_shown, n, notes.len || json_object_get(args, "paths") || json_object_get(args, "symbols") || json_object_get(args, "text") ? ", toward what you mentioned" : "", used);
	pl_buf_add(&obs->text, notes.ptr, notes.len);
	pl_buf_putc(&obs->text, '\n');
	pl_buf_add(&obs->text, body.ptr, body.len);
	if (!n)
		pl_buf_puts(&obs->text, "No Python, C, C++, Java, JavaScript, TypeScript, Go or Rust sources found.\n");
	obs->truncated = nsel < defs_total;
	for (i = 0; i < n; i++) {
		json_t *o;
		if (order[i] == UINT32_MAX)
			continue;
		o = json_object();
		pl_json_set(o, "path", json_string(c->files[i].path));
		pl_json_set(o, "rank", json_real(g.rank[i]));
		pl_json_set(o, "order", json_integer(order[i]));
		json_array_append_new(ranked, o);
	}
	pl_json_set(obs->data, "ranked_files", json_incref(ranked));
	pl_json_set(obs->data, "tokens", json_integer((json_int_t)used));
	pl_json_set(obs->data, "definitions_shown", json_integer((json_int_t)nsel));
	pl_json_set(obs->data, "definitions_total", json_integer((json_int_t)defs_total));
	pl_json_set(obs->data, "files_parsed", json_integer((json_int_t)c->parsed));
	pl_json_set(obs->data, "files_cached", json_integer((json_int_t)c->reused));
done:
	json_decref(ranked);
	free(sel);
	free(order);
	free(ngroups_of);
	graph_release(&g);
	pl_buf_release(&sub);
	pl_buf_release(&notes);
	pl_buf_release(&body);
	return rc;
}

const tools_def tools__def_repo_map = {
	"repo_map",
	"A map of the repository for finding your way: its most relevant classes, functions and other "
	"definitions (one source line each, under their file), chosen to fit max_tokens. Relevance is a "
	"PageRank over which files reference names defined in which others, pulled toward the files and "
	"names you pass in paths, symbols or text (for instance the issue you are solving). Call it early, "
	"then outline, view or definition for details.",
	"{\"type\":\"object\",\"properties\":{"
	"\"paths\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"description\":\"files or directories the task is about\"},"
	"\"symbols\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"description\":\"names the task mentions (functions, classes, Class.method)\"},"
	"\"text\":{\"type\":\"string\",\"description\":\"free text such as the issue; defined names and file names in it count as mentioned\"},"
	"\"path\":{\"type\":\"string\",\"description\":\"show only files under this directory (ranking still uses the whole repository)\"},"
	"\"max_tokens\":{\"type\":\"integer\",\"minimum\":64,\"description\":\"size of the map in tokens (default 2048)\"}},"
	"\"additionalProperties\":false}",
	repo_map_run,
};
