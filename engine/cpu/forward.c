/* forward.c - the PLT forward pass on the CPU, in fp32 (plt.md).
 *
 * One routine runs a batch of rows through every layer.  A batch is a list
 * of segments (a session's state, loop r, positions start..start+count-1):
 * prefill runs one segment per loop in order (loop r needs h^{r-1} of the
 * same chunk), decode runs R segments of one row each together, so every
 * weight matrix is read once per step for all loops; segments of several
 * sessions may share a batch.  Within a layer, loop-0 K/V are stored before
 * any attention (rows r >= 1 read loop 0's K/V at their own position), and
 * later loops' K/V go to their ring after the layer's attention: keys of the
 * batch's own positions are read from the batch, older ones from the ring. */
#include "engine/cpu/cpu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void rmsnorm(float *restrict y, const float *restrict x, const float *restrict w, size_t n, float eps)
{
	double ss = 0;
	float r;
	size_t i;

	for (i = 0; i < n; i++)
		ss += (double)x[i] * x[i];
	r = (float)(1.0 / sqrt(ss / (double)n + eps));
	for (i = 0; i < n; i++)
		y[i] = w[i] * (x[i] * r);
}

/* The cos and sin of RoPE at position pos (computed in double). */
static void rope_table(float *cs, const float *inv_freq, size_t hd, size_t pos)
{
	size_t i, half = hd / 2;

	for (i = 0; i < half; i++) {
		double a = (double)pos * inv_freq[i];

		cs[i] = (float)cos(a);
		cs[half + i] = (float)sin(a);
	}
}

/* Rotate-half RoPE on one head vector: element i pairs with i + hd/2. */
static void rope(float *v, const float *cs, size_t hd)
{
	size_t i, half = hd / 2;

	for (i = 0; i < half; i++) {
		float c = cs[i], s = cs[half + i], x0 = v[i], x1 = v[i + half];

		v[i] = x0 * c - x1 * s;
		v[i + half] = x1 * c + x0 * s;
	}
}

int eng__cpu_scratch_reserve(eng__cpu *cpu, size_t rows, size_t ctx, pl_err *err)
{
	eng__cpu_scratch *sc = &cpu->sc;
	const eng_config *c = cpu->base.cfg;

	if (rows > sc->max_rows) {
		size_t H = (size_t)c->hidden, q = (size_t)(c->heads * c->head_dim),
		       qkv = q + 2 * (size_t)(c->kv_heads * c->head_dim), I = (size_t)c->intermediate;
		size_t per_row = H * 3 + qkv + q + 3 * I + (size_t)c->heads + H + (size_t)c->head_dim;
		float *p = malloc(rows * per_row * sizeof(float));

		if (!p)
			return pl_err_set(err, PL_ENOMEM, "cannot allocate %zu bytes of forward scratch",
					  rows * per_row * sizeof(float));
		free(sc->x);
		sc->x = p;
		sc->n = sc->x + rows * H;
		sc->gnorm = sc->n + rows * H;
		sc->tmp = sc->gnorm + rows * H;
		sc->qkv = sc->tmp + rows * H;
		sc->att = sc->qkv + rows * qkv;
		sc->gu = sc->att + rows * q;
		sc->act = sc->gu + rows * 2 * I;
		sc->gate = sc->act + rows * I;
		sc->rope_cs = sc->gate + rows * (size_t)c->heads;
		sc->max_rows = rows;
	}
	if (ctx > sc->scores_cap || sc->n_workers != cpu->pool.n) {
		size_t cap = ctx > sc->scores_cap ? ctx + ctx / 2 + 16 : sc->scores_cap;
		float *p = malloc(cap * (size_t)cpu->pool.n * sizeof(float));

		if (!p)
			return pl_err_set(err, PL_ENOMEM, "cannot allocate %zu bytes of attention scratch",
					  cap * (size_t)cpu->pool.n * sizeof(float));
		free(sc->scores);
		sc->scores = p;
		sc->scores_cap = cap;
		sc->n_workers = cpu->pool.n;
	}
	return 0;
}

