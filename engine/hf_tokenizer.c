/* hf_tokenizer.c - Hugging Face tokenizer.json: a BPE model with byte-level
 * (GPT-2) or metaspace pre-tokenization, the Prepend/Replace normalizers of
 * SentencePiece conversions, byte fallback, and the matching decoders.
 * Other components are refused with a message naming them. */
#include "engine/hf.h"

#include <stdlib.h>
#include <string.h>

enum { PRE_NONE, PRE_BYTELEVEL, PRE_METASPACE };
enum { PREPEND_NEVER, PREPEND_ALWAYS, PREPEND_FIRST };
enum { DEC_NONE, DEC_BYTELEVEL, DEC_MARK };
enum { NORM_PREPEND, NORM_REPLACE };

typedef struct norm_op {
	int kind;
	char *a, *b; /* prepend: a; replace: a -> b */
} norm_op;

typedef struct merge_slot {
	uint64_t key; /* left << 32 | right, + 1 so that 0 is empty */
	int32_t rank, result;
} merge_slot;

struct eng__hf_model {
	char **tokens; /* id -> token, NULL for gaps */
	size_t n;
	int32_t *slots; /* token -> id, open addressing */
	size_t cap;
	merge_slot *merges;
	size_t mcap;
	eng__hf_added *added;
	size_t nadded;
	int32_t unk_id;
	bool byte_fallback, fuse_unk, ignore_merges;
	norm_op *norm;
	size_t nnorm;
	int pre;
	bool bl_prefix_space, bl_regex;
	char ms_mark[8];
	int ms_prepend;
	bool ms_split;
	int dec;
	char dec_mark[8];
	bool dec_byte_fallback, dec_strip;
	/* the byte-level alphabet: byte -> code point and back */
	uint32_t byte_cp[256];
};

/* ---------------------------------------------------------------- tables */

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

int32_t eng__hf_model_find(const eng__hf_model *m, const char *s, size_t len)
{
	for (size_t i = hash_bytes(s, len) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		int32_t id = m->slots[i];

		if (id < 0)
			return -1;
		if (strlen(m->tokens[id]) == len && !memcmp(m->tokens[id], s, len))
			return id;
	}
}

static void index_tokens(eng__hf_model *m)
{
	size_t cap = 16;

	while (cap < 2 * m->n + 2)
		cap *= 2;
	free(m->slots);
	m->cap = cap;
	m->slots = pl_xmalloc(cap * sizeof(*m->slots));
	for (size_t i = 0; i < cap; i++)
		m->slots[i] = -1;
	for (size_t id = 0; id < m->n; id++) {
		const char *t = m->tokens[id];
		size_t i;

		if (!t)
			continue;
		for (i = hash_bytes(t, strlen(t)) & (cap - 1); m->slots[i] >= 0; i = (i + 1) & (cap - 1))
			;
		m->slots[i] = (int32_t)id;
	}
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static const merge_slot *merge_get(const eng__hf_model *m, int32_t l, int32_t r)
{
	uint64_t key = ((uint64_t)(uint32_t)l << 32 | (uint32_t)r) + 1;

	if (!m->mcap)
		return NULL;
	for (size_t i = mix(key) & (m->mcap - 1);; i = (i + 1) & (m->mcap - 1)) {
		if (m->merges[i].key == 0)
			return NULL;
		if (m->merges[i].key == key)
			return &m->merges[i];
	}
}

/* ---------------------------------------------------------------- utf-8 */

static size_t utf8_next(const char *s, size_t n, uint32_t *cp)
{
	const uint8_t *u = (const uint8_t *)s;

	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if ((u[0] & 0xE0) == 0xC0 && n >= 2 && (u[1] & 0xC0) == 0x80) {
		*cp = (uint32_t)(u[0] & 0x1F) << 6 | (u[1] & 0x3F);
		return 2;
	}
	if ((u[0] & 0xF0) == 0xE0 && n >= 3 && (u[1] & 0xC0) == 0x80 && (u[2] & 0xC0) == 0x80) {
		*cp = (uint32_t)(u[0] & 0x0F) << 12 | (uint32_t)(u[1] & 0x3F) << 6 | (u[2] & 0x3F);
		return 3;
	}
	if ((u[0] & 0xF8) == 0xF0 && n >= 4 && (u[1] & 0xC0) == 0x80 && (u[2] & 0xC0) == 0x80 &&
	    (u[3] & 0xC0) == 0x80) {
		*cp = (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3F) << 12 | (uint32_t)(u[2] & 0x3F) << 6 |
		      (u[3] & 0x3F);
		return 4;
	}
	*cp = 0xFFFD; /* a stray byte: one unit, classified as a symbol */
	return 1;
}

static void utf8_put(pl_buf *b, uint32_t cp)
{
	if (cp < 0x80) {
		pl_buf_putc(b, (char)cp);
	} else if (cp < 0x800) {
		pl_buf_putc(b, (char)(0xC0 | cp >> 6));
		pl_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		pl_buf_putc(b, (char)(0xE0 | cp >> 12));
		pl_buf_putc(b, (char)(0x80 | (cp >> 6 & 0x3F)));
		pl_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
	} else {
		pl_buf_putc(b, (char)(0xF0 | cp >> 18));
		pl_buf_putc(b, (char)(0x80 | (cp >> 12 & 0x3F)));
		pl_buf_putc(b, (char)(0x80 | (cp >> 6 & 0x3F)));
		pl_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
	}
}

/* GPT-2's byte alphabet: printable Latin-1 bytes stand for themselves, the
 * others for 256, 257, ... in byte order. */
static void byte_alphabet(uint32_t map[256])
{
	uint32_t next = 256;

	for (int b = 0; b < 256; b++) {
		bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);

		map[b] = printable ? (uint32_t)b : next++;
	}
}

