/* attn.cu - attention: decode (split over the keys, then merge with each
 * later loop's 65-key window and the gate) and prefill (flash-attention
 * style on the tensor cores for head_dim 128, a plain kernel for small
 * heads).
 *
 * Decode (plt.md, "Decode form"): the rows of one session at position t
 * form a group; for each K/V head, one block per key split reads loop-0
 * K/V of its keys once for every query of the group (the heads/kv_heads
 * query heads of loop 0 and of every later loop: their global branch), and
 * writes unnormalised partials with their max and sum (flash-decoding).
 * The merge kernel combines the splits of one (row, head); for a later
 * loop it adds the local branch over the loop's own window (positions
 * max(0, t-64)..t, read from the ring) and mixes the two with the gate.
 * The grid is fixed (DEC_SMAX splits; the keys per split follow t, read
 * from device memory) so that one captured graph serves every step.
 *
 * Prefill: one block per (64 queries, head) of a segment.  Loop 0: causal
 * over loop-0 K/V.  Loop r >= 1: the same global pass, then the local
 * pass over the segment's window buffer (positions p-64..p+n-1), then
 * g * global + (1 - g) * local.  Keys stream through shared memory in
 * tiles of 64 (cp.async, double-buffered); scores and P.V run on
 * mma.sync m16n8k16 (bf16 in, fp32 accumulation) with the online softmax
 * in registers: no T x T matrix exists anywhere.  CPU reference:
 * engine/cpu/forward.c (the oracle) and selftest.cu. */
#include "engine/cuda/cuda.h"

#include <math.h>

