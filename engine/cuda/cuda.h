/* cuda.h - private to the CUDA module (the .cu files of engine/cuda/): the model and
 * state structures, the kernels' argument blocks and launchers, cuBLASLt.
 *
 * Layout on the device (all row-major; "p" = padded to a multiple of 8
 * elements so that every row starts 16-byte aligned):
 *   weights  bf16: wqkv [QKV][Hp] with the rows of each head permuted so
 *            that the RoPE pair (i, i + hd/2) is rows (2i, 2i+1); wo [H][Qp];
 *            wgu [2I][Hp] with gate row j at 2j and up row j at 2j+1 (SwiGLU
 *            pairs); wdown [H][Ip]; wgate [heads][Hp]; embed, lm_head
 *            [V][Hp]; norm weights and the gate bias fp32, padded with 0.
 *   state    kv0 [cap][L][2][KVD] bf16 (loop 0, every position);
 *            ring [R-1][65][L][2][KVD] bf16 (slot = position % 65);
 *            hslot [R-1][2][Hp] fp32 (h^r of the last two positions,
 *            slot = position % 2); logits [V] fp32; ids [cap] int32.
 *            Host (pinned): the later loops' K/V and the h^r of every
 *            position, so that truncation restores the windows exactly.
 */
#ifndef PLAIT_ENGINE_CUDA_CUDA_H
#define PLAIT_ENGINE_CUDA_CUDA_H

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/cuda/module.h"