/* ---------------------------------------------------------------- load */

void eng__hf_model_free(eng__hf_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->tokens[i]);
	free(m->tokens);
	free(m->slots);
	free(m->merges);
	free(m->added);
	for (size_t i = 0; i < m->nnorm; i++) {
		free(m->norm[i].a);
		free(m->norm[i].b);
	}
	free(m->norm);
	free(m);
}

size_t eng__hf_model_size(const eng__hf_model *m)
{
	return m->n;
}

const char *eng__hf_model_token(const eng__hf_model *m, int32_t id)
{
	return id >= 0 && (size_t)id < m->n ? m->tokens[id] : NULL;
}

const eng__hf_added *eng__hf_model_added(const eng__hf_model *m, size_t *n)
{
	*n = m->nadded;
	return m->added;
}

static const char *type_of(const json_t *o)
{
	const char *t = json_string_value(json_object_get(o, "type"));

	return t ? t : "";
}

static int set_token(eng__hf_model *m, int64_t id, const char *tok, const char *what, pl_err *err)
{
	if (id < 0 || id >= (1 << 24))
		return pl_err_set(err, PL_EFORMAT, "%s: token '%s' has id %lld, outside 0 to %d", what, tok, (long long)id,
				  (1 << 24) - 1);
	if ((size_t)id >= m->n) {
		m->tokens = pl_xrealloc(m->tokens, (size_t)(id + 1) * sizeof(*m->tokens));
		memset(m->tokens + m->n, 0, (size_t)(id + 1 - (int64_t)m->n) * sizeof(*m->tokens));
		m->n = (size_t)id + 1;
	}
	if (m->tokens[id] && strcmp(m->tokens[id], tok))
		return pl_err_set(err, PL_EFORMAT, "%s: id %lld is both '%s' and '%s'", what, (long long)id, m->tokens[id],
				  tok);
	free(m->tokens[id]);
	m->tokens[id] = pl_xstrdup(tok);
	return 0;
}

