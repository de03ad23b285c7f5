/* backend.c - the CPU backend's table (backend.h): weights kept in memory
 * (BF16 matrices as BF16, widened in the kernels; the rest fp32), fp32
 * session state with the later loops' history for exact truncation, a
 * thread pool and scratch shared by the model's sessions under a lock.
 *
 * Choice: BF16 stays BF16 (exact: a BF16 value is the top half of an
 * fp32), which halves the bytes a decode step streams and lets a 15 GB
 * bf16 checkpoint fit where its 30 GB fp32 copy would not; F16 and F32
 * matrices and every norm and gate vector become fp32.  q/k/v and gate/up
 * are concatenated so that one matmul serves each. */
#include "engine/cpu/cpu.h"
#include "engine/rand.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------- weights */

static float *alloc_f(size_t n, const char *what, pl_err *err)
{
	float *p = malloc(n * sizeof(float));

	if (!p)
		pl_err_set(err, PL_ENOMEM, "cannot allocate %zu bytes for %s", n * sizeof(float), what);
	return p;
}

/* A vector (norm, gate bias) or small matrix as fp32. */
static int take(float **out, const eng__st_tensor *t, const char *what, pl_err *err)
{
	if (!(*out = alloc_f((size_t)t->numel, what, err)))
		return PL_ENOMEM;
	eng__st_to_f32(*out, t, 0, t->numel);
	return 0;
}

/* A matrix made of n parts stacked by rows (q/k/v, gate/up), all [*, K]:
 * BF16 when every part is, else fp32. */
static int take_mat(eng__wmat *out, const eng__st_tensor *const *t, int n, const char *what, pl_err *err)
{
	size_t total = 0, el, off = 0;
	bool bf16 = true;
	int i;

	for (i = 0; i < n; i++) {
		bf16 = bf16 && t[i]->dtype == ENG__ST_BF16;
		total += (size_t)t[i]->numel;
	}
	el = bf16 ? 2 : 4;
	if (!(out->p = malloc(total * el)))
		return pl_err_set(err, PL_ENOMEM, "cannot allocate %zu bytes for %s", total * el, what);
	out->bf16 = bf16;
	for (i = 0; i < n; i++) {
		if (bf16) {
			uint16_t *d = (uint16_t *)out->p + off;
			const uint8_t *p = t[i]->data;
			uint64_t j;

			for (j = 0; j < t[i]->numel; j++)
				d[j] = (uint16_t)(p[2 * j] | p[2 * j + 1] << 8);
		} else {
			eng__st_to_f32((float *)out->p + off, t[i], 0, t[i]->numel);
		}
		off += (size_t)t[i]->numel;
	}
	return 0;
}

static int take_layer(eng__cpu_layer *L, const eng__layer_tensors *t, pl_err *err)
{
	const eng__st_tensor *qkv[3] = { t->q, t->k, t->v }, *gu[2] = { t->gate, t->up };
	int rc;

	if ((rc = take(&L->ln1, t->ln1, "a norm", err)) < 0 ||
	    (rc = take(&L->ln2, t->ln2, "a norm", err)) < 0 ||
	    (rc = take_mat(&L->wqkv, qkv, 3, "q/k/v weights", err)) < 0 ||
	    (rc = take_mat(&L->wo, &t->o, 1, "o_proj", err)) < 0 ||
	    (rc = take_mat(&L->wgu, gu, 2, "gate/up weights", err)) < 0 ||
	    (rc = take_mat(&L->wdown, &t->down, 1, "down_proj", err)) < 0)
		return rc;
	if (!t->gate_w)
		return 0;
	if ((rc = take(&L->gate_w, t->gate_w, "gate", err)) < 0 ||
	    (rc = take(&L->gate_b, t->gate_b, "gate", err)) < 0)
		return rc;
	return take(&L->gate_norm, t->gate_norm, "gate", err);
}

/* eng_model_random's weights (engine/rand.h): a matrix of parts stacked
 * by rows, each part a tensor of its own tag, as BF16; the same values the
 * CUDA backend draws. */