void eng__cpu_scratch_release(eng__cpu_scratch *sc)
{
	free(sc->x);
	free(sc->scores);
	memset(sc, 0, sizeof(*sc));
}

typedef struct fwd {
	eng__cpu *cpu;
	const eng__seg *seg;
	int nseg;
	size_t rows;
	size_t *row0; /* first row of each segment */
	int64_t layer;
	size_t kv_dim, q_dim, qkv_dim, hd;
	float scale;
} fwd;

static eng__cpu_state *state_of(const eng__seg *g)
{
	return (eng__cpu_state *)g->st;
}

static float *ring_slot(const eng__cpu *cpu, eng__cpu_state *st, int loop, int64_t layer, size_t pos)
{
	const eng_config *c = cpu->base.cfg;
	size_t kv_dim = (size_t)(c->kv_heads * c->head_dim);

	return st->ring + ((((size_t)(loop - 1) * (size_t)c->layers + (size_t)layer) * ENG_LOCAL_WINDOW +
			    pos % ENG_LOCAL_WINDOW) *
			   2 * kv_dim);
}

/* softmax(q . k_j * scale) weighted sum of v_j over keys given by a getter. */
typedef const float *(*key_fn)(const fwd *f, int seg, size_t pos, bool value, size_t kvh);

static const float *key_loop0(const fwd *f, int seg, size_t pos, bool value, size_t kvh)
{
	return state_of(&f->seg[seg])->kv0[f->layer] + pos * 2 * f->kv_dim + (value ? f->kv_dim : 0) +
	       kvh * f->hd;
}

static const float *key_local(const fwd *f, int seg, size_t pos, bool value, size_t kvh)
{
	const eng__seg *g = &f->seg[seg];

	if (pos >= g->start) {
		const float *row = f->cpu->sc.qkv + (f->row0[seg] + (pos - g->start)) * f->qkv_dim + f->q_dim;

		return row + (value ? f->kv_dim : 0) + kvh * f->hd;
	}
	return ring_slot(f->cpu, state_of(g), g->loop, f->layer, pos) + (value ? f->kv_dim : 0) + kvh * f->hd;
}

static void attend(const fwd *f, key_fn get, int seg, const float *q, size_t kvh, size_t lo, size_t hi, float *sc,
		   float *out)
{
	size_t j, d, hd = f->hd;
	float mx = -INFINITY, sum = 0;

	for (j = lo; j <= hi; j++) {
		float s = eng__vdot(q, get(f, seg, j, false, kvh), hd, f->cpu->portable) * f->scale;

		sc[j - lo] = s;
		if (s > mx)
			mx = s;
	}
	for (j = lo; j <= hi; j++) {
		sc[j - lo] = expf(sc[j - lo] - mx);
		sum += sc[j - lo];
	}
	for (d = 0; d < hd; d++)
		out[d] = 0;
	for (j = lo; j <= hi; j++)
		eng__vaxpy(out, sc[j - lo] / sum, get(f, seg, j, true, kvh), hd, f->cpu->portable);
}

static void attn_task(void *ctx, size_t b, size_t e, int worker)
{
	const fwd *f = ctx;
	eng__cpu *cpu = f->cpu;
	const eng_config *c = cpu->base.cfg;
	size_t heads = (size_t)c->heads, group = (size_t)(c->heads / c->kv_heads), t;
	float *sc = cpu->sc.scores + (size_t)worker * cpu->sc.scores_cap;
	float local[1024], *loc = local, *big = NULL;

	if (f->hd > PL_ARRAY_LEN(local))
		loc = big = pl_xmalloc(f->hd * sizeof(float));
	for (t = b; t < e; t++) {
		size_t row = t / heads, h = t % heads, kvh = h / group, d;
		int seg = 0;
		size_t pos;
		const float *q = cpu->sc.qkv + row * f->qkv_dim + h * f->hd;
		float *out = cpu->sc.att + row * f->q_dim + h * f->hd;

		while (seg + 1 < f->nseg && row >= f->row0[seg + 1])
			seg++;
		pos = f->seg[seg].start + (row - f->row0[seg]);
		attend(f, key_loop0, seg, q, kvh, 0, pos, sc, out);
		if (f->seg[seg].loop > 0) {
			float g = cpu->sc.gate[row * heads + h];
			size_t lo = pos >= ENG_LOCAL_WINDOW - 1 ? pos - (ENG_LOCAL_WINDOW - 1) : 0;

			attend(f, key_local, seg, q, kvh, lo, pos, sc, loc);
			for (d = 0; d < f->hd; d++)
				out[d] = g * out[d] + (1 - g) * loc[d];
		}
	}
	free(big);
}

