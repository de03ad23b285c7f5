/* sample.c - sampling (greedy, temperature, top-k, top-p, min-p, history
 * penalties) from a per-session RNG, top-K log-probabilities, and the
 * generation loop with stop ids, stop strings and streaming. */
#include "engine/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* xoshiro256** (Blackman & Vigna), seeded through splitmix64. */
static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(uint64_t st[4])
{
	uint64_t r = rotl(st[1] * 5, 7) * 9, t = st[1] << 17;

	st[2] ^= st[0];
	st[3] ^= st[1];
	st[1] ^= st[2];
	st[0] ^= st[3];
	st[2] ^= t;
	st[3] = rotl(st[3], 45);
	return r;
}

void eng_session_seed(eng_session *s, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++) {
		uint64_t z = (seed += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		s->rng[i] = z ^ (z >> 31);
	}
}

void eng_sampling_init(eng_sampling *s)
{
	memset(s, 0, sizeof(*s));
	s->top_p = 1.0;
	s->repetition_penalty = 1.0;
}

void eng_gen_opts_init(eng_gen_opts *o)
{
	memset(o, 0, sizeof(*o));
	eng_sampling_init(&o->sampling);
}

typedef struct cand {
	int32_t id;
	float v;
} cand;

static int cand_desc(const void *a, const void *b)
{
	const cand *x = a, *y = b;

	if (x->v != y->v)
		return x->v > y->v ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int32_t eng_session_sample(eng_session *s, const float *logits, const eng_sampling *sp)
{
	int64_t V = s->m->cfg.vocab, i;
	float *w = pl_xmalloc((size_t)V * sizeof(float));
	int32_t best = 0;
	cand *c = NULL;
	size_t n, keep;
	double sum, u, acc;

	memcpy(w, logits, (size_t)V * sizeof(float));
	if ((sp->repetition_penalty > 0 && sp->repetition_penalty != 1.0) || sp->presence_penalty != 0) {
		unsigned char *seen = pl_xcalloc((size_t)V, 1);
		size_t t;

		for (t = 0; t < s->len; t++)
			seen[s->tokens[t]] = 1;
		for (i = 0; i < V; i++) {
			if (!seen[i])
				continue;
			if (sp->repetition_penalty > 0 && sp->repetition_penalty != 1.0)
				w[i] = w[i] > 0 ? w[i] / (float)sp->repetition_penalty
						: w[i] * (float)sp->repetition_penalty;
			w[i] -= (float)sp->presence_penalty;
		}
		free(seen);
	}
	if (sp->temperature <= 0) {
		for (i = 1; i < V; i++)
			if (w[i] > w[best])
				best = (int32_t)i;
		free(w);
		return best;
	}
	c = pl_xmalloc((size_t)V * sizeof(*c));
	for (i = 0; i < V; i++) {
		c[i].id = (int32_t)i;
		c[i].v = (float)(w[i] / sp->temperature);
	}
	qsort(c, (size_t)V, sizeof(*c), cand_desc);
	n = (size_t)V;
	if (sp->top_k > 0 && (size_t)sp->top_k < n)
		n = (size_t)sp->top_k;
	/* probabilities over the candidates, in w */
	sum = 0;
	for (i = 0; i < (int64_t)n; i++) {
		w[i] = (float)exp((double)c[i].v - (double)c[0].v);
		sum += w[i];
	}
	keep = n;
	if (sp->top_p > 0 && sp->top_p < 1) {
		acc = 0;
		for (i = 0; i < (int64_t)n; i++) {
			acc += w[i] / sum;
			if (acc >= sp->top_p) {
				keep = (size_t)i + 1;
				break;
			}
		}
	}
	if (sp->min_p > 0) {
		/* w[0] is the largest probability (scaled by 1/sum like the rest) */
		for (i = 1; i < (int64_t)keep; i++)
			if (w[i] < sp->min_p * w[0]) {
				keep = (size_t)i;
				break;
			}
	}
	sum = 0;
	for (i = 0; i < (int64_t)keep; i++)
		sum += w[i];
	u = (double)(rng_next(s->rng) >> 11) * (1.0 / 9007199254740992.0) * sum;
	acc = 0;
	best = c[keep - 1].id;
	for (i = 0; i < (int64_t)keep; i++) {
		acc += w[i];
		if (u < acc) {
			best = c[i].id;
			break;
		}
	}
	free(c);
	free(w);
	return best;
}

void eng_logprobs_top(eng_logprob *out, const float *logits, int64_t vocab, int k)
{
	double mx = -INFINITY, sum = 0, lse;
	int64_t i;
	int n = 0, j;

	for (i = 0; i < vocab; i++)
		if (logits[i] > mx)
			mx = logits[i];
	for (i = 0; i < vocab; i++)
		sum += exp((double)logits[i] - mx);
	lse = mx + log(sum);
	for (i = 0; i < vocab; i++) {
		float v = logits[i];

		if (n == k && v <= logits[out[n - 1].id])
			continue;
		j = n < k ? n++ : n - 1;
		while (j > 0 && logits[out[j - 1].id] < v) {
			out[j] = out[j - 1];
			j--;
		}
		out[j].id = (int32_t)i;
	}
	for (j = 0; j < n; j++)
		out[j].logprob = (float)((double)logits[out[j].id] - lse);
}

void eng_gen_result_release(eng_gen_result *res)
{
	free(res->ids);
	free(res->logprobs);
	memset(res, 0, sizeof(*res));
}

static bool is_stop_id(const eng_gen_opts *o, int32_t id)
{
	size_t i;

	for (i = 0; i < o->n_stop_ids; i++)
		if (o->stop_ids[i] == id)
			return true;
	return false;
}

int eng_generate(eng_gen_result *res, eng_session *s, const eng_gen_opts *o, pl_err *err)
{
	const eng_config *c = &s->m->cfg;
	eng_gen_result r;
	eng_logprob *top = NULL;
	pl_buf text = PL_BUF_INIT;
	size_t cap = 0, i;
	double t0 = pl_now();
	int rc = 0, k = o->logprobs;

	memset(&r, 0, sizeof(r));
	if (!s->have_logits)
		return pl_err_set(err, PL_EINVAL, "generation needs a session holding at least one token");
	if (k < 0 || k > c->vocab || k > 1000)
		return pl_err_set(err, PL_EINVAL, "logprobs %d out of range 0..%lld", k,
				  (long long)(c->vocab < 1000 ? c->vocab : 1000));
	if (o->n_stop_strings && !o->decode)
		return pl_err_set(err, PL_EINVAL, "stop strings need a decode function (a tokenizer)");
	if (o->max_tokens == 0 && c->max_pos <= 0)
		return pl_err_set(err, PL_EINVAL, "max_tokens is needed when the model has no max_position_embeddings");
	r.n_logprobs = k;
	if (k)
		top = pl_xmalloc((size_t)k * sizeof(*top));
	r.finish = ENG_FINISH_LENGTH;
	for (;;) {
		int32_t id;

		if (o->max_tokens && r.n >= o->max_tokens)
			break;
		if (c->max_pos > 0 && s->len >= (size_t)c->max_pos)
			break;
		id = eng_session_sample(s, s->logits, &o->sampling);
		if (k)
			eng_logprobs_top(top, s->logits, c->vocab, k);
		if (is_stop_id(o, id)) {
			r.finish = ENG_FINISH_STOP;
			break;
		}
		if (r.n == cap) {
			cap = cap ? cap * 2 : 64;
			r.ids = pl_xrealloc(r.ids, cap * sizeof(*r.ids));
			if (k)
				r.logprobs = pl_xrealloc(r.logprobs, cap * (size_t)k * sizeof(*r.logprobs));
		}
		r.ids[r.n] = id;
		if (k)
			memcpy(r.logprobs + r.n * (size_t)k, top, (size_t)k * sizeof(*top));
		r.n++;
		if ((rc = eng_session_append(s, &id, 1, NULL, err)) < 0)
			goto fail;
		if (o->on_token && o->on_token(o->user, id, top, k)) {
			r.finish = ENG_FINISH_STOP;
			break;
		}
		if (o->n_stop_strings) {
			pl_buf_reset(&text);
			if ((rc = o->decode(o->decode_user, r.ids, r.n, &text, err)) < 0)
				goto fail;
			for (i = 0; i < o->n_stop_strings; i++)
				if (o->stop_strings[i][0] && strstr(text.ptr, o->stop_strings[i]))
					break;
			if (i < o->n_stop_strings) {
				r.finish = ENG_FINISH_STOP;
				break;
			}
		}
	}
	r.decode_ms = (pl_now() - t0) * 1000.0;
	free(top);
	pl_buf_release(&text);
	*res = r;
	return 0;
fail:
	free(top);
	pl_buf_release(&text);
	eng_gen_result_release(&r);
	return rc;
}