static int rand_mat(eng__wmat *out, const uint64_t *tags, const int64_t *rows, int n, int64_t K, uint64_t seed,
		    const char *what, pl_err *err)
{
	size_t total = 0, off = 0;
	uint16_t *d;
	int i;

	for (i = 0; i < n; i++)
		total += (size_t)(rows[i] * K);
	if (!(d = malloc(total * 2)))
		return pl_err_set(err, PL_ENOMEM, "cannot allocate %zu bytes for %s", total * 2, what);
	for (i = 0; i < n; i++) {
		uint64_t j, cnt = (uint64_t)(rows[i] * K);

		for (j = 0; j < cnt; j++)
			d[off + j] = eng__rand_bf16(eng__rand_weight(seed, tags[i], j, K));
		off += cnt;
	}
	out->p = d;
	out->bf16 = true;
	return 0;
}

/* A vector (K = 0), or a small matrix kept in fp32 (its values rounded to
 * bf16 as the other matrices are). */
static int rand_f32(float **out, uint64_t tag, int64_t n, int64_t K, uint64_t seed, const char *what, pl_err *err)
{
	int64_t j;

	if (!(*out = alloc_f((size_t)n, what, err)))
		return PL_ENOMEM;
	for (j = 0; j < n; j++) {
		float v = eng__rand_weight(seed, tag, (uint64_t)j, K);

		if (K) {
			uint32_t u = (uint32_t)eng__rand_bf16(v) << 16;

			memcpy(&v, &u, 4);
		}
		(*out)[j] = v;
	}
	return 0;
}

static int rand_layer(eng__cpu_layer *L, const eng_config *c, int64_t l, uint64_t seed, pl_err *err)
{
	const uint64_t t0 = (uint64_t)ENG__RT_LAYER * (uint64_t)(l + 1);
	const int64_t H = c->hidden, I = c->intermediate, q = c->heads * c->head_dim, kv = c->kv_heads * c->head_dim;
	const uint64_t tq[3] = { t0 + ENG__RT_Q, t0 + ENG__RT_K, t0 + ENG__RT_V }, tgu[2] = { t0 + ENG__RT_GATE, t0 + ENG__RT_UP };
	const int64_t rq[3] = { q, kv, kv }, rgu[2] = { I, I };
	const uint64_t to = t0 + ENG__RT_O, td = t0 + ENG__RT_DOWN;
	int rc;

	if ((rc = rand_f32(&L->ln1, t0 + ENG__RT_LN1, H, 0, seed, "a norm", err)) < 0 ||
	    (rc = rand_f32(&L->ln2, t0 + ENG__RT_LN2, H, 0, seed, "a norm", err)) < 0 ||
	    (rc = rand_mat(&L->wqkv, tq, rq, 3, H, seed, "q/k/v weights", err)) < 0 ||
	    (rc = rand_mat(&L->wo, &to, &H, 1, q, seed, "o_proj", err)) < 0 ||
	    (rc = rand_mat(&L->wgu, tgu, rgu, 2, H, seed, "gate/up weights", err)) < 0 ||
	    (rc = rand_mat(&L->wdown, &td, &H, 1, I, seed, "down_proj", err)) < 0)
		return rc;
	if (c->loops < 2)
		return 0;
	if ((rc = rand_f32(&L->gate_w, t0 + ENG__RT_GATE_W, c->heads * H, H, seed, "gate", err)) < 0 ||
	    (rc = rand_f32(&L->gate_b, t0 + ENG__RT_GATE_B, c->heads, 0, seed, "gate", err)) < 0)
		return rc;
	return rand_f32(&L->gate_norm, t0 + ENG__RT_GATE_NORM, H, 0, seed, "gate", err);
}

static void layer_release(eng__cpu_layer *L)
{
	free(L->ln1);
	free(L->ln2);
	free(L->wqkv.p);
	free(L->wo.p);
	free(L->wgu.p);
	free(L->wdown.p);
	free(L->gate_w);
	free(L->gate_b);
	free(L->gate_norm);
}