namespace ecu
{

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

/* Keys per split for nk keys: at least 128, a multiple of 32. */
static __device__ __forceinline__ int split_chunk(int nk)
{
	int c = (nk + DEC_SMAX - 1) / DEC_SMAX;

	c = c < 128 ? 128 : c;
	return (c + 31) & ~31;
}

static size_t dec_split_simt_smem(int nq_max, int HD)
{
	return sizeof(float) * ((size_t)nq_max * HD * 2 + 32 * (size_t)(HD + 1) + 32 * (size_t)HD + 4 * 32 +
				2 * (size_t)nq_max);
}

static size_t dec_split128_smem(int nq_max, int QC);

size_t dec_split_smem(int nq_max, int HD)
{
	return HD == 128 ? dec_split128_smem(nq_max, 16) : dec_split_simt_smem(nq_max, HD);
}

/* A split past the last key: its partials weigh nothing in the merge. */
static __device__ void dec_no_keys(const DecAttnArgs &a, const DecGroup &G, int kvh, int s, int nq, int gh)
{
	for (int q = threadIdx.x; q < nq; q += blockDim.x) {
		const int row = G.rows[q / gh], h = kvh * gh + q % gh;
		float *ml = a.ml + (((size_t)row * a.NH + h) * DEC_SMAX + s) * 2;

		ml[0] = -INFINITY;
		ml[1] = 0.f;
	}
}

/* grid (DEC_SMAX, KVH, groups), 128 threads */
__global__ void __launch_bounds__(128) k_dec_split(const __grid_constant__ DecAttnArgs a)
{
	grid_dep_trigger();
	const DecGroup &G = a.P->grp[blockIdx.z];
	const int kvh = blockIdx.y, s = blockIdx.x, HD = a.HD, gh = a.NH / a.KVH;
	const int nq = gh * G.nrows, nk = G.pos + 1, chunk = split_chunk(nk), j0 = s * chunk;
	const int j1 = min(nk, j0 + chunk);
	const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
	extern __shared__ __align__(16) float sm[];
	float *qs = sm, *os = qs + nq * HD, *ks = os + nq * HD, *vs = ks + 32 * (HD + 1), *pw = vs + 32 * HD,
	      *ms = pw + 4 * 32, *ls = ms + nq;
	const long long ps = (long long)a.L * 2 * a.KVD;
	const bf16 *kbase = G.kv0 + (size_t)a.layer * 2 * a.KVD + (size_t)kvh * HD;

	if (j0 >= nk) {
		dec_no_keys(a, G, kvh, s, nq, gh);
		return;
	}
	for (int i = threadIdx.x; i < nq * HD; i += blockDim.x) {
		const int q = i / HD, d = i % HD, row = G.rows[q / gh], h = kvh * gh + q % gh;

		qs[i] = a.q[(size_t)row * a.ldq + h * HD + d] * a.scale;
		os[i] = 0.f;
	}
	for (int q = threadIdx.x; q < nq; q += blockDim.x) {
		ms[q] = -INFINITY;
		ls[q] = 0.f;
	}
	for (int tile = j0; tile < j1; tile += 32) {
		__syncthreads(); /* the previous tile's reads of ks, vs are done */
		if ((HD & 7) == 0) {
			const int per = HD / 8;

			for (int i = threadIdx.x; i < 32 * per; i += blockDim.x) {
				const int jj = i / per, d = (i % per) * 8, j = tile + jj;
				float kf[8], vf[8];

				if (j < j1) {
					const bf16 *kp = kbase + (size_t)j * ps + d;
					uint4 ku = *(const uint4 *)kp, vu = *(const uint4 *)(kp + a.KVD);
					const __nv_bfloat162 *k2 = (const __nv_bfloat162 *)&ku, *v2 = (const __nv_bfloat162 *)&vu;

#pragma unroll
					for (int e = 0; e < 4; e++) {
						float2 kk = __bfloat1622float2(k2[e]), vv = __bfloat1622float2(v2[e]);

						kf[2 * e] = kk.x;
						kf[2 * e + 1] = kk.y;
						vf[2 * e] = vv.x;
						vf[2 * e + 1] = vv.y;
					}
				} else {
#pragma unroll
					for (int e = 0; e < 8; e++)
						kf[e] = vf[e] = 0.f;
				}
#pragma unroll
				for (int e = 0; e < 8; e++) {
					ks[jj * (HD + 1) + d + e] = kf[e];
					vs[jj * HD + d + e] = vf[e];
				}
			}
		} else {
			for (int i = threadIdx.x; i < 32 * HD; i += blockDim.x) {
				const int jj = i / HD, d = i % HD, j = tile + jj;
				float kf = 0.f, vf = 0.f;

				if (j < j1) {
					const bf16 *kp = kbase + (size_t)j * ps + d;

					kf = __bfloat162float(kp[0]);
					vf = __bfloat162float(kp[a.KVD]);
				}
				ks[jj * (HD + 1) + d] = kf;
				vs[jj * HD + d] = vf;
			}
		}
		__syncthreads();
		for (int q = warp; q < nq; q += 4) {
			const int j = tile + lane;
			float sc = -INFINITY;

			if (j < j1) {
				float acc = 0.f;

				for (int d = 0; d < HD; d++)
					acc = fmaf(qs[q * HD + d], ks[lane * (HD + 1) + d], acc);
				sc = acc;
			}
			const float mx = warp_max(sc), m_old = ms[q], m_new = fmaxf(m_old, mx);
			const float corr = __expf(m_old - m_new), pj = j < j1 ? __expf(sc - m_new) : 0.f;
			const float sum = warp_sum(pj);

			pw[warp * 32 + lane] = pj;
			__syncwarp();
			for (int d = lane; d < HD; d += 32) {
				float o = os[q * HD + d] * corr;

				for (int jj = 0; jj < 32; jj++)
					o = fmaf(pw[warp * 32 + jj], vs[jj * HD + d], o);
				os[q * HD + d] = o;
			}
			__syncwarp();
			if (lane == 0) {
				ms[q] = m_new;
				ls[q] = ls[q] * corr + sum;
			}
			__syncwarp();
		}
	}
	__syncthreads();
	for (int i = threadIdx.x; i < nq * HD; i += blockDim.x) {
		const int q = i / HD, d = i % HD, row = G.rows[q / gh], h = kvh * gh + q % gh;

		a.part[(((size_t)row * a.NH + h) * DEC_SMAX + s) * HD + d] = os[i];
	}
	for (int q = threadIdx.x; q < nq; q += blockDim.x) {
		const int row = G.rows[q / gh], h = kvh * gh + q % gh;
		float *ml = a.ml + (((size_t)row * a.NH + h) * DEC_SMAX + s) * 2;

		ml[0] = ms[q];
		ml[1] = ls[q];
	}
}

/* head_dim 128 (LoopCoder-V2's): the same partials, computed for the
 * bus.  Each warp takes 32 keys at a time: it copies their K and V rows
 * into its own shared memory at once (cp.async: every load of the tile in
 * flight together, one memory latency per tile), then each lane scores its
 * key for QC queries at a time (q staged once, read as broadcasts), the
 * online softmax runs per query across the warp, and P.V gives each lane 4
 * of the 128 dimensions (p broadcast by shuffles).  The four warps' states
 * are combined in shared memory (over the tiles' space) into the block's
 * partial.  (k_dec_split, one query at a time with barriers, took 52 us
 * per layer at 4096 keys; loading K and V straight into registers, 40 us:
 * the loads of a tile waited for one another.) */
enum { DK_LD = 136 }; /* K row stride in bf16: 272 bytes, conflict-free 16-byte reads per quarter warp */

static __device__ __forceinline__ void dec_cp16(void *dst, const void *src)
{
	const unsigned sa = (unsigned)__cvta_generic_to_shared(dst);

	asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(sa), "l"(src));
}

/* bytes: q of nq_max queries, then per warp a tile of K (32 x DK_LD) and
 * V (32 x 128) bf16, which the combine reuses (4 x QC x 128 floats) */
static size_t dec_split128_smem(int nq_max, int QC)
{
	const size_t tiles = 4 * (size_t)32 * (DK_LD + 128) * 2, comb = 4 * (size_t)QC * 128 * 4;

	return sizeof(float) * ((size_t)nq_max * 128 + 4 * (size_t)QC * 2) + (tiles > comb ? tiles : comb);
}