static int load_merges(eng__hf_model *m, const json_t *merges, const char *what, pl_err *err)
{
	size_t n = json_array_size(merges), cap = 16, i;
	json_t *v;

	while (cap < 2 * n + 2)
		cap *= 2;
	m->mcap = cap;
	m->merges = pl_xcalloc(cap, sizeof(*m->merges));
	json_array_foreach(merges, i, v) {
		const char *a, *b;
		size_t al, bl;
		pl_buf joined = PL_BUF_INIT;
		int32_t l, r, res;
		uint64_t key;
		size_t k;

		if (json_is_string(v)) {
			const char *s = json_string_value(v), *sp = strchr(s, ' ');

			if (!sp || sp == s || !sp[1] || strchr(sp + 1, ' '))
				return pl_err_set(err, PL_EFORMAT, "%s: merge %zu '%s' is not two tokens separated by a space",
						  what, i, s);
			a = s;
			al = (size_t)(sp - s);
			b = sp + 1;
			bl = strlen(b);
		} else if (json_is_array(v) && json_array_size(v) == 2 && json_is_string(json_array_get(v, 0)) &&
			   json_is_string(json_array_get(v, 1))) {
			a = json_string_value(json_array_get(v, 0));
			al = strlen(a);
			b = json_string_value(json_array_get(v, 1));
			bl = strlen(b);
		} else {
			return pl_err_set(err, PL_EFORMAT, "%s: merge %zu is neither \"a b\" nor [\"a\", \"b\"]", what, i);
		}
		pl_buf_add(&joined, a, al);
		pl_buf_add(&joined, b, bl);
		l = eng__hf_model_find(m, a, al);
		r = eng__hf_model_find(m, b, bl);
		res = eng__hf_model_find(m, joined.ptr, joined.len);
		if (l < 0 || r < 0 || res < 0) {
			int rc = pl_err_set(err, PL_EFORMAT, "%s: merge %zu: '%.*s' is not in the vocabulary", what, i,
					    (int)(l < 0 ? al : r < 0 ? bl : joined.len),
					    l < 0 ? a : r < 0 ? b : joined.ptr);

			pl_buf_release(&joined);
			return rc;
		}
		pl_buf_release(&joined);
		key = ((uint64_t)(uint32_t)l << 32 | (uint32_t)r) + 1;
		for (k = mix(key) & (cap - 1); m->merges[k].key && m->merges[k].key != key; k = (k + 1) & (cap - 1))
			;
		if (m->merges[k].key)
			continue; /* a repeated merge keeps its first rank */
		m->merges[k] = (merge_slot){ key, (int32_t)i, res };
	}
	return 0;
}

static int load_normalizer(eng__hf_model *m, const json_t *n, const char *what, pl_err *err)
{
	const char *t = type_of(n);

	if (!n || json_is_null(n))
		return 0;
	if (!strcmp(t, "Sequence")) {
		const json_t *list = json_object_get(n, "normalizers");
		size_t i;
		json_t *x;
		int rc;

		if (!json_is_array(list))
			return pl_err_set(err, PL_EFORMAT, "%s: normalizer Sequence without 'normalizers'", what);
		json_array_foreach(list, i, x)
			if ((rc = load_normalizer(m, x, what, err)) < 0)
				return rc;
		return 0;
	}
	m->norm = pl_xrealloc(m->norm, (m->nnorm + 1) * sizeof(*m->norm));
	if (!strcmp(t, "Prepend") && json_is_string(json_object_get(n, "prepend"))) {
		m->norm[m->nnorm++] = (norm_op){ NORM_PREPEND, pl_xstrdup(json_string_value(json_object_get(n, "prepend"))),
						 NULL };
		return 0;
	}
	if (!strcmp(t, "Replace")) {
		const char *from = json_string_value(json_object_get(json_object_get(n, "pattern"), "String"));
		const char *to = json_string_value(json_object_get(n, "content"));

		if (from && *from && to) {
			m->norm[m->nnorm++] = (norm_op){ NORM_REPLACE, pl_xstrdup(from), pl_xstrdup(to) };
			return 0;
		}
		return pl_err_set(err, PL_EUNSUPPORTED, "%s: normalizer Replace must have a String pattern and a content",
				  what);
	}
	return pl_err_set(err, PL_EUNSUPPORTED,
			  "%s: normalizer '%s' is not supported (only Prepend, Replace and Sequence of them)", what, t);
}

