/* session.c - per-sequence state: append (prefill in chunks or one-token
 * decode), truncate (rings restored from the kept history), fork. */
#include "engine/internal.h"

#include <stdlib.h>
#include <string.h>

static size_t kv_row(const eng_model *m)
{
	return 2 * (size_t)(m->cfg.kv_heads * m->cfg.head_dim);
}

static int grow(float **p, size_t elems, const char *what, pl_err *err)
{
	float *q = realloc(*p, elems * sizeof(float));

	if (!q && elems)
		return pl_err_set(err, PL_ENOMEM, "cannot allocate %zu bytes for %s", elems * sizeof(float), what);
	*p = q;
	return 0;
}

static int reserve(eng_session *s, size_t need, pl_err *err)
{
	const eng_config *c = &s->m->cfg;
	size_t cap = s->cap ? s->cap : 64, i, later = (size_t)(c->loops - 1);
	int32_t *t;
	int rc;

	if (need <= s->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	for (i = 0; i < (size_t)c->layers; i++)
		if ((rc = grow(&s->kv0[i], cap * kv_row(s->m), "the K/V cache", err)) < 0)
			return rc;
	for (i = 0; i < later * (size_t)c->layers; i++)
		if ((rc = grow(&s->hist[i], cap * kv_row(s->m), "the later loops' K/V history", err)) < 0)
			return rc;
	for (i = 0; i < later; i++)
		if ((rc = grow(&s->hsave[i], cap * (size_t)c->hidden, "saved hidden states", err)) < 0)
			return rc;
	t = realloc(s->tokens, cap * sizeof(*t));
	if (!t)
		return pl_err_set(err, PL_ENOMEM, "cannot allocate %zu bytes for tokens", cap * sizeof(*t));
	s->tokens = t;
	s->cap = cap;
	return 0;
}

int eng_session_new(eng_session **out, eng_model *m, pl_err *err)
{
	const eng_config *c = &m->cfg;
	eng_session *s = pl_xcalloc(1, sizeof(*s));
	size_t later = (size_t)(c->loops - 1), ring = later * (size_t)c->layers * ENG_LOCAL_WINDOW * kv_row(m);

	s->m = m;
	s->chunk = 64;
	s->kv0 = pl_xcalloc((size_t)c->layers, sizeof(*s->kv0));
	s->hist = pl_xcalloc(later * (size_t)c->layers + 1, sizeof(*s->hist));
	s->hsave = pl_xcalloc(later + 1, sizeof(*s->hsave));
	if (ring && !(s->ring = calloc(ring, sizeof(float)))) {
		eng_session_free(s);
		return pl_err_set(err, PL_ENOMEM, "cannot allocate %zu bytes for the loop rings", ring * sizeof(float));
	}
	if (!(s->logits = malloc((size_t)c->vocab * sizeof(float)))) {
		eng_session_free(s);
		return pl_err_set(err, PL_ENOMEM, "cannot allocate %zu bytes for logits",
				  (size_t)c->vocab * sizeof(float));
	}
	*out = s;
	return 0;
}

void eng_session_free(eng_session *s)
{
	const eng_config *c;
	size_t i;

	if (!s)
		return;
	c = &s->m->cfg;
	for (i = 0; i < (size_t)c->layers; i++)
		free(s->kv0[i]);
	for (i = 0; i < (size_t)(c->loops - 1) * (size_t)c->layers; i++)
		free(s->hist[i]);
	for (i = 0; i < (size_t)(c->loops - 1); i++)
		free(s->hsave[i]);
	free(s->kv0);
	free(s->hist);
	free(s->hsave);
	free(s->ring);
	free(s->logits);
	free(s->tokens);
	free(s);
}

eng_model *eng_session_model(const eng_session *s)
{
	return s->m;
}

size_t eng_session_len(const eng_session *s)
{
	return s->len;
}

const int32_t *eng_session_tokens(const eng_session *s)
{
	return s->tokens;
}

void eng_session_set_chunk(eng_session *s, size_t n)
{
	s->chunk = n ? n : 1;
}

const float *eng_session_logits(const eng_session *s)
{
	return s->have_logits ? s->logits : NULL;
}

int eng_session_append(float *all_logits, eng_session *s, const int32_t *ids, size_t n, pl_err *err)
{
	eng_model *m = s->m;
	const eng_config *c = &m->cfg;
	size_t i, done, V = (size_t)c->vocab;
	eng__fwd_seg seg[ENG_MAX_LOOPS];
	int r, rc;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (ids[i] < 0 || ids[i] >= c->vocab)
			return pl_err_set(err, PL_EINVAL, "token id %d at index %zu is outside the vocabulary [0, %lld)",
					  ids[i], i, (long long)c->vocab);
	if (c->max_pos > 0 && s->len + n > (size_t)c->max_pos)
		return pl_err_set(err, PL_ELIMIT, "%zu tokens exceed max_position_embeddings %lld", s->len + n,
				  (long long)c->max_pos);
	if ((rc = reserve(s, s->len + n, err)) < 0)
		return rc;
	pthread_mutex_lock(&m->run);
	if ((rc = eng__scratch_reserve(m, n == 1 ? (size_t)c->loops : (s->chunk < n ? s->chunk : n),
				       s->len + n, err)) < 0) {
		pthread_mutex_unlock(&m->run);
		return rc;
	}
	memcpy(s->tokens + s->len, ids, n * sizeof(*ids));
	if (n == 1) {
		/* Decode form: all loops of the token in one pass. */
		for (r = 0; r < c->loops; r++) {
			seg[r].loop = r;
			seg[r].start = s->len;
			seg[r].count = 1;
			seg[r].ids = ids;
		}
		eng__fwd_batch(s, seg, c->loops, all_logits, s->logits);
	} else {
		/* Full-sequence form, chunk by chunk, loops in order. */
		for (done = 0; done < n; done += seg[0].count) {
			size_t cnt = n - done < s->chunk ? n - done : s->chunk;

			for (r = 0; r < c->loops; r++) {
				seg[0].loop = r;
				seg[0].start = s->len + done;
				seg[0].count = cnt;
				seg[0].ids = ids + done;
				eng__fwd_batch(s, seg, 1,
					       r == c->loops - 1 && all_logits ? all_logits + done * V : NULL,
					       r == c->loops - 1 && done + cnt == n ? s->logits : NULL);
			}
		}
	}
	pthread_mutex_unlock(&m->run);
	s->len += n;
	s->have_logits = true;
	return 0;
}

int eng_session_truncate(eng_session *s, size_t len, pl_err *err)
{
	const eng_config *c = &s->m->cfg;
	size_t p, l, r, kr = kv_row(s->m), lo;
	int32_t last;

	if (len > s->len)
		return pl_err_set(err, PL_EINVAL, "cannot truncate a session of %zu tokens to %zu", s->len, len);
	if (len == s->len)
		return 0;
	if (len == 0) {
		s->len = 0;
		s->have_logits = false;
		return 0;
	}
	/* Cut to len-1 and re-run the last kept token (decode form): that brings
	 * back its logits, and its rows rewrite its own ring slots. */
	p = len - 1;
	last = s->tokens[p];
	lo = p >= ENG_LOCAL_WINDOW ? p - ENG_LOCAL_WINDOW : 0;
	for (r = 1; r < (size_t)c->loops; r++)
		for (l = 0; l < (size_t)c->layers; l++) {
			const float *h = s->hist[(r - 1) * (size_t)c->layers + l];
			size_t q;

			for (q = lo; q < p; q++)
				memcpy(s->ring + (((r - 1) * (size_t)c->layers + l) * ENG_LOCAL_WINDOW +
						  q % ENG_LOCAL_WINDOW) *
							 kr,
				       h + q * kr, kr * sizeof(float));
		}
	s->len = p;
	return eng_session_append(NULL, s, &last, 1, err);
}

int eng_session_fork(eng_session **out, const eng_session *s, pl_err *err)
{
	const eng_config *c = &s->m->cfg;
	eng_session *f = NULL;
	size_t i, later = (size_t)(c->loops - 1), kr = kv_row(s->m), cap = s->cap;
	int rc;

	if ((rc = eng_session_new(&f, s->m, err)) < 0)
		return rc;
	f->chunk = s->chunk;
	if (cap) {
		if ((rc = reserve(f, cap, err)) < 0)
			goto fail;
		for (i = 0; i < (size_t)c->layers; i++)
			memcpy(f->kv0[i], s->kv0[i], s->len * kr * sizeof(float));
		for (i = 0; i < later * (size_t)c->layers; i++)
			memcpy(f->hist[i], s->hist[i], s->len * kr * sizeof(float));
		for (i = 0; i < later; i++)
			memcpy(f->hsave[i], s->hsave[i], s->len * (size_t)c->hidden * sizeof(float));
		memcpy(f->tokens, s->tokens, s->len * sizeof(*s->tokens));
	}
	if (later)
		memcpy(f->ring, s->ring, later * (size_t)c->layers * ENG_LOCAL_WINDOW * kr * sizeof(float));
	memcpy(f->logits, s->logits, (size_t)c->vocab * sizeof(float));
	f->have_logits = s->have_logits;
	f->len = s->len;
	*out = f;
	return 0;
fail:
	eng_session_free(f);
	return rc;
}