template <int QC> __global__ void __launch_bounds__(128) k_dec_split128(const __grid_constant__ DecAttnArgs a)
{
	constexpr int HD = 128;
	const DecGroup &G = a.P->grp[blockIdx.z];
	const int kvh = blockIdx.y, s = blockIdx.x, gh = a.NH / a.KVH;
	const int nq = gh * G.nrows, nk = G.pos + 1, chunk = split_chunk(nk), j0 = s * chunk;
	const int j1 = min(nk, j0 + chunk);
	const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
	extern __shared__ __align__(16) float sm[];
	float *qs = sm, *mls = qs + nq * HD, *os = mls + 4 * QC * 2;
	bf16 *kt = (bf16 *)os + (size_t)warp * 32 * (DK_LD + 128), *vt = kt + 32 * DK_LD;
	const long long ps = (long long)a.L * 2 * a.KVD;
	const bf16 *kbase = G.kv0 + (size_t)a.layer * 2 * a.KVD + (size_t)kvh * HD;

	grid_dep_trigger();
	if (j0 >= nk) {
		dec_no_keys(a, G, kvh, s, nq, gh);
		return;
	}
	for (int i = threadIdx.x; i < nq * HD; i += blockDim.x) {
		const int q = i / HD, d = i % HD, row = G.rows[q / gh], h = kvh * gh + q % gh;

		qs[i] = a.q[(size_t)row * a.ldq + h * HD + d] * a.scale;
	}
	__syncthreads();
	for (int qc = 0; qc < nq; qc += QC) {
		float m[QC], l[QC], o[QC][4];

#pragma unroll
		for (int i = 0; i < QC; i++) {
			m[i] = -INFINITY;
			l[i] = 0.f;
			o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.f;
		}
		for (int t0 = j0 + warp * 32; t0 < j1; t0 += 128) {
			const int nj = min(32, j1 - t0);
			const bool ok = lane < nj;

			/* the tile: row jj's 16 chunks of 16 bytes, lane = chunk + 16 * (jj & 1) */
			for (int jj = lane >> 4; jj < nj; jj += 2) {
				const bf16 *src = kbase + (size_t)(t0 + jj) * ps + (lane & 15) * 8;

				dec_cp16(kt + jj * DK_LD + (lane & 15) * 8, src);
				dec_cp16(vt + jj * 128 + (lane & 15) * 8, src + a.KVD);
			}
			asm volatile("cp.async.wait_all;" ::: "memory");
			__syncwarp();
			float sc[QC];

#pragma unroll
			for (int i = 0; i < QC; i++)
				sc[i] = 0.f;
#pragma unroll 4
			for (int d8 = 0; d8 < HD / 8; d8++) {
				float kf[8];

				bf16x8_widen(kf, ok ? *(const uint4 *)(kt + lane * DK_LD + d8 * 8) : make_uint4(0, 0, 0, 0));
#pragma unroll
				for (int i = 0; i < QC; i++) {
					if (qc + i >= nq)
						break;
					const float4 q0 = *(const float4 *)&qs[(qc + i) * HD + d8 * 8],
						     q1 = *(const float4 *)&qs[(qc + i) * HD + d8 * 8 + 4];

					sc[i] = fmaf(q0.x, kf[0], sc[i]);
					sc[i] = fmaf(q0.y, kf[1], sc[i]);
					sc[i] = fmaf(q0.z, kf[2], sc[i]);
					sc[i] = fmaf(q0.w, kf[3], sc[i]);
					sc[i] = fmaf(q1.x, kf[4], sc[i]);
					sc[i] = fmaf(q1.y, kf[5], sc[i]);
					sc[i] = fmaf(q1.z, kf[6], sc[i]);
					sc[i] = fmaf(q1.w, kf[7], sc[i]);
				}
			}
#pragma unroll
			for (int i = 0; i < QC; i++) {
				if (qc + i >= nq)
					break;
				const float v = ok ? sc[i] : -INFINITY, mx = warp_max(v), mn = fmaxf(m[i], mx);
				const float corr = __expf(m[i] - mn);

				sc[i] = ok ? __expf(v - mn) : 0.f; /* p */
				l[i] = l[i] * corr + warp_sum(sc[i]);
				m[i] = mn;
				o[i][0] *= corr;
				o[i][1] *= corr;
				o[i][2] *= corr;
				o[i][3] *= corr;
			}
			for (int jj = 0; jj < nj; jj++) {
				const uint2 vu = *(const uint2 *)(vt + jj * 128 + lane * 4);
				const float v0 = __uint_as_float(vu.x << 16), v1 = __uint_as_float(vu.x & 0xffff0000u);
				const float v2 = __uint_as_float(vu.y << 16), v3 = __uint_as_float(vu.y & 0xffff0000u);

#pragma unroll
				for (int i = 0; i < QC; i++) {
					if (qc + i >= nq)
						break;
					const float pj = __shfl_sync(0xffffffffu, sc[i], jj);

					o[i][0] = fmaf(pj, v0, o[i][0]);
					o[i][1] = fmaf(pj, v1, o[i][1]);
					o[i][2] = fmaf(pj, v2, o[i][2]);
					o[i][3] = fmaf(pj, v3, o[i][3]);
				}
			}
			__syncwarp(); /* the tile's reads are done before the next copy */
		}
		__syncthreads(); /* every warp's tiles are read: the combine may reuse the space */
#pragma unroll
		for (int i = 0; i < QC; i++) {
			*(float4 *)&os[(warp * QC + i) * HD + lane * 4] = make_float4(o[i][0], o[i][1], o[i][2], o[i][3]);
			if (lane == 0) {
				mls[(warp * QC + i) * 2] = m[i];
				mls[(warp * QC + i) * 2 + 1] = l[i];
			}
		}
		__syncthreads();
		for (int i = threadIdx.x; i < QC * HD; i += blockDim.x) {
			const int qi = i / HD, d = i % HD, q = qc + qi;

			if (q >= nq)
				break;
			float M = -INFINITY, L = 0.f, O = 0.f;

			for (int w = 0; w < 4; w++)
				M = fmaxf(M, mls[(w * QC + qi) * 2]);
			for (int w = 0; w < 4; w++) {
				const float mw = mls[(w * QC + qi) * 2], e = mw == -INFINITY ? 0.f : __expf(mw - M);

				L += e * mls[(w * QC + qi) * 2 + 1];
				O += e * os[(w * QC + qi) * HD + d];
			}
			const int row = G.rows[q / gh], h = kvh * gh + q % gh;

			a.part[(((size_t)row * a.NH + h) * DEC_SMAX + s) * HD + d] = O;
			if (d == 0) {
				float *ml = a.ml + (((size_t)row * a.NH + h) * DEC_SMAX + s) * 2;

				ml[0] = M;
				ml[1] = L;
			}
		}
		__syncthreads(); /* the combine's reads are done before the next pass's tiles */
	}
}