static int metaspace_opts(char mark[8], int *prepend, const json_t *o, const char *what, pl_err *err)
{
	const char *r = json_string_value(json_object_get(o, "replacement"));
	const char *scheme = json_string_value(json_object_get(o, "prepend_scheme"));
	const json_t *aps = json_object_get(o, "add_prefix_space");

	if (!r || !*r || strlen(r) > 7)
		return pl_err_set(err, PL_EFORMAT, "%s: Metaspace needs a 'replacement' character", what);
	strcpy(mark, r);
	*prepend = PREPEND_ALWAYS;
	if (scheme) {
		if (!strcmp(scheme, "always"))
			*prepend = PREPEND_ALWAYS;
		else if (!strcmp(scheme, "first"))
			*prepend = PREPEND_FIRST;
		else if (!strcmp(scheme, "never"))
			*prepend = PREPEND_NEVER;
		else
			return pl_err_set(err, PL_EFORMAT, "%s: unknown Metaspace prepend_scheme '%s'", what, scheme);
	} else if (json_is_boolean(aps)) {
		*prepend = json_is_true(aps) ? PREPEND_ALWAYS : PREPEND_NEVER;
	}
	return 0;
}

static int load_pre(eng__hf_model *m, const json_t *p, const char *what, pl_err *err)
{
	const char *t = type_of(p);

	if (!p || json_is_null(p)) {
		m->pre = PRE_NONE;
		return 0;
	}
	if (!strcmp(t, "Sequence") && json_array_size(json_object_get(p, "pretokenizers")) == 1)
		return load_pre(m, json_array_get(json_object_get(p, "pretokenizers"), 0), what, err);
	if (!strcmp(t, "ByteLevel")) {
		const json_t *re = json_object_get(p, "use_regex");

		m->pre = PRE_BYTELEVEL;
		m->bl_prefix_space = json_is_true(json_object_get(p, "add_prefix_space"));
		m->bl_regex = !re || json_is_true(re);
		return 0;
	}
	if (!strcmp(t, "Metaspace")) {
		const json_t *split = json_object_get(p, "split");

		m->pre = PRE_METASPACE;
		m->ms_split = !split || json_is_true(split);
		return metaspace_opts(m->ms_mark, &m->ms_prepend, p, what, err);
	}
	return pl_err_set(err, PL_EUNSUPPORTED,
			  "%s: pre_tokenizer '%s' is not supported (only ByteLevel, Metaspace, or none)", what, t);
}

static int load_decoder(eng__hf_model *m, const json_t *d, const char *what, pl_err *err)
{
	const char *t = type_of(d);
	int prepend;

	if (!d || json_is_null(d))
		return 0;
	if (!strcmp(t, "ByteLevel")) {
		m->dec = DEC_BYTELEVEL;
		return 0;
	}
	if (!strcmp(t, "Metaspace")) {
		m->dec = DEC_MARK;
		if (metaspace_opts(m->dec_mark, &prepend, d, what, err) < 0)
			return err ? err->code : PL_EFORMAT;
		m->dec_strip = prepend != PREPEND_NEVER;
		return 0;
	}
	if (!strcmp(t, "Sequence")) {
		const json_t *list = json_object_get(d, "decoders");
		size_t i;
		json_t *x;

		m->dec = DEC_MARK;
		json_array_foreach(list, i, x) {
			const char *xt = type_of(x);

			if (!strcmp(xt, "Replace")) {
				const char *from = json_string_value(json_object_get(json_object_get(x, "pattern"), "String"));
				const char *to = json_string_value(json_object_get(x, "content"));

				if (!from || !*from || strlen(from) > 7 || !to || strcmp(to, " "))
					return pl_err_set(err, PL_EUNSUPPORTED,
							  "%s: decoder Replace is supported only from one mark to \" \"", what);
				strcpy(m->dec_mark, from);
			} else if (!strcmp(xt, "ByteFallback")) {
				m->dec_byte_fallback = true;
			} else if (!strcmp(xt, "Fuse")) {
				/* joining the tokens is what decoding does anyway */
			} else if (!strcmp(xt, "Strip")) {
				const char *c = json_string_value(json_object_get(x, "content"));
				json_int_t start = json_integer_value(json_object_get(x, "start"));
				json_int_t stop = json_integer_value(json_object_get(x, "stop"));

				if (!c || strcmp(c, " ") || start > 1 || stop != 0)
					return pl_err_set(err, PL_EUNSUPPORTED,
							  "%s: decoder Strip is supported only for one leading space", what);
				m->dec_strip = start == 1;
			} else {
				return pl_err_set(err, PL_EUNSUPPORTED, "%s: decoder '%s' is not supported in a Sequence",
						  what, xt);
			}
		}
		return 0;
	}
	return pl_err_set(err, PL_EUNSUPPORTED, "%s: decoder '%s' is not supported", what, t);
}

