/* backend.cu - the CUDA backend's table (module.h, ABI 2): weights in bf16
 * on the device, sessions' state, the decode step as one CUDA graph, the
 * prefill of a segment through cuBLASLt and the flash kernel, sampling on
 * the device.
 *
 * Decode (all segments one row, at most DEC_MAX_ROWS rows): the rows of
 * every loop run through the layers together, so each weight matrix is
 * read once per step for all of them (gemv.cu); per layer six kernels:
 * QKV (+ the PLT gate) with RMSNorm, RoPE and the K/V write fused, the
 * split attention, the merge with the window and the gate, o_proj adding
 * into the residual, gate/up with SwiGLU, down adding into the residual.
 * What changes between steps (positions, ids, state pointers) is written
 * to a DecParams block in device memory before each launch, so the graph
 * captured for a batch's shape is replayed for every step.
 *
 * Prefill (anything else): each segment on its own, in the order given,
 * its rows through cuBLASLt (bf16 operands, fp32 accumulation) and the
 * flash kernel (attn.cu).
 *
 * Truncation is exact without keeping any history on the device: the
 * device holds loop 0's K/V of every position and, per later loop, only
 * the 65-position window (the ring) and the last two h^r; every later
 * loop's K/V and every h^r also go, asynchronously, to a pinned host copy
 * (56 KiB and 20 KiB per token and later loop for LoopCoder-V2).
 * state_truncate(len) copies the 65 window positions before len and the
 * h^r of len-1 and len-2 back: O(65) transfers, the same bits as before,
 * and the device's K/V stay loop 0's plus a fixed window (R = 2 holds
 * 1.002x R = 1's K/V at 32768 positions).
 *
 * Locking: the model's lock covers its stream, scratch and graphs; state
 * operations take it too (they enqueue on the model's stream). */
#include "engine/cuda/cuda.h"
#include "engine/rand.h"

