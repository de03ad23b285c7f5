/* gemv.cu - skinny products for decode: y = x . W^T for up to 8 rows of x
 * (the R loop rows of a step), reading each weight once for all rows at
 * the memory bus's speed.
 *
 * Each warp owns ROWS consecutive weight rows and walks K in 16-byte loads
 * (8 bf16 per lane, a warp covers 256 columns per load), U loads per row
 * in flight; x comes through the read-only path (L1: every warp of an SM
 * reads the same x), so warps never wait for each other.  A matrix with
 * few rows for the GPU's SMs (o_proj and down: 5120 rows, 160 blocks of 32
 * for 132 SMs, ran at 45-67% of the bus) can also be split along K into
 * `splits` ranges, each block of a tile adds its partial sums into a
 * workspace, and the last one of the tile finishes it (k_gemv).  The
 * configuration (rows per warp, warps per block, splits) is timed per
 * matrix at load (backend.cu, tune).
 * Accumulation is fp32, x is fp32 (the CPU backend's arithmetic, so decode
 * stays close to the oracle); weights are widened exactly.  A row's
 * summation order does not depend on how many rows run, so a batch of
 * several sessions gives each the bits it gets alone.
 *
 * RMSNorm can be fused (the PLT gate's rows and lm_head; decode's two
 * norms a layer run apart, dec_norm_launch): with normw set, x .
 * diag(normw) is what multiplies the weights, x^2 is summed on the way,
 * and the sums are scaled by rsqrt(mean + eps) at the end.  Epilogues
 * write, add into the residual, apply SwiGLU to (gate, up)
 * row pairs, the PLT gate's sigmoid, RoPE with the K/V write of the QKV
 * rows, or logits.  CPU reference: engine/cpu/matmul.c (the oracle) and
 * selftest.cu. */
#include "engine/cuda/cuda.h"

#include <string.h>

namespace ecu
{

static __device__ __forceinline__ uint4 ld_stream(const bf16 *p)
{
	uint4 r;

	asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0, %1, %2, %3}, [%4];"
		     : "=r"(r.x), "=r"(r.y), "=r"(r.z), "=r"(r.w)
		     : "l"(p));
	return r;
}

/* The epilogue of one (row pair, x row) for EPI_QKV: RoPE on q and k at
 * the row's position (cos and sin of the angle in double, as the CPU
 * computes them, from the step's table: a double sincos in every
 * epilogue lane held the QKV blocks up), q to the query buffer, k and v to the row's K/V slot in bf16. */
static __device__ void qkv_pair(const GemvArgs &a, int n, int m, float x0, float x1)
{
	const DecRow &R = a.P->row[a.rowsel[m]];
	const int HD = a.HD, half = HD / 2;
	int region, local, head, j;
	float y0 = x0, y1 = x1;

	if (n < a.QD) {
		region = 0;
		local = n;
	} else if (n < a.QD + a.KVD) {
		region = 1;
		local = n - a.QD;
	} else {
		region = 2;
		local = n - a.QD - a.KVD;
	}
	head = local / HD;
	j = (local % HD) / 2;
	if (region < 2) {
		const float2 cs = a.rope[(size_t)a.rowsel[m] * half + j];

		y0 = x0 * cs.x - x1 * cs.y;
		y1 = x1 * cs.x + x0 * cs.y;
	}
	if (region == 0) {
		float *q = a.q + (size_t)a.rowsel[m] * a.ldq + head * HD;

		q[j] = y0;
		q[j + half] = y1;
	} else {
		bf16 *kv = R.kv + (size_t)a.layer * 2 * a.KVD + (region == 2 ? a.KVD : 0) + head * HD;

		kv[j] = __float2bfloat16_rn(y0);
		kv[j + half] = __float2bfloat16_rn(y1);
	}
}

/* The epilogue of one value (row n, x row m), and of a (gate, up) or RoPE
 * pair of rows (n, n + 1). */
static __device__ __forceinline__ void epi_one(const GemvArgs &a, const GemvProb &p, int n, int m, float v)
{
	switch (p.mode) {
	case EPI_STORE:
		p.out[(size_t)a.rowsel[m] * p.ldo + n] = v;
		break;
	case EPI_ADD:
		p.out[(size_t)a.rowsel[m] * p.ldo + n] += v;
		break;
	case EPI_GATE:
		p.out[(size_t)a.rowsel[m] * p.ldo + n] = 1.0f / (1.0f + expf(-(v + p.bias[n])));
		break;
	case EPI_LOGITS:
		if (a.P)
			a.P->row[a.rowsel[m]].logits[n] = v;
		else
			p.out[(size_t)m * p.ldo + n] = v;
		break;
	}
}

