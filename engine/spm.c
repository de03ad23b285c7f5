/* spm.c - SentencePiece: the ModelProto wire format decoded by hand, the
 * normalizer (identity or a precompiled character map), and the BPE and
 * unigram encoders, following the
 * behaviour of sentencepiece 0.1.97 (Debian 12's python3-sentencepiece, the
 * oracle of tests/engine/test_tokenizer.c). */
#include "engine/spm.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- map */

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void map_init(eng__spm_map *m, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n + 2)
		cap *= 2;
	m->cap = cap;
	m->slots = pl_xmalloc(cap * sizeof(*m->slots));
	for (size_t i = 0; i < cap; i++)
		m->slots[i] = -1;
}

static int32_t map_get(const eng__spm_map *m, const eng__spm_piece *pieces, const char *s, size_t n)
{
	size_t i;

	if (!m->cap)
		return -1;
	for (i = hash_bytes(s, n) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		int32_t id = m->slots[i];

		if (id < 0)
			return -1;
		if (pieces[id].len == n && !memcmp(pieces[id].s, s, n))
			return id;
	}
}

/* Returns false when the piece is already there. */
static bool map_put(eng__spm_map *m, const eng__spm_piece *pieces, int32_t id)
{
	const eng__spm_piece *p = &pieces[id];
	size_t i;

	for (i = hash_bytes(p->s, p->len) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		int32_t o = m->slots[i];

		if (o < 0) {
			m->slots[i] = id;
			return true;
		}
		if (pieces[o].len == p->len && !memcmp(pieces[o].s, p->s, p->len))
			return false;
	}
}

/* ---------------------------------------------------------------- protobuf */

typedef struct pb {
	const uint8_t *base, *p, *end;
	const char *what; /* file name */
	const char *msg;  /* message being read, for errors */
} pb;

static int pb_fail(const pb *r, pl_err *err, const char *why)
{
	return pl_err_set(err, PL_EFORMAT, "%s: malformed protobuf in %s at byte %zu: %s", r->what, r->msg,
			  (size_t)(r->p - r->base), why);
}