static void layer_forward(fwd *f)
{
	eng__cpu *cpu = f->cpu;
	const eng_config *c = cpu->base.cfg;
	const eng__cpu_layer *L = &cpu->layer[f->layer];
	eng__cpu_scratch *sc = &cpu->sc;
	size_t H = (size_t)c->hidden, I = (size_t)c->intermediate, M = f->rows, heads = (size_t)c->heads;
	float eps = (float)c->rms_eps;
	size_t i, j, h;
	int g;
	bool any_later = false;

	for (i = 0; i < M; i++)
		rmsnorm(sc->n + i * H, sc->x + i * H, L->ln1, H, eps);
	eng__mm(cpu, sc->qkv, sc->n, L->wqkv, M, f->qkv_dim, H, false);
	for (g = 0; g < f->nseg; g++) {
		const eng__seg *sg = &f->seg[g];

		if (sg->loop > 0)
			any_later = true;
		for (j = 0; j < sg->count; j++) {
			float *row = sc->qkv + (f->row0[g] + j) * f->qkv_dim;
			size_t pos = sg->start + j;

			const float *cs = sc->rope_cs + (f->row0[g] + j) * f->hd;

			for (h = 0; h < heads; h++)
				rope(row + h * f->hd, cs, f->hd);
			for (h = 0; h < (size_t)c->kv_heads; h++)
				rope(row + f->q_dim + h * f->hd, cs, f->hd);
			if (sg->loop == 0)
				memcpy(state_of(sg)->kv0[f->layer] + pos * 2 * f->kv_dim, row + f->q_dim,
				       2 * f->kv_dim * sizeof(float));
		}
	}
	if (any_later) {
		/* The gate reads the pre-norm layer input through its own norm. */
		for (i = 0; i < M; i++)
			rmsnorm(sc->gnorm + i * H, sc->x + i * H, L->gate_norm, H, eps);
		eng__mm(cpu, sc->gate, sc->gnorm, (eng__wmat){ L->gate_w, false }, M, heads, H, false);
		for (i = 0; i < M * heads; i++)
			sc->gate[i] = 1.0f / (1.0f + expf(-(sc->gate[i] + L->gate_b[i % heads])));
	}
	eng__pool_run(&cpu->pool, attn_task, f, M * heads, 1);
	for (g = 0; g < f->nseg; g++) {
		const eng__seg *sg = &f->seg[g];
		eng__cpu_state *st = state_of(sg);
		size_t first;

		if (sg->loop == 0)
			continue;
		/* Only the last 65 positions can be read from the ring later. */
		first = sg->count > ENG_LOCAL_WINDOW ? sg->count - ENG_LOCAL_WINDOW : 0;
		for (j = 0; j < sg->count; j++) {
			const float *kv = sc->qkv + (f->row0[g] + j) * f->qkv_dim + f->q_dim;
			size_t pos = sg->start + j;

			memcpy(st->hist[(size_t)(sg->loop - 1) * (size_t)c->layers + (size_t)f->layer] +
				       pos * 2 * f->kv_dim,
			       kv, 2 * f->kv_dim * sizeof(float));
			if (j >= first)
				memcpy(ring_slot(cpu, st, sg->loop, f->layer, pos), kv,
				       2 * f->kv_dim * sizeof(float));
		}
	}
	eng__mm(cpu, sc->x, sc->att, L->wo, M, H, f->q_dim, true);
	for (i = 0; i < M; i++)
		rmsnorm(sc->n + i * H, sc->x + i * H, L->ln2, H, eps);
	eng__mm(cpu, sc->gu, sc->n, L->wgu, M, 2 * I, H, false);
	for (i = 0; i < M; i++) {
		const float *gp = sc->gu + i * 2 * I, *up = gp + I;
		float *a = sc->act + i * I;

		for (j = 0; j < I; j++)
			a[j] = gp[j] / (1.0f + expf(-gp[j])) * up[j];
	}
	eng__mm(cpu, sc->x, sc->act, L->wdown, M, H, I, true);
}