/* grid (NH, rows), 128 threads: merge the splits; the window and the gate
 * of later loops; the output row.  Every global read is issued before the
 * first is used: the window's K and V rows go to shared memory by
 * cp.async, the splits' partials are read eight at a time (a loop of
 * dependent reads, one per split and per window key, took ~20 us). */
__global__ void __launch_bounds__(128) k_dec_merge(const __grid_constant__ DecAttnArgs a)
{
	const int h = blockIdx.x, r = blockIdx.y, HD = a.HD, gh = a.NH / a.KVH, kvh = h / gh;
	const DecRow &R = a.P->row[r];
	const int t = R.pos, nk = t + 1, ns = (nk + split_chunk(nk) - 1) / split_chunk(nk);
	const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
	__shared__ float wsplit[DEC_SMAX], sc[WIN], stat[2], qsh[DEC_MERGE_HD];
	__shared__ __align__(16) bf16 kw[WIN * DEC_MERGE_HD], vw[WIN * DEC_MERGE_HD];
	const float *ml = a.ml + ((size_t)r * a.NH + h) * DEC_SMAX * 2;
	const float *part = a.part + ((size_t)r * a.NH + h) * DEC_SMAX * HD;
	const int lo = t >= WIN - 1 ? t - (WIN - 1) : 0, nl = t - lo + 1;

	grid_dep_trigger();
	if (R.loop >= 1) {
		/* the loop's own K/V at positions lo..t, from the ring, all in flight */
		const long long ps = (long long)a.L * 2 * a.KVD;
		const int per = HD / 8;

		if (HD % 8 == 0)
			for (int c = threadIdx.x; c < nl * per; c += blockDim.x) {
				const int k = c / per, d = (c % per) * 8, pos = lo + k;
				const bf16 *kp =
					R.ring + (size_t)(pos % WIN) * ps + (size_t)a.layer * 2 * a.KVD + (size_t)kvh * HD + d;

				dec_cp16(kw + k * HD + d, kp);
				dec_cp16(vw + k * HD + d, kp + a.KVD);
			}
		else /* rows not in 16-byte pieces: element by element */
			for (int c = threadIdx.x; c < nl * HD; c += blockDim.x) {
				const int k = c / HD, d = c % HD, pos = lo + k;
				const bf16 *kp =
					R.ring + (size_t)(pos % WIN) * ps + (size_t)a.layer * 2 * a.KVD + (size_t)kvh * HD + d;

				kw[k * HD + d] = kp[0];
				vw[k * HD + d] = kp[a.KVD];
			}
		for (int d = threadIdx.x; d < HD; d += blockDim.x)
			qsh[d] = a.q[(size_t)r * a.ldq + h * HD + d];
	}
	if (warp == 0) {
		float m = -INFINITY, l = 0.f;

		for (int s = lane; s < ns; s += 32)
			m = fmaxf(m, ml[2 * s]);
		m = warp_max(m);
		for (int s = lane; s < ns; s += 32) {
			const float w = __expf(ml[2 * s] - m);

			wsplit[s] = w;
			l += w * ml[2 * s + 1];
		}
		l = warp_sum(l);
		if (lane == 0)
			stat[0] = 1.0f / l;
	}
	if (R.loop >= 1) {
		asm volatile("cp.async.wait_all;" ::: "memory");
		__syncthreads();
		for (int k = warp; k < nl; k += 4) {
			float acc = 0.f;

			for (int d = lane; d < HD; d += 32)
				acc = fmaf(qsh[d], __bfloat162float(kw[k * HD + d]), acc);
			acc = warp_sum(acc);
			if (lane == 0)
				sc[k] = acc * a.scale;
		}
		__syncthreads();
		if (warp == 0) {
			float m = -INFINITY, l = 0.f;

			for (int k = lane; k < nl; k += 32)
				m = fmaxf(m, sc[k]);
			m = warp_max(m);
			for (int k = lane; k < nl; k += 32) {
				const float e = __expf(sc[k] - m);

				sc[k] = e;
				l += e;
			}
			l = warp_sum(l);
			if (lane == 0)
				stat[1] = 1.0f / l;
		}
	}
	__syncthreads();
	for (int d = threadIdx.x; d < HD; d += blockDim.x) {
		float o = 0.f;

		for (int s0 = 0; s0 < ns; s0 += 8) {
			float v[8];

#pragma unroll
			for (int k = 0; k < 8; k++)
				v[k] = s0 + k < ns ? part[(size_t)(s0 + k) * HD + d] : 0.f;
#pragma unroll
			for (int k = 0; k < 8; k++)
				if (s0 + k < ns)
					o = fmaf(v[k], wsplit[s0 + k], o);
		}
		if (R.loop >= 1) {
			const float g = a.gate[(size_t)r * a.ldgate + h];
			float loc = 0.f;

			for (int k = 0; k < nl; k++)
				loc = fmaf(sc[k], __bfloat162float(vw[k * HD + d]), loc);
			a.att[(size_t)r * a.ldatt + h * HD + d] = g * (o * stat[0]) + (1.0f - g) * (loc * stat[1]);
		} else {
			a.att[(size_t)r * a.ldatt + h * HD + d] = o * stat[0];
		}
	}
}