static int pb_varint(uint64_t *out, pb *r, pl_err *err)
{
	uint64_t v = 0;

	for (int i = 0; i < 10; i++) {
		if (r->p >= r->end)
			return pb_fail(r, err, "truncated varint");
		uint8_t b = *r->p++;

		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return pb_fail(r, err, "bad varint (longer than 10 bytes)");
}

static int pb_key(uint32_t *field, int *wt, pb *r, pl_err *err)
{
	uint64_t k;
	int rc;

	if ((rc = pb_varint(&k, r, err)) < 0)
		return rc;
	*field = (uint32_t)(k >> 3);
	*wt = (int)(k & 7);
	if (k >> 3 == 0 || k >> 3 > 0x1fffffff)
		return pb_fail(r, err, "bad field number");
	return 0;
}

static int pb_len(const uint8_t **data, size_t *n, pb *r, pl_err *err)
{
	uint64_t len;
	int rc;

	if ((rc = pb_varint(&len, r, err)) < 0)
		return rc;
	if (len > (uint64_t)(r->end - r->p))
		return pb_fail(r, err, "length-delimited field runs past the end");
	*data = r->p;
	*n = (size_t)len;
	r->p += len;
	return 0;
}

static int pb_skip(pb *r, int wt, pl_err *err)
{
	uint64_t v;
	const uint8_t *d = NULL;
	size_t n = 0;

	switch (wt) {
	case 0: return pb_varint(&v, r, err);
	case 1:
		if (r->end - r->p < 8)
			return pb_fail(r, err, "truncated fixed64");
		r->p += 8;
		return 0;
	case 2: return pb_len(&d, &n, r, err);
	case 5:
		if (r->end - r->p < 4)
			return pb_fail(r, err, "truncated fixed32");
		r->p += 4;
		return 0;
	default: {
		char why[64];

		snprintf(why, sizeof(why), "unsupported wire type %d", wt);
		return pb_fail(r, err, why);
	}
	}
}

static int pb_expect(const pb *r, int wt, int want, const char *field, pl_err *err)
{
	char why[128];

	if (wt == want)
		return 0;
	snprintf(why, sizeof(why), "field '%s' has wire type %d, expected %d", field, wt, want);
	return pb_fail(r, err, why);
}

static int pb_float(float *out, pb *r, pl_err *err)
{
	uint32_t u;

	if (r->end - r->p < 4)
		return pb_fail(r, err, "truncated fixed32");
	u = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
	memcpy(out, &u, 4);
	r->p += 4;
	return 0;
}

static pb pb_sub(const pb *parent, const uint8_t *d, size_t n, const char *msg)
{
	pb r = { parent->base, d, d + n, parent->what, msg };

	return r;
}

/* ---------------------------------------------------------------- model parse */

typedef struct trainer_spec {
	int model_type;
	bool byte_fallback, ws_suffix;
	char *unk_surface, *bos_piece, *eos_piece, *pad_piece;
} trainer_spec;

static int parse_piece(eng__spm_piece *out, pb *r, pl_err *err)
{
	uint32_t f;
	int wt, rc;
	const uint8_t *d = NULL;
	size_t n = 0;
	uint64_t v;

	out->type = ENG__SPM_NORMAL;
	out->score = 0;
	while (r->p < r->end) {
		if ((rc = pb_key(&f, &wt, r, err)) < 0)
			return rc;
		if (f == 1) {
			if ((rc = pb_expect(r, wt, 2, "piece", err)) < 0 || (rc = pb_len(&d, &n, r, err)) < 0)
				return rc;
			free(out->s);
			out->s = pl_xstrndup((const char *)d, n);
			out->len = (uint32_t)n;
			if (memchr(d, 0, n))
				return pb_fail(r, err, "piece contains a NUL byte");
		} else if (f == 2) {
			if ((rc = pb_expect(r, wt, 5, "score", err)) < 0 || (rc = pb_float(&out->score, r, err)) < 0)
				return rc;
		} else if (f == 3) {
			if ((rc = pb_expect(r, wt, 0, "type", err)) < 0 || (rc = pb_varint(&v, r, err)) < 0)
				return rc;
			if (v < ENG__SPM_NORMAL || v > ENG__SPM_BYTE)
				return pb_fail(r, err, "unknown piece type");
			out->type = (int)v;
		} else if ((rc = pb_skip(r, wt, err)) < 0) {
			return rc;
		}
	}
	return 0;
}

static int get_string(char **out, pb *r, int wt, const char *field, pl_err *err)
{
	const uint8_t *d = NULL;
	size_t n = 0;
	int rc;

	if ((rc = pb_expect(r, wt, 2, field, err)) < 0 || (rc = pb_len(&d, &n, r, err)) < 0)
		return rc;
	free(*out);
	*out = pl_xstrndup((const char *)d, n);
	return 0;
}

static int get_varint(uint64_t *out, pb *r, int wt, const char *field, pl_err *err)
{
	int rc;

	if ((rc = pb_expect(r, wt, 0, field, err)) < 0)
		return rc;
	return pb_varint(out, r, err);
}

static int parse_trainer(trainer_spec *t, pb *r, pl_err *err)
{
	uint32_t f;
	int wt, rc;
	uint64_t v;

	while (r->p < r->end) {
		if ((rc = pb_key(&f, &wt, r, err)) < 0)
			return rc;
		switch (f) {
		case 3:
			if ((rc = get_varint(&v, r, wt, "model_type", err)) < 0)
				return rc;
			t->model_type = (int)v;
			break;
		case 24:
			if ((rc = get_varint(&v, r, wt, "treat_whitespace_as_suffix", err)) < 0)
				return rc;
			t->ws_suffix = v != 0;
			break;
		case 35:
			if ((rc = get_varint(&v, r, wt, "byte_fallback", err)) < 0)
				return rc;
			t->byte_fallback = v != 0;
			break;
		case 44: rc = get_string(&t->unk_surface, r, wt, "unk_surface", err); break;
		case 46: rc = get_string(&t->bos_piece, r, wt, "bos_piece", err); break;
		case 47: rc = get_string(&t->eos_piece, r, wt, "eos_piece", err); break;
		case 48: rc = get_string(&t->pad_piece, r, wt, "pad_piece", err); break;
		default: rc = pb_skip(r, wt, err); break;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

typedef struct norm_spec {
	char *name;
	const uint8_t *charsmap;
	size_t charsmap_len;
	bool add_dummy_prefix, remove_extra_ws, escape_ws;
} norm_spec;

static int parse_normalizer(norm_spec *s, pb *r, pl_err *err)
{
	uint32_t f;
	int wt, rc;
	uint64_t v;

	while (r->p < r->end) {
		if ((rc = pb_key(&f, &wt, r, err)) < 0)
			return rc;
		switch (f) {
		case 1: rc = get_string(&s->name, r, wt, "name", err); break;
		case 2:
			if ((rc = pb_expect(r, wt, 2, "precompiled_charsmap", err)) < 0)
				return rc;
			rc = pb_len(&s->charsmap, &s->charsmap_len, r, err);
			break;
		case 3:
			rc = get_varint(&v, r, wt, "add_dummy_prefix", err);
			s->add_dummy_prefix = v != 0;
			break;
		case 4:
			rc = get_varint(&v, r, wt, "remove_extra_whitespaces", err);
			s->remove_extra_ws = v != 0;
			break;
		case 5:
			rc = get_varint(&v, r, wt, "escape_whitespaces", err);
			s->escape_ws = v != 0;
			break;
		default: rc = pb_skip(r, wt, err); break;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

void eng__spm_model_free(eng__spm_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->pieces[i].s);
	free(m->pieces);
	free(m->unk_surface);
	free(m->norm_name);
	free(m->trie);
	free(m->norm_blob);
	free(m->prefixes);
	free(m->normal.slots);
	free(m->reserved.slots);
	free(m->user.slots);
	free(m);
}

int32_t eng__spm_piece_find(const eng__spm_model *m, const char *s, size_t len)
{
	int32_t id = map_get(&m->reserved, m->pieces, s, len);

	return id >= 0 ? id : map_get(&m->normal, m->pieces, s, len);
}

int32_t eng__spm_piece_to_id(const eng__spm_model *m, const char *s, size_t len)
{
	int32_t id = eng__spm_piece_find(m, s, len);

	return id >= 0 ? id : m->unk_id;
}

static int byte_of_piece(const eng__spm_piece *p)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *a, *b;

	/* sentencepiece writes byte pieces as <0xNN>, upper-case hex */
	if (p->len != 6 || memcmp(p->s, "<0x", 3) || p->s[5] != '>')
		return -1;
	if (!(a = memchr(hex, p->s[3], 16)) || !(b = memchr(hex, p->s[4], 16)))
		return -1;
	return (int)((a - hex) * 16 + (b - hex));
}

static int32_t reserved_id(const eng__spm_model *m, const char *piece)
{
	return piece ? map_get(&m->reserved, m->pieces, piece, strlen(piece)) : -1;
}

static struct eng__spm_prefix *prefix_slot(const eng__spm_model *m, uint64_t h, const char *s, size_t l)
{
	for (size_t i = h & (m->prefix_cap - 1);; i = (i + 1) & (m->prefix_cap - 1)) {
		struct eng__spm_prefix *e = &m->prefixes[i];

		if (e->src < 0 || (e->hash == h && e->len == l && !memcmp(m->pieces[e->src].s, s, l)))
			return e;
	}
}

static void index_prefixes(eng__spm_model *m)
{
	size_t total = 0, cap = 16;

	for (size_t i = 0; i < m->n; i++)
		total += m->pieces[i].len;
	while (cap < 2 * total + 2)
		cap *= 2;
	m->prefix_cap = cap;
	m->prefixes = pl_xmalloc(cap * sizeof(*m->prefixes));
	for (size_t i = 0; i < cap; i++)
		m->prefixes[i].src = -1;
	for (size_t i = 0; i < m->n; i++) {
		const eng__spm_piece *p = &m->pieces[i];
		uint64_t h = 1469598103934665603ULL;

		if (p->type != ENG__SPM_NORMAL && p->type != ENG__SPM_USER_DEFINED &&
		    p->type != ENG__SPM_UNUSED)
			continue;
		for (uint32_t l = 1; l <= p->len; l++) {
			struct eng__spm_prefix *e;

			h = (h ^ (uint8_t)p->s[l - 1]) * 1099511628211ULL;
			e = prefix_slot(m, h, p->s, l);
			if (e->src < 0)
				*e = (struct eng__spm_prefix){ h, (int32_t)i, l, -1 };
			if (l == p->len)
				e->exact = (int32_t)i;
		}
	}
}

/* Builds the lookups and checks the invariants sentencepiece checks. */
static int index_model(eng__spm_model *m, const trainer_spec *t, const char *what, pl_err *err)
{
	bool bytes_found[256] = { 0 };
	size_t i;

	map_init(&m->normal, m->n);
	map_init(&m->reserved, m->n);
	map_init(&m->user, m->n);
	m->unk_id = -1;
	m->min_score = FLT_MAX;
	m->max_score = FLT_MIN; /* as sentencepiece: not -FLT_MAX */
	for (i = 0; i < 256; i++)
		m->byte_ids[i] = -1;
	for (i = 0; i < m->n; i++) {
		eng__spm_piece *p = &m->pieces[i];
		bool normal = p->type == ENG__SPM_NORMAL || p->type == ENG__SPM_USER_DEFINED ||
			      p->type == ENG__SPM_UNUSED;

		if (!p->s || !p->len)
			return pl_err_set(err, PL_EFORMAT, "%s: piece %zu is empty", what, i);
		if (!map_put(normal ? &m->normal : &m->reserved, m->pieces, (int32_t)i))
			return pl_err_set(err, PL_EFORMAT, "%s: piece %zu '%s' is defined twice", what, i, p->s);
		if (p->len > m->max_piece_len)
			m->max_piece_len = p->len;
		if (p->type == ENG__SPM_USER_DEFINED) {
			map_put(&m->user, m->pieces, (int32_t)i);
			m->user_first[(uint8_t)p->s[0]] = true;
			if (p->len > m->max_user_len)
				m->max_user_len = p->len;
		}
		if (p->type == ENG__SPM_NORMAL) {
			if (p->score < m->min_score)
				m->min_score = p->score;
			if (p->score > m->max_score)
				m->max_score = p->score;
		}
		if (p->type == ENG__SPM_UNKNOWN) {
			if (m->unk_id >= 0)
				return pl_err_set(err, PL_EFORMAT, "%s: more than one unknown piece (%d and %zu)",
						  what, m->unk_id, i);
			m->unk_id = (int32_t)i;
		}
		if (p->type == ENG__SPM_BYTE) {
			int b = byte_of_piece(p);

			if (!t->byte_fallback)
				return pl_err_set(err, PL_EFORMAT,
						  "%s: byte piece '%s' found although byte_fallback is false", what,
						  p->s);
			if (b < 0)
				return pl_err_set(err, PL_EFORMAT, "%s: byte piece %zu '%s' is not <0xNN>", what,
						  i, p->s);
			bytes_found[b] = true;
			m->byte_ids[b] = (int32_t)i;
		}
	}
	if (m->unk_id < 0)
		return pl_err_set(err, PL_EFORMAT, "%s: no unknown piece (type UNKNOWN) is defined", what);
	if (t->byte_fallback)
		for (i = 0; i < 256; i++)
			if (!bytes_found[i])
				return pl_err_set(err, PL_EFORMAT,
						  "%s: byte_fallback is true but byte piece <0x%02zX> is missing",
						  what, i);
	index_prefixes(m);
	m->bos_id = reserved_id(m, t->bos_piece ? t->bos_piece : "<s>");
	m->eos_id = reserved_id(m, t->eos_piece ? t->eos_piece : "</s>");
	m->pad_id = reserved_id(m, t->pad_piece ? t->pad_piece : "<pad>");
	return 0;
}

/* precompiled_charsmap: a little-endian uint32 byte size of a Darts-clone
 * double-array trie, the trie's uint32 units, then the NUL-terminated
 * replacement strings the trie's values point into. */
static int load_charsmap(eng__spm_model *m, const uint8_t *d, size_t n, const char *what, pl_err *err)
{
	uint32_t tsize;

	if (n < 4)
		return pl_err_set(err, PL_EFORMAT, "%s: precompiled_charsmap is shorter than its header", what);
	tsize = (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
	if (tsize % 4 || tsize < 4 || tsize > n - 4)
		return pl_err_set(err, PL_EFORMAT, "%s: precompiled_charsmap trie size %u does not fit its %zu bytes",
				  what, tsize, n);
	m->trie_n = tsize / 4;
	m->trie = pl_xmalloc(tsize);
	for (size_t i = 0; i < m->trie_n; i++) {
		const uint8_t *u = d + 4 + 4 * i;

		m->trie[i] = (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
	}
	m->norm_blob_len = n - 4 - tsize;
	m->norm_blob = pl_xmalloc(m->norm_blob_len + 1);
	memcpy(m->norm_blob, d + 4 + tsize, m->norm_blob_len);
	m->norm_blob[m->norm_blob_len] = '\0';
	return 0;
}

/* The longest key of the charsmap trie that prefixes s (Darts-clone's
 * commonPrefixSearch); returns its length and sets *value, or 0.  Every
 * index is checked: a corrupt trie finds nothing rather than reading out
 * of bounds. */
static size_t charsmap_match(const eng__spm_model *m, const char *s, size_t n, uint32_t *value)
{
#define OFFSET(u) (((u) >> 10) << (((u) & (1U << 9)) >> 6))
#define LABEL(u) ((u) & ((1U << 31) | 0xFF))
#define HAS_LEAF(u) (((u) >> 8) & 1)
	size_t best = 0;
	uint32_t pos = 0, unit = m->trie[0];

	pos ^= OFFSET(unit);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];

		pos ^= c;
		if (pos >= m->trie_n)
			break;
		unit = m->trie[pos];
		if (LABEL(unit) != c)
			break;
		pos ^= OFFSET(unit);
		if (pos >= m->trie_n)
			break;
		if (HAS_LEAF(unit)) {
			*value = m->trie[pos] & ((1U << 31) - 1);
			best = i + 1;
		}
	}
	return best;
#undef OFFSET
#undef LABEL
#undef HAS_LEAF
}

int eng__spm_model_parse(eng__spm_model **out, const uint8_t *data, size_t size, const char *what,
			 pl_err *err)
{
	eng__spm_model *m = pl_xcalloc(1, sizeof(*m));
	trainer_spec t = { .model_type = ENG__SPM_UNIGRAM };
	norm_spec ns = { .add_dummy_prefix = true, .remove_extra_ws = true, .escape_ws = true };
	norm_spec dns = { 0 };
	size_t cap = 0;
	pb r = { data, data, data + size, what, "ModelProto" };
	uint32_t f;
	int wt, rc = 0;
	const uint8_t *d = NULL;
	size_t n = 0;

	while (r.p < r.end) {
		if ((rc = pb_key(&f, &wt, &r, err)) < 0)
			goto done;
		if (f >= 1 && f <= 5 && f != 4) {
			static const char *const names[] = { "", "pieces", "trainer_spec", "normalizer_spec", "",
							     "denormalizer_spec" };

			if ((rc = pb_expect(&r, wt, 2, names[f], err)) < 0 || (rc = pb_len(&d, &n, &r, err)) < 0)
				goto done;
		}
		if (f == 1) {
			pb sub = pb_sub(&r, d, n, "ModelProto.pieces");

			if (m->n == cap) {
				cap = cap ? 2 * cap : 256;
				m->pieces = pl_xrealloc(m->pieces, cap * sizeof(*m->pieces));
			}
			memset(&m->pieces[m->n], 0, sizeof(*m->pieces));
			m->n++;
			if ((rc = parse_piece(&m->pieces[m->n - 1], &sub, err)) < 0)
				goto done;
		} else if (f == 2) {
			pb sub = pb_sub(&r, d, n, "ModelProto.trainer_spec");

			if ((rc = parse_trainer(&t, &sub, err)) < 0)
				goto done;
		} else if (f == 3) {
			pb sub = pb_sub(&r, d, n, "ModelProto.normalizer_spec");

			if ((rc = parse_normalizer(&ns, &sub, err)) < 0)
				goto done;
		} else if (f == 5) {
			pb sub = pb_sub(&r, d, n, "ModelProto.denormalizer_spec");

			if ((rc = parse_normalizer(&dns, &sub, err)) < 0)
				goto done;
		} else if ((rc = pb_skip(&r, wt, err)) < 0) {
			goto done;
		}
	}
	if (m->n == 0) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: no pieces (not a SentencePiece model?)", what);
		goto done;
	}
	if (m->n > INT32_MAX) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: too many pieces (%zu)", what, m->n);
		goto done;
	}
	if (t.model_type != ENG__SPM_UNIGRAM && t.model_type != ENG__SPM_BPE) {
		rc = pl_err_set(err, PL_EUNSUPPORTED,
				"%s: model_type %d is not supported (only unigram (1) and bpe (2))", what,
				t.model_type);
		goto done;
	}
	if (t.ws_suffix) {
		rc = pl_err_set(err, PL_EUNSUPPORTED, "%s: treat_whitespace_as_suffix is not supported", what);
		goto done;
	}
	if (dns.charsmap_len) {
		rc = pl_err_set(err, PL_EUNSUPPORTED, "%s: a denormalizer (denormalizer_spec with rules) is not supported",
				what);
		goto done;
	}
	if (ns.charsmap_len && (rc = load_charsmap(m, ns.charsmap, ns.charsmap_len, what, err)) < 0)
		goto done;
	m->model_type = t.model_type;
	m->byte_fallback = t.byte_fallback;
	m->add_dummy_prefix = ns.add_dummy_prefix;
	m->remove_extra_ws = ns.remove_extra_ws;
	m->escape_ws = ns.escape_ws;
	m->norm_name = ns.name ? ns.name : pl_xstrdup("identity");
	ns.name = NULL;
	m->unk_surface = t.unk_surface ? t.unk_surface : pl_xstrdup(" \xE2\x81\x87 ");
	t.unk_surface = NULL;
	if ((rc = index_model(m, &t, what, err)) < 0)
		goto done;
	*out = m;
	m = NULL;
done:
	free(t.unk_surface);
	free(t.bos_piece);
	free(t.eos_piece);
	free(t.pad_piece);
	free(ns.name);
	free(dns.name);
	eng__spm_model_free(m);
	return rc;
}

/* ---------------------------------------------------------------- normalizer */

static const char kSpace[] = "\xE2\x96\x81"; /* U+2581, sentencepiece's whitespace mark */

static size_t one_char_len(uint8_t c)
{
	static const uint8_t len[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };

	return len[c >> 4];
}

/* Decodes one UTF-8 character as sentencepiece's string_util::DecodeUTF8
 * does; returns its length, or 0 when the bytes are not valid UTF-8 (then
 * one byte is consumed). */
size_t eng__spm_utf8_valid_len(const uint8_t *s, size_t n)
{
	uint32_t cp;

	if (n == 0)
		return 0;
	if (s[0] < 0x80)
		return 1;
#define TRAIL(i) ((s[i] & 0xC0) == 0x80)
#define OKCP(c) ((c) < 0xD800 || ((c) >= 0xE000 && (c) <= 0x10FFFF))
	if (n >= 2 && (s[0] & 0xE0) == 0xC0) {
		cp = (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
		return TRAIL(1) && cp >= 0x80 && OKCP(cp) ? 2 : 0;
	}
	if (n >= 3 && (s[0] & 0xF0) == 0xE0) {
		cp = (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
		return TRAIL(1) && TRAIL(2) && cp >= 0x800 && OKCP(cp) ? 3 : 0;
	}
	if (n >= 4 && (s[0] & 0xF8) == 0xF0) {
		cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 | (uint32_t)(s[2] & 0x3F) << 6 |
		     (s[3] & 0x3F);
		return TRAIL(1) && TRAIL(2) && TRAIL(3) && cp >= 0x10000 && OKCP(cp) ? 4 : 0;
	}
#undef TRAIL
#undef OKCP
	return 0;
}

/* Longest user-defined piece at the start of s (0 when none). */
static size_t user_prefix(const eng__spm_model *m, const char *s, size_t n)
{
	size_t l = m->max_user_len < n ? m->max_user_len : n;

	if (!m->user_first[(uint8_t)s[0]])
		return 0;

	for (; l > 0; l--)
		if (map_get(&m->user, m->pieces, s, l) >= 0)
			return l;
	return 0;
}

/* The unit sentencepiece's normalizer and BPE split on: a user-defined
 * piece, else one UTF-8 character by its lead byte. */
static size_t prefix_len(const eng__spm_model *m, const char *s, size_t n, bool *is_user)
{
	size_t l = user_prefix(m, s, n);

	*is_user = l > 0;
	if (l)
		return l;
	l = one_char_len((uint8_t)s[0]);
	return l < n ? l : n;
}

static void add_ws(const eng__spm_model *m, pl_buf *out)
{
	if (m->escape_ws)
		pl_buf_add(out, kSpace, 3);
	else
		pl_buf_putc(out, ' ');
}

/* Normalizer::Normalize: user-defined pieces pass as they are, the character
 * map (when there is one) rewrites its longest key, whitespace is escaped
 * and, on request, collapsed. */
static void normalize(const eng__spm_model *m, const char *in, size_t n, pl_buf *out)
{
	bool is_prev_space, is_user;
	uint32_t value = 0;

	if (m->remove_extra_ws)
		while (n && in[0] == ' ') {
			in++;
			n--;
		}
	if (!n)
		return;
	if (m->add_dummy_prefix)
		add_ws(m, out);
	is_prev_space = m->remove_extra_ws;
	while (n) {
		size_t l, k;
		const char *sp;
		size_t spn;

		/* a user-defined piece passes as is; otherwise one character,
		 * malformed UTF-8 becoming U+FFFD one byte at a time */
		l = user_prefix(m, in, n);
		is_user = l > 0;
		if (is_user) {
			sp = in;
			spn = l;
		} else if (m->trie && (k = charsmap_match(m, in, n, &value)) > 0 && value < m->norm_blob_len) {
			l = k;
			sp = m->norm_blob + value;
			spn = strlen(sp);
		} else if ((k = eng__spm_utf8_valid_len((const uint8_t *)in, n)) > 0) {
			l = k;
			sp = in;
			spn = k;
		} else {
			l = 1;
			sp = "\xEF\xBF\xBD";
			spn = 3;
		}
		while (is_prev_space && spn && sp[0] == ' ') {
			sp++;
			spn--;
		}
		if (spn) {
			for (size_t i = 0; i < spn; i++) {
				if (m->escape_ws && sp[i] == ' ')
					pl_buf_add(out, kSpace, 3);
				else
					pl_buf_putc(out, sp[i]);
			}
			is_prev_space = sp[spn - 1] == ' ';
		}
		in += l;
		n -= l;
		if (!m->remove_extra_ws)
			is_prev_space = false;
	}
	if (m->remove_extra_ws) {
		const char *space = m->escape_ws ? kSpace : " ";
		size_t sl = strlen(space);

		while (out->len >= sl && !memcmp(out->ptr + out->len - sl, space, sl))
			pl_buf_setlen(out, out->len - sl);
	}
}

/* ---------------------------------------------------------------- model output */

typedef struct seg {
	uint32_t off, len;
	int32_t id;
} seg;

typedef struct segs {
	seg *v;
	size_t n, cap;
} segs;

static void segs_add(segs *s, uint32_t off, uint32_t len, int32_t id)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = pl_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = (seg){ off, len, id };
}

/* ---------------------------------------------------------------- BPE */

typedef struct bpe_pair {
	int left, right;
	float score;
	size_t size;
} bpe_pair;

typedef struct bpe_state {
	const eng__spm_model *m;
	const char *text;
	int *prev, *next;
	uint32_t *start, *len;
	bool *freeze;
	bpe_pair *heap;
	size_t nheap, capheap;
	/* merged UNUSED pieces and how they were made, for resegmentation */
	struct rev {
		uint32_t off, len, left_len;
	} *rev;
	size_t nrev, caprev;
} bpe_state;

/* bpe_model.cc's comparator: higher score first, then the leftmost pair. */
static bool pair_before(const bpe_pair *a, const bpe_pair *b)
{
	return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(bpe_state *st, bpe_pair p)
{
	size_t i;

	if (st->nheap == st->capheap) {
		st->capheap = st->capheap ? 2 * st->capheap : 64;
		st->heap = pl_xrealloc(st->heap, st->capheap * sizeof(*st->heap));
	}
	i = st->nheap++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!pair_before(&p, &st->heap[parent]))
			break;
		st->heap[i] = st->heap[parent];
		i = parent;
	}
	st->heap[i] = p;
}

static bpe_pair heap_pop(bpe_state *st)
{
	bpe_pair top = st->heap[0], last = st->heap[--st->nheap];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= st->nheap)
			break;
		if (c + 1 < st->nheap && pair_before(&st->heap[c + 1], &st->heap[c]))
			c++;
		if (!pair_before(&st->heap[c], &last))
			break;
		st->heap[i] = st->heap[c];
		i = c;
	}
	if (st->nheap)
		st->heap[i] = last;
	return top;
}

static void maybe_add_pair(bpe_state *st, int left, int right)
{
	const eng__spm_model *m = st->m;
	size_t size;
	int32_t id;

	if (left < 0 || right < 0 || st->freeze[left] || st->freeze[right])
		return;
	size = st->len[left] + st->len[right];
	id = map_get(&m->normal, m->pieces, st->text + st->start[left], size);
	if (id < 0)
		return;
	heap_push(st, (bpe_pair){ left, right, m->pieces[id].score, size });
	if (m->pieces[id].type == ENG__SPM_UNUSED) {
		if (st->nrev == st->caprev) {
			st->caprev = st->caprev ? 2 * st->caprev : 16;
			st->rev = pl_xrealloc(st->rev, st->caprev * sizeof(*st->rev));
		}
		st->rev[st->nrev++] = (struct rev){ st->start[left], (uint32_t)size, st->len[left] };
	}
}

/* The left length of the last recorded merge of an UNUSED piece equal to
 * text[off, off+len) (sentencepiece keeps one entry per string, the last). */
static bool rev_find(const bpe_state *st, uint32_t off, uint32_t len, uint32_t *left_len)
{
	for (size_t i = st->nrev; i-- > 0;) {
		const struct rev *r = &st->rev[i];

		if (r->len == len && !memcmp(st->text + r->off, st->text + off, len)) {
			*left_len = r->left_len;
			return true;
		}
	}
	return false;
}

static void resegment(const bpe_state *st, uint32_t off, uint32_t len, segs *out)
{
	const eng__spm_model *m = st->m;
	int32_t id = eng__spm_piece_to_id(m, st->text + off, len);
	uint32_t left_len;

	if (m->pieces[id].type != ENG__SPM_UNUSED || !rev_find(st, off, len, &left_len)) {
		segs_add(out, off, len, id);
		return;
	}
	resegment(st, off, left_len, out);
	resegment(st, off + left_len, len - left_len, out);
}

static void bpe_encode(const eng__spm_model *m, const char *text, size_t n, segs *out)
{
	bpe_state st = { .m = m, .text = text };
	size_t count = 0, i;

	if (!n)
		return;
	st.prev = pl_xmalloc(n * sizeof(int));
	st.next = pl_xmalloc(n * sizeof(int));
	st.start = pl_xmalloc(n * sizeof(uint32_t));
	st.len = pl_xmalloc(n * sizeof(uint32_t));
	st.freeze = pl_xmalloc(n * sizeof(bool));
	for (i = 0; i < n;) {
		bool user;
		size_t l = prefix_len(m, text + i, n - i, &user);

		st.start[count] = (uint32_t)i;
		st.len[count] = (uint32_t)l;
		st.freeze[count] = user;
		st.prev[count] = (int)count - 1;
		i += l;
		st.next[count] = i < n ? (int)count + 1 : -1;
		count++;
	}
	for (i = 1; i < count; i++)
		maybe_add_pair(&st, (int)i - 1, (int)i);
	while (st.nheap) {
		bpe_pair top = heap_pop(&st);
		int l = top.left, r = top.right;

		if (!st.len[l] || !st.len[r] || st.len[l] + st.len[r] != top.size)
			continue;
		st.len[l] += st.len[r];
		st.next[l] = st.next[r];
		if (st.next[r] >= 0)
			st.prev[st.next[r]] = l;
		st.len[r] = 0;
		maybe_add_pair(&st, st.prev[l], l);
		maybe_add_pair(&st, l, st.next[l]);
	}
	for (int k = 0; k != -1; k = st.next[k])
		resegment(&st, st.start[k], st.len[k], out);
	free(st.prev);
	free(st.next);
	free(st.start);
	free(st.len);
	free(st.freeze);
	free(st.heap);
	free(st.rev);
}

/* ---------------------------------------------------------------- unigram */

/* unigram_model.cc's EncodeOptimized: a Viterbi pass over every piece that
 * starts at each character, an unknown character costing min_score - 10.
 * The arithmetic types follow the original: a user-defined piece's score is
 * computed in double, the best path kept in float. */
static void unigram_encode(const eng__spm_model *m, const char *text, size_t n, segs *out)
{
	struct node {
		float score;
		int starts_at;
		int32_t id;
	} *best;
	const float unk_score = m->min_score - 10.0f;
	size_t start = 0;
	segs rev = { 0 };

	if (!n)
		return;
	best = pl_xmalloc((n + 1) * sizeof(*best));
	for (size_t i = 0; i <= n; i++)
		best[i] = (struct node){ 0, -1, -1 };
	while (start < n) {
		const float till_here = best[start].score;
		size_t mblen = one_char_len((uint8_t)text[start]);
		size_t maxl = m->max_piece_len < n - start ? m->max_piece_len : n - start;
		bool single = false;

		if (mblen > n - start)
			mblen = n - start;
		uint64_t h = 1469598103934665603ULL;

		/* walk the prefixes as sentencepiece walks its trie: stop at
		 * the first one no piece starts with */
		for (size_t l = 1; l <= maxl; l++) {
			const struct eng__spm_prefix *e;
			struct node *t = &best[start + l];
			int32_t id;
			double cand;

			h = (h ^ (uint8_t)text[start + l - 1]) * 1099511628211ULL;
			e = prefix_slot(m, h, text + start, l);
			if (e->src < 0)
				break;
			id = e->exact;
			if (id < 0 || m->pieces[id].type == ENG__SPM_UNUSED)
				continue;
			if (m->pieces[id].type == ENG__SPM_USER_DEFINED)
				cand = ((double)((float)l * m->max_score) - 0.1) + (double)till_here;
			else
				cand = (double)m->pieces[id].score + (double)till_here;
			if (t->starts_at == -1 || cand > (double)t->score) {
				t->score = (float)cand;
				t->starts_at = (int)start;
				t->id = id;
			}
			if (l == mblen)
				single = true;
		}
		if (!single) {
			struct node *t = &best[start + mblen];
			float cand = unk_score + till_here;

			if (t->starts_at == -1 || cand > t->score) {
				t->score = cand;
				t->starts_at = (int)start;
				t->id = m->unk_id;
			}
		}
		start += mblen;
	}
	for (size_t end = n; end > 0;) {
		const struct node *nd = &best[end];

		segs_add(&rev, (uint32_t)nd->starts_at, (uint32_t)(end - nd->starts_at), nd->id);
		end = (size_t)nd->starts_at;
	}
	for (size_t i = rev.n; i-- > 0;)
		segs_add(out, rev.v[i].off, rev.v[i].len, rev.v[i].id);
	free(rev.v);
	free(best);
}

/* ---------------------------------------------------------------- encode */

static void push_id(int32_t **ids, size_t *n, size_t *cap, int32_t id)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*ids = pl_xrealloc(*ids, *cap * sizeof(**ids));
	}
	(*ids)[(*n)++] = id;
}