static __device__ __forceinline__ void epi_pair(const GemvArgs &a, const GemvProb &p, int n, int m, float v0, float v1)
{
	if (p.mode == EPI_SWIGLU)
		p.out[(size_t)a.rowsel[m] * p.ldo + n / 2] = v0 / (1.0f + expf(-v0)) * v1;
	else
		qkv_pair(a, n, m, v0, v1);
}

/* The epilogue of the rows a warp owns, acc[r][m] the finished sums (every
 * lane holds them). */
template <int M, int ROWS>
static __device__ __forceinline__ void epilogue(const GemvArgs &a, const GemvProb &p, int n0, int lane,
						 float (&acc)[ROWS][M])
{
	if (p.mode == EPI_SWIGLU || p.mode == EPI_QKV) {
#pragma unroll
		for (int q = 0; q < ROWS / 2; q++)
#pragma unroll
			for (int m = 0; m < M; m++)
				if (lane == q * M + m && n0 + 2 * q < p.N)
					epi_pair(a, p, n0 + 2 * q, m, acc[2 * q][m], acc[2 * q + 1][m]);
		return;
	}
#pragma unroll
	for (int r = 0; r < ROWS; r++)
#pragma unroll
		for (int m = 0; m < M; m++)
			if (lane == r * M + m && n0 + r < p.N)
				epi_one(a, p, n0 + r, m, acc[r][m]);
}

static __device__ __forceinline__ float4 ld_x(const float *p)
{
	return __ldg((const float4 *)p);
}

/* The U steps of 256 columns from st of each row (zeros past s1 or Kp). */
template <int U, int ROWS>
static __device__ __forceinline__ void load_w(uint4 (&w)[U][ROWS], const bf16 *const (&wrow)[ROWS], int st, int s1,
					      int Kp, int lane)
{
#pragma unroll
	for (int u = 0; u < U; u++)
#pragma unroll
		for (int r = 0; r < ROWS; r++)
			w[u][r] = (st + u < s1 && (st + u) * 256 + lane * 8 < Kp) ? ld_stream(wrow[r] + (size_t)(st + u) * 256)
										  : make_uint4(0, 0, 0, 0);
}


/* One block: WARPS warps of ROWS consecutive rows each (a tile of
 * ROWS * WARPS rows) over one of the `splits` equal ranges of K (in steps
 * of 256 columns: a warp's 16-byte loads side by side).  The block reads
 * x straight from memory (the read-only path: every warp of the SM reads
 * the same x, so it comes from L1) and each warp works alone: no shared
 * memory, no barrier.  With one split a warp finishes its rows itself
 * (the norm's sum of squares is its own: every warp reads all of x); with
 * several, each block leaves its sums in the workspace and the last block
 * of a tile to finish (a counter per tile) adds them in split order, so
 * the result does not depend on which block ran when.  Up to 3 rows of x,
 * registers are held to 128 a thread (4 blocks of 4 warps an SM, or 2 of
 * 8): left free, two rows took 158-162, which left one block of 8 warps
 * (QKV: 226 blocks in two waves) or three of 4 on an SM.  At 128, one and
 * two rows spill nothing, three rows of 2 rows a warp spill 16 bytes a
 * thread; more rows would spill more, and keep what they need. */