static void cpu_free(eng__backend *b)
{
	eng__cpu *cpu = (eng__cpu *)b;
	int64_t i;

	if (!cpu)
		return;
	if (cpu->layer)
		for (i = 0; i < b->cfg->layers; i++)
			layer_release(&cpu->layer[i]);
	free(cpu->layer);
	if (cpu->lm_head.p != cpu->embed.p)
		free(cpu->lm_head.p);
	free(cpu->embed.p);
	free(cpu->norm);
	free(cpu->rope_inv_freq);
	if (cpu->pool.n)
		eng__pool_release(&cpu->pool);
	eng__cpu_scratch_release(&cpu->sc);
	pthread_mutex_destroy(&cpu->run);
	free(cpu);
}

static int cpu_upload(eng__backend **out, const eng__checkpoint *ck, const eng__backend_opts *o, pl_err *err)
{
	const eng_config *c = ck->cfg;
	eng__cpu *cpu = pl_xcalloc(1, sizeof(*cpu));
	int64_t i;
	int rc, threads;

	cpu->base.ops = &eng__cpu_backend;
	cpu->base.cfg = c;
	cpu->portable = o->portable_kernels;
	pthread_mutex_init(&cpu->run, NULL);
	if (ck->random) {
		const uint64_t te = ENG__RT_EMBED, tl = ENG__RT_LM_HEAD;

		cpu->layer = pl_xcalloc((size_t)c->layers, sizeof(*cpu->layer));
		if ((rc = rand_mat(&cpu->embed, &te, &c->vocab, 1, c->hidden, ck->seed, "the embedding", err)) < 0 ||
		    (rc = rand_f32(&cpu->norm, ENG__RT_NORM, c->hidden, 0, ck->seed, "the final norm", err)) < 0)
			goto fail;
		if (c->tie_embeddings)
			cpu->lm_head = cpu->embed;
		else if ((rc = rand_mat(&cpu->lm_head, &tl, &c->vocab, 1, c->hidden, ck->seed, "lm_head", err)) < 0)
			goto fail;
		for (i = 0; i < c->layers; i++)
			if ((rc = rand_layer(&cpu->layer[i], c, i, ck->seed, err)) < 0)
				goto fail;
		goto weights_done;
	}
	if ((rc = take_mat(&cpu->embed, &ck->embed, 1, "the embedding", err)) < 0 ||
	    (rc = take(&cpu->norm, ck->norm, "the final norm", err)) < 0)
		goto fail;
	if (ck->lm_head == ck->embed)
		cpu->lm_head = cpu->embed;
	else if ((rc = take_mat(&cpu->lm_head, &ck->lm_head, 1, "lm_head", err)) < 0)
		goto fail;
	cpu->layer = pl_xcalloc((size_t)c->layers, sizeof(*cpu->layer));
	for (i = 0; i < c->layers; i++)
		if ((rc = take_layer(&cpu->layer[i], &ck->layer[i], err)) < 0)
			goto fail;
weights_done:
	cpu->rope_inv_freq = pl_xmalloc((size_t)(c->head_dim / 2) * sizeof(float));
	for (i = 0; i < c->head_dim / 2; i++)
		cpu->rope_inv_freq[i] = (float)pow(c->rope_theta, -2.0 * (double)i / (double)c->head_dim);
	threads = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (threads < 1)
		threads = 1;
	if ((rc = eng__pool_init(&cpu->pool, threads, err)) < 0)
		goto fail;
	*out = &cpu->base;
	return 0;
fail:
	cpu_free(&cpu->base);
	return rc;
}

/* ---------------------------------------------------------- state */

static size_t kv_row(const eng_config *c)
{
	return 2 * (size_t)(c->kv_heads * c->head_dim);
}

static void state_free(eng__bstate *b)
{
	eng__cpu_state *st = (eng__cpu_state *)b;
	const eng_config *c;
	size_t i;

	if (!st)
		return;
	c = b->b->cfg;
	for (i = 0; i < (size_t)c->layers; i++)
		free(st->kv0[i]);
	for (i = 0; i < (size_t)(c->loops - 1) * (size_t)c->layers; i++)
		free(st->hist[i]);
	for (i = 0; i < (size_t)(c->loops - 1); i++)
		free(st->hsave[i]);
	free(st->kv0);
	free(st->hist);
	free(st->hsave);
	free(st->ring);
	free(st->logits);
	free(st);
}