int eng__hf_model_load(eng__hf_model **out, const char *path, pl_err *err)
{
	json_t *root = NULL, *model, *vocab, *merges, *v, *added;
	eng__hf_model *m = pl_xcalloc(1, sizeof(*m));
	const char *key, *unk = NULL;
	size_t i;
	int rc;

	if ((rc = pl_json_load_file(&root, path, err)) < 0)
		goto done;
	model = json_object_get(root, "model");
	if (!json_is_object(root) || !json_is_object(model)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: expected an object with a 'model' object", path);
		goto done;
	}
	if (strcmp(type_of(model), "BPE")) {
		rc = pl_err_set(err, PL_EUNSUPPORTED, "%s: model type '%s' is not supported (only BPE)", path,
				type_of(model));
		goto done;
	}
	vocab = json_object_get(model, "vocab");
	merges = json_object_get(model, "merges");
	if (!json_is_object(vocab) || !json_is_array(merges)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: model needs a 'vocab' object and a 'merges' array", path);
		goto done;
	}
	if (json_string_length(json_object_get(model, "continuing_subword_prefix")) ||
	    json_string_length(json_object_get(model, "end_of_word_suffix"))) {
		rc = pl_err_set(err, PL_EUNSUPPORTED, "%s: continuing_subword_prefix / end_of_word_suffix are not supported",
				path);
		goto done;
	}
	v = json_object_get(model, "dropout");
	if (v && !json_is_null(v) && json_number_value(v) > 0) {
		rc = pl_err_set(err, PL_EUNSUPPORTED, "%s: BPE dropout is not supported", path);
		goto done;
	}
	json_object_foreach(vocab, key, v) {
		if (!json_is_integer(v)) {
			rc = pl_err_set(err, PL_EFORMAT, "%s: vocab entry '%s' is not an integer id", path, key);
			goto done;
		}
		if ((rc = set_token(m, json_integer_value(v), key, path, err)) < 0)
			goto done;
	}
	added = json_object_get(root, "added_tokens");
	if (added && !json_is_null(added) && !json_is_array(added)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: 'added_tokens' must be an array", path);
		goto done;
	}
	m->added = pl_xcalloc(json_array_size(added) + 1, sizeof(*m->added));
	json_array_foreach(added, i, v) {
		const char *content = json_string_value(json_object_get(v, "content"));
		const json_t *id = json_object_get(v, "id");

		if (!content || !*content || !json_is_integer(id)) {
			rc = pl_err_set(err, PL_EFORMAT, "%s: added_tokens[%zu] needs an integer 'id' and a 'content'", path, i);
			goto done;
		}
		if ((rc = set_token(m, json_integer_value(id), content, path, err)) < 0)
			goto done;
		m->added[m->nadded++] = (eng__hf_added){ NULL, (int32_t)json_integer_value(id),
							 json_is_true(json_object_get(v, "special")) };
	}
	for (i = 0; i < m->nadded; i++)
		m->added[i].content = m->tokens[m->added[i].id];
	if (!m->n) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: the vocabulary is empty", path);
		goto done;
	}
	index_tokens(m);
	for (i = 0; i < m->n; i++)
		if (m->tokens[i] && eng__hf_model_find(m, m->tokens[i], strlen(m->tokens[i])) != (int32_t)i) {
			rc = pl_err_set(err, PL_EFORMAT, "%s: token '%s' has two ids", path, m->tokens[i]);
			goto done;
		}
	if ((rc = load_merges(m, merges, path, err)) < 0)
		goto done;
	m->unk_id = -1;
	if ((rc = pl_json_opt_str(&unk, model, "unk_token", path, err)) < 0)
		goto done;
	if (unk && (m->unk_id = eng__hf_model_find(m, unk, strlen(unk))) < 0) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: unk_token '%s' is not in the vocabulary", path, unk);
		goto done;
	}
	m->byte_fallback = json_is_true(json_object_get(model, "byte_fallback"));
	m->fuse_unk = json_is_true(json_object_get(model, "fuse_unk"));
	m->ignore_merges = json_is_true(json_object_get(model, "ignore_merges"));
	if ((rc = load_normalizer(m, json_object_get(root, "normalizer"), path, err)) < 0 ||
	    (rc = load_pre(m, json_object_get(root, "pre_tokenizer"), path, err)) < 0 ||
	    (rc = load_decoder(m, json_object_get(root, "decoder"), path, err)) < 0)
		goto done;
	byte_alphabet(m->byte_cp);
	*out = m;
	m = NULL;
