/* session.c - per-sequence state: append (prefill in chunks or one-token
 * decode: the PLT schedule, run on the model's backend), truncate (the
 * backend restores the windows, the last kept token runs again), fork. */
#include "engine/internal.h"

#include <stdlib.h>
#include <string.h>

static const eng__backend_ops *ops_of(const eng_session *s)
{
	return s->m->b->ops;
}

static int reserve_tokens(eng_session *s, size_t need, pl_err *err)
{
	size_t cap = s->cap ? s->cap : 64;
	int32_t *t;

	if (need <= s->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	t = realloc(s->tokens, cap * sizeof(*t));
	if (!t)
		return pl_err_set(err, PL_ENOMEM, "cannot allocate %zu bytes for tokens", cap * sizeof(*t));
	s->tokens = t;
	s->cap = cap;
	return 0;
}

int eng_session_new(eng_session **out, eng_model *m, pl_err *err)
{
	eng_session *s = pl_xcalloc(1, sizeof(*s));
	int rc;

	s->m = m;
	s->chunk = 64;
	if ((rc = m->b->ops->state_new(&s->st, m->b, err)) < 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void eng_session_free(eng_session *s)
{
	if (!s)
		return;
	ops_of(s)->state_free(s->st);
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
	return s->have_logits ? ops_of(s)->logits(s->st) : NULL;
}

int eng__session_sample(int32_t *id_out, eng_session *s, eng_sampler *smp, pl_err *err)
{
	PL_ASSERT(s->have_logits);
	return ops_of(s)->sample(id_out, s->st, smp, s->tokens, s->len, err);
}

int eng__session_logprobs(eng_logprob *out, eng_session *s, int k, pl_err *err)
{
	PL_ASSERT(s->have_logits);
	if (k <= 0)
		return 0;
	return ops_of(s)->logprobs(out, s->st, k, err);
}

int eng_session_reserve(eng_session *s, size_t positions, pl_err *err)
{
	int rc;

	if ((rc = reserve_tokens(s, positions, err)) < 0)
		return rc;
	return ops_of(s)->state_reserve(s->st, positions, err);
}

void eng_session_set_sequential_loops(eng_session *s, bool on)
{
	s->sequential = on;
}

void eng_session_memory(const eng_session *s, uint64_t *device_bytes, uint64_t *host_bytes)
{
	uint64_t d = 0, h = 0;

	ops_of(s)->state_memory(s->st, &d, &h);
	*device_bytes = d;
	*host_bytes = h + s->cap * sizeof(*s->tokens);
}

/* The PLT schedule (plt.md): one token is the decode form, all loops of it
 * in one batch; more are the full-sequence form, chunk by chunk, loops in
 * order, because loop r of a position needs loop r-1's output of the
 * position before it. */
static int run(eng_session *s, const int32_t *ids, size_t n, float *all_logits, pl_err *err)
{
	const eng__backend_ops *ops = ops_of(s);
	eng__backend *b = s->m->b;
	const eng_config *c = &s->m->cfg;
	size_t done, V = (size_t)c->vocab;
	eng__seg seg[ENG_MAX_LOOPS];
	int r, rc;

	memset(seg, 0, sizeof(seg));
	if (n == 1) {
		for (r = 0; r < c->loops; r++) {
			seg[r].st = s->st;
			seg[r].loop = r;
			seg[r].start = s->len;
			seg[r].count = 1;
			seg[r].ids = ids;
		}
		seg[c->loops - 1].logits = all_logits;
		seg[c->loops - 1].keep_last = true;
		if (!s->sequential)
			return ops->forward(b, seg, c->loops, err);
		for (r = 0; r < c->loops; r++)
			if ((rc = ops->forward(b, &seg[r], 1, err)) < 0)
				return rc;
		return 0;
	}
	for (done = 0; done < n; done += seg[0].count) {
		size_t cnt = n - done < s->chunk ? n - done : s->chunk;

		for (r = 0; r < c->loops; r++) {
			seg[0].st = s->st;
			seg[0].loop = r;
			seg[0].start = s->len + done;
			seg[0].count = cnt;
			seg[0].ids = ids + done;
			seg[0].logits = r == c->loops - 1 && all_logits ? all_logits + done * V : NULL;
			seg[0].keep_last = r == c->loops - 1 && done + cnt == n;
			if ((rc = ops->forward(b, seg, 1, err)) < 0)
				return rc;
		}
	}
	return 0;
}

int eng_session_append(float *all_logits, eng_session *s, const int32_t *ids, size_t n, pl_err *err)
{
	const eng__backend_ops *ops = ops_of(s);
	const eng_config *c = &s->m->cfg;
	size_t i;
	int rc;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (ids[i] < 0 || ids[i] >= c->vocab)
			return pl_err_set(err, PL_EINVAL, "token id %d at index %zu is outside the vocabulary [0, %lld)",
					  ids[i], i, (long long)c->vocab);
	if (c->max_pos > 0 && s->len + n > (size_t)c->max_pos)
		return pl_err_set(err, PL_ELIMIT, "%zu tokens exceed max_position_embeddings %lld", s->len + n,
				  (long long)c->max_pos);
	/* Everything that can fail for memory before any state is written. */
	if ((rc = reserve_tokens(s, s->len + n, err)) < 0 ||
	    (rc = ops->state_reserve(s->st, s->len + n, err)) < 0 ||
	    (rc = ops->prepare(s->m->b, n == 1 ? (size_t)c->loops : (s->chunk < n ? s->chunk : n), s->len + n,
			       err)) < 0)
		return rc;
	if ((rc = run(s, ids, n, all_logits, err)) < 0) {
		/* later positions may have overwritten the windows */
		ops->state_truncate(s->st, s->len);
		return rc;
	}
	memcpy(s->tokens + s->len, ids, n * sizeof(*ids));
	s->len += n;
	s->have_logits = true;
	return 0;
}

int eng_session_truncate(eng_session *s, size_t len, pl_err *err)
{
	int32_t last;

	if (len > s->len)
		return pl_err_set(err, PL_EINVAL, "cannot truncate a session of %zu tokens to %zu", s->len, len);
	if (len == s->len)
		return 0;
	if (len == 0) {
		s->len = 0;
		s->have_logits = false;
		ops_of(s)->state_truncate(s->st, 0);
		return 0;
	}
	/* Cut to len-1 and run the last kept token again (decode form): that
	 * brings back its logits, and its rows rewrite its own window slots. */
	last = s->tokens[len - 1];
	ops_of(s)->state_truncate(s->st, len - 1);
	s->len = len - 1;
	return eng_session_append(NULL, s, &last, 1, err);
}

int eng_session_fork(eng_session **out, const eng_session *s, pl_err *err)
{
	eng_session *f = pl_xcalloc(1, sizeof(*f));
	int rc;

	f->m = s->m;
	f->chunk = s->chunk;
	f->sequential = s->sequential;
	if ((rc = ops_of(s)->state_fork(&f->st, s->st, s->len, err)) < 0 ||
	    (rc = reserve_tokens(f, s->cap, err)) < 0)
		goto fail;
	if (s->len)
		memcpy(f->tokens, s->tokens, s->len * sizeof(*s->tokens));
	f->len = s->len;
	f->have_logits = s->have_logits;
	*out = f;
	return 0;
fail:
	eng_session_free(f);
	return rc;
}