#include <cuda_profiler_api.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace ecu
{

int runtime_probe(eng_gpu_report *r); /* probe.cu */
int selftest(char *report, size_t n, int device, pl_err *err); /* selftest.cu */

int seterr(pl_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int cuerr(pl_err *e, cudaError_t rc, const char *what)
{
	return seterr(e, rc == cudaErrorMemoryAllocation ? PL_ENOMEM : PL_EINTERNAL, "%s: %s (%s)", what,
		      cudaGetErrorString(rc), cudaGetErrorName(rc));
}

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* cudaMalloc with the size and the purpose in the error. */
static int dalloc(void **p, size_t bytes, const char *what, uint64_t *acct, pl_err *err)
{
	cudaError_t rc = cudaMalloc(p, bytes ? bytes : 16);

	if (rc != cudaSuccess) {
		*p = NULL;
		cudaGetLastError();
		return seterr(err, rc == cudaErrorMemoryAllocation ? PL_ENOMEM : PL_EINTERNAL,
			      "cudaMalloc of %zu bytes for %s: %s", bytes, what, cudaGetErrorString(rc));
	}
	if (acct)
		*acct += bytes;
	return 0;
}

#define DALLOC(p, bytes, what, acct)                                        \
	do {                                                                \
		if ((rc = dalloc((void **)&(p), (bytes), (what), (acct), err)) < 0) \
			goto fail;                                          \
	} while (0)

#define CKF(call, what)                                  \
	do {                                             \
		cudaError_t e_ = (call);                 \
		if (e_ != cudaSuccess) {                 \
			rc = cuerr(err, e_, (what));     \
			goto fail;                       \
		}                                        \
	} while (0)

static size_t lkv(const Model *m)
{
	return (size_t)m->L * 2 * m->KVD;
}

/* ------------------------------------------------------------ loading */

struct Loader {
	Model *m;
	void *pin[2], *dev[2];
	cudaEvent_t done[2];
	int cur;
	size_t cap;
	uint64_t done_bytes, total;
	const eng_cuda_model_desc *d;
	uint64_t next_report;
};

static size_t dtype_size(eng_cuda_dtype t)
{
	return t == ENG_CUDA_F32 ? 4 : 2;
}

static void progress(Loader *ld, uint64_t bytes)
{
	ld->done_bytes += bytes;
	if (ld->d->progress && (ld->done_bytes >= ld->next_report || ld->done_bytes == ld->total)) {
		ld->d->progress(ld->d->progress_user, ld->done_bytes, ld->total);
		ld->next_report = ld->done_bytes + (256u << 20);
	}
}

/* Source rows [r0, r0 + rows) of t into the staging buffer on the device:
 * the host copies them out of the map into pinned memory (the disk's
 * work), the copy engine moves them while the host fills the other
 * buffer. */
static int stage(void **dev_out, Loader *ld, const eng_cuda_tensor *t, long long r0, long long rows, pl_err *err)
{
	const size_t row_bytes = (size_t)(t->cols ? t->cols : 1) * dtype_size(t->dtype), bytes = row_bytes * rows;
	const int s = ld->cur;
	cudaError_t rc;

	if ((rc = cudaEventSynchronize(ld->done[s])) != cudaSuccess)
		return cuerr(err, rc, "cudaEventSynchronize (weight upload)");
	memcpy(ld->pin[s], (const char *)t->data + r0 * row_bytes, bytes);
	if ((rc = cudaMemcpyAsync(ld->dev[s], ld->pin[s], bytes, cudaMemcpyHostToDevice, ld->m->st)) != cudaSuccess)
		return cuerr(err, rc, "cudaMemcpyAsync (weight upload)");
	*dev_out = ld->dev[s];
	progress(ld, bytes);
	return 0;
}

static int staged(Loader *ld, pl_err *err)
{
	cudaError_t rc = cudaEventRecord(ld->done[ld->cur], ld->m->st);

	ld->cur ^= 1;
	return rc == cudaSuccess ? 0 : cuerr(err, rc, "cudaEventRecord (weight upload)");
}

/* A matrix of rows x cols (checkpoint order) into dst with the map. */
static int load_matrix(Loader *ld, const eng_cuda_tensor *t, long long rows, long long cols, bf16 *dst, int ldd,
		       int map, int hd, int which, long long dst_row0, uint64_t tag, const char *what, pl_err *err)
{
	const bool random = ld->d->random;
	const size_t row_bytes = (size_t)cols * (random ? 2 : dtype_size(t->dtype));
	long long per = random ? 65535 : (long long)(ld->cap / row_bytes), r0;
	int rc;

	if (per > 65535)
		per = 65535;
	if (per < 1)
		return seterr(err, PL_EUNSUPPORTED, "%s: a row of %zu bytes exceeds the upload buffer", what, row_bytes);
	for (r0 = 0; r0 < rows; r0 += per) {
		const long long n = rows - r0 < per ? rows - r0 : per;
		PlaceArgs a;
		cudaError_t e;

		memset(&a, 0, sizeof(a));
		if (!random) {
			if ((rc = stage((void **)&a.src, ld, t, r0, n, err)) < 0)
				return rc;
			a.dtype = t->dtype;
		} else {
			progress(ld, (uint64_t)n * cols * 2);
		}
		a.rows = n;
		a.cols = cols;
		a.row0 = r0;
		a.dst = dst;
		a.ldd = ldd;
		a.map = map;
		a.hd = hd;
		a.which = which;
		a.dst_row0 = dst_row0;
		a.seed = ld->d->seed;
		a.tag = tag;
		a.K = cols;
		if ((e = place_launch(a, ld->m->st)) != cudaSuccess)
			return cuerr(err, e, what);
		if (!random && (rc = staged(ld, err)) < 0)
			return rc;
	}
	return 0;
}

static int load_vec(Loader *ld, const eng_cuda_tensor *t, long long n, long long np, float *dst, uint64_t tag,
		    const char *what, pl_err *err)
{
	void *src = NULL;
	cudaError_t e;

	if (!ld->d->random) {
		const size_t bytes = (size_t)n * dtype_size(t->dtype);
		const int s = ld->cur;

		if (bytes > ld->cap)
			return seterr(err, PL_EUNSUPPORTED, "%s: %zu bytes exceed the upload buffer", what, bytes);
		if ((e = cudaEventSynchronize(ld->done[s])) != cudaSuccess)
			return cuerr(err, e, "cudaEventSynchronize (weight upload)");
		memcpy(ld->pin[s], t->data, bytes);
		if ((e = cudaMemcpyAsync(ld->dev[s], ld->pin[s], bytes, cudaMemcpyHostToDevice, ld->m->st)) != cudaSuccess)
			return cuerr(err, e, "cudaMemcpyAsync (weight upload)");
		src = ld->dev[s];
		progress(ld, bytes);
	}
	if ((e = vec_launch(src, ld->d->random ? 0 : t->dtype, n, np, dst, ld->d->seed, tag, ld->m->st)) != cudaSuccess)
		return cuerr(err, e, what);
	return ld->d->random ? 0 : staged(ld, err);
}

static uint64_t ltag(int l, int kind)
{
	return (uint64_t)ENG__RT_LAYER * (uint64_t)(l + 1) + (uint64_t)kind;
}

static int load_weights(Model *m, const eng_cuda_model_desc *d, pl_err *err)
{
	Loader ld;
	const bool random = d->random;
	const long long H = m->H, I = m->I, QD = m->QD, KVD = m->KVD, V = m->V;
	int rc = 0, i;
	uint64_t total = 0;
	static const eng_cuda_tensor none = { NULL, ENG_CUDA_BF16, 0, 0 };

	memset(&ld, 0, sizeof(ld));
	ld.m = m;
	ld.d = d;
	ld.cap = 64u << 20;
	for (i = 0; i < 2 && !random; i++) {
		CKF(cudaHostAlloc(&ld.pin[i], ld.cap, cudaHostAllocDefault), "cudaHostAlloc (64 MiB upload buffer)");
		CKF(cudaMalloc(&ld.dev[i], ld.cap), "cudaMalloc (64 MiB upload buffer)");
		CKF(cudaEventCreateWithFlags(&ld.done[i], cudaEventDisableTiming), "cudaEventCreate");
		CKF(cudaEventRecord(ld.done[i], m->st), "cudaEventRecord");
	}
	/* bytes to move, for the progress line */
	if (random) {
		total = 2 * (uint64_t)(V * H * (m->lm_head == m->embed ? 1 : 2)) +
			(uint64_t)m->L * 2 * (uint64_t)((QD + 2 * KVD) * H + H * QD + 3 * H * I + (m->has_gate ? m->NH * H : 0));
	} else {
		const eng_cuda_tensor *ts[3] = { &d->embed, &d->norm, &d->lm_head };

		for (i = 0; i < 3; i++)
			if (i < 2 || d->lm_head.data != d->embed.data)
				total += (uint64_t)ts[i]->rows * (ts[i]->cols ? ts[i]->cols : 1) * dtype_size(ts[i]->dtype);
		for (i = 0; i < m->L; i++) {
			const eng_cuda_layer *y = &d->layer[i];
			const eng_cuda_tensor *lt[12] = { &y->ln1, &y->ln2, &y->q, &y->k, &y->v, &y->o,
							  &y->gate, &y->up, &y->down, &y->gate_w, &y->gate_b, &y->gate_norm };

			for (int k = 0; k < 12; k++)
				if (lt[k]->data)
					total += (uint64_t)lt[k]->rows * (lt[k]->cols ? lt[k]->cols : 1) * dtype_size(lt[k]->dtype);
		}
	}
	ld.total = total;
	if ((rc = load_matrix(&ld, random ? &none : &d->embed, V, H, m->embed, m->Hp, 0, 0, 0, 0, ENG__RT_EMBED,
			      "the embedding", err)) < 0 ||
	    (rc = load_vec(&ld, random ? &none : &d->norm, H, m->Hp, m->norm, ENG__RT_NORM, "the final norm", err)) < 0)
		goto fail;
	if (m->lm_head != m->embed &&
	    (rc = load_matrix(&ld, random ? &none : &d->lm_head, V, H, m->lm_head, m->Hp, 0, 0, 0, 0, ENG__RT_LM_HEAD,
			      "lm_head", err)) < 0)
		goto fail;
	for (i = 0; i < m->L; i++) {
		const eng_cuda_layer *t = random ? NULL : &d->layer[i];
		Layer *Ly = &m->layer[i];
#define T(f) (random ? &none : &t->f)
		if ((rc = load_vec(&ld, T(ln1), H, m->Hp, Ly->ln1, ltag(i, ENG__RT_LN1), "input_layernorm", err)) < 0 ||
		    (rc = load_vec(&ld, T(ln2), H, m->Hp, Ly->ln2, ltag(i, ENG__RT_LN2), "post_attention_layernorm",
				   err)) < 0 ||
		    (rc = load_matrix(&ld, T(q), QD, H, Ly->wqkv, m->Hp, 1, m->HD, 0, 0, ltag(i, ENG__RT_Q), "q_proj",
				      err)) < 0 ||
		    (rc = load_matrix(&ld, T(k), KVD, H, Ly->wqkv, m->Hp, 1, m->HD, 0, QD, ltag(i, ENG__RT_K), "k_proj",
				      err)) < 0 ||
		    (rc = load_matrix(&ld, T(v), KVD, H, Ly->wqkv, m->Hp, 1, m->HD, 0, QD + KVD, ltag(i, ENG__RT_V),
				      "v_proj", err)) < 0 ||
		    (rc = load_matrix(&ld, T(o), H, QD, Ly->wo, m->Qp, 0, 0, 0, 0, ltag(i, ENG__RT_O), "o_proj", err)) <
			    0 ||
		    (rc = load_matrix(&ld, T(gate), I, H, Ly->wgu, m->Hp, 2, 0, 0, 0, ltag(i, ENG__RT_GATE), "gate_proj",
				      err)) < 0 ||
		    (rc = load_matrix(&ld, T(up), I, H, Ly->wgu, m->Hp, 2, 0, 1, 0, ltag(i, ENG__RT_UP), "up_proj", err)) <
			    0 ||
		    (rc = load_matrix(&ld, T(down), H, I, Ly->wdown, m->Ip, 0, 0, 0, 0, ltag(i, ENG__RT_DOWN),
				      "down_proj", err)) < 0)
			goto fail;
		if (m->has_gate &&
		    ((rc = load_matrix(&ld, T(gate_w), m->NH, H, Ly->wgate, m->Hp, 0, 0, 0, 0, ltag(i, ENG__RT_GATE_W),
				       "the PLT gate", err)) < 0 ||
		     (rc = load_vec(&ld, T(gate_b), m->NH, m->NHp, Ly->gbias, ltag(i, ENG__RT_GATE_B), "the PLT gate bias",
				    err)) < 0 ||
		     (rc = load_vec(&ld, T(gate_norm), H, m->Hp, Ly->gnorm, ltag(i, ENG__RT_GATE_NORM),
				    "the PLT gate norm", err)) < 0))
			goto fail;
#undef T
	}
	CKF(cudaStreamSynchronize(m->st), "cudaStreamSynchronize (weight upload)");
fail:
	for (i = 0; i < 2; i++) {
		if (ld.done[i])
			cudaEventDestroy(ld.done[i]);
		cudaFreeHost(ld.pin[i]);
		cudaFree(ld.dev[i]);
	}
	return rc;
}

/* ------------------------------------------------------------ model */

static void graphs_clear(Model *m)
{
	for (int i = 0; i < MAX_GRAPHS; i++)
		if (m->graphs[i].exec) {
			cudaGraphExecDestroy(m->graphs[i].exec);
			m->graphs[i].exec = NULL;
			m->graphs[i].key[0] = '\0';
		}
}

static void pf_release(Model *m)
{
	void *ps[] = { m->px, m->pqkv, m->pgate, m->plog, m->pn, m->pgn, m->pq, m->plockv, m->patt, m->pgu, m->pact,
		       m->hchunk[0], m->hchunk[1] };

	for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
		cudaFree(ps[i]);
	m->px = m->pqkv = m->pgate = m->plog = m->hchunk[0] = m->hchunk[1] = NULL;
	m->pn = m->pgn = m->pq = m->plockv = m->patt = m->pgu = m->pact = NULL;
	m->pf_rows = 0;
	m->scratch_bytes -= m->pf_bytes;
	m->pf_bytes = 0;
	memset(m->htag, 0, sizeof(m->htag));
}

static void model_free(void *model)
{
	Model *m = (Model *)model;

	if (!m)
		return;
	cudaSetDevice(m->dev);
	if (m->st)
		cudaStreamSynchronize(m->st);
	graphs_clear(m);
	pf_release(m);
	if (m->layer) {
		for (int i = 0; i < m->L; i++) {
			Layer *l = &m->layer[i];
			void *ps[] = { l->wqkv, l->wo, l->wgu, l->wdown, l->wgate, l->ln1, l->ln2, l->gnorm, l->gbias };

			for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++)
				cudaFree(ps[k]);
		}
		free(m->layer);
	}
	if (m->lm_head != m->embed)
		cudaFree(m->lm_head);
	void *ps[] = { m->embed, m->norm, m->inv_freq, m->dx, m->dq, m->dgate, m->datt, m->dact,
		       m->dpart, m->dml, m->dcnt, m->dxn, m->drope, m->dlog, m->dparams, m->sb.seen,
		       m->sb.w, m->sb.keys, m->sb.keys_sorted, m->sb.vals, m->sb.vals_sorted, m->sb.tmp,
		       m->sb.id_out, m->sb.lse_out, m->gws, m->gcnt };
	for (size_t k = 0; k < sizeof(ps) / sizeof(ps[0]); k++)
		cudaFree(ps[k]);
	blas_close(m->blas);
	prof_free(&m->prof);
	for (size_t k = 0; k < m->npool; k++)
		cudaFreeHost(m->hpool[k]);
	free(m->hpool);
	if (m->ev0)
		cudaEventDestroy(m->ev0);
	if (m->ev1)
		cudaEventDestroy(m->ev1);
	if (m->st)
		cudaStreamDestroy(m->st);
	pthread_mutex_destroy(&m->mu);
	delete m;
}

/* Times each GEMV configuration on one kind of matrix (M rows, random x)
 * and keeps the fastest: the grid's balance over the SMs decides more than
 * any rule of thumb (a configuration the workspace cannot hold is
 * skipped).  A sample launches it on every layer's matrix in turn, as a
 * decode step does: one matrix again and again would come partly from L2
 * (o_proj's 52 MB is L2's size), and one launch alone is too short to
 * time steadily; the best of three samples counts. */
static GemvCfg tune(Model *m, const bf16 *const *W, int nW, int N, int K, int ldw, int M, const float *x, int ldx,
		    float *out, char *note, size_t nn)
{
	static const int shapes[][2] = { { 2, 4 }, { 2, 8 }, { 4, 4 }, { 4, 8 }, { 16, 4 }, { 16, 8 } };
	static const int splits[] = { 1, 2, 3, 4, 6, 8 };
	const int nsplits = (int)(sizeof(splits) / sizeof(splits[0]));
	const int ncfg = (int)(sizeof(shapes) / sizeof(shapes[0])) * nsplits;
	GemvCfg best = { 2, 4, 1, m->gws, m->gcnt, GEMV_WS_FLOATS, GEMV_TILES };
	float best_ms = 1e30f;

	if ((long long)N * K < (1ll << 22))
		return best;
	for (int c = 0; c < ncfg; c++) {
		GemvCfg cfg = best;
		GemvArgs a;
		float ms = 1e30f, t;
		bool ok = true;

		cfg.rows = shapes[c / nsplits][0];
		cfg.warps = shapes[c / nsplits][1];
		cfg.splits = splits[c % nsplits];
		memset(&a, 0, sizeof(a));
		a.x = x;
		a.ldx = ldx;
		a.m = M;
		for (int i = 0; i < DEC_MAX_ROWS; i++)
			a.rowsel[i] = i < M ? i : 0;
		a.nprob = 1;
		a.p[0].N = N;
		a.p[0].K = K;
		a.p[0].ldw = ldw;
		a.p[0].mode = EPI_STORE;
		a.p[0].out = out;
		a.p[0].ldo = N;
		for (int r = 0; r < 4 && ok; r++) { /* the first sample warms up */
			cudaEventRecord(m->ev0, m->st);
			for (int l = 0; l < nW && ok; l++) {
				a.p[0].W = W[l];
				ok = gemv_launch(a, cfg, m->st) == cudaSuccess;
			}
			cudaEventRecord(m->ev1, m->st);
			cudaEventSynchronize(m->ev1);
			cudaEventElapsedTime(&t, m->ev0, m->ev1);
			if (r >= 1 && t < ms)
				ms = t;
		}
		if (!ok) {
			cudaGetLastError();
			continue;
		}
		ms /= (float)nW;
		if (ms < best_ms) {
			best_ms = ms;
			best = cfg;
		}
	}
	snprintf(note + strlen(note), nn - strlen(note), "%s%dx%d: %s%d rows/warp, %d warps, %d splits (%.1f GB/s)",
		 note[0] ? "; " : "", N, K, best.rows == 16 ? "tensor cores, " : "", best.rows, best.warps, best.splits,
		 (double)N * ldw * 2 / (best_ms * 1e-3) / 1e9);
	return best;
}

static int upload(void **out, const eng_cuda_model_desc *d, pl_err *err)
{
	const eng_config *c = d->cfg;
	Model *m = new Model();
	int n = 0, rc = 0, i;
	cudaError_t e;
	char tune_note[384] = "";

	memset((void *)m, 0, sizeof(*m));
	pthread_mutex_init(&m->mu, NULL);
	m->cfg = *c;
	m->dev = d->device;
	if ((e = cudaGetDeviceCount(&n)) != cudaSuccess || n <= d->device) {
		cudaGetLastError();
		rc = seterr(err, PL_EUNSUPPORTED, "no CUDA device %d: %s", d->device,
			    e != cudaSuccess ? cudaGetErrorString(e) : "fewer devices");
		goto fail;
	}
	CKF(cudaSetDevice(d->device), "cudaSetDevice");
	CKF(cudaGetDeviceProperties(&m->prop, d->device), "cudaGetDeviceProperties");
	if (m->prop.major < 9) {
		rc = seterr(err, PL_EUNSUPPORTED, "%s has compute capability %d.%d; the CUDA module is built for 9.0 (Hopper)",
			    m->prop.name, m->prop.major, m->prop.minor);
		goto fail;
	}
	m->H = (int)c->hidden;
	m->Hp = (int)pad8(c->hidden);
	m->I = (int)c->intermediate;
	m->Ip = (int)pad8(c->intermediate);
	m->NH = (int)c->heads;
	m->NHp = (int)pad8(c->heads);
	m->KVH = (int)c->kv_heads;
	m->HD = (int)c->head_dim;
	m->QD = m->NH * m->HD;
	m->Qp = (int)pad8(m->QD);
	m->KVD = m->KVH * m->HD;
	m->QKV = m->QD + 2 * m->KVD;
	m->V = (int)c->vocab;
	m->L = (int)c->layers;
	m->R = c->loops;
	m->eps = (float)c->rms_eps;
	m->a = (float)c->emb_scale;
	m->b = (float)c->hidden_scale;
	m->has_gate = m->R > 1;
	if (!flash_supported(m->HD) || m->HD % 2 || m->NH % m->KVH) {
		rc = seterr(err, PL_EUNSUPPORTED, "the CUDA backend runs head_dim 128 or up to 64 (this model: %d)", m->HD);
		goto fail;
	}
	if (m->NH / m->KVH > 16) {
		rc = seterr(err, PL_EUNSUPPORTED, "the CUDA backend runs up to 16 query heads per K/V head (this model: %d)",
			    m->NH / m->KVH);
		goto fail;
	}
	CKF(cudaStreamCreateWithFlags(&m->st, cudaStreamNonBlocking), "cudaStreamCreate");
	CKF(cudaEventCreate(&m->ev0), "cudaEventCreate");
	CKF(cudaEventCreate(&m->ev1), "cudaEventCreate");
	if ((rc = blas_open(&m->blas, err)) < 0)
		goto fail;
	/* weights */
	{
		const size_t Hp = m->Hp;

		m->layer = (Layer *)calloc((size_t)m->L, sizeof(Layer));
		DALLOC(m->embed, (size_t)m->V * Hp * 2, "the embedding", &m->weight_bytes);
		m->lm_head = m->embed;
		if (d->random ? !c->tie_embeddings : d->lm_head.data != d->embed.data)
			DALLOC(m->lm_head, (size_t)m->V * Hp * 2, "lm_head", &m->weight_bytes);
		DALLOC(m->norm, Hp * 4, "the final norm", &m->weight_bytes);
		for (i = 0; i < m->L; i++) {
			Layer *l = &m->layer[i];

			DALLOC(l->wqkv, (size_t)m->QKV * Hp * 2, "q/k/v weights", &m->weight_bytes);
			DALLOC(l->wo, (size_t)m->H * m->Qp * 2, "o_proj", &m->weight_bytes);
			DALLOC(l->wgu, (size_t)2 * m->I * Hp * 2, "gate/up weights", &m->weight_bytes);
			DALLOC(l->wdown, (size_t)m->H * m->Ip * 2, "down_proj", &m->weight_bytes);
			DALLOC(l->ln1, Hp * 4, "a norm", &m->weight_bytes);
			DALLOC(l->ln2, Hp * 4, "a norm", &m->weight_bytes);
			if (m->has_gate) {
				DALLOC(l->wgate, (size_t)m->NH * Hp * 2, "the PLT gate", &m->weight_bytes);
				DALLOC(l->gbias, (size_t)m->NHp * 4, "the PLT gate", &m->weight_bytes);
				DALLOC(l->gnorm, Hp * 4, "the PLT gate", &m->weight_bytes);
			}
		}
	}
	if (!d->random && m->has_gate)
		for (i = 0; i < m->L; i++)
			if (!d->layer[i].gate_w.data) {
				rc = seterr(err, PL_EINVAL, "layer %d has no PLT gate: loops above 1 need one", i);
				goto fail;
			}
	if ((rc = load_weights(m, d, err)) < 0)
		goto fail;
	{
		float *f = (float *)malloc((size_t)m->HD / 2 * sizeof(float));

		for (i = 0; i < m->HD / 2; i++)
			f[i] = (float)pow(c->rope_theta, -2.0 * (double)i / (double)m->HD);
		if ((rc = dalloc((void **)&m->inv_freq, (size_t)m->HD / 2 * 4, "RoPE", &m->weight_bytes, err)) == 0 &&
		    (e = cudaMemcpy(m->inv_freq, f, (size_t)m->HD / 2 * 4, cudaMemcpyHostToDevice)) != cudaSuccess)
			rc = cuerr(err, e, "cudaMemcpy (RoPE frequencies)");
		free(f);
		if (rc < 0)
			goto fail;
	}
	/* decode scratch: fixed, so that graphs never see it move */
	{
		const size_t R8 = DEC_MAX_ROWS;

		DALLOC(m->dx, R8 * m->Hp * 4, "decode scratch", &m->scratch_bytes);
		DALLOC(m->dxn, R8 * m->Hp * 4, "decode scratch", &m->scratch_bytes);
		DALLOC(m->dq, R8 * m->QD * 4, "decode scratch", &m->scratch_bytes);
		DALLOC(m->drope, R8 * (size_t)(m->HD / 2) * sizeof(float2), "decode scratch",
		       &m->scratch_bytes);
		DALLOC(m->dgate, R8 * m->NHp * 4, "decode scratch", &m->scratch_bytes);
		DALLOC(m->datt, R8 * m->Qp * 4, "decode scratch", &m->scratch_bytes);
		DALLOC(m->dact, R8 * m->Ip * 4, "decode scratch", &m->scratch_bytes);
		DALLOC(m->dpart, R8 * m->NH * DEC_SMAX * m->HD * 4, "decode scratch", &m->scratch_bytes);
		DALLOC(m->dml, R8 * m->NH * DEC_SMAX * 2 * 4, "decode scratch", &m->scratch_bytes);
		DALLOC(m->dcnt, R8 * m->KVH * 4, "decode scratch", &m->scratch_bytes);
		CKF(cudaMemsetAsync(m->dcnt, 0, R8 * m->KVH * 4, m->st), "cudaMemsetAsync (attention counters)");
		DALLOC(m->dlog, R8 * m->V * 4, "decode scratch", &m->scratch_bytes);
		DALLOC(m->dparams, sizeof(DecParams), "decode parameters", &m->scratch_bytes);
		CKF(cudaMemset(m->datt, 0, R8 * m->Qp * 4), "cudaMemset");
		CKF(cudaMemset(m->dact, 0, R8 * m->Ip * 4), "cudaMemset");
		CKF(cudaMemset(m->dgate, 0, R8 * m->NHp * 4), "cudaMemset");
		m->nq_max = (m->NH / m->KVH) * DEC_MAX_ROWS;
	}
	/* sampling */
	m->sb.tmp_bytes = sample_tmp_bytes(m->V);
	DALLOC(m->sb.seen, (size_t)m->V, "sampling", &m->scratch_bytes);
	DALLOC(m->sb.w, (size_t)m->V * 4, "sampling", &m->scratch_bytes);
	DALLOC(m->sb.keys, (size_t)m->V * 4, "sampling", &m->scratch_bytes);
	DALLOC(m->sb.keys_sorted, (size_t)m->V * 4, "sampling", &m->scratch_bytes);
	DALLOC(m->sb.vals, (size_t)m->V * 4, "sampling", &m->scratch_bytes);
	DALLOC(m->sb.vals_sorted, (size_t)m->V * 4, "sampling", &m->scratch_bytes);
	DALLOC(m->sb.tmp, m->sb.tmp_bytes, "sampling", &m->scratch_bytes);
	DALLOC(m->sb.id_out, 4, "sampling", &m->scratch_bytes);
	DALLOC(m->sb.lse_out, 8, "sampling", &m->scratch_bytes);
	gemv_init();
	if (dec_split_smem(m->nq_max, m->HD) > (size_t)m->prop.sharedMemPerBlockOptin) {
		rc = seterr(err, PL_EUNSUPPORTED, "decode attention needs %zu bytes of shared memory, the GPU offers %zu",
			    dec_split_smem(m->nq_max, m->HD), (size_t)m->prop.sharedMemPerBlockOptin);
		goto fail;
	}
	CKF(dec_attn_init(&m->dec_mma), "cudaFuncSetAttribute (decode attention)");
	CKF(flash_init(), "cudaFuncSetAttribute (prefill attention)");
	/* GEMV configurations, tuned over every layer's matrices with the rows
	 * of one session's decode step (tune) */
	{
		const int M = m->R < DEC_MAX_ROWS ? m->R : DEC_MAX_ROWS;
		const size_t maxn = (size_t)(m->V > 2 * m->I ? m->V : 2 * m->I) + m->QKV + m->H;
		float *tout = NULL, *tx = NULL;
		const size_t xw = (size_t)(m->Ip > m->Hp ? m->Ip : m->Hp);

		if ((rc = dalloc((void **)&tout, maxn * DEC_MAX_ROWS * 4, "GEMV tuning", NULL, err)) < 0)
			goto fail;
		if ((rc = dalloc((void **)&tx, xw * DEC_MAX_ROWS * 4, "GEMV tuning", NULL, err)) < 0) {
			cudaFree(tout);
			goto fail;
		}
		vec_launch(NULL, 0, (long long)(xw * DEC_MAX_ROWS), (long long)(xw * DEC_MAX_ROWS), tx, 99, ENG__RT_EMBED, m->st);
		if ((rc = dalloc((void **)&m->gws, GEMV_WS_FLOATS * 4, "GEMV split workspace", &m->scratch_bytes, err)) < 0 ||
		    (rc = dalloc((void **)&m->gcnt, GEMV_TILES * 4, "GEMV split counters", &m->scratch_bytes, err)) < 0 ||
		    ((e = cudaMemsetAsync(m->gcnt, 0, GEMV_TILES * 4, m->st)) != cudaSuccess &&
		     (rc = cuerr(err, e, "cudaMemsetAsync (GEMV counters)")) < 0)) {
			cudaFree(tout);
			cudaFree(tx);
			goto fail;
		}
		const bf16 **lw = (const bf16 **)malloc(sizeof(*lw) * 4 * m->L);

		if (!lw) {
			cudaFree(tout);
			cudaFree(tx);
			rc = seterr(err, PL_ENOMEM, "out of memory (GEMV tuning)");
			goto fail;
		}
		for (i = 0; i < m->L; i++) {
			lw[i] = m->layer[i].wqkv;
			lw[m->L + i] = m->layer[i].wo;
			lw[2 * m->L + i] = m->layer[i].wgu;
			lw[3 * m->L + i] = m->layer[i].wdown;
		}
		m->cfg_qkv = tune(m, lw, m->L, m->QKV, m->H, m->Hp, M, tx, m->Hp, tout, tune_note, sizeof(tune_note));
		m->cfg_o = tune(m, lw + m->L, m->L, m->H, m->QD, m->Qp, M, tx, m->Qp, tout, tune_note, sizeof(tune_note));
		m->cfg_gu = tune(m, lw + 2 * m->L, m->L, 2 * m->I, m->H, m->Hp, M, tx, m->Hp, tout, tune_note,
				 sizeof(tune_note));
		m->cfg_down =
			tune(m, lw + 3 * m->L, m->L, m->H, m->I, m->Ip, M, tx, m->Ip, tout, tune_note, sizeof(tune_note));
		m->cfg_lm = tune(m, &m->lm_head, 1, m->V, m->H, m->Hp, 1, tx, m->Hp, tout, tune_note, sizeof(tune_note));
		free(lw);
		e = cudaStreamSynchronize(m->st);
		cudaFree(tout);
		cudaFree(tx);
		CKF(e, "cudaStreamSynchronize (GEMV tuning)");
	}
	snprintf(m->kernels, sizeof(m->kernels), "%s", tune_note);
	*out = m;
	return 0;
fail:
	model_free(m);
	return rc;
}

static void memory(void *model, uint64_t *weights, uint64_t *states, uint64_t *workspace)
{
	Model *m = (Model *)model;

	pthread_mutex_lock(&m->mu);
	*weights = m->weight_bytes;
	*states = m->state_bytes;
	*workspace = m->scratch_bytes;
	pthread_mutex_unlock(&m->mu);
}

static void describe(void *model, char *buf, size_t n)
{
	Model *m = (Model *)model;
	size_t fr = 0, tot = 0;

	pthread_mutex_lock(&m->mu);
	cudaSetDevice(m->dev);
	cudaMemGetInfo(&fr, &tot);
	snprintf(buf, n,
		 "{\"device\": \"%s\", \"compute_capability\": \"%d.%d\", \"sms\": %d, \"ordinal\": %d, "
		 "\"weights\": \"bf16\", \"weights_bytes\": %llu, \"states_bytes\": %llu, \"workspace_bytes\": %llu, "
		 "\"device_free_bytes\": %zu, \"device_total_bytes\": %zu, \"cublaslt\": \"%s\", \"gemm\": \"%s\", "
		 "\"kernels\": {\"decode\": \"one CUDA graph per batch shape: RMSNorm, then GEMV (fp32 activations, "
		 "bf16 weights, fp32 accumulation) with RoPE/K-V, SwiGLU and residual epilogues; attention over "
		 "loop-0 K/V for all loops split over the keys on the tensor cores, the 65-key window and the gate "
		 "merged by the last block, one kernel a layer\", "
		 "\"decode_gemv\": \"%s\", \"prefill_gemm\": \"cuBLASLt bf16, fp32 accumulation\", "
		 "\"prefill_attention\": \"%s\", \"sampling\": \"on the device (cub radix sort for "
		 "temperature sampling)\"}}",
		 m->prop.name, m->prop.major, m->prop.minor, m->prop.multiProcessorCount, m->dev,
		 (unsigned long long)m->weight_bytes, (unsigned long long)m->state_bytes,
		 (unsigned long long)m->scratch_bytes, fr, tot, blas_version(m->blas), blas_path(m->blas), m->kernels,
		 m->HD == 128 ? "flash-attention style, mma.sync m16n8k16 bf16 tensor cores, 64x64 tiles"
			      : "one block per query (head_dim <= 64)");
	if (m->prof.dec_steps || m->prof.pf_calls) {
		double b[PK_N] = { 0 };
		size_t k = strlen(buf);

		b[PK_DEC_QKV] = (double)m->L * m->QKV * m->Hp * 2;
		b[PK_DEC_O] = (double)m->L * m->H * m->Qp * 2;
		b[PK_DEC_GU] = (double)m->L * 2 * m->I * m->Hp * 2;
		b[PK_DEC_DOWN] = (double)m->L * m->H * m->Ip * 2;
		b[PK_DEC_LM] = (double)m->V * m->Hp * 2;
		if (k > 0 && k + 1 < n) {
			buf[k - 1] = 0; /* the closing brace, put back below */
			prof_json(&m->prof, buf, n - 1, b);
			k = strlen(buf);
			buf[k] = '}';
			buf[k + 1] = 0;
		}
	}
	pthread_mutex_unlock(&m->mu);
}

static int profile(void *model, int on)
{
	Model *m = (Model *)model;
	cudaError_t e;

	pthread_mutex_lock(&m->mu);
	cudaSetDevice(m->dev);
	if (on && !m->prof.on)
		e = prof_set(&m->prof, true);
	else {
		e = cudaSuccess;
		m->prof.on = on != 0;
	}
	/* the profiled steps are also the range an outside profiler takes
	 * (ncu --profile-from-start off): the kernels of the decode steps
	 * and the prefill that --profile times, not the load-time tuning */
	if (e == cudaSuccess)
		(void)(on ? cudaProfilerStart() : cudaProfilerStop());
	pthread_mutex_unlock(&m->mu);
	return (int)e;
}

/* ------------------------------------------------------------ states */

static size_t hist_block_bytes(const Model *m)
{
	return (size_t)(m->R - 1) * HIST_BLOCK * (lkv(m) * 2 + (size_t)m->H * 4);
}

static bf16 *hist_kv(const State *s, int loop, size_t pos)
{
	const Model *m = s->m;

	return (bf16 *)s->hist[pos / HIST_BLOCK] + ((size_t)(loop - 1) * HIST_BLOCK + pos % HIST_BLOCK) * lkv(m);
}

static float *hist_h(const State *s, int r, size_t pos)
{
	const Model *m = s->m;

	return (float *)(s->hist[pos / HIST_BLOCK] + (size_t)(m->R - 1) * HIST_BLOCK * lkv(m) * 2) +
	       ((size_t)r * HIST_BLOCK + pos % HIST_BLOCK) * m->H;
}

static uint64_t state_dev_bytes(const State *s)
{
	const Model *m = s->m;

	return (uint64_t)s->cap * (lkv(m) * 2 + 4) + (uint64_t)(m->R - 1) * WIN * lkv(m) * 2 +
	       (uint64_t)(m->R - 1) * 2 * m->Hp * 4 + (uint64_t)m->V * 4;
}

/* Pinned history blocks come from the model's pool, and go back to it
 * when a state is freed: pinning costs about as much as the prefill it
 * serves (a 4096-token prompt at R = 2 needs 16 blocks, 319 MB, and
 * pinning them took 0.18 s against the prefill's 0.21 s on the H200), so
 * only the first sessions pay it.  The pool keeps up to HIST_POOL_MAX
 * bytes; the model's free releases them. */
static unsigned char *hist_take(Model *m)
{
	unsigned char *b = NULL;

	if (m->npool)
		return m->hpool[--m->npool];
	if (cudaHostAlloc((void **)&b, hist_block_bytes(m), cudaHostAllocDefault) != cudaSuccess) {
		cudaGetLastError();
		return NULL;
	}
	return b;
}

static void hist_give(Model *m, unsigned char *b)
{
	if ((m->npool + 1) * hist_block_bytes(m) <= HIST_POOL_MAX) {
		if (m->npool == m->cappool) {
			size_t c = m->cappool ? 2 * m->cappool : 64;
			unsigned char **p = (unsigned char **)realloc(m->hpool, c * sizeof(*p));

			if (p) {
				m->hpool = p;
				m->cappool = c;
			}
		}
		if (m->npool < m->cappool) {
			m->hpool[m->npool++] = b;
			return;
		}
	}
	cudaFreeHost(b);
}

static void state_free(void *state)
{
	State *s = (State *)state;
	Model *m;

	if (!s)
		return;
	m = s->m;
	pthread_mutex_lock(&m->mu);
	cudaSetDevice(m->dev);
	cudaStreamSynchronize(m->st);
	for (int b = 0; b < 2; b++)
		if (m->htag[b].serial == s->serial)
			memset(&m->htag[b], 0, sizeof(m->htag[b]));
	m->state_bytes -= state_dev_bytes(s);
	m->states--;
	cudaFree(s->kv0);
	cudaFree(s->ring);
	cudaFree(s->hslot);
	cudaFree(s->logits);
	cudaFree(s->ids);
	for (size_t i = 0; i < s->nhist; i++)
		hist_give(m, s->hist[i]);
	free(s->hist);
	pthread_mutex_unlock(&m->mu);
	free(s);
}

static int state_new(void **out, void *model, pl_err *err)
{
	Model *m = (Model *)model;
	State *s = (State *)calloc(1, sizeof(State));
	int rc = 0;

	s->m = m;
	pthread_mutex_lock(&m->mu);
	s->serial = ++m->serial;
	CKF(cudaSetDevice(m->dev), "cudaSetDevice");
	if (m->R > 1) {
		DALLOC(s->ring, (size_t)(m->R - 1) * WIN * lkv(m) * 2, "the loop windows", NULL);
		DALLOC(s->hslot, (size_t)(m->R - 1) * 2 * m->Hp * 4, "saved hidden states", NULL);
		CKF(cudaMemsetAsync(s->hslot, 0, (size_t)(m->R - 1) * 2 * m->Hp * 4, m->st), "cudaMemset");
	}
	DALLOC(s->logits, (size_t)m->V * 4, "logits", NULL);
	m->state_bytes += state_dev_bytes(s);
	m->states++;
	pthread_mutex_unlock(&m->mu);
	*out = s;
	return 0;
fail:
	cudaFree(s->ring);
	cudaFree(s->hslot);
	cudaFree(s->logits);
	pthread_mutex_unlock(&m->mu);
	free(s);
	return rc;
}

static int reserve_locked(State *s, size_t need, pl_err *err)
{
	Model *m = s->m;
	size_t cap = s->cap ? s->cap : 64, nb;
	bf16 *kv0 = NULL;
	int32_t *ids = NULL;
	int rc = 0;

	if (need <= s->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	DALLOC(kv0, cap * lkv(m) * 2, "the K/V cache", NULL);
	DALLOC(ids, cap * 4, "token ids", NULL);
	if (m->R > 1) {
		nb = (cap + HIST_BLOCK - 1) / HIST_BLOCK;
		if (nb > s->nhist) {
			unsigned char **h = (unsigned char **)realloc(s->hist, nb * sizeof(*h));

			if (!h) {
				rc = seterr(err, PL_ENOMEM, "cannot allocate the K/V history index");
				goto fail;
			}
			s->hist = h;
			while (s->nhist < nb) {
				if (!(s->hist[s->nhist] = hist_take(m))) {
					rc = seterr(err, PL_ENOMEM,
						    "cudaHostAlloc of %zu bytes (pinned) for the later loops' K/V history "
						    "failed: host memory is short",
						    hist_block_bytes(m));
					goto fail;
				}
				s->nhist++;
			}
		}
	}
	if (s->npos) {
		CKF(cudaMemcpyAsync(kv0, s->kv0, s->npos * lkv(m) * 2, cudaMemcpyDeviceToDevice, m->st),
		    "cudaMemcpyAsync (growing the K/V cache)");
		CKF(cudaMemcpyAsync(ids, s->ids, s->npos * 4, cudaMemcpyDeviceToDevice, m->st),
		    "cudaMemcpyAsync (growing the ids)");
	}
	CKF(cudaStreamSynchronize(m->st), "cudaStreamSynchronize (growing the K/V cache)");
	cudaFree(s->kv0);
	cudaFree(s->ids);
	m->state_bytes -= state_dev_bytes(s);
	s->kv0 = kv0;
	s->ids = ids;
	s->cap = cap;
	m->state_bytes += state_dev_bytes(s);
	return 0;
fail:
	cudaFree(kv0);
	cudaFree(ids);
	return rc;
}

static int state_reserve(void *state, size_t positions, pl_err *err)
{
	State *s = (State *)state;
	int rc;

	pthread_mutex_lock(&s->m->mu);
	cudaSetDevice(s->m->dev);
	rc = reserve_locked(s, positions, err);
	pthread_mutex_unlock(&s->m->mu);
	return rc;
}

static void broken(State *s, cudaError_t e, const char *what)
{
	if (s->broken)
		return;
	s->broken = true;
	snprintf(s->broken_msg, sizeof(s->broken_msg), "%s: %s", what, cudaGetErrorString(e));
}

/* Copies positions [p, p + n) between a device array of rows (pitch dp
 * bytes) and the host history (row pitch hp bytes, via at(s, pos)),
 * split at the history's blocks. */
template <typename F>
static cudaError_t hist_copy(State *s, size_t p, size_t n, void *dev, size_t dp, size_t hp, size_t width, bool to_host,
			     F at)
{
	while (n) {
		const size_t run = HIST_BLOCK - p % HIST_BLOCK < n ? HIST_BLOCK - p % HIST_BLOCK : n;
		void *h = (void *)at(p);
		cudaError_t e = to_host ? cudaMemcpy2DAsync(h, hp, dev, dp, width, run, cudaMemcpyDeviceToHost, s->m->st)
					: cudaMemcpy2DAsync(dev, dp, h, hp, width, run, cudaMemcpyHostToDevice, s->m->st);

		if (e != cudaSuccess)
			return e;
		dev = (char *)dev + run * dp;
		p += run;
		n -= run;
	}
	return cudaSuccess;
}

/* The windows and the saved h^r as they were after position len - 1. */
static cudaError_t restore_locked(State *s, size_t len)
{
	Model *m = s->m;
	const size_t lo = len >= WIN ? len - WIN : 0, L2 = lkv(m) * 2;
	cudaError_t e;

	for (int b = 0; b < 2; b++)
		if (m->htag[b].serial == s->serial)
			memset(&m->htag[b], 0, sizeof(m->htag[b]));
	s->npos = len;
	if (m->R < 2)
		return cudaSuccess;
	for (int loop = 1; loop < m->R; loop++)
		for (size_t q = lo; q < len; q++)
			if ((e = cudaMemcpyAsync(s->ring + ((size_t)(loop - 1) * WIN + q % WIN) * lkv(m), hist_kv(s, loop, q),
						 L2, cudaMemcpyHostToDevice, m->st)) != cudaSuccess)
				return e;
	for (int r = 0; r < m->R - 1; r++)
		for (size_t q = len >= 2 ? len - 2 : 0; q < len; q++)
			if ((e = cudaMemcpyAsync(s->hslot + ((size_t)r * 2 + q % 2) * m->Hp, hist_h(s, r, q),
						 (size_t)m->H * 4, cudaMemcpyHostToDevice, m->st)) != cudaSuccess)
				return e;
	return cudaSuccess;
}

static void state_truncate(void *state, size_t len)
{
	State *s = (State *)state;
	cudaError_t e;

	pthread_mutex_lock(&s->m->mu);
	cudaSetDevice(s->m->dev);
	if (len < s->npos && (e = restore_locked(s, len)) != cudaSuccess)
		broken(s, e, "restoring the windows (truncate)");
	s->npos = len < s->npos ? len : s->npos;
	pthread_mutex_unlock(&s->m->mu);
}

static int state_fork(void **out, const void *state, size_t len, pl_err *err)
{
	const State *s = (const State *)state;
	Model *m = s->m;
	void *fv = NULL;
	State *f;
	int rc;

	if ((rc = state_new(&fv, m, err)) < 0)
		return rc;
	f = (State *)fv;
	pthread_mutex_lock(&m->mu);
	cudaSetDevice(m->dev);
	if (s->broken) {
		rc = seterr(err, PL_EINTERNAL, "%s", s->broken_msg);
		goto fail;
	}
	if (s->cap && (rc = reserve_locked(f, s->cap, err)) < 0)
		goto fail;
	if (len > s->npos)
		len = s->npos;
	if (len) {
		CKF(cudaMemcpyAsync(f->kv0, s->kv0, len * lkv(m) * 2, cudaMemcpyDeviceToDevice, m->st),
		    "cudaMemcpyAsync (fork: K/V)");
		CKF(cudaMemcpyAsync(f->ids, s->ids, len * 4, cudaMemcpyDeviceToDevice, m->st), "cudaMemcpyAsync (fork: ids)");
	}
	if (m->R > 1) {
		CKF(cudaMemcpyAsync(f->ring, s->ring, (size_t)(m->R - 1) * WIN * lkv(m) * 2, cudaMemcpyDeviceToDevice,
				    m->st),
		    "cudaMemcpyAsync (fork: windows)");
		CKF(cudaMemcpyAsync(f->hslot, s->hslot, (size_t)(m->R - 1) * 2 * m->Hp * 4, cudaMemcpyDeviceToDevice,
				    m->st),
		    "cudaMemcpyAsync (fork: hidden states)");
	}
	CKF(cudaMemcpyAsync(f->logits, s->logits, (size_t)m->V * 4, cudaMemcpyDeviceToDevice, m->st),
	    "cudaMemcpyAsync (fork: logits)");
	CKF(cudaStreamSynchronize(m->st), "cudaStreamSynchronize (fork)");
	/* the host history: whole blocks below len, then the rest */
	for (size_t b = 0; m->R > 1 && b * HIST_BLOCK < len; b++)
		memcpy(f->hist[b], s->hist[b], hist_block_bytes(m));
	f->npos = s->npos;
	if (len < s->npos) {
		cudaError_t e = restore_locked(f, len);

		if (e != cudaSuccess) {
			rc = cuerr(err, e, "restoring the windows (fork)");
			goto fail;
		}
	}
	f->npos = len;
	pthread_mutex_unlock(&m->mu);
	*out = f;
	return 0;
fail:
	pthread_mutex_unlock(&m->mu);
	state_free(f);
	return rc;
}

static void state_memory(const void *state, uint64_t *device, uint64_t *host)
{
	const State *s = (const State *)state;

	*device = state_dev_bytes(s);
	*host = (uint64_t)s->nhist * hist_block_bytes(s->m);
}

/* ------------------------------------------------------------ prepare */

static int prepare(void *model, size_t rows, size_t ctx, pl_err *err)
{
	Model *m = (Model *)model;
	int rc = 0;

	(void)ctx; /* nothing grows with the context: splits adapt, states hold the K/V */
	pthread_mutex_lock(&m->mu);
	cudaSetDevice(m->dev);
	if (rows <= m->pf_rows) {
		pthread_mutex_unlock(&m->mu);
		return 0;
	}
	cudaStreamSynchronize(m->st);
	pf_release(m);
	{
		const size_t n = rows, Hp = m->Hp;
		uint64_t bytes = 0;

		DALLOC(m->px, n * Hp * 4, "prefill scratch", &bytes);
		DALLOC(m->pn, n * Hp * 2, "prefill scratch", &bytes);
		DALLOC(m->pgn, n * Hp * 2, "prefill scratch", &bytes);
		DALLOC(m->pqkv, n * m->QKV * 4, "prefill scratch", &bytes);
		DALLOC(m->pq, n * m->QD * 2, "prefill scratch", &bytes);
		DALLOC(m->pgate, n * m->NH * 4, "prefill scratch", &bytes);
		DALLOC(m->plockv, (n + 64) * 2 * m->KVD * 2, "prefill scratch", &bytes);
		DALLOC(m->patt, n * m->Qp * 2, "prefill scratch", &bytes);
		DALLOC(m->pgu, n * 2 * m->I * 2, "prefill scratch", &bytes);
		DALLOC(m->pact, n * m->Ip * 2, "prefill scratch", &bytes);
		DALLOC(m->hchunk[0], (n + 1) * Hp * 4, "prefill scratch", &bytes);
		DALLOC(m->hchunk[1], (n + 1) * Hp * 4, "prefill scratch", &bytes);
		m->plog_rows = n < 256 ? n : 256;
		DALLOC(m->plog, m->plog_rows * m->V * 4, "prefill scratch", &bytes);
		/* padding columns are read by the products: zero them once */
		CKF(cudaMemsetAsync(m->patt, 0, n * m->Qp * 2, m->st), "cudaMemset");
		CKF(cudaMemsetAsync(m->pact, 0, n * m->Ip * 2, m->st), "cudaMemset");
		CKF(cudaMemsetAsync(m->hchunk[0], 0, (n + 1) * Hp * 4, m->st), "cudaMemset");
		CKF(cudaMemsetAsync(m->hchunk[1], 0, (n + 1) * Hp * 4, m->st), "cudaMemset");
		m->pf_rows = n;
		m->pf_bytes = bytes;
		m->scratch_bytes += bytes;
	}
	pthread_mutex_unlock(&m->mu);
	return 0;
fail:
	pf_release(m);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* ------------------------------------------------------------ decode */

struct DecShape {
	int nrows, ngroups, nq_max;
	int hsave[DEC_MAX_ROWS], nhsave;
	int logit_rows[DEC_MAX_ROWS], nlog;
	bool any_later;
	char key[256];
};

static cudaError_t enqueue_decode(Model *m, const DecShape &S)
{
	const DecParams *P = m->dparams;
	cudaError_t e;

#define EQ(call)                              \
	do {                                  \
		if ((e = (call)) != cudaSuccess) \
			return e;             \
	} while (0)
	EQ(dec_embed_launch(P, S.nrows, m->embed, m->Hp, m->H, m->a, m->b, m->dx, m->inv_freq, m->HD / 2,
			    m->drope, m->st));
	prof_mark(&m->prof, m->st, PK_DEC_PARAMS);
	for (int l = 0; l < m->L; l++) {
		const Layer *Ly = &m->layer[l];
		GemvArgs g;
		DecAttnArgs at;

		memset(&g, 0, sizeof(g));
		g.x = m->dx;
		g.ldx = m->Hp;
		g.m = S.nrows;
		g.pdl = !m->prof.on; /* events between kernels would break the overlap anyway */
		for (int i = 0; i < DEC_MAX_ROWS; i++)
			g.rowsel[i] = i < S.nrows ? i : 0;
		g.eps = m->eps;
		g.P = P;
		g.layer = l;
		g.L = m->L;
		g.HD = m->HD;
		g.QD = m->QD;
		g.KVD = m->KVD;
		g.rope = m->drope;
		g.q = m->dq;
		g.ldq = m->QD;
		g.nprob = 1;
		/* the norms apart (one small kernel, x normed once for all the
		 * blocks: fused into the GEMV, every warp paid for it again,
		 * 13% of gate/up's time at two rows); the gate's own norm of
		 * 40 rows stays fused, on the raw x */
		EQ(dec_norm_launch(m->dx, m->Hp, m->H, Ly->ln1, m->dxn, S.nrows, m->eps, g.pdl, m->st));
		prof_mark(&m->prof, m->st, PK_DEC_NORM);
		g.x = m->dxn;
		g.p[0] = GemvProb{ Ly->wqkv, m->QKV, m->H, m->Hp, NULL, NULL, EPI_QKV, NULL, 0, NULL, 0 };
		if (S.any_later && m->has_gate) {
			g.p[1] = GemvProb{ Ly->wgate, m->NH, m->H, m->Hp, m->dx, Ly->gnorm, EPI_GATE, m->dgate, m->NHp, Ly->gbias, 0 };
			g.nprob = 2;
		}
		EQ(gemv_launch(g, m->cfg_qkv, m->st));
		prof_mark(&m->prof, m->st, PK_DEC_QKV);
		memset(&at, 0, sizeof(at));
		at.P = P;
		at.q = m->dq;
		at.ldq = m->QD;
		at.part = m->dpart;
		at.ml = m->dml;
		at.layer = l;
		at.L = m->L;
		at.NH = m->NH;
		at.KVH = m->KVH;
		at.HD = m->HD;
		at.KVD = m->KVD;
		at.scale = (float)(1.0 / sqrt((double)m->HD));
		at.gate = m->dgate;
		at.ldgate = m->NHp;
		at.att = m->datt;
		at.ldatt = m->Qp;
		at.cnt = m->dec_mma ? m->dcnt : NULL;
		at.pdl = g.pdl;
		EQ(dec_attn_launch(at, S.ngroups, S.nrows, S.nq_max, m->st));
		prof_mark(&m->prof, m->st, PK_DEC_ATTN);
		g.nprob = 1;
		g.x = m->datt;
		g.ldx = m->Qp;
		g.p[0] = GemvProb{ Ly->wo, m->H, m->QD, m->Qp, NULL, NULL, EPI_ADD, m->dx, m->Hp, NULL, 0 };
		EQ(gemv_launch(g, m->cfg_o, m->st));
		prof_mark(&m->prof, m->st, PK_DEC_O);
		EQ(dec_norm_launch(m->dx, m->Hp, m->H, Ly->ln2, m->dxn, S.nrows, m->eps, g.pdl, m->st));
		prof_mark(&m->prof, m->st, PK_DEC_NORM);
		g.x = m->dxn;
		g.ldx = m->Hp;
		g.p[0] = GemvProb{ Ly->wgu, 2 * m->I, m->H, m->Hp, NULL, NULL, EPI_SWIGLU, m->dact, m->Ip, NULL, 0 };
		EQ(gemv_launch(g, m->cfg_gu, m->st));
		prof_mark(&m->prof, m->st, PK_DEC_GU);
		g.x = m->dact;
		g.ldx = m->Ip;
		g.p[0] = GemvProb{ Ly->wdown, m->H, m->I, m->Ip, NULL, NULL, EPI_ADD, m->dx, m->Hp, NULL, 0 };
		EQ(gemv_launch(g, m->cfg_down, m->st));
		prof_mark(&m->prof, m->st, PK_DEC_DOWN);
	}
	EQ(dec_hsave_launch(P, S.hsave, S.nhsave, m->dx, m->Hp, m->norm, m->H, m->eps, m->st));
	prof_mark(&m->prof, m->st, PK_DEC_HSAVE);
	if (S.nlog) {
		GemvArgs g;

		memset(&g, 0, sizeof(g));
		g.x = m->dx;
		g.ldx = m->Hp;
		g.m = S.nlog;
		for (int i = 0; i < DEC_MAX_ROWS; i++)
			g.rowsel[i] = i < S.nlog ? S.logit_rows[i] : S.logit_rows[0];
		g.eps = m->eps;
		g.P = P;
		g.nprob = 1;
		g.p[0] = GemvProb{ m->lm_head, m->V, m->H, m->Hp, NULL, m->norm, EPI_LOGITS, NULL, 0, NULL, 0 };
		g.pdl = !m->prof.on;
		EQ(gemv_launch(g, m->cfg_lm, m->st));
		prof_mark(&m->prof, m->st, PK_DEC_LM);
	}
#undef EQ
	return cudaSuccess;
}

static int run_decode(Model *m, const eng_cuda_seg *seg, int nseg, pl_err *err)
{
	DecParams hp;
	DecShape S;
	Graph *gr = NULL;
	const int gh = m->NH / m->KVH;
	cudaError_t e;
	int i;

	memset(&hp, 0, sizeof(hp));
	memset(&S, 0, sizeof(S));
	S.nrows = nseg;
	for (i = 0; i < nseg; i++) {
		State *s = (State *)seg[i].state;
		const int pos = (int)seg[i].start, loop = seg[i].loop;
		DecRow &R = hp.row[i];
		int g;

		/* one position of each state: the attention reads the keys of
		 * earlier positions before the batch's own are written
		 * (k_dec_mma asks for them before waiting for the QKV kernel) */
		for (g = 0; g < hp.ngroups; g++)
			if (hp.grp[g].kv0 == s->kv0) {
				if (hp.grp[g].pos == pos)
					break;
				return seterr(err, PL_EINVAL,
					      "two positions of one session in a decode batch (%d and %d)",
					      hp.grp[g].pos, pos);
			}
		if (g == hp.ngroups) {
			hp.grp[g].kv0 = s->kv0;
			hp.grp[g].pos = pos;
			hp.ngroups++;
		}
		R.pos = pos;
		R.id = seg[i].ids[0];
		R.loop = loop;
		R.group = g;
		R.qslot = hp.grp[g].nrows;
		hp.grp[g].rows[hp.grp[g].nrows++] = i;
		R.h_in = loop >= 1 && pos > 0 ? s->hslot + ((size_t)(loop - 1) * 2 + (pos - 1) % 2) * m->Hp : NULL;
		R.h_out = loop < m->R - 1 ? s->hslot + ((size_t)loop * 2 + pos % 2) * m->Hp : NULL;
		R.kv = loop == 0 ? s->kv0 + (size_t)pos * lkv(m)
				 : s->ring + ((size_t)(loop - 1) * WIN + pos % WIN) * lkv(m);
		R.ring = loop >= 1 ? s->ring + (size_t)(loop - 1) * WIN * lkv(m) : NULL;
		R.id_out = s->ids + pos;
		if (loop == m->R - 1 && (seg[i].keep_last || seg[i].logits)) {
			R.logits = seg[i].keep_last ? s->logits : m->dlog + (size_t)i * m->V;
			S.logit_rows[S.nlog++] = i;
		}
		if (loop < m->R - 1)
			S.hsave[S.nhsave++] = i;
		if (loop >= 1)
			S.any_later = true;
	}
	hp.nrows = nseg;
	S.ngroups = hp.ngroups;
	for (i = 0; i < hp.ngroups; i++)
		if (gh * hp.grp[i].nrows > S.nq_max)
			S.nq_max = gh * hp.grp[i].nrows;
	{
		int n = snprintf(S.key, sizeof(S.key), "%d:%d:", S.nrows, S.ngroups);

		for (i = 0; i < nseg && n < (int)sizeof(S.key) - 16; i++)
			n += snprintf(S.key + n, sizeof(S.key) - n, "%d.%d.%d.%d,", hp.row[i].loop, hp.row[i].group,
				      hp.row[i].logits != NULL, hp.row[i].h_out != NULL);
	}
	if (m->prof.on) {
		/* each kernel on its own, an event after each (cuda.h, Prof) */
		ECU_CK(prof_begin(&m->prof, m->st), err, "cudaEventRecord (profile)");
		ECU_CK(cudaMemcpyAsync(m->dparams, &hp, sizeof(hp), cudaMemcpyHostToDevice, m->st), err,
		       "cudaMemcpyAsync (decode parameters)");
		ECU_CK(enqueue_decode(m, S), err, "decode step");
		goto history;
	}
	for (i = 0; i < MAX_GRAPHS; i++)
		if (m->graphs[i].exec && !strcmp(m->graphs[i].key, S.key)) {
			gr = &m->graphs[i];
			break;
		}
	if (!gr) {
		cudaGraph_t g = NULL;
		cudaError_t ce;

		gr = &m->graphs[0];
		for (i = 0; i < MAX_GRAPHS; i++)
			if (!m->graphs[i].exec || m->graphs[i].uses < gr->uses) {
				gr = &m->graphs[i];
				if (!gr->exec)
					break;
			}
		if (gr->exec) {
			cudaGraphExecDestroy(gr->exec);
			gr->exec = NULL;
		}
		ECU_CK(cudaStreamBeginCapture(m->st, cudaStreamCaptureModeThreadLocal), err,
		       "cudaStreamBeginCapture (decode step)");
		e = enqueue_decode(m, S);
		ce = cudaStreamEndCapture(m->st, &g);
		if (e != cudaSuccess || ce != cudaSuccess) {
			if (g)
				cudaGraphDestroy(g);
			cudaGetLastError();
			return cuerr(err, e != cudaSuccess ? e : ce, "capturing the decode step");
		}
		e = cudaGraphInstantiate(&gr->exec, g, 0);
		cudaGraphDestroy(g);
		if (e != cudaSuccess) {
			gr->exec = NULL;
			return cuerr(err, e, "cudaGraphInstantiate (decode step)");
		}
		snprintf(gr->key, sizeof(gr->key), "%s", S.key);
	}
	gr->uses = ++m->graph_clock;
	ECU_CK(cudaMemcpyAsync(m->dparams, &hp, sizeof(hp), cudaMemcpyHostToDevice, m->st), err,
	       "cudaMemcpyAsync (decode parameters)");
	ECU_CK(cudaGraphLaunch(gr->exec, m->st), err, "cudaGraphLaunch (decode step)");
history:
	/* the later loops' K/V and the saved h^r to the host history */
	for (i = 0; i < nseg; i++) {
		State *s = (State *)seg[i].state;
		const DecRow &R = hp.row[i];

		if (R.loop >= 1)
			ECU_CK(cudaMemcpyAsync(hist_kv(s, R.loop, R.pos), R.kv, lkv(m) * 2, cudaMemcpyDeviceToHost, m->st), err,
			       "cudaMemcpyAsync (K/V history)");
		if (R.h_out)
			ECU_CK(cudaMemcpyAsync(hist_h(s, R.loop, R.pos), R.h_out, (size_t)m->H * 4, cudaMemcpyDeviceToHost,
					       m->st),
			       err, "cudaMemcpyAsync (hidden-state history)");
		if (seg[i].logits)
			ECU_CK(cudaMemcpyAsync(seg[i].logits, R.logits, (size_t)m->V * 4, cudaMemcpyDeviceToHost, m->st), err,
			       "cudaMemcpyAsync (logits)");
	}
	if (m->prof.on) {
		prof_mark(&m->prof, m->st, PK_DEC_HIST);
		m->prof.dec_steps++;
		ECU_CK(prof_end(&m->prof), err, "profile");
	}
	return 0;
}

/* ------------------------------------------------------------ prefill */

static int run_prefill(Model *m, const eng_cuda_seg *sg, pl_err *err)
{
	State *s = (State *)sg->state;
	const int n = (int)sg->count, p = (int)sg->start, loop = sg->loop, H = m->H, Hp = m->Hp;
	const size_t L2 = lkv(m) * 2;
	const float *hin = NULL;
	bf16 *ringr = loop >= 1 ? s->ring + (size_t)(loop - 1) * WIN * lkv(m) : NULL;
	int rc, l;

#define PK(call, what) ECU_CK((call), err, (what))
	if ((size_t)n > m->pf_rows)
		return seterr(err, PL_EINTERNAL, "a segment of %d rows exceeds the %zu prepared", n, m->pf_rows);
	PK(prof_begin(&m->prof, m->st), "cudaEventRecord (profile)");
	PK(cudaMemcpyAsync(s->ids + p, sg->ids, (size_t)n * 4, cudaMemcpyHostToDevice, m->st), "cudaMemcpyAsync (ids)");
	if (loop >= 1) {
		const int b = (loop - 1) % 2;
		HTag &t = m->htag[b];

		if (!(t.serial == s->serial && t.loop == loop - 1 && t.start == (size_t)p && t.count == (size_t)n)) {
			/* another segment ran in between: h^{loop-1} from the host */
			float *dst = m->hchunk[b];

			if (p == 0)
				PK(cudaMemsetAsync(dst, 0, (size_t)Hp * 4, m->st), "cudaMemsetAsync");
			else
				PK(cudaMemcpyAsync(dst, hist_h(s, loop - 1, p - 1), (size_t)H * 4, cudaMemcpyHostToDevice,
						   m->st),
				   "cudaMemcpyAsync (hidden-state history)");
			if (n > 1)
				PK(hist_copy(s, p, n - 1, dst + Hp, (size_t)Hp * 4, (size_t)H * 4, (size_t)H * 4, false,
					     [&](size_t q) { return (void *)hist_h(s, loop - 1, q); }),
				   "cudaMemcpy2DAsync (hidden-state history)");
			t = HTag{ s->serial, loop - 1, (size_t)p, (size_t)n };
		}
		hin = m->hchunk[b];
	}
	PK(pf_embed_launch(s->ids + p, n, loop, m->embed, Hp, H, m->a, m->b, hin, Hp, m->px, m->st), "prefill embedding");
	prof_mark(&m->prof, m->st, PK_PF_EMBED);
	for (l = 0; l < m->L; l++) {
		const Layer *Ly = &m->layer[l];
		FlashArgs fa;

		PK(pf_norm_launch(m->px, n, H, Hp, Ly->ln1, m->pn, loop >= 1 ? Ly->gnorm : NULL, loop >= 1 ? m->pgn : NULL,
				  NULL, 0, m->eps, m->st),
		   "prefill norm");
		prof_mark(&m->prof, m->st, PK_PF_NORM);
		if ((rc = blas_gemm(m->blas, m->st, n, m->QKV, H, m->pn, Hp, Ly->wqkv, Hp, m->pqkv, m->QKV, false, 0.f,
				    err)) < 0)
			return rc;
		prof_mark(&m->prof, m->st, PK_PF_QKV);
		if (loop >= 1) {
			if ((rc = blas_gemm(m->blas, m->st, n, m->NH, H, m->pgn, Hp, Ly->wgate, Hp, m->pgate, m->NH, false,
					    0.f, err)) < 0)
				return rc;
			prof_mark(&m->prof, m->st, PK_PF_GATE);
			PK(pf_lockv_fill_launch(ringr, p, l, m->L, m->KVD, m->plockv, m->st), "prefill window");
			prof_mark(&m->prof, m->st, PK_PF_WINDOW);
		}
		PK(pf_rope_launch(m->pqkv, n, p, m->NH, m->KVH, m->HD, m->inv_freq, m->pq,
				  loop == 0 ? s->kv0 + (size_t)p * lkv(m) + (size_t)l * 2 * m->KVD
					    : m->plockv + (size_t)64 * 2 * m->KVD,
				  loop == 0 ? (long long)lkv(m) : 2ll * m->KVD, loop >= 1 ? m->pgate : NULL,
				  loop >= 1 ? Ly->gbias : NULL, m->st),
		   "prefill RoPE");
		prof_mark(&m->prof, m->st, PK_PF_ROPE);
		memset(&fa, 0, sizeof(fa));
		fa.q = m->pq;
		fa.ldq = m->QD;
		fa.kv0 = s->kv0 + (size_t)l * 2 * m->KVD;
		fa.kv0_ps = (long long)lkv(m);
		fa.lockv = m->plockv;
		fa.p = p;
		fa.n = n;
		fa.loop = loop;
		fa.gate = m->pgate;
		fa.ldg = m->NH;
		fa.out = m->patt;
		fa.ldo = m->Qp;
		fa.NH = m->NH;
		fa.KVH = m->KVH;
		fa.HD = m->HD;
		fa.KVD = m->KVD;
		fa.scale = (float)(1.0 / sqrt((double)m->HD));
		PK(flash_launch(fa, m->st), "prefill attention");
		prof_mark(&m->prof, m->st, PK_PF_ATTN);
		if ((rc = blas_gemm(m->blas, m->st, n, H, m->QD, m->patt, m->Qp, Ly->wo, m->Qp, m->px, Hp, false, 1.f,
				    err)) < 0)
			return rc;
		prof_mark(&m->prof, m->st, PK_PF_O);
		PK(pf_norm_launch(m->px, n, H, Hp, Ly->ln2, m->pn, NULL, NULL, NULL, 0, m->eps, m->st), "prefill norm");
		prof_mark(&m->prof, m->st, PK_PF_NORM);
		if ((rc = blas_gemm(m->blas, m->st, n, 2 * m->I, H, m->pn, Hp, Ly->wgu, Hp, m->pgu, 2 * m->I, true, 0.f,
				    err)) < 0)
			return rc;
		prof_mark(&m->prof, m->st, PK_PF_GU);
		PK(pf_swiglu_launch(m->pgu, n, m->I, m->pact, m->Ip, m->st), "prefill SwiGLU");
		prof_mark(&m->prof, m->st, PK_PF_SWIGLU);
		if ((rc = blas_gemm(m->blas, m->st, n, H, m->I, m->pact, m->Ip, Ly->wdown, m->Ip, m->px, Hp, false, 1.f,
				    err)) < 0)
			return rc;
		prof_mark(&m->prof, m->st, PK_PF_DOWN);
		if (loop >= 1) {
			PK(pf_ring_store_launch(ringr, p, n, l, m->L, m->KVD, m->plockv, m->st), "prefill window store");
			prof_mark(&m->prof, m->st, PK_PF_WINDOW);
			PK(hist_copy(s, p, n, m->plockv + (size_t)64 * 2 * m->KVD, (size_t)2 * m->KVD * 2, L2,
				     (size_t)2 * m->KVD * 2, true,
				     [&](size_t q) { return (void *)(hist_kv(s, loop, q) + (size_t)l * 2 * m->KVD); }),
			   "cudaMemcpy2DAsync (K/V history)");
			prof_mark(&m->prof, m->st, PK_PF_HIST);
		}
	}
	if (loop < m->R - 1) {
		const int b = loop % 2;
		float *ho = m->hchunk[b];

		if (p == 0)
			PK(cudaMemsetAsync(ho, 0, (size_t)Hp * 4, m->st), "cudaMemsetAsync");
		else
			PK(cudaMemcpyAsync(ho, s->hslot + ((size_t)loop * 2 + (p - 1) % 2) * Hp, (size_t)Hp * 4,
					   cudaMemcpyDeviceToDevice, m->st),
			   "cudaMemcpyAsync (hidden state)");
		PK(pf_norm_launch(m->px, n, H, Hp, m->norm, NULL, NULL, NULL, ho + Hp, Hp, m->eps, m->st), "final norm");
		for (int q = p + n - 1; q >= p + n - 2 && q >= p; q--)
			PK(cudaMemcpyAsync(s->hslot + ((size_t)loop * 2 + q % 2) * Hp, ho + (size_t)(q - p + 1) * Hp,
					   (size_t)Hp * 4, cudaMemcpyDeviceToDevice, m->st),
			   "cudaMemcpyAsync (hidden state)");
		PK(hist_copy(s, p, n, ho + Hp, (size_t)Hp * 4, (size_t)H * 4, (size_t)H * 4, true,
			     [&](size_t q) { return (void *)hist_h(s, loop, q); }),
		   "cudaMemcpy2DAsync (hidden-state history)");
		m->htag[b] = HTag{ s->serial, loop, (size_t)p, (size_t)n };
	} else if (sg->logits) {
		PK(pf_norm_launch(m->px, n, H, Hp, m->norm, m->pn, NULL, NULL, NULL, 0, m->eps, m->st), "final norm");
		for (int r0 = 0; r0 < n; r0 += (int)m->plog_rows) {
			const int cnt = n - r0 < (int)m->plog_rows ? n - r0 : (int)m->plog_rows;

			if ((rc = blas_gemm(m->blas, m->st, cnt, m->V, H, m->pn + (size_t)r0 * Hp, Hp, m->lm_head, Hp, m->plog,
					    m->V, false, 0.f, err)) < 0)
				return rc;
			PK(cudaMemcpyAsync(sg->logits + (size_t)r0 * m->V, m->plog, (size_t)cnt * m->V * 4,
					   cudaMemcpyDeviceToHost, m->st),
			   "cudaMemcpyAsync (logits)");
			if (sg->keep_last && r0 + cnt == n)
				PK(cudaMemcpyAsync(s->logits, m->plog + (size_t)(cnt - 1) * m->V, (size_t)m->V * 4,
						   cudaMemcpyDeviceToDevice, m->st),
				   "cudaMemcpyAsync (logits)");
		}
	} else if (sg->keep_last) {
		GemvArgs g;

		memset(&g, 0, sizeof(g));
		g.x = m->px;
		g.ldx = Hp;
		g.m = 1;
		g.rowsel[0] = n - 1;
		g.eps = m->eps;
		g.nprob = 1;
		g.p[0] = GemvProb{ m->lm_head, m->V, H, Hp, NULL, m->norm, EPI_LOGITS, s->logits, m->V, NULL, 0 };
		PK(gemv_launch(g, m->cfg_lm, m->st), "lm_head");
	}
	if (m->prof.on) {
		prof_mark(&m->prof, m->st, PK_PF_FINAL);
		m->prof.pf_calls++;
		m->prof.pf_rows += n;
		PK(prof_end(&m->prof), "profile");
	}
#undef PK
	return 0;
}

static int forward(void *model, const eng_cuda_seg *seg, int nseg, pl_err *err)
{
	Model *m = (Model *)model;
	bool dec = nseg >= 1 && nseg <= DEC_MAX_ROWS;
	int rc = 0, i;
	cudaError_t e;

	pthread_mutex_lock(&m->mu);
	cudaSetDevice(m->dev);
	for (i = 0; i < nseg; i++) {
		const State *s = (const State *)seg[i].state;

		if (s->broken) {
			rc = seterr(err, PL_EINTERNAL, "%s", s->broken_msg);
			goto done;
		}
		if (seg[i].start + seg[i].count > s->cap) {
			rc = seterr(err, PL_EINTERNAL, "positions up to %zu exceed the %zu reserved",
				    seg[i].start + seg[i].count, s->cap);
			goto done;
		}
		if (seg[i].count != 1)
			dec = false;
	}
	if (dec) {
		rc = run_decode(m, seg, nseg, err);
	} else {
		for (i = 0; i < nseg && rc == 0; i++)
			rc = run_prefill(m, &seg[i], err);
	}
	if (rc == 0 && (e = cudaGetLastError()) != cudaSuccess)
		rc = cuerr(err, e, "forward");
	/* host logits must be there when forward returns */
	for (i = 0; rc == 0 && i < nseg; i++)
		if (seg[i].logits) {
			if ((e = cudaStreamSynchronize(m->st)) != cudaSuccess)
				rc = cuerr(err, e, "cudaStreamSynchronize (forward)");
			break;
		}
	if (rc == 0)
		for (i = 0; i < nseg; i++) {
			State *s = (State *)seg[i].state;

			if (seg[i].start + seg[i].count > s->npos)
				s->npos = seg[i].start + seg[i].count;
		}
done:
	pthread_mutex_unlock(&m->mu);
	return rc;
}

/* ------------------------------------------------------------ outputs */

static int logits(float *out, void *state, pl_err *err)
{
	State *s = (State *)state;
	Model *m = s->m;
	cudaError_t e;

	pthread_mutex_lock(&m->mu);
	cudaSetDevice(m->dev);
	e = cudaMemcpyAsync(out, s->logits, (size_t)m->V * 4, cudaMemcpyDeviceToHost, m->st);
	if (e == cudaSuccess)
		e = cudaStreamSynchronize(m->st);
	pthread_mutex_unlock(&m->mu);
	return e == cudaSuccess ? 0 : cuerr(err, e, "copying the logits to the host");
}

static int sample(int32_t *id_out, void *state, const eng_cuda_sampling *sp, const int32_t *history, size_t n_history,
		  pl_err *err)
{
	State *s = (State *)state;
	Model *m = s->m;
	cudaError_t e;
	int id = 0;

	(void)history; /* the device holds the same ids (written by forward) */
	pthread_mutex_lock(&m->mu);
	cudaSetDevice(m->dev);
	if (n_history > s->npos)
		n_history = s->npos;
	e = sample_launch(s->logits, m->V, s->ids, (int)n_history, &sp->params, sp->draw, m->sb, m->st);
	if (e == cudaSuccess)
		e = cudaMemcpyAsync(&id, m->sb.id_out, 4, cudaMemcpyDeviceToHost, m->st);
	if (e == cudaSuccess)
		e = cudaStreamSynchronize(m->st);
	pthread_mutex_unlock(&m->mu);
	if (e != cudaSuccess)
		return cuerr(err, e, "sampling on the device");
	*id_out = id;
	return 0;
}

static int logprobs(eng_logprob *out, void *state, int k, pl_err *err)
{
	State *s = (State *)state;
	Model *m = s->m;
	float *keys = (float *)malloc((size_t)k * 4);
	int *vals = (int *)malloc((size_t)k * 4);
	double lse = 0;
	cudaError_t e;

	pthread_mutex_lock(&m->mu);
	cudaSetDevice(m->dev);
	e = logprobs_launch(s->logits, m->V, m->sb, m->st);
	if (e == cudaSuccess)
		e = cudaMemcpyAsync(keys, m->sb.keys_sorted, (size_t)k * 4, cudaMemcpyDeviceToHost, m->st);
	if (e == cudaSuccess)
		e = cudaMemcpyAsync(vals, m->sb.vals_sorted, (size_t)k * 4, cudaMemcpyDeviceToHost, m->st);
	if (e == cudaSuccess)
		e = cudaMemcpyAsync(&lse, m->sb.lse_out, 8, cudaMemcpyDeviceToHost, m->st);
	if (e == cudaSuccess)
		e = cudaStreamSynchronize(m->st);
	pthread_mutex_unlock(&m->mu);
	if (e == cudaSuccess)
		for (int i = 0; i < k; i++) {
			out[i].id = vals[i];
			out[i].logprob = (float)((double)keys[i] - lse);
		}
	free(keys);
	free(vals);
	return e == cudaSuccess ? 0 : cuerr(err, e, "log-probabilities on the device");
}

/* ------------------------------------------------------------ ceilings */

static int ceilings(eng_cuda_ceilings *o, int device, pl_err *err)
{
	const int N = 8192, reps = 10;
	size_t fr = 0, tot = 0, bytes = (size_t)4 << 30;
	cudaDeviceProp prop;
	cudaEvent_t e0 = NULL, e1 = NULL;
	cudaStream_t st = NULL;
	void *a = NULL, *b = NULL;
	bf16 *A = NULL, *B = NULL, *C = NULL;
	Blas *bl = NULL;
	float ms = 0;
	int rc = 0, i;

	memset(o, 0, sizeof(*o));
	CKF(cudaSetDevice(device), "cudaSetDevice");
	CKF(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
	snprintf(o->device, sizeof(o->device), "%.127s", prop.name);
	CKF(cudaMemGetInfo(&fr, &tot), "cudaMemGetInfo");
	while (bytes > ((size_t)1 << 28) && 2 * bytes > fr / 2)
		bytes /= 2;
	CKF(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking), "cudaStreamCreate");
	CKF(cudaEventCreate(&e0), "cudaEventCreate");
	CKF(cudaEventCreate(&e1), "cudaEventCreate");
	CKF(cudaMalloc(&a, bytes), "cudaMalloc (copy ceiling)");
	CKF(cudaMalloc(&b, bytes), "cudaMalloc (copy ceiling)");
	CKF(fill_random_bf16((bf16 *)a, bytes / 2, 1, 1.0f, st), "filling the copy buffer");
	for (i = 0; i < 2; i++)
		CKF(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, st), "cudaMemcpyAsync (copy ceiling)");
	CKF(cudaEventRecord(e0, st), "cudaEventRecord");
	for (i = 0; i < reps; i++)
		CKF(cudaMemcpyAsync(i % 2 ? a : b, i % 2 ? b : a, bytes, cudaMemcpyDeviceToDevice, st),
		    "cudaMemcpyAsync (copy ceiling)");
	CKF(cudaEventRecord(e1, st), "cudaEventRecord");
	CKF(cudaEventSynchronize(e1), "cudaEventSynchronize");
	CKF(cudaEventElapsedTime(&ms, e0, e1), "cudaEventElapsedTime");
	o->copy_bytes = bytes;
	o->copy_bytes_per_s = 2.0 * (double)bytes * reps / (ms * 1e-3);
	cudaFree(a);
	cudaFree(b);
	a = b = NULL;
	CKF(cudaMalloc((void **)&A, (size_t)N * N * 2), "cudaMalloc (GEMM ceiling)");
	CKF(cudaMalloc((void **)&B, (size_t)N * N * 2), "cudaMalloc (GEMM ceiling)");
	CKF(cudaMalloc((void **)&C, (size_t)N * N * 2), "cudaMalloc (GEMM ceiling)");
	CKF(fill_random_bf16(A, (size_t)N * N, 2, 1.0f, st), "filling the GEMM operands");
	CKF(fill_random_bf16(B, (size_t)N * N, 3, 1.0f, st), "filling the GEMM operands");
	if ((rc = blas_open(&bl, err)) < 0)
		goto fail;
	for (i = 0; i < 3; i++)
		if ((rc = blas_gemm(bl, st, N, N, N, A, N, B, N, C, N, true, 0.f, err)) < 0)
			goto fail;
	CKF(cudaEventRecord(e0, st), "cudaEventRecord");
	for (i = 0; i < reps; i++)
		if ((rc = blas_gemm(bl, st, N, N, N, A, N, B, N, C, N, true, 0.f, err)) < 0)
			goto fail;
	CKF(cudaEventRecord(e1, st), "cudaEventRecord");
	CKF(cudaEventSynchronize(e1), "cudaEventSynchronize");
	CKF(cudaEventElapsedTime(&ms, e0, e1), "cudaEventElapsedTime");
	o->gemm_n = N;
	o->gemm_flops_per_s = 2.0 * N * (double)N * N * reps / (ms * 1e-3);
	snprintf(o->gemm_by, sizeof(o->gemm_by), "%s", blas_path(bl));
fail:
	blas_close(bl);
	cudaFree(a);
	cudaFree(b);
	cudaFree(A);
	cudaFree(B);
	cudaFree(C);
	if (e0)
		cudaEventDestroy(e0);
	if (e1)
		cudaEventDestroy(e1);
	if (st)
		cudaStreamDestroy(st);
	return rc;
}

static const eng_cuda_ops_v2 ops_v2 = {
	2,
	sizeof(eng_cuda_ops_v2),
	runtime_probe,
	upload,
	model_free,
	memory,
	describe,
	state_new,
	state_free,
	state_reserve,
	state_truncate,
	state_fork,
	state_memory,
	prepare,
	forward,
	logits,
	sample,
	logprobs,
	ceilings,
	selftest,
	profile,
};

} /* namespace ecu */

/* The backend table's entry point (the version script exports it). */
extern "C" __attribute__((visibility("default"))) const eng_cuda_ops_v2 *eng_cuda_module_v2(void)
{
	return &ecu::ops_v2;
}