done:
	json_decref(root);
	eng__hf_model_free(m);
	return rc;
}

/* ---------------------------------------------------------------- BPE */

typedef struct sym {
	int32_t id;
	int prev, next;
	bool alive;
} sym;

typedef struct cand {
	int32_t rank;
	int left, right;
	int32_t lid, rid, result;
} cand;

static bool cand_before(const cand *a, const cand *b)
{
	return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

typedef struct heap {
	cand *v;
	size_t n, cap;
} heap;

static void heap_push(heap *h, cand c)
{
	size_t i;

	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 64;
		h->v = pl_xrealloc(h->v, h->cap * sizeof(*h->v));
	}
	for (i = h->n++; i > 0 && cand_before(&c, &h->v[(i - 1) / 2]); i = (i - 1) / 2)
		h->v[i] = h->v[(i - 1) / 2];
	h->v[i] = c;
}

static cand heap_pop(heap *h)
{
	cand top = h->v[0], last = h->v[--h->n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && cand_before(&h->v[c + 1], &h->v[c]))
			c++;
		if (!cand_before(&h->v[c], &last))
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = last;
	return top;
}

static void push_id(int32_t **ids, size_t *n, size_t *cap, int32_t id)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*ids = pl_xrealloc(*ids, *cap * sizeof(**ids));
	}
	(*ids)[(*n)++] = id;
}

static void try_pair(const eng__hf_model *m, heap *h, const sym *s, int l, int r)
{
	const merge_slot *ms;

	if (l < 0 || r < 0)
		return;
	if ((ms = merge_get(m, s[l].id, s[r].id)))
		heap_push(h, (cand){ ms->rank, l, r, s[l].id, s[r].id, ms->result });
}

static int bpe_word(const eng__hf_model *m, const char *w, size_t n, int32_t **ids, size_t *nids, size_t *cap,
		    pl_err *err)
{
	sym *s;
	size_t ns = 0, i;
	heap h = { 0 };
	int32_t whole;

	if (!n)
		return 0;
	if (m->ignore_merges && (whole = eng__hf_model_find(m, w, n)) >= 0) {
		push_id(ids, nids, cap, whole);
		return 0;
	}
	s = pl_xmalloc((n + 1) * sizeof(*s));
	for (i = 0; i < n;) {
		uint32_t cp;
		size_t l = utf8_next(w + i, n - i, &cp);
		int32_t id = eng__hf_model_find(m, w + i, l);

		if (id < 0 && m->byte_fallback) {
			int32_t bid[4];
			bool all = true;

			for (size_t k = 0; k < l; k++) {
				char piece[8];

				snprintf(piece, sizeof(piece), "<0x%02X>", (uint8_t)w[i + k]);
				bid[k] = eng__hf_model_find(m, piece, 6);
				all = all && bid[k] >= 0;
			}
			if (all) {
				for (size_t k = 0; k < l; k++)
					s[ns++] = (sym){ bid[k], (int)ns - 1, -1, true };
				i += l;
				continue;
			}
		}
		if (id < 0) {
			if (m->unk_id < 0) {
				free(s);
				return pl_err_set(err, PL_EINVAL,
						  "tokenizer.json: '%.*s' is not in the vocabulary and there is no unk_token",
						  (int)l, w + i);
			}
			id = m->unk_id;
			if (m->fuse_unk && ns && s[ns - 1].id == m->unk_id) {
				i += l;
				continue;
			}
		}
		s[ns] = (sym){ id, (int)ns - 1, -1, true };
		ns++;
		i += l;
	}
	for (i = 0; i + 1 < ns; i++)
		s[i].next = (int)i + 1;
	for (i = 0; i + 1 < ns; i++)
		try_pair(m, &h, s, (int)i, (int)i + 1);
	while (h.n) {
		cand c = heap_pop(&h);

		if (!s[c.left].alive || !s[c.right].alive || s[c.left].next != c.right || s[c.left].id != c.lid ||
		    s[c.right].id != c.rid)
			continue;
		s[c.left].id = c.result;
		s[c.right].alive = false;
		s[c.left].next = s[c.right].next;
		if (s[c.right].next >= 0)
			s[s[c.right].next].prev = c.left;
		try_pair(m, &h, s, s[c.left].prev, c.left);
		try_pair(m, &h, s, c.left, s[c.left].next);
	}
	for (int k = ns ? 0 : -1; k >= 0; k = s[k].next)
		push_id(ids, nids, cap, s[k].id);
	free(h.v);
	free(s);
	return 0;
}