cudaError_t dec_attn_init(int nq_max, int HD)
{
	static size_t set; /* only raised: every model of the process keeps fitting */
	const size_t need = dec_split_smem(nq_max, HD);
	cudaError_t rc;

	if (need <= set)
		return cudaSuccess;
	if ((rc = cudaFuncSetAttribute(k_dec_split, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)need)) ==
		    cudaSuccess &&
	    (rc = cudaFuncSetAttribute(k_dec_split128<8>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)need)) ==
		    cudaSuccess &&
	    (rc = cudaFuncSetAttribute(k_dec_split128<16>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)need)) ==
		    cudaSuccess)
		set = need;
	return rc;
}

cudaError_t dec_attn_launch(const DecAttnArgs &a, int ngroups, int nrows, int nq_max, cudaStream_t st)
{
	const dim3 grid(DEC_SMAX, a.KVH, ngroups);
	cudaError_t rc;

	if (a.HD == 128 && nq_max <= 8)
		k_dec_split128<8><<<grid, 128, dec_split128_smem(nq_max, 8), st>>>(a);
	else if (a.HD == 128)
		k_dec_split128<16><<<grid, 128, dec_split128_smem(nq_max, 16), st>>>(a);
	else
		k_dec_split<<<grid, 128, dec_split_simt_smem(nq_max, a.HD), st>>>(a);
	if ((rc = cudaGetLastError()) != cudaSuccess)
		return rc;
	k_dec_merge<<<dim3(a.NH, nrows), 128, 0, st>>>(a);
	return cudaGetLastError();
}

/* ------------------------------------------------------------ prefill, small heads */

enum { SIMT_HD = 64 };

/* One pass of softmax attention for one query over keys lo..hi, each
 * thread its own keys, merged over the block.  kp(j) is key j's row;
 * the value follows at +KVD. */