void eng__cpu_forward(eng__cpu *cpu, const eng__seg *seg, int nseg)
{
	const eng_config *c = cpu->base.cfg;
	eng__cpu_scratch *sc = &cpu->sc;
	size_t H = (size_t)c->hidden, V = (size_t)c->vocab, j, rows = 0;
	float a = (float)c->emb_scale, b = (float)c->hidden_scale;
	fwd f;
	int g;

	memset(&f, 0, sizeof(f));
	PL_ASSERT(nseg >= 1);
	f.cpu = cpu;
	f.row0 = pl_xmalloc((size_t)nseg * sizeof(*f.row0));
	f.seg = seg;
	f.nseg = nseg;
	f.hd = (size_t)c->head_dim;
	f.q_dim = (size_t)c->heads * f.hd;
	f.kv_dim = (size_t)c->kv_heads * f.hd;
	f.qkv_dim = f.q_dim + 2 * f.kv_dim;
	f.scale = (float)(1.0 / sqrt((double)f.hd));
	for (g = 0; g < nseg; g++) {
		f.row0[g] = rows;
		rows += seg[g].count;
	}
	f.rows = rows;
	PL_ASSERT(rows <= sc->max_rows);
	/* Inputs: loop 0 the raw embedding; loop r a.E_t + b.h^{r-1}_{t-1},
	 * zero for t = 0 (plt.md, "Loops and cross-loop processing"). */
	for (g = 0; g < nseg; g++)
		for (j = 0; j < seg[g].count; j++) {
			float *x = sc->x + (f.row0[g] + j) * H;
			float *e = sc->tmp + (f.row0[g] + j) * H;
			size_t pos = seg[g].start + j, i;

			eng__wmat_row(e, cpu->embed, (size_t)seg[g].ids[j], H);
			if (seg[g].loop == 0) {
				memcpy(x, e, H * sizeof(float));
			} else if (pos == 0) {
				for (i = 0; i < H; i++)
					x[i] = a * e[i];
			} else {
				const float *hp = state_of(&seg[g])->hsave[seg[g].loop - 1] + (pos - 1) * H;

				for (i = 0; i < H; i++)
					x[i] = a * e[i] + b * hp[i];
			}
		}
	for (g = 0; g < nseg; g++)
		for (j = 0; j < seg[g].count; j++)
			rope_table(sc->rope_cs + (f.row0[g] + j) * f.hd, cpu->rope_inv_freq, f.hd,
				   seg[g].start + j);
	for (f.layer = 0; f.layer < c->layers; f.layer++)
		layer_forward(&f);
	for (g = 0; g < nseg; g++) {
		const eng__seg *sg = &seg[g];
		eng__cpu_state *st = state_of(sg);

		for (j = 0; j < sg->count; j++)
			rmsnorm(sc->n + (f.row0[g] + j) * H, sc->x + (f.row0[g] + j) * H, cpu->norm, H,
				(float)c->rms_eps);
		if (sg->loop < c->loops - 1) {
			for (j = 0; j < sg->count; j++)
				memcpy(st->hsave[sg->loop] + (sg->start + j) * H, sc->n + (f.row0[g] + j) * H,
				       H * sizeof(float));
		} else if (sg->logits) {
			eng__mm(cpu, sg->logits, sc->n + f.row0[g] * H, cpu->lm_head, sg->count, V, H, false);
			if (sg->keep_last)
				memcpy(st->logits, sg->logits + (sg->count - 1) * V, V * sizeof(float));
		} else if (sg->keep_last) {
			eng__mm(cpu, st->logits, sc->n + (f.row0[g] + sg->count - 1) * H, cpu->lm_head, 1, V,
				H, false);
		}
	}
	free(f.row0);
}