/* ---------------------------------------------------------------- pre-tokenizers */

/* Length of the GPT-2 pattern's match at s[0..n):
 * 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static size_t gpt2_match(const char *s, size_t n)
{
	static const char *const contractions[] = { "'s", "'t", "'re", "'ve", "'m", "'ll", "'d" };
	uint32_t c, c2;
	size_t l, i, k;

	for (k = 0; k < PL_ARRAY_LEN(contractions); k++) {
		size_t cl = strlen(contractions[k]);

		if (cl <= n && !memcmp(s, contractions[k], cl))
			return cl;
	}
	l = utf8_next(s, n, &c);
	/* " ?" then a run of one class */
	for (int cls = 0; cls < 3; cls++) {
		size_t start = 0;

		if (c == ' ' && l < n)
			start = 1;
		for (int opt = (int)start; opt >= 0; opt--) {
			size_t p = (size_t)opt, len;

			if (p >= n)
				continue;
			len = utf8_next(s + p, n - p, &c2);
			i = p;
			while (i < n) {
				bool ok;

				len = utf8_next(s + i, n - i, &c2);
				ok = cls == 0	? eng__hf_is_letter(c2)
				     : cls == 1 ? eng__hf_is_number(c2)
						: !eng__hf_is_space(c2) && !eng__hf_is_letter(c2) &&
							  !eng__hf_is_number(c2);
				if (!ok)
					break;
				i += len;
			}
			if (i > p)
				return i;
		}
	}
	/* \s+(?!\S) | \s+ */
	i = 0;
	{
		size_t last = 0;

		while (i < n) {
			size_t len = utf8_next(s + i, n - i, &c2);

			if (!eng__hf_is_space(c2))
				break;
			last = i;
			i += len;
		}
		if (i == 0)
			return l; /* not reached: every character is in one class */
		if (i < n && last > 0)
			return last; /* leave the last space to the next word */
		return i;
	}
}

static int encode_words(const eng__hf_model *m, const char *t, size_t n, int32_t **ids, size_t *nids,
			size_t *cap, pl_err *err)
{
	pl_buf mapped = PL_BUF_INIT;
	size_t i = 0;
	int rc = 0;

	if (m->pre == PRE_NONE)
		return bpe_word(m, t, n, ids, nids, cap, err);
	if (m->pre == PRE_METASPACE) {
		size_t ml = strlen(m->ms_mark);

		if (!m->ms_split)
			return bpe_word(m, t, n, ids, nids, cap, err);
		/* each mark starts a word */
		while (i < n && rc == 0) {
			size_t j = i + (n - i >= ml && !memcmp(t + i, m->ms_mark, ml) ? ml : 0);

			while (j < n && !(n - j >= ml && !memcmp(t + j, m->ms_mark, ml)))
				j++;
			if (j == i)
				j = n;
			rc = bpe_word(m, t + i, j - i, ids, nids, cap, err);
			i = j;
		}
		return rc;
	}
	/* byte level */
	while (i < n && rc == 0) {
		size_t l = m->bl_regex ? gpt2_match(t + i, n - i) : n - i;

		pl_buf_reset(&mapped);
		for (size_t k = 0; k < l; k++)
			utf8_put(&mapped, m->byte_cp[(uint8_t)t[i + k]]);
		rc = bpe_word(m, mapped.ptr, mapped.len, ids, nids, cap, err);
		i += l;
	}
	pl_buf_release(&mapped);
	return rc;
}