static __device__ void simt_pass(float *out, const float *q, int HD, int lo, int hi, const bf16 *base,
				 long long ps, int KVD, float *red)
{
	float m = -INFINITY, l = 0.f, o[SIMT_HD];
	const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;

#pragma unroll
	for (int d = 0; d < SIMT_HD; d++)
		o[d] = 0.f;
	for (int j = lo + (int)threadIdx.x; j <= hi; j += blockDim.x) {
		const bf16 *kp = base + (long long)j * ps;
		float s = 0.f;

#pragma unroll
		for (int d = 0; d < SIMT_HD; d++)
			if (d < HD)
				s = fmaf(q[d], __bfloat162float(kp[d]), s);
		const float mn = fmaxf(m, s), c = __expf(m - mn), p = __expf(s - mn);

		l = l * c + p;
#pragma unroll
		for (int d = 0; d < SIMT_HD; d++)
			if (d < HD)
				o[d] = o[d] * c + p * __bfloat162float(kp[KVD + d]);
		m = mn;
	}
	/* block max, then each thread's share rescaled */
	float bm = warp_max(m);
	if (lane == 0)
		red[warp] = bm;
	__syncthreads();
	bm = fmaxf(fmaxf(red[0], red[1]), fmaxf(red[2], red[3]));
	__syncthreads();
	const float c = m == -INFINITY ? 0.f : __expf(m - bm);
	float bl = warp_sum(l * c);
	if (lane == 0)
		red[warp] = bl;
	__syncthreads();
	bl = red[0] + red[1] + red[2] + red[3];
	__syncthreads();
#pragma unroll
	for (int d = 0; d < SIMT_HD; d++) {
		if (d >= HD)
			break;
		const float v = warp_sum(o[d] * c);

		if (lane == 0)
			red[4 + warp * SIMT_HD + d] = v;
	}
	__syncthreads();
	for (int d = threadIdx.x; d < HD; d += blockDim.x)
		out[d] = (red[4 + d] + red[4 + SIMT_HD + d] + red[4 + 2 * SIMT_HD + d] + red[4 + 3 * SIMT_HD + d]) / bl;
	__syncthreads();
}

/* grid (n, NH), 128 threads */
__global__ void __launch_bounds__(128) k_attn_simt(const __grid_constant__ FlashArgs a)
{
	const int i = blockIdx.x, h = blockIdx.y, HD = a.HD, kvh = h / (a.NH / a.KVH), qp = a.p + i;
	__shared__ float red[4 + 4 * SIMT_HD], og[SIMT_HD], ol[SIMT_HD];
	float q[SIMT_HD];

#pragma unroll
	for (int d = 0; d < SIMT_HD; d++)
		q[d] = d < HD ? __bfloat162float(a.q[(size_t)i * a.ldq + h * HD + d]) * a.scale : 0.f;
	simt_pass(og, q, HD, 0, qp, a.kv0 + (size_t)kvh * HD, a.kv0_ps, a.KVD, red);
	if (a.loop >= 1) {
		const int lo = qp >= WIN - 1 ? qp - (WIN - 1) : 0;

		/* lockv row 0 is position p - 64 */
		simt_pass(ol, q, HD, lo - (a.p - 64), qp - (a.p - 64), a.lockv + (size_t)kvh * HD, 2 * a.KVD, a.KVD,
			  red);
		const float g = a.gate[(size_t)i * a.ldg + h];

		for (int d = threadIdx.x; d < HD; d += blockDim.x)
			a.out[(size_t)i * a.ldo + h * HD + d] = __float2bfloat16_rn(g * og[d] + (1.0f - g) * ol[d]);
	} else {
		for (int d = threadIdx.x; d < HD; d += blockDim.x)
			a.out[(size_t)i * a.ldo + h * HD + d] = __float2bfloat16_rn(og[d]);
	}
}

/* ------------------------------------------------------------ prefill, head_dim 128 */

enum { FA_BM = 64, FA_BN = 64, FA_HD = 128, FA_LD = FA_HD + 8 /* 272-byte rows: no bank conflicts */ };

static __device__ __forceinline__ void mma16816(float *c, const uint32_t *a, uint32_t b0, uint32_t b1)
{
	asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
		     "{%8, %9}, {%0, %1, %2, %3};"
		     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

static __device__ __forceinline__ void ldsm_x4_trans(uint32_t *r, const void *p)
{
	const unsigned s = (unsigned)__cvta_generic_to_shared(p);

	asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];"
		     : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
		     : "r"(s));
}

static __device__ __forceinline__ void cp_async16(void *dst, const void *src, bool valid)
{
	const unsigned s = (unsigned)__cvta_generic_to_shared(dst);

	asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(s), "l"(src), "r"(valid ? 16 : 0));
}

static __device__ __forceinline__ uint32_t pack_bf16(float lo, float hi)
{
	__nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);

	return *(uint32_t *)&v;
}

/* K and V of keys kbase..kbase+63 into one stage; keys outside
 * [klo, khi] are zero-filled (never read from memory). */
static __device__ __forceinline__ void fa_load(bf16 *ks, bf16 *vs, const bf16 *base, long long ps, int KVD, int kbase,
					       int klo, int khi, int src_off)
{
	/* 64 keys x 16 chunks of 16 bytes, for K and for V: 8 of each per thread */
	for (int c = threadIdx.x; c < FA_BN * 16; c += 128) {
		const int r = c >> 4, col = (c & 15) * 8, j = kbase + r;
		const bool valid = j >= klo && j <= khi;
		const bf16 *src = base + (valid ? (long long)(j - src_off) * ps : 0) + col;

		cp_async16(ks + r * FA_LD + col, src, valid);
		cp_async16(vs + r * FA_LD + col, src + KVD, valid);
	}
	asm volatile("cp.async.commit_group;");
}

/* One pass over keys [klo, khi] (absolute positions, source row = key -
 * src_off) for the warp's 16 query rows; qpos0: position of the warp's
 * row 0; local: the window mask.  Returns the normalised output in o. */