namespace ecu
{

typedef __nv_bfloat16 bf16;

enum { WIN = ENG_LOCAL_WINDOW };	     /* 65 keys of local attention */
enum { DEC_MAX_ROWS = 8, DEC_SMAX = 64 }; /* decode graph rows; key splits */
enum { DEC_MERGE_HD = 128 }; /* the largest head dimension (the window is staged in shared memory) */
enum { HIST_BLOCK = 256 };
#define HIST_POOL_MAX ((size_t)4 << 30) /* bytes of pinned blocks a model keeps for reuse */		     /* positions per pinned history block */

/* ------------------------------------------------------------ errors */

int seterr(pl_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A CUDA error as a pl_err naming the operation; returns PL_EINTERNAL
 * (PL_ENOMEM for an allocation). */
int cuerr(pl_err *e, cudaError_t rc, const char *what);
#define ECU_CK(call, err, what)                                  \
	do {                                                     \
		cudaError_t ecu_rc_ = (call);                    \
		if (ecu_rc_ != cudaSuccess)                      \
			return ::ecu::cuerr((err), ecu_rc_, (what)); \
	} while (0)

/* ------------------------------------------------------------ decode params */

/* One row of a decode batch: one loop of one session at one position.
 * Everything a decode step reads that changes between steps lives here,
 * in device memory, so that one captured graph serves every step. */
struct DecRow {
	int pos, id, loop, group, qslot; /* qslot: index among its group's rows */
	int pad_;
	const float *h_in; /* loop >= 1 and pos > 0: h^{loop-1}_{pos-1} */
	float *h_out;	   /* loop < R-1: where h^{loop}_{pos} goes */
	float *logits;	   /* logits wanted: where they go (device) */
	bf16 *kv;	   /* this row's K/V at pos: [L][2][KVD] */
	const bf16 *ring;  /* loop >= 1: the loop's window [65][L][2][KVD] */
	int32_t *id_out;   /* the state's ids + pos */
};

struct DecGroup {
	int pos, nrows;
	const bf16 *kv0; /* the state's loop-0 cache [cap][L][2][KVD] */
	int rows[DEC_MAX_ROWS];
};

struct DecParams {
	int nrows, ngroups;
	DecRow row[DEC_MAX_ROWS];
	DecGroup grp[DEC_MAX_ROWS];
};

#ifdef __CUDACC__
/* Programmatic dependent launch (sm_90): trigger lets the next kernel of
 * the stream start (its blocks fill SMs as this one's finish); wait
 * returns once the kernel before has finished and its writes are
 * visible.  Without the launch attribute both are no-ops.  Every kernel
 * of the decode step triggers at its start; the GEMVs, the norms and the
 * attention kernel, launched with the attribute (launch_dep), wait before
 * they read anything the step wrote. */
static __device__ __forceinline__ void grid_dep_trigger(void)
{
	asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
}

static __device__ __forceinline__ void grid_dep_wait(void)
{
	asm volatile("griddepcontrol.wait;" ::: "memory");
}

/* Launches kernel(args...) on grid x block with smem bytes of dynamic
 * shared memory on st, as a programmatic dependent of the kernel before
 * it when pdl (the decode chain's GEMVs, norms and attention). */
template <typename... P, typename... A>
static cudaError_t launch_dep(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t st, bool pdl,
			      A &&...args)
{
	cudaLaunchConfig_t lc = {};
	cudaLaunchAttribute at;

	lc.gridDim = grid;
	lc.blockDim = block;
	lc.dynamicSmemBytes = smem;
	lc.stream = st;
	at.id = cudaLaunchAttributeProgrammaticStreamSerialization;
	at.val.programmaticStreamSerializationAllowed = 1;
	lc.attrs = &at;
	lc.numAttrs = pdl ? 1 : 0;
	return cudaLaunchKernelEx(&lc, kernel, static_cast<A &&>(args)...);
}

static __device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
	for (int o = 16; o; o >>= 1)
		v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

static __device__ __forceinline__ float warp_max(float v)
{
#pragma unroll
	for (int o = 16; o; o >>= 1)
		v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
	return v;
}

/* c += a . b on the tensor cores: mma.sync m16n8k16, bf16 in, fp32
 * accumulation (a: the A fragment's 4 registers, b0 b1 the B fragment's). */
static __device__ __forceinline__ void mma16816(float *c, const uint32_t *a, uint32_t b0, uint32_t b1)
{
	asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
		     "{%8, %9}, {%0, %1, %2, %3};"
		     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* 8 bf16 (16 bytes, lowest first) widened to fp32: exact. */
static __device__ __forceinline__ void bf16x8_widen(float *f, uint4 w)
{
	f[0] = __uint_as_float(w.x << 16);
	f[1] = __uint_as_float(w.x & 0xffff0000u);
	f[2] = __uint_as_float(w.y << 16);
	f[3] = __uint_as_float(w.y & 0xffff0000u);
	f[4] = __uint_as_float(w.z << 16);
	f[5] = __uint_as_float(w.z & 0xffff0000u);
	f[6] = __uint_as_float(w.w << 16);
	f[7] = __uint_as_float(w.w & 0xffff0000u);
}

/* x (fp32) as two bf16 parts, hi = bf16(x) and lo = bf16(x - hi): 16 bits
 * of mantissa between them, so a product on the tensor cores (bf16 in,
 * fp32 accumulation) keeps x to 2^-17 of itself (the GEMV's x, decode
 * attention's q and p). */
static __device__ __forceinline__ void split_bf16(uint32_t &hi, uint32_t &lo, float x0, float x1)
{
	const __nv_bfloat162 h = __floats2bfloat162_rn(x0, x1);
	const float2 hf = __bfloat1622float2(h);
	const __nv_bfloat162 l = __floats2bfloat162_rn(x0 - hf.x, x1 - hf.y);

	hi = *(const uint32_t *)&h;
	lo = *(const uint32_t *)&l;
}
#endif

/* ------------------------------------------------------------ GEMV */

enum { EPI_STORE, EPI_ADD, EPI_SWIGLU, EPI_GATE, EPI_QKV, EPI_LOGITS };

/* y = (x . diag(normw)) . W^T, times rsqrt(mean(x^2) + eps) when normw is
 * set: the RMSNorm is fused into the load of x. */
struct GemvProb {
	const bf16 *W;
	int N, K, ldw; /* K: true columns (the norm's mean); ldw = padded */
	const float *x; /* this matrix's x when not GemvArgs.x (same rows, ldx) */
	const float *normw;
	int mode;
	float *out;
	int ldo;
	const float *bias; /* EPI_GATE */
	int nblocks;	   /* filled by the launcher */
};

struct GemvArgs {
	const float *x; /* rows of ldx floats, padded with zeros to ldw */
	int ldx, m;
	int rowsel[DEC_MAX_ROWS]; /* m -> row of x (and of the outputs) */
	GemvProb p[2];		  /* a second matrix on the same rows (the gate) */
	int nprob;
	float eps;
	/* EPI_QKV and EPI_LOGITS (with P): per-row positions and pointers */
	const DecParams *P;
	int layer, L, HD, QD, KVD;
	const float2 *rope; /* EPI_QKV: (cos, sin) of each row's angles, [row][HD / 2] (dec_embed_launch) */
	float *q;	    /* EPI_QKV: rotated queries [row][QD] */
	int ldq;
	/* launched as a programmatic dependent of the kernel before (decode's
	 * chain): its first weights load while that one finishes */
	bool pdl;
};

struct GemvCfg {
	int rows, warps; /* rows per warp (2 or 4; 16: the tensor cores, x of up to 4 rows), warps per block (4 or 8) */
	int splits;	 /* ranges of K, each its own block (1: none) */
	/* splits > 1: partial sums, (rows * warps + 1) * DEC_MAX_ROWS floats
	 * per tile and split, and one counter per tile, zero between launches
	 * (the last block of a tile puts it back) */
	float *ws;
	unsigned *cnt;
	size_t ws_n, cnt_n;
};

enum { GEMV_WS_FLOATS = 1 << 20, GEMV_TILES = 1 << 14 };

void gemv_init(void);
cudaError_t gemv_launch(GemvArgs a, GemvCfg cfg, cudaStream_t st);

/* ------------------------------------------------------------ attention */

struct DecAttnArgs {
	const DecParams *P;
	const float *q; /* [row][QD] fp32, rotated */
	int ldq;
	float *part, *ml; /* split partials */
	int layer, L, NH, KVH, HD, KVD;
	float scale;
	const float *gate; /* [row][NH] */
	int ldgate;
	float *att; /* [row][ldatt] */
	int ldatt;
	/* head_dim 128, up to 16 queries per K/V head: one counter per
	 * (group, K/V head), zero between launches (k_dec_mma); NULL: the
	 * split and merge kernels */
	unsigned *cnt;
	bool pdl; /* launched as a programmatic dependent of the kernel before */
};
/* Loop 0 and the global branch of later loops over loop-0 K/V, split over
 * the keys; then the merge, each later loop's 65-key window and the gate. */
cudaError_t dec_attn_launch(const DecAttnArgs &a, int ngroups, int nrows, int nq_max, cudaStream_t st);
/* Shared memory of the split kernel, the path every GPU can take. */
size_t dec_split_smem(int nq_max, int HD);
/* Shared-memory limits raised on the current device, before any launch
 * (and any capture); *mma: whether the device has the shared memory of
 * the tensor-core kernel (k_dec_mma; DecAttnArgs.cnt only then). */
cudaError_t dec_attn_init(bool *mma);
cudaError_t flash_init(void);

struct FlashArgs {
	const bf16 *q; /* [n][QD] rotated */
	int ldq;
	const bf16 *kv0; /* loop-0 K of position 0, this layer, head 0 */
	long long kv0_ps;  /* elements between positions */
	const bf16 *lockv; /* loop r >= 1: [64 + n][2][KVD], row 0 = position p-64 */
	int p, n, loop;
	const float *gate; /* [n][NH], sigmoid applied */
	int ldg;
	bf16 *out; /* [n][ldo] */
	int ldo;
	int NH, KVH, HD, KVD;
	float scale;
};
/* Prefill attention of one segment: causal over loop-0 K/V, and for loops
 * r >= 1 also the 65-key window and the gate mix.  HD 128 runs on the
 * tensor cores (mma.sync, flash-attention style); HD <= 64 on a plain
 * kernel. */
cudaError_t flash_launch(const FlashArgs &a, cudaStream_t st);
bool flash_supported(int HD);

/* ------------------------------------------------------------ cuBLASLt */

struct Blas;
int blas_open(Blas **out, pl_err *err);
void blas_close(Blas *b);
/* Y[T][N] = beta * Y + X[T][K] . W[N][K]^T; X, W bf16; Y fp32 or bf16. */
int blas_gemm(Blas *b, cudaStream_t st, int T, int N, int K, const bf16 *X, int ldx, const bf16 *W, int ldw,
	      void *Y, int ldy, bool y_bf16, float beta, pl_err *err);
const char *blas_version(Blas *b);
/* The library file in use, or, once cuBLASLt could not run a product here,
 * why and that plait's own GEMM runs them. */
const char *blas_path(Blas *b);
/* plait's own tensor-core GEMM, the same contract as blas_gemm. */
cudaError_t gemm_fallback(cudaStream_t st, int T, int N, int K, const bf16 *X, int ldx, const bf16 *W, int ldw, void *Y,
			  int ldy, bool y_bf16, float beta);

/* ------------------------------------------------------------ small kernels */

/* Weight placement: a source tensor (checkpoint dtype, or random) to a
 * bf16 matrix in the device layout.  map: 0 identity, 1 the RoPE pair
 * permutation within heads of hd rows, 2 interleave (dst row 2r + which). */
struct PlaceArgs {
	const void *src; /* NULL: random */
	int dtype;	 /* eng_cuda_dtype */
	long long rows, cols, row0; /* this chunk: source rows row0..row0+rows-1 */
	bf16 *dst;
	int ldd, map, hd, which;
	long long dst_row0; /* destination row of source row 0 (before the map) */
	uint64_t seed, tag; /* random */
	long long K;	    /* random: columns of the whole tensor */
};
cudaError_t place_launch(const PlaceArgs &a, cudaStream_t st);
/* A vector to fp32 [n], zero-padded to np. */
cudaError_t vec_launch(const void *src, int dtype, long long n, long long np, float *dst, uint64_t seed,
		       uint64_t tag, cudaStream_t st);
cudaError_t fill_random_bf16(bf16 *p, size_t n, uint64_t seed, float scale, cudaStream_t st);

/* Decode: the embedding and the cross-loop combine, with each row's RoPE
 * table (half = HD / 2 pairs); the saved h^r. */
cudaError_t dec_embed_launch(const DecParams *P, int nrows, const bf16 *embed, int Hp, int H, float a,
			     float b, float *x, const float *inv_freq, int half, float2 *rope,
			     cudaStream_t st);
/* out = w * x * rsqrt(mean(x^2) + eps) for rows 0..nrows-1 of x (ldx
 * floats each, a multiple of 4, H of them real; the padding of x and w
 * is zero, and so becomes out's), as a programmatic dependent of the
 * kernel before when pdl. */
cudaError_t dec_norm_launch(const float *x, int ldx, int H, const float *w, float *out, int nrows, float eps, bool pdl,
			    cudaStream_t st);
cudaError_t dec_hsave_launch(const DecParams *P, const int *rows, int n, const float *x, int ldx,
			     const float *normw, int H, float eps, cudaStream_t st);

/* Prefill of one segment. */
cudaError_t pf_embed_launch(const int32_t *ids, int n, int loop, const bf16 *embed, int Hp, int H, float a, float b,
			    const float *hprev, int ldh, float *x, cudaStream_t st);
cudaError_t pf_norm_launch(const float *x, int n, int H, int Hp, const float *w1, bf16 *o1, const float *w2, bf16 *o2,
			   float *hout, int ldh, float eps, cudaStream_t st);
cudaError_t pf_rope_launch(const float *qkv, int n, int p, int NH, int KVH, int HD, const float *inv_freq, bf16 *q,
			   bf16 *kv, long long kv_ps, float *gate, const float *gbias, cudaStream_t st);
cudaError_t pf_swiglu_launch(const bf16 *gu, int n, int I, bf16 *act, int ldact, cudaStream_t st);
cudaError_t pf_lockv_fill_launch(const bf16 *ring, int p, int layer, int L, int KVD, bf16 *lockv, cudaStream_t st);
cudaError_t pf_ring_store_launch(bf16 *ring, int p, int n, int layer, int L, int KVD, const bf16 *lockv,
				 cudaStream_t st);

/* Sampling over one row of V logits (device).  seen: V bytes; w: V floats;
 * keys/vals and their sorted copies: V each; tmp: cub's temporary storage. */
struct SampleBufs {
	unsigned char *seen;
	float *w, *keys, *keys_sorted;
	int *vals, *vals_sorted;
	void *tmp;
	size_t tmp_bytes;
	int *id_out;
	double *lse_out;
};
size_t sample_tmp_bytes(int V);
cudaError_t sample_launch(const float *logits, int V, const int32_t *hist, int nhist, const eng_sampling *sp,
			  double draw, const SampleBufs &b, cudaStream_t st);
/* Sorted logits (descending, ties to the lower id) and their
 * log-sum-exp, for top-k log-probabilities. */
cudaError_t logprobs_launch(const float *logits, int V, const SampleBufs &b, cudaStream_t st);

/* ------------------------------------------------------------ model */

struct Layer {
	bf16 *wqkv, *wo, *wgu, *wdown, *wgate;
	float *ln1, *ln2, *gnorm, *gbias;
};

struct HTag {
	uint64_t serial;
	int loop;
	size_t start, count;
};

struct Graph {
	char key[256];
	cudaGraphExec_t exec;
	uint64_t uses;
};
enum { MAX_GRAPHS = 16 };

/* ------------------------------------------------------------ profile */

/* Where a step's time goes (plait bench engine --profile): with the
 * profile on, decode runs its kernels without the graph and an event
 * follows each, prefill too; the times between events add up per kind.
 * Off (the default), nothing is recorded. */
enum ProfKind {
	PK_START,
	PK_DEC_PARAMS, PK_DEC_NORM, PK_DEC_QKV, PK_DEC_ATTN, PK_DEC_O, PK_DEC_GU, PK_DEC_DOWN, PK_DEC_HSAVE, PK_DEC_LM,
	PK_DEC_HIST,
	PK_PF_EMBED, PK_PF_NORM, PK_PF_QKV, PK_PF_GATE, PK_PF_ROPE, PK_PF_ATTN, PK_PF_O, PK_PF_GU, PK_PF_SWIGLU,
	PK_PF_DOWN, PK_PF_WINDOW, PK_PF_HIST, PK_PF_FINAL,
	PK_N
};
enum { PROF_EVENTS = 256 };

struct Prof {
	bool on;
	cudaEvent_t ev[PROF_EVENTS];
	int kind[PROF_EVENTS];
	int n;
	double ms[PK_N];
	long dec_steps, pf_calls;
	double pf_rows;
};

/* Both do nothing while the profile is off.  prof_begin opens a call's
 * timeline, prof_mark closes the span since the last mark as kind,
 * prof_end adds the call's spans (it waits for the device). */
cudaError_t prof_begin(Prof *p, cudaStream_t st);
void prof_mark(Prof *p, cudaStream_t st, int kind);
cudaError_t prof_end(Prof *p);
cudaError_t prof_set(Prof *p, bool on);
void prof_free(Prof *p);
/* The figures as JSON members ("profile": {...}), appended to buf. */
void prof_json(const Prof *p, char *buf, size_t n, const double *dec_bytes);

struct Model {
	eng_config cfg;
	int dev;
	cudaDeviceProp prop;
	int H, Hp, I, Ip, NH, KVH, HD, QD, Qp, KVD, QKV, V, L, R, NHp;
	float eps, a, b;
	bool dec_mma; /* decode attention on the tensor cores (dec_attn_init) */
	bf16 *embed, *lm_head;
	float *norm, *inv_freq;
	float2 *drope; /* decode: each row's RoPE table [DEC_MAX_ROWS][HD / 2] */
	Layer *layer;
	bool has_gate;
	uint64_t weight_bytes;
	cudaStream_t st;
	cudaEvent_t ev0, ev1;
	pthread_mutex_t mu;
	Blas *blas;
	GemvCfg cfg_qkv, cfg_o, cfg_gu, cfg_down, cfg_lm;
	float *gws; /* the GEMV splits' workspace and counters (GemvCfg) */
	unsigned *gcnt;
	/* decode scratch (fixed at upload) */
	float *dx, *dq, *dgate, *datt, *dact, *dpart, *dml, *dlog;
	unsigned *dcnt; /* decode attention's counters (DecAttnArgs) */
	float *dxn;	/* decode: x normed for the next GEMV (dec_norm_launch) */
	DecParams *dparams;
	int nq_max;
	Graph graphs[MAX_GRAPHS];
	uint64_t graph_clock;
	/* prefill scratch (prepare) */
	size_t pf_rows;
	uint64_t pf_bytes;
	float *px, *pqkv, *pgate, *plog;
	bf16 *pn, *pgn, *pq, *plockv, *patt, *pgu, *pact;
	float *hchunk[2];
	HTag htag[2];
	size_t plog_rows;
	/* sampling */
	SampleBufs sb;
	uint64_t scratch_bytes;
	uint64_t state_bytes; /* live states, device */
	uint64_t serial;
	int states;
	char kernels[512];
	Prof prof;
	/* pinned history blocks of freed states, for the next ones */
	unsigned char **hpool;
	size_t npool, cappool;
};

struct State {
	Model *m;
	uint64_t serial;
	size_t cap;  /* positions with room */
	size_t npos; /* positions written (for fork and truncate) */
	bf16 *kv0, *ring;
	float *hslot, *logits;
	int32_t *ids;
	/* host history, pinned: blocks of HIST_BLOCK positions */
	unsigned char **hist;
	size_t nhist;
	bool broken;
	char broken_msg[256];
};

} /* namespace ecu */

#endif
