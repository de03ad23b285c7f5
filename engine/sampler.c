/* sampler.c - a sampler: the sampling parameters (greedy, temperature,
 * top-k, top-p, min-p, history penalties) and its own random state, and the
 * top-K log-probabilities of a row of logits.  A leaf: it knows nothing of
 * sessions; the history penalties read the token history its caller passes. */
#include "engine/backend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct cand {
	int32_t id;
	float v;
} cand;

struct eng_sampler {
	eng_sampling p;
	uint64_t rng[4]; /* xoshiro256** state */
	/* work buffers, grown to the vocabulary on first use and kept */
	int64_t cap;
	float *w;
	cand *c;
	unsigned char *seen;
};

/* xoshiro256** (Blackman & Vigna), seeded through splitmix64. */
static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(uint64_t st[4])
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

double eng__sampler_draw(eng_sampler *s)
{
	return (double)(rng_next(s->rng) >> 11) * (1.0 / 9007199254740992.0);
}

void eng_sampling_init(eng_sampling *s)
{
	memset(s, 0, sizeof(*s));
	s->top_p = 1.0;
	s->repetition_penalty = 1.0;
}

static int check_params(const eng_sampling *p, pl_err *err)
{
	if (isnan(p->temperature) || isinf(p->temperature))
		return pl_err_set(err, PL_EINVAL, "sampling: temperature %g is not a finite number", p->temperature);
	if (p->top_k < 0)
		return pl_err_set(err, PL_EINVAL, "sampling: top_k %d is negative", p->top_k);
	if (isnan(p->top_p) || p->top_p > 1)
		return pl_err_set(err, PL_EINVAL, "sampling: top_p %g is outside (0, 1]", p->top_p);
	if (!(p->min_p >= 0 && p->min_p <= 1))
		return pl_err_set(err, PL_EINVAL, "sampling: min_p %g is outside [0, 1]", p->min_p);
	if (isnan(p->repetition_penalty) || isinf(p->repetition_penalty))
		return pl_err_set(err, PL_EINVAL, "sampling: repetition_penalty %g is not a finite number",
				  p->repetition_penalty);
	if (isnan(p->presence_penalty) || isinf(p->presence_penalty))
		return pl_err_set(err, PL_EINVAL, "sampling: presence_penalty %g is not a finite number",
				  p->presence_penalty);
	return 0;
}

int eng_sampler_new(eng_sampler **out, const eng_sampling *params, uint64_t seed, pl_err *err)
{
	eng_sampler *s;
	eng_sampling p;
	int rc;

	if (params)
		p = *params;
	else
		eng_sampling_init(&p);
	if ((rc = check_params(&p, err)) < 0)
		return rc;
	s = pl_xcalloc(1, sizeof(*s));
	s->p = p;
	eng_sampler_seed(s, seed);
	*out = s;
	return 0;
}

int eng_sampler_fork(eng_sampler **out, const eng_sampler *s, pl_err *err)
{
	eng_sampler *f;
	int rc;

	if ((rc = eng_sampler_new(&f, &s->p, 0, err)) < 0)
		return rc;
	memcpy(f->rng, s->rng, sizeof(f->rng));
	*out = f;
	return 0;
}

void eng_sampler_free(eng_sampler *s)
{
	if (!s)
		return;
	free(s->w);
	free(s->c);
	free(s->seen);
	free(s);
}

void eng_sampler_seed(eng_sampler *s, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++) {
		uint64_t z = (seed += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		s->rng[i] = z ^ (z >> 31);
	}
}

int eng_sampler_set_params(eng_sampler *s, const eng_sampling *params, pl_err *err)
{
	int rc;

	if ((rc = check_params(params, err)) < 0)
		return rc;
	s->p = *params;
	return 0;
}

const eng_sampling *eng_sampler_params(const eng_sampler *s)
{
	return &s->p;
}

static int cand_desc(const void *a, const void *b)
{
	const cand *x = a, *y = b;

	if (x->v != y->v)
		return x->v > y->v ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void reserve(eng_sampler *s, int64_t V)
{
	if (V <= s->cap)
		return;
	free(s->w);
	free(s->c);
	free(s->seen);
	s->w = pl_xmalloc((size_t)V * sizeof(*s->w));
	s->c = pl_xmalloc((size_t)V * sizeof(*s->c));
	s->seen = pl_xmalloc((size_t)V);
	s->cap = V;
}

int32_t eng_sampler_sample(eng_sampler *s, const float *logits, int64_t V, const int32_t *history, size_t n_history)
{
	const eng_sampling *sp = &s->p;
	int64_t i;
	int32_t best = 0;
	float *w;
	cand *c;
	size_t n, keep;
	double sum, u, acc;

	PL_ASSERT(V >= 1);
	reserve(s, V);
	w = s->w;
	c = s->c;
	memcpy(w, logits, (size_t)V * sizeof(float));
	if ((sp->repetition_penalty > 0 && sp->repetition_penalty != 1.0) || sp->presence_penalty != 0) {
		unsigned char *seen = s->seen;
		size_t t;

		memset(seen, 0, (size_t)V);
		for (t = 0; t < n_history; t++)
			if (history[t] >= 0 && history[t] < V)
				seen[history[t]] = 1;
		for (i = 0; i < V; i++) {
			if (!seen[i])
				continue;
			if (sp->repetition_penalty > 0 && sp->repetition_penalty != 1.0)
				w[i] = w[i] > 0 ? w[i] / (float)sp->repetition_penalty
						: w[i] * (float)sp->repetition_penalty;
			w[i] -= (float)sp->presence_penalty;
		}
	}
	if (sp->temperature <= 0) {
		for (i = 1; i < V; i++)
			if (w[i] > w[best])
				best = (int32_t)i;
		return best;
	}
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
	u = eng__sampler_draw(s) * sum; /* the one draw of the token (backend.h) */
	acc = 0;
	best = c[keep - 1].id;
	for (i = 0; i < (int64_t)keep; i++) {
		acc += w[i];
		if (u < acc) {
			best = c[i].id;
			break;
		}
	}
	return best;
}

void eng_logprobs_top(eng_logprob *out, const float *logits, int64_t vocab, int k)
{
	double mx = -INFINITY, sum = 0, lse;
	int64_t i;
	int n = 0, j;

	if (k <= 0)
		return; /* nothing to fill; out[n - 1] below needs k >= 1 */
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