template <int M, int ROWS, int WARPS>
__global__ void __launch_bounds__(WARPS * 32, M <= 3 ? 16 / WARPS : 1)
	k_gemv(const __grid_constant__ GemvArgs a, const GemvCfg c)
{
	constexpr int U = ROWS == 2 ? 4 : 2; /* steps in flight per warp */
	constexpr int T = ROWS * WARPS;
	const int S = c.splits;
	const int pi = (a.nprob > 1 && (int)blockIdx.x >= a.p[0].nblocks * S) ? 1 : 0;
	const GemvProb &p = a.p[pi];
	const int bid = (int)blockIdx.x - (pi ? a.p[0].nblocks * S : 0);
	const int tile = bid / S, split = bid % S;
	const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
	const int n0 = tile * T + warp * ROWS;
	const int Kp = p.ldw, nsteps = (Kp + 255) / 256;
	const int s0 = (int)((long long)nsteps * split / S), s1 = (int)((long long)nsteps * (split + 1) / S);
	float acc[ROWS][M], ss[M];
	const bf16 *wrow[ROWS];
	const float *xr[M];

#pragma unroll
	for (int r = 0; r < ROWS; r++) {
#pragma unroll
		for (int m = 0; m < M; m++)
			acc[r][m] = 0.f;
		wrow[r] = p.W + (size_t)(n0 + r < p.N ? n0 + r : p.N - 1) * p.ldw + lane * 8;
	}
#pragma unroll
	for (int m = 0; m < M; m++) {
		ss[m] = 0.f;
		xr[m] = (p.x ? p.x : a.x) + (size_t)a.rowsel[m] * a.ldx + lane * 8;
	}
	uint4 w[U][ROWS], wn[U][ROWS];

	/* the weights do not depend on the kernel before: the first ones are
	 * asked for before waiting for it (programmatic dependent launch, with
	 * a.pdl); then each group of U steps loads the next one's */
	grid_dep_trigger();
	load_w<U, ROWS>(w, wrow, s0, s1, Kp, lane);
	grid_dep_wait();
	for (int st = s0; st < s1; st += U) {
		load_w<U, ROWS>(wn, wrow, st + U, s1, Kp, lane);
#pragma unroll
		for (int u = 0; u < U; u++) {
			const int k = (st + u) * 256 + lane * 8;
			float4 g0 = make_float4(1.f, 1.f, 1.f, 1.f), g1 = g0;

			if (st + u >= s1 || k >= Kp)
				continue;
			if (p.normw) {
				g0 = ld_x(p.normw + k);
				g1 = ld_x(p.normw + k + 4);
			}
#pragma unroll
			for (int m = 0; m < M; m++) {
				const float4 x0 = ld_x(xr[m] + (size_t)(st + u) * 256), x1 = ld_x(xr[m] + (size_t)(st + u) * 256 + 4);
				const float xv[8] = { x0.x * g0.x, x0.y * g0.y, x0.z * g0.z, x0.w * g0.w,
						      x1.x * g1.x, x1.y * g1.y, x1.z * g1.z, x1.w * g1.w };

				if (p.normw)
					ss[m] += x0.x * x0.x + x0.y * x0.y + x0.z * x0.z + x0.w * x0.w + x1.x * x1.x +
						 x1.y * x1.y + x1.z * x1.z + x1.w * x1.w;
#pragma unroll
				for (int r = 0; r < ROWS; r++) {
					float wf[8];

					bf16x8_widen(wf, w[u][r]);
#pragma unroll
					for (int e = 0; e < 8; e++)
						acc[r][m] = fmaf(wf[e], xv[e], acc[r][m]);
				}
			}
		}
#pragma unroll
		for (int u = 0; u < U; u++)
#pragma unroll
			for (int r = 0; r < ROWS; r++)
				w[u][r] = wn[u][r];
	}
#pragma unroll
	for (int m = 0; m < M; m++) {
		ss[m] = warp_sum(ss[m]);
#pragma unroll
		for (int r = 0; r < ROWS; r++)
			acc[r][m] = warp_sum(acc[r][m]);
	}
	if (S > 1) {
		__shared__ bool last;
		const int gt = (pi ? a.p[0].nblocks : 0) + tile; /* the tile's counter */
		float *ws = c.ws + ((size_t)gt * S + split) * (T + 1) * M;

		if (lane == 0) {
#pragma unroll
			for (int r = 0; r < ROWS; r++)
#pragma unroll
				for (int m = 0; m < M; m++)
					ws[(warp * ROWS + r) * M + m] = acc[r][m];
			if (warp == 0)
#pragma unroll
				for (int m = 0; m < M; m++)
					ws[T * M + m] = ss[m];
		}
		__threadfence();
		__syncthreads();
		if (threadIdx.x == 0) {
			last = atomicAdd(&c.cnt[gt], 1u) == (unsigned)S - 1;
			if (last)
				c.cnt[gt] = 0; /* for the next launch: every block of the tile has counted */
		}
		__syncthreads();
		if (!last)
			return;
		__threadfence();
#pragma unroll
		for (int m = 0; m < M; m++) {
			ss[m] = 0.f;
#pragma unroll
			for (int r = 0; r < ROWS; r++)
				acc[r][m] = 0.f;
		}
		for (int sp = 0; sp < S; sp++) {
			const float *wp = c.ws + ((size_t)gt * S + sp) * (T + 1) * M;

#pragma unroll
			for (int m = 0; m < M; m++) {
				ss[m] += __ldcg(wp + T * M + m);
#pragma unroll
				for (int r = 0; r < ROWS; r++)
					acc[r][m] += __ldcg(wp + (warp * ROWS + r) * M + m);
			}
		}
	}
	if (p.normw)
#pragma unroll
		for (int m = 0; m < M; m++) {
			const float rs = 1.0f / sqrtf(ss[m] / (float)p.K + a.eps);

#pragma unroll
			for (int r = 0; r < ROWS; r++)
				acc[r][m] *= rs;
		}
	epilogue<M, ROWS>(a, p, n0, lane, acc);
}