static int state_new(eng__bstate **out, eng__backend *b, pl_err *err)
{
	const eng_config *c = b->cfg;
	eng__cpu_state *st = pl_xcalloc(1, sizeof(*st));
	size_t later = (size_t)(c->loops - 1),
	       ring = later * (size_t)c->layers * ENG_LOCAL_WINDOW * kv_row(c);

	st->base.b = b;
	st->kv0 = pl_xcalloc((size_t)c->layers, sizeof(*st->kv0));
	st->hist = pl_xcalloc(later * (size_t)c->layers + 1, sizeof(*st->hist));
	st->hsave = pl_xcalloc(later + 1, sizeof(*st->hsave));
	if (ring && !(st->ring = calloc(ring, sizeof(float)))) {
		state_free(&st->base);
		return pl_err_set(err, PL_ENOMEM, "cannot allocate %zu bytes for the loop rings",
				  ring * sizeof(float));
	}
	if (!(st->logits = malloc((size_t)c->vocab * sizeof(float)))) {
		state_free(&st->base);
		return pl_err_set(err, PL_ENOMEM, "cannot allocate %zu bytes for logits",
				  (size_t)c->vocab * sizeof(float));
	}
	*out = &st->base;
	return 0;
}

static int grow(float **p, size_t elems, const char *what, pl_err *err)
{
	float *q = realloc(*p, elems * sizeof(float));

	if (!q && elems)
		return pl_err_set(err, PL_ENOMEM, "cannot allocate %zu bytes for %s", elems * sizeof(float),
				  what);
	*p = q;
	return 0;
}