static void replace_all(pl_buf *b, const char *from, const char *to)
{
	pl_buf o = PL_BUF_INIT;
	size_t fl = strlen(from), i = 0;

	while (i < b->len) {
		if (b->len - i >= fl && !memcmp(b->ptr + i, from, fl)) {
			pl_buf_puts(&o, to);
			i += fl;
		} else {
			pl_buf_putc(&o, b->ptr[i++]);
		}
	}
	pl_buf_reset(b);
	pl_buf_add(b, o.ptr, o.len);
	pl_buf_release(&o);
}

int eng__hf_encode(const eng__hf_model *m, const char *text, size_t len, bool at_start, int32_t **ids,
		   size_t *n, size_t *cap, pl_err *err)
{
	pl_buf t = PL_BUF_INIT;
	int rc;

	pl_buf_add(&t, text, len);
	for (size_t i = 0; i < m->nnorm; i++) {
		if (m->norm[i].kind == NORM_PREPEND) {
			if (t.len) {
				pl_buf o = PL_BUF_INIT;

				pl_buf_puts(&o, m->norm[i].a);
				pl_buf_add(&o, t.ptr, t.len);
				pl_buf_reset(&t);
				pl_buf_add(&t, o.ptr, o.len);
				pl_buf_release(&o);
			}
		} else {
			replace_all(&t, m->norm[i].a, m->norm[i].b);
		}
	}
	if (m->pre == PRE_METASPACE) {
		size_t ml = strlen(m->ms_mark);

		replace_all(&t, " ", m->ms_mark);
		if (t.len && (m->ms_prepend == PREPEND_ALWAYS || (m->ms_prepend == PREPEND_FIRST && at_start)) &&
		    !(t.len >= ml && !memcmp(t.ptr, m->ms_mark, ml))) {
			pl_buf o = PL_BUF_INIT;

			pl_buf_puts(&o, m->ms_mark);
			pl_buf_add(&o, t.ptr, t.len);
			pl_buf_reset(&t);
			pl_buf_add(&t, o.ptr, o.len);
			pl_buf_release(&o);
		}
	} else if (m->pre == PRE_BYTELEVEL && m->bl_prefix_space && t.len && t.ptr[0] != ' ') {
		pl_buf o = PL_BUF_INIT;

		pl_buf_putc(&o, ' ');
		pl_buf_add(&o, t.ptr, t.len);
		pl_buf_reset(&t);
		pl_buf_add(&t, o.ptr, o.len);
		pl_buf_release(&o);
	}
	rc = encode_words(m, t.ptr, t.len, ids, n, cap, err);
	pl_buf_release(&t);
	return rc;
}

/* ---------------------------------------------------------------- decode */

void eng__hf_token_bytes(const eng__hf_model *m, int32_t id, pl_buf *out, bool *strip_lead)
{
	const char *t = eng__hf_model_token(m, id);
	size_t n, i;

	*strip_lead = m->dec == DEC_MARK && m->dec_strip;
	if (!t)
		return;
	n = strlen(t);
	if (m->dec == DEC_BYTELEVEL) {
		for (i = 0; i < n;) {
			uint32_t cp;
			size_t l = utf8_next(t + i, n - i, &cp);
			int b;

			for (b = 0; b < 256 && m->byte_cp[b] != cp; b++)
				;
			if (b < 256)
				pl_buf_putc(out, (char)b);
			else
				pl_buf_add(out, t + i, l);
			i += l;
		}
		return;
	}
	if (m->dec == DEC_MARK) {
		static const char hex[] = "0123456789ABCDEF";
		size_t ml = strlen(m->dec_mark);

		if (m->dec_byte_fallback && n == 6 && !memcmp(t, "<0x", 3) && t[5] == '>' && t[3] && t[4] &&
		    strchr(hex, t[3]) && strchr(hex, t[4])) {
			pl_buf_putc(out, (char)((strchr(hex, t[3]) - hex) * 16 + (strchr(hex, t[4]) - hex)));
			return;
		}
		for (i = 0; i < n;) {
			if (ml && n - i >= ml && !memcmp(t + i, m->dec_mark, ml)) {
				pl_buf_putc(out, ' ');
				i += ml;
			} else {
				pl_buf_putc(out, t[i++]);
			}
		}
		return;
	}
	pl_buf_add(out, t, n);
}