/* ------------------------------------------------------------ on the tensor cores */

/* The same product for up to 4 rows of x on the tensor cores: the FMA
 * kernel issues about 100 instructions per KiB of weights at M = 2 (the
 * widening, 8 FMAs per weight and row, the norm), enough to fall behind
 * the bus; here a warp's 16 weight rows x 32 columns (1 KiB: one 16-byte
 * load per lane and row pair) are two mma.sync m16n8k16 whatever M is.
 * Each lane loads 8 consecutive columns (8t..8t+7 of rows g and g + 8, g =
 * lane / 4, t = lane % 4); a sum does not care which k is which, so the
 * first 4 of them serve as the fragment's k = 2t, 2t+1, 2t+8, 2t+9 of the
 * first mma and the other 4 of the second, and x's columns follow the same
 * map, each lane loading its own 8.  The 8 columns of B are x's rows: hi
 * parts in 0..3, lo parts in 4..7 (split_bf16), added at the end.  The
 * norm, the splits along K and the epilogues are k_gemv's. */
template <int M, int WARPS>
__global__ void __launch_bounds__(WARPS * 32) k_gemv_tc(const __grid_constant__ GemvArgs a, const GemvCfg c)
{
	constexpr int U = 4, T = 16 * WARPS;
	__shared__ float ys[T][M], ssb[M];
	__shared__ bool last;
	const int S = c.splits;
	const int pi = (a.nprob > 1 && (int)blockIdx.x >= a.p[0].nblocks * S) ? 1 : 0;
	const GemvProb &p = a.p[pi];
	const int bid = (int)blockIdx.x - (pi ? a.p[0].nblocks * S : 0);
	const int tile = bid / S, split = bid % S;
	const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
	const int n0 = tile * T + warp * 16;
	const int Kp = p.ldw, nsteps = (Kp + 31) / 32;
	const int s0 = (int)((long long)nsteps * split / S), s1 = (int)((long long)nsteps * (split + 1) / S);
	const bf16 *w0 = p.W + (size_t)(n0 + g < p.N ? n0 + g : p.N - 1) * p.ldw + 8 * t;
	const bf16 *w1 = p.W + (size_t)(n0 + g + 8 < p.N ? n0 + g + 8 : p.N - 1) * p.ldw + 8 * t;
	const int xm = g & 3; /* the x row whose hi (g < 4) or lo (g >= 4) part this lane gives */
	const bool xon = xm < M;
	const float *xr = (p.x ? p.x : a.x) + (size_t)a.rowsel[xon ? xm : 0] * a.ldx + 8 * t;
	float acc[4] = { 0.f, 0.f, 0.f, 0.f }, ss = 0.f;
	uint4 wa[U][2], wb[U][2];

	grid_dep_trigger();
#pragma unroll
	for (int u = 0; u < U; u++) {
		const bool ok = s0 + u < s1 && (s0 + u) * 32 + 8 * t < Kp;

		wa[u][0] = ok ? ld_stream(w0 + (size_t)(s0 + u) * 32) : make_uint4(0, 0, 0, 0);
		wa[u][1] = ok ? ld_stream(w1 + (size_t)(s0 + u) * 32) : make_uint4(0, 0, 0, 0);
	}
	grid_dep_wait();
	for (int st = s0; st < s1; st += U) {
#pragma unroll
		for (int u = 0; u < U; u++) {
			const bool ok = st + U + u < s1 && (st + U + u) * 32 + 8 * t < Kp;

			wb[u][0] = ok ? ld_stream(w0 + (size_t)(st + U + u) * 32) : make_uint4(0, 0, 0, 0);
			wb[u][1] = ok ? ld_stream(w1 + (size_t)(st + U + u) * 32) : make_uint4(0, 0, 0, 0);
		}
#pragma unroll
		for (int u = 0; u < U; u++) {
			const int k = (st + u) * 32 + 8 * t;
			float xv[8] = { 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f };
			uint32_t hi[4], lo[4];

			if (st + u >= s1)
				break;
			if (xon && k < Kp) {
				const float4 x0 = ld_x(xr + (size_t)(st + u) * 32), x1 = ld_x(xr + (size_t)(st + u) * 32 + 4);

				xv[0] = x0.x;
				xv[1] = x0.y;
				xv[2] = x0.z;
				xv[3] = x0.w;
				xv[4] = x1.x;
				xv[5] = x1.y;
				xv[6] = x1.z;
				xv[7] = x1.w;
				if (p.normw) {
					const float4 g0 = ld_x(p.normw + k), g1 = ld_x(p.normw + k + 4);

#pragma unroll
					for (int e = 0; e < 8; e++)
						ss = fmaf(xv[e], xv[e], ss);
					xv[0] *= g0.x;
					xv[1] *= g0.y;
					xv[2] *= g0.z;
					xv[3] *= g0.w;
					xv[4] *= g1.x;
					xv[5] *= g1.y;
					xv[6] *= g1.z;
					xv[7] *= g1.w;
				}
			}
#pragma unroll
			for (int e = 0; e < 4; e++)
				split_bf16(hi[e], lo[e], xv[2 * e], xv[2 * e + 1]);
			const uint32_t *b = g < 4 ? hi : lo;

			const uint32_t a0[4] = { wa[u][0].x, wa[u][1].x, wa[u][0].y, wa[u][1].y },
				       a1[4] = { wa[u][0].z, wa[u][1].z, wa[u][0].w, wa[u][1].w };

			mma16816(acc, a0, b[0], b[1]);
			mma16816(acc, a1, b[2], b[3]);
		}
#pragma unroll
		for (int u = 0; u < U; u++) {
			wa[u][0] = wb[u][0];
			wa[u][1] = wb[u][1];
		}
	}
	/* acc: (row g, columns 2t, 2t+1) and (row g + 8, the same); hi + lo */
#pragma unroll
	for (int e = 0; e < 4; e++)
		acc[e] += __shfl_down_sync(0xffffffffu, acc[e], 2);
	ss += __shfl_xor_sync(0xffffffffu, ss, 1);
	ss += __shfl_xor_sync(0xffffffffu, ss, 2);
	if (t < 2)
#pragma unroll
		for (int e = 0; e < 2; e++)
			if (2 * t + e < M) {
				ys[warp * 16 + g][2 * t + e] = acc[e];
				ys[warp * 16 + g + 8][2 * t + e] = acc[2 + e];
			}
	if (warp == 0 && t == 0 && g < M)
		ssb[g] = ss; /* every warp read the same x: warp 0's sum serves */
	__syncthreads();
	if (S > 1) {
		const int gt = (pi ? a.p[0].nblocks : 0) + tile;
		float *ws = c.ws + ((size_t)gt * S + split) * (T + 1) * M;

		for (int i = threadIdx.x; i < T * M; i += blockDim.x)
			ws[i] = (&ys[0][0])[i];
		if (threadIdx.x < M)
			ws[T * M + threadIdx.x] = ssb[threadIdx.x];
		__threadfence();
		__syncthreads();
		if (threadIdx.x == 0) {
			last = atomicAdd(&c.cnt[gt], 1u) == (unsigned)S - 1;
			if (last)
				c.cnt[gt] = 0;
		}
		__syncthreads();
		if (!last)
			return;
		__threadfence();
		for (int i = threadIdx.x; i < (T + 1) * M; i += blockDim.x) {
			float v = 0.f;

			for (int sp = 0; sp < S; sp++)
				v += __ldcg(c.ws + ((size_t)gt * S + sp) * (T + 1) * M + i);
			if (i < T * M)
				(&ys[0][0])[i] = v;
			else
				ssb[i - T * M] = v;
		}
		__syncthreads();
	}
	if (p.normw) {
		for (int i = threadIdx.x; i < T * M; i += blockDim.x)
			(&ys[0][0])[i] *= 1.0f / sqrtf(ssb[i % M] / (float)p.K + a.eps);
		__syncthreads();
	}
	if (p.mode == EPI_SWIGLU || p.mode == EPI_QKV) {
		for (int i = lane; i < 8 * M; i += 32) {
			const int q = i / M, m = i % M, n = n0 + 2 * q;

			if (n < p.N)
				epi_pair(a, p, n, m, ys[warp * 16 + 2 * q][m], ys[warp * 16 + 2 * q + 1][m]);
		}
	} else {
		for (int i = lane; i < 16 * M; i += 32) {
			const int r = i / M, m = i % M;

			if (n0 + r < p.N)
				epi_one(a, p, n0 + r, m, ys[warp * 16 + r][m]);
		}
	}
}