static __device__ void fa_pass(float (*o)[4], const uint32_t (*qa)[4], bf16 *smem, const bf16 *base, long long ps,
			       int KVD, int klo, int khi, int src_off, int qpos0, bool local, float scale_log2)
{
	const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t4 = lane & 3;
	bf16 *ks[2] = { smem, smem + 2 * FA_BN * FA_LD }, *vs[2] = { smem + FA_BN * FA_LD, smem + 3 * FA_BN * FA_LD };
	float m[2] = { -INFINITY, -INFINITY }, l[2] = { 0.f, 0.f };
	const int first = klo, ntiles = (khi - klo + FA_BN) / FA_BN;

	(void)warp;
#pragma unroll
	for (int nt = 0; nt < FA_HD / 8; nt++)
		o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.f;
	if (ntiles <= 0)
		return;
	fa_load(ks[0], vs[0], base, ps, KVD, first, klo, khi, src_off);
	for (int it = 0; it < ntiles; it++) {
		const int kb = first + it * FA_BN, stg = it & 1;

		if (it + 1 < ntiles) {
			fa_load(ks[stg ^ 1], vs[stg ^ 1], base, ps, KVD, kb + FA_BN, klo, khi, src_off);
			asm volatile("cp.async.wait_group 1;");
		} else {
			asm volatile("cp.async.wait_group 0;");
		}
		__syncthreads();
		const bf16 *K = ks[stg], *V = vs[stg];
		float s[FA_BN / 8][4];

#pragma unroll
		for (int nt = 0; nt < FA_BN / 8; nt++)
			s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.f;
#pragma unroll
		for (int kk = 0; kk < FA_HD / 16; kk++)
#pragma unroll
			for (int nt = 0; nt < FA_BN / 8; nt++) {
				const bf16 *kr = K + (nt * 8 + g) * FA_LD + kk * 16 + 2 * t4;

				mma16816(s[nt], qa[kk], *(const uint32_t *)kr, *(const uint32_t *)(kr + 8));
			}
		/* mask, scale, row max */
		float mx[2] = { -INFINITY, -INFINITY };
#pragma unroll
		for (int nt = 0; nt < FA_BN / 8; nt++)
#pragma unroll
			for (int e = 0; e < 4; e++) {
				const int key = kb + nt * 8 + 2 * t4 + (e & 1), qp = qpos0 + g + (e >> 1) * 8;
				const bool ok = key >= klo && key <= khi && key <= qp && (!local || key >= qp - (WIN - 1));

				s[nt][e] = ok ? s[nt][e] * scale_log2 : -INFINITY;
				mx[e >> 1] = fmaxf(mx[e >> 1], s[nt][e]);
			}
		float base_[2], corr[2];
#pragma unroll
		for (int rr = 0; rr < 2; rr++) {
			mx[rr] = fmaxf(mx[rr], __shfl_xor_sync(0xffffffffu, mx[rr], 1));
			mx[rr] = fmaxf(mx[rr], __shfl_xor_sync(0xffffffffu, mx[rr], 2));
			const float mn = fmaxf(m[rr], mx[rr]);

			base_[rr] = mn == -INFINITY ? 0.f : mn;
			corr[rr] = exp2f(m[rr] - base_[rr]);
			m[rr] = mn;
			l[rr] *= corr[rr];
		}
#pragma unroll
		for (int nt = 0; nt < FA_HD / 8; nt++) {
			o[nt][0] *= corr[0];
			o[nt][1] *= corr[0];
			o[nt][2] *= corr[1];
			o[nt][3] *= corr[1];
		}
		uint32_t pa[FA_BN / 16][4];
#pragma unroll
		for (int nt = 0; nt < FA_BN / 8; nt++) {
#pragma unroll
			for (int e = 0; e < 4; e++) {
				s[nt][e] = exp2f(s[nt][e] - base_[e >> 1]);
				l[e >> 1] += s[nt][e];
			}
		}
#pragma unroll
		for (int kk = 0; kk < FA_BN / 16; kk++) {
			pa[kk][0] = pack_bf16(s[2 * kk][0], s[2 * kk][1]);
			pa[kk][1] = pack_bf16(s[2 * kk][2], s[2 * kk][3]);
			pa[kk][2] = pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]);
			pa[kk][3] = pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3]);
		}
		/* O += P . V: V^T fragments through ldmatrix.trans */
#pragma unroll
		for (int kk = 0; kk < FA_BN / 16; kk++)
#pragma unroll
			for (int dn = 0; dn < FA_HD / 8; dn += 2) {
				const int tile = lane >> 3, r = lane & 7;
				const bf16 *vp = V + (kk * 16 + (tile & 1) * 8 + r) * FA_LD + dn * 8 + (tile >> 1) * 8;
				uint32_t b[4];

				ldsm_x4_trans(b, vp);
				mma16816(o[dn], pa[kk], b[0], b[1]);
				mma16816(o[dn + 1], pa[kk], b[2], b[3]);
			}
		__syncthreads(); /* this stage is reloaded two tiles later */
	}