int eng__spm_encode(const eng__spm_model *m, const char *text, size_t len, int32_t **ids, size_t *n,
		    size_t *cap, pl_err *err)
{
	pl_buf norm = PL_BUF_INIT;
	segs s = { 0 };
	bool prev_unk = false;

	if (len > (size_t)INT32_MAX / 4)
		return pl_err_set(err, PL_ELIMIT, "text of %zu bytes is too long to tokenize", len);
	normalize(m, text, len, &norm);
	if (m->model_type == ENG__SPM_BPE)
		bpe_encode(m, norm.ptr, norm.len, &s);
	else
		unigram_encode(m, norm.ptr, norm.len, &s);
	/* SentencePieceProcessor::Encode: unknown pieces become bytes under
	 * byte fallback, else a run of them collapses into one unknown id */
	for (size_t i = 0; i < s.n; i++) {
		int32_t id = s.v[i].id;
		bool unk = id == m->unk_id;

		if (m->pieces[id].type == ENG__SPM_CONTROL) {
			push_id(ids, n, cap, id);
			continue;
		}
		if (unk && m->byte_fallback) {
			for (uint32_t k = 0; k < s.v[i].len; k++)
				push_id(ids, n, cap, m->byte_ids[(uint8_t)norm.ptr[s.v[i].off + k]]);
		} else if (!(unk && prev_unk)) {
			push_id(ids, n, cap, id);
		}
		prev_unk = unk;
	}
	free(s.v);
	pl_buf_release(&norm);
	return 0;
}