/* The grid of a launch with tiles of T rows (each problem's blocks in
 * a.p[i].nblocks), or 0 when the configuration cannot run: a split
 * without its workspace, or more than the workspace holds. */
static int plan_grid(GemvArgs &a, const GemvCfg &c, int T)
{
	int grid = 0, tiles = 0;

	if (c.splits < 1 || (c.splits > 1 && (!c.ws || !c.cnt)))
		return 0;
	for (int i = 0; i < a.nprob; i++) {
		a.p[i].nblocks = (a.p[i].N + T - 1) / T;
		tiles += a.p[i].nblocks;
		grid += a.p[i].nblocks * c.splits;
	}
	if (c.splits > 1 && ((size_t)tiles > c.cnt_n || (size_t)tiles * c.splits * (T + 1) * DEC_MAX_ROWS > c.ws_n))
		return 0;
	return grid;
}

/* Launches kernel on grid blocks of `threads`, as a programmatic
 * dependent of the kernel before it when a.pdl. */
static cudaError_t launch_gemv_kernel(void (*kernel)(GemvArgs, GemvCfg), int grid, int threads, const GemvArgs &a,
				      const GemvCfg &c, cudaStream_t st)
{
	if (!grid)
		return cudaErrorInvalidValue;
	return launch_dep(kernel, dim3(grid), dim3(threads), 0, st, a.pdl, a, c);
}