#pragma unroll
	for (int rr = 0; rr < 2; rr++) {
		l[rr] += __shfl_xor_sync(0xffffffffu, l[rr], 1);
		l[rr] += __shfl_xor_sync(0xffffffffu, l[rr], 2);
		l[rr] = l[rr] > 0.f ? 1.0f / l[rr] : 0.f;
	}
#pragma unroll
	for (int nt = 0; nt < FA_HD / 8; nt++) {
		o[nt][0] *= l[0];
		o[nt][1] *= l[0];
		o[nt][2] *= l[1];
		o[nt][3] *= l[1];
	}
}

/* grid (tiles of 64 queries, NH), 128 threads (4 warps of 16 queries) */
template <bool LOCAL> __global__ void __launch_bounds__(128) k_flash128(const __grid_constant__ FlashArgs a)
{
	extern __shared__ __align__(16) bf16 fsm[];
	const int qt = gridDim.x - 1 - blockIdx.x, h = blockIdx.y, kvh = h / (a.NH / a.KVH);
	const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t4 = lane & 3;
	const int i0 = qt * FA_BM + warp * 16; /* the warp's first query row */
	const int iend = min(a.n, qt * FA_BM + FA_BM) - 1;
	const float scale_log2 = a.scale * 1.4426950408889634f;
	uint32_t qa[FA_HD / 16][4];
	float o[FA_HD / 8][4];

#pragma unroll
	for (int kk = 0; kk < FA_HD / 16; kk++)
#pragma unroll
		for (int e = 0; e < 4; e++) {
			const int row = i0 + g + (e & 1) * 8, col = kk * 16 + 2 * t4 + (e >> 1) * 8;

			qa[kk][e] = row < a.n ? *(const uint32_t *)(a.q + (size_t)row * a.ldq + h * FA_HD + col) : 0u;
		}
	/* global: loop-0 K/V at positions 0 .. p + (last query of the block) */
	fa_pass(o, qa, fsm, a.kv0 + (size_t)kvh * FA_HD, a.kv0_ps, a.KVD, 0, a.p + iend, 0, a.p + i0, false,
		scale_log2);
	if (LOCAL) {
		float og[FA_HD / 8][4];
		const int lo = max(0, a.p + qt * FA_BM - (WIN - 1));

#pragma unroll
		for (int nt = 0; nt < FA_HD / 8; nt++)
#pragma unroll
			for (int e = 0; e < 4; e++)
				og[nt][e] = o[nt][e];
		/* local: the segment's window buffer, row 0 = position p - 64 */
		fa_pass(o, qa, fsm, a.lockv + (size_t)kvh * FA_HD, 2 * a.KVD, a.KVD, lo, a.p + iend, a.p - 64,
			a.p + i0, true, scale_log2);
#pragma unroll
		for (int e = 0; e < 4; e += 2) {
			const int row = i0 + g + (e >> 1) * 8;
			const float gv = row < a.n ? a.gate[(size_t)row * a.ldg + h] : 0.f;

#pragma unroll
			for (int nt = 0; nt < FA_HD / 8; nt++) {
				o[nt][e] = gv * og[nt][e] + (1.0f - gv) * o[nt][e];
				o[nt][e + 1] = gv * og[nt][e + 1] + (1.0f - gv) * o[nt][e + 1];
			}
		}
	}
#pragma unroll
	for (int e = 0; e < 4; e += 2) {
		const int row = i0 + g + (e >> 1) * 8;

		if (row >= a.n)
			continue;
#pragma unroll
		for (int nt = 0; nt < FA_HD / 8; nt++)
			*(uint32_t *)(a.out + (size_t)row * a.ldo + h * FA_HD + nt * 8 + 2 * t4) =
				pack_bf16(o[nt][e], o[nt][e + 1]);
	}
}

bool flash_supported(int HD)
{
	return HD == FA_HD || HD <= SIMT_HD;
}

enum { FA_SMEM = 4 * FA_BN * FA_LD * (int)sizeof(bf16) };

cudaError_t flash_init(void)
{
	cudaError_t rc = cudaFuncSetAttribute(k_flash128<false>, cudaFuncAttributeMaxDynamicSharedMemorySize, FA_SMEM);

	return rc != cudaSuccess ? rc
				 : cudaFuncSetAttribute(k_flash128<true>, cudaFuncAttributeMaxDynamicSharedMemorySize,
							FA_SMEM);
}

cudaError_t flash_launch(const FlashArgs &a, cudaStream_t st)
{
	if (a.HD != FA_HD) {
		k_attn_simt<<<dim3(a.n, a.NH), 128, 0, st>>>(a);
		return cudaGetLastError();
	}
	dim3 grid((a.n + FA_BM - 1) / FA_BM, a.NH);

	if (a.loop >= 1)
		k_flash128<true><<<grid, 128, FA_SMEM, st>>>(a);
	else
		k_flash128<false><<<grid, 128, FA_SMEM, st>>>(a);
	return cudaGetLastError();
}

} /* namespace ecu */