static int state_reserve(eng__bstate *b, size_t need, pl_err *err)
{
	eng__cpu_state *st = (eng__cpu_state *)b;
	const eng_config *c = b->b->cfg;
	size_t cap = st->cap ? st->cap : 64, i, later = (size_t)(c->loops - 1);
	int rc;

	if (need <= st->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	for (i = 0; i < (size_t)c->layers; i++)
		if ((rc = grow(&st->kv0[i], cap * kv_row(c), "the K/V cache", err)) < 0)
			return rc;
	for (i = 0; i < later * (size_t)c->layers; i++)
		if ((rc = grow(&st->hist[i], cap * kv_row(c), "the later loops' K/V history", err)) < 0)
			return rc;
	for (i = 0; i < later; i++)
		if ((rc = grow(&st->hsave[i], cap * (size_t)c->hidden, "saved hidden states", err)) < 0)
			return rc;
	st->cap = cap;
	return 0;
}

/* The ring slots of the 65 positions before len come back from the history:
 * what they held before later positions overwrote them. */
static void state_truncate(eng__bstate *b, size_t len)
{
	eng__cpu_state *st = (eng__cpu_state *)b;
	const eng_config *c = b->b->cfg;
	size_t l, r, q, kr = kv_row(c), lo = len >= ENG_LOCAL_WINDOW ? len - ENG_LOCAL_WINDOW : 0;

	for (r = 1; r < (size_t)c->loops; r++)
		for (l = 0; l < (size_t)c->layers; l++) {
			const float *h = st->hist[(r - 1) * (size_t)c->layers + l];

			for (q = lo; q < len; q++)
				memcpy(st->ring + (((r - 1) * (size_t)c->layers + l) * ENG_LOCAL_WINDOW +
						   q % ENG_LOCAL_WINDOW) *
							  kr,
				       h + q * kr, kr * sizeof(float));
		}
}

static int state_fork(eng__bstate **out, const eng__bstate *b, size_t len, pl_err *err)
{
	const eng__cpu_state *st = (const eng__cpu_state *)b;
	const eng_config *c = b->b->cfg;
	eng__bstate *fb = NULL;
	eng__cpu_state *f;
	size_t i, later = (size_t)(c->loops - 1), kr = kv_row(c);
	int rc;

	if ((rc = state_new(&fb, b->b, err)) < 0)
		return rc;
	f = (eng__cpu_state *)fb;
	if (st->cap) {
		if ((rc = state_reserve(fb, st->cap, err)) < 0)
			goto fail;
		for (i = 0; i < (size_t)c->layers; i++)
			memcpy(f->kv0[i], st->kv0[i], len * kr * sizeof(float));
		for (i = 0; i < later * (size_t)c->layers; i++)
			memcpy(f->hist[i], st->hist[i], len * kr * sizeof(float));
		for (i = 0; i < later; i++)
			memcpy(f->hsave[i], st->hsave[i], len * (size_t)c->hidden * sizeof(float));
	}
	if (later)
		memcpy(f->ring, st->ring, later * (size_t)c->layers * ENG_LOCAL_WINDOW * kr * sizeof(float));
	memcpy(f->logits, st->logits, (size_t)c->vocab * sizeof(float));
	*out = fb;
	return 0;
fail:
	state_free(fb);
	return rc;
}

/* ---------------------------------------------------------- running */

static int cpu_prepare(eng__backend *b, size_t rows, size_t ctx, pl_err *err)
{
	eng__cpu *cpu = (eng__cpu *)b;
	int rc;

	pthread_mutex_lock(&cpu->run);
	rc = eng__cpu_scratch_reserve(cpu, rows, ctx, err);
	pthread_mutex_unlock(&cpu->run);
	return rc;
}

static int cpu_forward(eng__backend *b, const eng__seg *seg, int nseg, pl_err *err)
{
	eng__cpu *cpu = (eng__cpu *)b;

	(void)err;
	pthread_mutex_lock(&cpu->run);
	eng__cpu_forward(cpu, seg, nseg);
	pthread_mutex_unlock(&cpu->run);
	return 0;
}

static const float *cpu_logits(eng__bstate *b)
{
	return ((eng__cpu_state *)b)->logits;
}

static int cpu_sample(int32_t *id_out, eng__bstate *b, eng_sampler *smp, const int32_t *history,
		      size_t n_history, pl_err *err)
{
	const float *lg = ((eng__cpu_state *)b)->logits;
	int64_t V = b->b->cfg->vocab, i;
	int32_t best = 0;

	(void)err;
	if (smp) {
		*id_out = eng_sampler_sample(smp, lg, V, history, n_history);
		return 0;
	}
	for (i = 1; i < V; i++)
		if (lg[i] > lg[best])
			best = (int32_t)i;
	*id_out = best;
	return 0;
}

static int cpu_logprobs(eng_logprob *out, eng__bstate *b, int k, pl_err *err)
{
	(void)err;
	eng_logprobs_top(out, ((eng__cpu_state *)b)->logits, b->b->cfg->vocab, k);
	return 0;
}

static void cpu_state_memory(const eng__bstate *b, uint64_t *device, uint64_t *host)
{
	const eng__cpu_state *st = (const eng__cpu_state *)b;
	const eng_config *c = b->b->cfg;
	const uint64_t later = (uint64_t)(c->loops - 1), kr = kv_row(c) * sizeof(float);

	*device = 0;
	*host = st->cap * (uint64_t)c->layers * kr * (1 + later) + later * st->cap * (uint64_t)c->hidden * sizeof(float) +
		later * (uint64_t)c->layers * ENG_LOCAL_WINDOW * kr + (uint64_t)c->vocab * sizeof(float);
}

static json_t *cpu_describe(eng__backend *b)
{
	const eng__cpu *cpu = (const eng__cpu *)b;

	return json_pack("{s:s, s:i, s:s, s:s}", "backend", "cpu", "threads", cpu->pool.n, "kernels",
			 cpu->portable ? "plain C (portable)" : "AVX2 + FMA where the CPU has them, else plain C",
			 "arithmetic", "fp32 (BF16 matrices widened exactly in the kernels)");
}

const eng__backend_ops eng__cpu_backend = {
	.name = "cpu",
	.upload = cpu_upload,
	.free = cpu_free,
	.state_new = state_new,
	.state_free = state_free,
	.state_reserve = state_reserve,
	.state_truncate = state_truncate,
	.state_fork = state_fork,
	.prepare = cpu_prepare,
	.forward = cpu_forward,
	.logits = cpu_logits,
	.sample = cpu_sample,
	.logprobs = cpu_logprobs,
	.state_memory = cpu_state_memory,
	.describe = cpu_describe,
};