template <int M, int WARPS> static cudaError_t launch_tc(GemvArgs &a, const GemvCfg &c, cudaStream_t st)
{
	const int grid = plan_grid(a, c, 16 * WARPS);

	return launch_gemv_kernel(k_gemv_tc<M, WARPS>, grid, WARPS * 32, a, c, st);
}

template <int M, int ROWS, int WARPS> static cudaError_t launch(GemvArgs &a, const GemvCfg &c, cudaStream_t st)
{
	const int grid = plan_grid(a, c, ROWS * WARPS);

	return launch_gemv_kernel(k_gemv<M, ROWS, WARPS>, grid, WARPS * 32, a, c, st);
}

void gemv_init(void)
{
	/* nothing to set: the kernels use no dynamic shared memory */
}

template <int M> static cudaError_t launch_m(GemvArgs &a, GemvCfg c, cudaStream_t st)
{
	if (c.rows == 16) { /* the tensor cores, for up to 4 rows of x; more take the FMA kernel */
		constexpr int MT = M <= 4 ? M : 4;

		if (M <= 4)
			return c.warps == 4 ? launch_tc<MT, 4>(a, c, st) : launch_tc<MT, 8>(a, c, st);
		c.rows = 4;
	}
	if (c.rows == 2)
		return c.warps == 4 ? launch<M, 2, 4>(a, c, st) : launch<M, 2, 8>(a, c, st);
	return c.warps == 4 ? launch<M, 4, 4>(a, c, st) : launch<M, 4, 8>(a, c, st);
}

cudaError_t gemv_launch(GemvArgs a, GemvCfg c, cudaStream_t st)
{
	switch (a.m) {
	case 1:
		return launch_m<1>(a, c, st);
	case 2:
		return launch_m<2>(a, c, st);
	case 3:
		return launch_m<3>(a, c, st);
	case 4:
		return launch_m<4>(a, c, st);
	case 5:
		return launch_m<5>(a, c, st);
	case 6:
		return launch_m<6>(a, c, st);
	case 7:
		return launch_m<7>(a, c, st);
	case 8:
		return launch_m<8>(a, c, st);
	}
	return cudaErrorInvalidValue;
}

} /* namespace ecu */
