/* attn.cu - attention: decode (split over the keys, the splits merged
 * with each later loop's 65-key window and the gate) and prefill
 * (flash-attention style on the tensor cores for head_dim 128, a plain
 * kernel for small heads).
 *
 * Decode (plt.md, "Decode form"): the rows of one session at position t
 * form a group; for each K/V head, one block per key split reads loop-0
 * K/V of its keys once for every query of the group (the heads/kv_heads
 * query heads of loop 0 and of every later loop: their global branch), and
 * writes unnormalised partials with their max and sum (flash-decoding).
 * For head_dim 128 and up to 16 queries per K/V head (LoopCoder-V2 up to
 * R = 3) one kernel does it all (k_dec_mma: 15 splits on the tensor
 * cores, a block for the windows, the last block merging); otherwise a
 * plain split kernel (DEC_SMAX splits) and a merge kernel per (row,
 * head).  The merge adds, for a later loop, the local branch over the
 * loop's own window (positions max(0, t-64)..t, read from the ring) and
 * mixes the two with the gate.  The grids are fixed (the keys per split
 * follow t, read from device memory) so that one captured graph serves
 * every step.
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

/* ------------------------------------------------------------ tensor-core helpers */

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

/* ------------------------------------------------------------ decode, any head size */

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

static size_t dm_smem(void);

size_t dec_split_smem(int nq_max, int HD)
{
	return dec_split_simt_smem(nq_max, HD);
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

/* The window of a later loop: its own K and V at positions lo + k0 ..
 * lo + k1 - 1, K/V head kvh, from the ring into rows k0..k1-1 of kw and
 * vw (rows of ldk bf16), every copy in flight (cp.async; rows not in
 * 16-byte pieces element by element).  Position skip (-1: none) is left
 * out: staged before the kernel before has finished, the window leaves
 * the key that kernel writes for later.  The caller waits
 * (cp.async.wait_all) and syncs. */
static __device__ void win_stage(bf16 *kw, bf16 *vw, int ldk, const DecAttnArgs &a, const bf16 *ring, int kvh,
				 int lo, int k0, int k1, int skip)
{
	const long long ps = (long long)a.L * 2 * a.KVD;
	const int HD = a.HD, per = HD / 8;
	const bf16 *base = ring + (size_t)a.layer * 2 * a.KVD + (size_t)kvh * HD;

	if (HD % 8 == 0 && ldk % 8 == 0)
		for (int c = k0 * per + (int)threadIdx.x; c < k1 * per; c += blockDim.x) {
			const int k = c / per, d = (c % per) * 8;
			const bf16 *kp = base + (size_t)((lo + k) % WIN) * ps + d;

			if (lo + k == skip)
				continue;
			cp_async16(kw + k * ldk + d, kp, true);
			cp_async16(vw + k * ldk + d, kp + a.KVD, true);
		}
	else
		for (int c = k0 * HD + (int)threadIdx.x; c < k1 * HD; c += blockDim.x) {
			const int k = c / HD, d = c % HD;
			const bf16 *kp = base + (size_t)((lo + k) % WIN) * ps + d;

			if (lo + k == skip)
				continue;
			kw[k * ldk + d] = kp[0];
			vw[k * ldk + d] = kp[a.KVD];
		}
}

/* The window's attention weights for nqw queries (qsh: nqw rows of HD
 * floats, 16-byte aligned) over the nl staged keys kw (rows of ldk):
 * sc[qi * WIN + k] = exp(score - max), inv[qi] = 1 / their sum.  A
 * thread per (query, key) pair walks the dimensions in 16-byte pieces
 * (a warp per pair, summed by shuffles, made the window block the
 * slowest of the layer's attention), then a warp per query; every
 * thread of the block calls it, and what it writes is visible to all of
 * them on return. */
static __device__ void win_weights(float *sc, float *inv, const float *qsh, const bf16 *kw, int ldk, int nqw,
				   int nl, int HD, float scale)
{
	const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, nw = blockDim.x >> 5;

	for (int pk = threadIdx.x; pk < nqw * nl; pk += blockDim.x) {
		const int qi = pk / nl, k = pk % nl;
		const float *qr = qsh + (size_t)qi * HD;
		const bf16 *kr = kw + (size_t)k * ldk;
		float acc = 0.f;

		if (HD % 8 == 0 && ldk % 8 == 0)
			for (int d = 0; d < HD; d += 8) {
				const float4 q0 = *(const float4 *)(qr + d),
					     q1 = *(const float4 *)(qr + d + 4);
				float kf[8];

				bf16x8_widen(kf, *(const uint4 *)(kr + d));
				acc = fmaf(q0.x, kf[0], acc);
				acc = fmaf(q0.y, kf[1], acc);
				acc = fmaf(q0.z, kf[2], acc);
				acc = fmaf(q0.w, kf[3], acc);
				acc = fmaf(q1.x, kf[4], acc);
				acc = fmaf(q1.y, kf[5], acc);
				acc = fmaf(q1.z, kf[6], acc);
				acc = fmaf(q1.w, kf[7], acc);
			}
		else
			for (int d = 0; d < HD; d++)
				acc = fmaf(qr[d], __bfloat162float(kr[d]), acc);
		sc[qi * WIN + k] = acc * scale;
	}
	__syncthreads();
	for (int qi = warp; qi < nqw; qi += nw) {
		float m = -INFINITY, l = 0.f;

		for (int k = lane; k < nl; k += 32)
			m = fmaxf(m, sc[qi * WIN + k]);
		m = warp_max(m);
		for (int k = lane; k < nl; k += 32) {
			const float e = __expf(sc[qi * WIN + k] - m);

			sc[qi * WIN + k] = e;
			l += e;
		}
		l = warp_sum(l);
		if (lane == 0)
			inv[qi] = 1.0f / l;
	}
	__syncthreads();
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
	__shared__ float wsplit[DEC_SMAX], sc[WIN], stat[2];
	__shared__ __align__(16) float qsh[DEC_MERGE_HD];
	__shared__ __align__(16) bf16 kw[WIN * DEC_MERGE_HD], vw[WIN * DEC_MERGE_HD];
	const float *ml = a.ml + ((size_t)r * a.NH + h) * DEC_SMAX * 2;
	const float *part = a.part + ((size_t)r * a.NH + h) * DEC_SMAX * HD;
	const int lo = t >= WIN - 1 ? t - (WIN - 1) : 0, nl = t - lo + 1;

	grid_dep_trigger();
	if (R.loop >= 1) {
		win_stage(kw, vw, HD, a, R.ring, kvh, lo, 0, nl, -1);
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
		win_weights(sc, &stat[1], qsh, kw, HD, 1, nl, HD, a.scale);
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

/* ------------------------------------------------------------ decode, head_dim 128, tensor cores */

/* One kernel for the whole of a layer's decode attention when the
 * group's queries (heads/kv_heads per row, times the rows) fit one
 * 16-row tile: grid (DM_SPLITS + 1, KVH, groups), 9 warps.
 *
 * Blocks 0..DM_SPLITS-1 take a range of loop-0 keys each (the keys per
 * split follow t, read from device memory, so one graph serves every
 * step).  A warp takes 32 keys at a time: their K and V rows go to its
 * slot of shared memory by cp.async, S = q.K^T and O += P.V run on
 * mma.sync m16n8k16 with q and p as bf16 hi + lo parts (split_bf16: 2^-17
 * of themselves; K and V are bf16 already, accumulation fp32), the online
 * softmax in registers.  Lane (g, t) reads dimensions 32c + 8t..8t+7 of
 * key g as its B fragments (one 16-byte read: the dot product does not
 * care which k slot holds which dimension, so q is laid out by the same
 * map; K rows of 320 bytes keep the reads free of bank conflicts).  The
 * warps combine in shared memory into the split's partial (unnormalised
 * output, max, sum), as k_dec_split writes.
 *
 * Only the key at the group's position t is written by the kernel
 * before (the QKV GEMV's epilogue); every other key, and the parameters,
 * come from earlier steps.  So each warp asks for its first tile but that
 * key before waiting for the kernel before (programmatic dependent
 * launch): the K/V reads overlap that kernel's last blocks, and only q and
 * key t are read after it.  Nine warps of 32 keys cover a split of 288
 * keys, every warp one tile up to 4320 keys.  Nsight Compute, R = 2 at
 * 4096 keys (1.9 GHz): the kernel that read K into registers after the
 * wait (8 warps, 246 registers) took 23.4 us, 19% of it waiting for K and
 * 20% at the barrier for the warp that took a ninth tile; this one takes
 * 20.0 us (168 registers), still a chain of dependent steps (parameters,
 * q and its bf16 parts, the tile, the combine, the counter, the merge)
 * where the bus would need 4 us.
 *
 * Block DM_SPLITS computes the local branch of each later loop's rows
 * (its own 65-key window from the ring, normalised) into partial slot
 * DM_WSLOT; groups with no later loop leave it out.  The last block of a
 * (group, K/V head) to finish (a counter each, put back to zero by that
 * block) merges the splits in split order, then mixes the window in with
 * the gate: no merge kernel, no second launch, and the result does not
 * depend on which block ran when.  One block per SM (its shared memory):
 * 15 splits and the window block of 8 K/V heads are 128 blocks, one wave
 * on 132 SMs (16 splits made 136: a second wave doubled the time). */
enum {
	DM_SPLITS = 15,
	DM_WARPS = 9,
	DM_WSLOT = DEC_SMAX - 1,
	DM_KLD = 160, /* 320-byte K rows */
	DM_VLD = 136, /* 272-byte V rows (ldmatrix: 8 rows on distinct banks) */
	DM_WLD = 136, /* the window's K and V rows */
	/* bytes: a warp's tile of K and V */
	DM_SLOT = 32 * (DM_KLD + DM_VLD) * 2
};

/* bytes of dynamic shared memory: the warps' K and V tiles, reused by the
 * combine (9 x 16 x 128 floats) and by the window block; then the warps'
 * (max, sum) pairs */
static __host__ __device__ size_t dm_region(void)
{
	const size_t vt = (size_t)DM_WARPS * DM_SLOT, comb = (size_t)DM_WARPS * 16 * 128 * 4,
		     win = (size_t)2 * WIN * DM_WLD * 2 + (size_t)16 * 128 * 4 + (size_t)16 * WIN * 4 +
			   16 * 4;
	size_t r = vt > comb ? vt : comb;

	return r > win ? r : win;
}

static size_t dm_smem(void)
{
	return dm_region() + (size_t)DM_WARPS * 16 * 2 * 4;
}

/* Keys per split for nk keys: at least a block's 288, a multiple of 32
 * (4096 keys: 15 splits of 288, the last one shorter). */
static __device__ __forceinline__ int dm_chunk(int nk)
{
	int c = (nk + DM_SPLITS - 1) / DM_SPLITS;

	c = c < DM_WARPS * 32 ? DM_WARPS * 32 : c;
	return (c + 31) & ~31;
}

/* A warp's copies of keys t0..t0+31 (zeros from key nj on) into its slot,
 * all but key skip (-1: none). */
static __device__ __forceinline__ void dm_tile(bf16 *ks, bf16 *vs, const bf16 *kbase, long long ps, int KVD,
					       int t0, int nj, int skip, int lane)
{
	const int j0 = lane >> 4, col = (lane & 15) * 8; /* lane: keys j0 + 2k, 16 bytes at col */
	const bf16 *src = kbase + (long long)(t0 + j0) * ps + col;

	/* unrolled, each copy's address one add from the last (a loop over
	 * the 512 pieces spent 16% of the kernel's time on addresses) */
#pragma unroll
	for (int k = 0; k < 16; k++) {
		const int jj = j0 + 2 * k;
		const bool ok = jj < nj;
		const bf16 *sk = ok ? src + 2 * k * ps : kbase;

		if (t0 + jj != skip) {
			cp_async16(ks + jj * DM_KLD + col, sk, ok);
			cp_async16(vs + jj * DM_VLD + col, sk + KVD, ok);
		}
	}
}

/* The split's partial over keys j0..j1-1 for the group's nq queries; the
 * kernel before is waited for here. */
static __device__ void dm_split(const DecAttnArgs &a, const DecGroup &G, int kvh, int s, int nq, int gh, int j0,
				int j1, unsigned char *dsm)
{
	constexpr int HD = 128;
	const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
	const long long ps = (long long)a.L * 2 * a.KVD;
	const bf16 *kbase = G.kv0 + (size_t)a.layer * 2 * a.KVD + (size_t)kvh * HD;
	bf16 *ks = (bf16 *)(dsm + (size_t)warp * DM_SLOT), *vs = ks + 32 * DM_KLD;
	float *ob = (float *)dsm, *mls = (float *)(dsm + dm_region());
	const int cur = G.pos; /* the key the kernel before writes */
	uint32_t qh[8][4], ql[8][4];
	float o[16][4], m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;
	int t0 = j0 + warp * 32;

	if (t0 < j1)
		dm_tile(ks, vs, kbase, ps, a.KVD, t0, min(32, j1 - t0), cur, lane);
	grid_dep_wait();
	if (t0 <= cur && cur < min(j1, t0 + 32) && lane < 16) {
		const bf16 *src = kbase + (long long)cur * ps + lane * 8;

		cp_async16(ks + (cur - t0) * DM_KLD + lane * 8, src, true);
		cp_async16(vs + (cur - t0) * DM_VLD + lane * 8, src + a.KVD, true);
	}
	/* q rows g and g + 8 (zero past nq), scaled, as A fragments: k step
	 * 2c takes dimensions 32c + 8t + {0,1} (a0, a1) and {2,3} (a2, a3),
	 * step 2c + 1 dimensions {4,5} and {6,7} */
	{
		const float *qp[2];

		for (int r = 0; r < 2; r++) {
			const int q = g + 8 * r;

			qp[r] = q < nq ? a.q + (size_t)G.rows[q / gh] * a.ldq + (size_t)(kvh * gh + q % gh) * HD : NULL;
		}
#pragma unroll
		for (int c = 0; c < 4; c++) {
			float x[2][8];

#pragma unroll
			for (int r = 0; r < 2; r++) {
				float4 v0 = make_float4(0.f, 0.f, 0.f, 0.f), v1 = v0;

				if (qp[r]) {
					v0 = *(const float4 *)(qp[r] + 32 * c + 8 * t);
					v1 = *(const float4 *)(qp[r] + 32 * c + 8 * t + 4);
				}
				x[r][0] = v0.x * a.scale;
				x[r][1] = v0.y * a.scale;
				x[r][2] = v0.z * a.scale;
				x[r][3] = v0.w * a.scale;
				x[r][4] = v1.x * a.scale;
				x[r][5] = v1.y * a.scale;
				x[r][6] = v1.z * a.scale;
				x[r][7] = v1.w * a.scale;
			}
#pragma unroll
			for (int h = 0; h < 2; h++) {
				split_bf16(qh[2 * c + h][0], ql[2 * c + h][0], x[0][4 * h], x[0][4 * h + 1]);
				split_bf16(qh[2 * c + h][1], ql[2 * c + h][1], x[1][4 * h], x[1][4 * h + 1]);
				split_bf16(qh[2 * c + h][2], ql[2 * c + h][2], x[0][4 * h + 2], x[0][4 * h + 3]);
				split_bf16(qh[2 * c + h][3], ql[2 * c + h][3], x[1][4 * h + 2], x[1][4 * h + 3]);
			}
		}
	}
#pragma unroll
	for (int nt = 0; nt < 16; nt++)
		o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.f;
	for (; t0 < j1; t0 += DM_WARPS * 32) {
		const int nj = min(32, j1 - t0);
		float sc[4][4];
		uint32_t ph[2][4], pl[2][4];

		asm volatile("cp.async.wait_all;" ::: "memory");
		__syncwarp();
		/* K of key 8j + g, dimensions 32c + 8t..+7 */
#pragma unroll
		for (int j = 0; j < 4; j++) {
			sc[j][0] = sc[j][1] = sc[j][2] = sc[j][3] = 0.f;
#pragma unroll
			for (int c = 0; c < 4; c++) {
				const uint4 kf = *(const uint4 *)(ks + (8 * j + g) * DM_KLD + 32 * c + 8 * t);

				mma16816(sc[j], qh[2 * c], kf.x, kf.y);
				mma16816(sc[j], ql[2 * c], kf.x, kf.y);
				mma16816(sc[j], qh[2 * c + 1], kf.z, kf.w);
				mma16816(sc[j], ql[2 * c + 1], kf.z, kf.w);
			}
		}
		/* sc[j][e]: query row g (e < 2) or g + 8, key 8j + 2t + (e & 1) */
		float mx0 = -INFINITY, mx1 = -INFINITY;

#pragma unroll
		for (int j = 0; j < 4; j++)
#pragma unroll
			for (int e = 0; e < 4; e++) {
				if (8 * j + 2 * t + (e & 1) >= nj)
					sc[j][e] = -INFINITY;
				if (e < 2)
					mx0 = fmaxf(mx0, sc[j][e]);
				else
					mx1 = fmaxf(mx1, sc[j][e]);
			}
		mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
		mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
		mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
		mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
		{
			const float mn0 = fmaxf(m0, mx0), mn1 = fmaxf(m1, mx1); /* finite: key t0 is in range */
			const float c0 = __expf(m0 - mn0), c1 = __expf(m1 - mn1);

			m0 = mn0;
			m1 = mn1;
			l0 *= c0;
			l1 *= c1;
#pragma unroll
			for (int nt = 0; nt < 16; nt++) {
				o[nt][0] *= c0;
				o[nt][1] *= c0;
				o[nt][2] *= c1;
				o[nt][3] *= c1;
			}
		}
#pragma unroll
		for (int j = 0; j < 4; j++)
#pragma unroll
			for (int e = 0; e < 4; e++) {
				const float p = __expf(sc[j][e] - (e < 2 ? m0 : m1));

				sc[j][e] = p;
				if (e < 2)
					l0 += p;
				else
					l1 += p;
			}
		/* P as A fragments: k step u covers keys 16u..16u+15 */
#pragma unroll
		for (int u = 0; u < 2; u++) {
			split_bf16(ph[u][0], pl[u][0], sc[2 * u][0], sc[2 * u][1]);
			split_bf16(ph[u][1], pl[u][1], sc[2 * u][2], sc[2 * u][3]);
			split_bf16(ph[u][2], pl[u][2], sc[2 * u + 1][0], sc[2 * u + 1][1]);
			split_bf16(ph[u][3], pl[u][3], sc[2 * u + 1][2], sc[2 * u + 1][3]);
		}
#pragma unroll
		for (int u = 0; u < 2; u++)
#pragma unroll
			for (int np = 0; np < 8; np++) {
				uint32_t b[4];

				ldsm_x4_trans(b, vs + (16 * u + (lane & 7) + ((lane >> 3) & 1) * 8) * DM_VLD +
							 8 * (2 * np + (lane >> 4)));
				mma16816(o[2 * np], ph[u], b[0], b[1]);
				mma16816(o[2 * np], pl[u], b[0], b[1]);
				mma16816(o[2 * np + 1], ph[u], b[2], b[3]);
				mma16816(o[2 * np + 1], pl[u], b[2], b[3]);
			}
		__syncwarp(); /* the tile's reads are done before the next copy */
		if (t0 + DM_WARPS * 32 < j1)
			dm_tile(ks, vs, kbase, ps, a.KVD, t0 + DM_WARPS * 32,
				min(32, j1 - t0 - DM_WARPS * 32), -1, lane);
	}
	l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
	l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
	l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
	l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
	__syncthreads(); /* every warp's V tiles are read: the combine takes the space */
#pragma unroll
	for (int nt = 0; nt < 16; nt++) {
		*(float2 *)&ob[((size_t)warp * 16 + g) * HD + 8 * nt + 2 * t] = make_float2(o[nt][0], o[nt][1]);
		*(float2 *)&ob[((size_t)warp * 16 + g + 8) * HD + 8 * nt + 2 * t] = make_float2(o[nt][2], o[nt][3]);
	}
	if (t == 0) {
		mls[(warp * 16 + g) * 2] = m0;
		mls[(warp * 16 + g) * 2 + 1] = l0;
		mls[(warp * 16 + g + 8) * 2] = m1;
		mls[(warp * 16 + g + 8) * 2 + 1] = l1;
	}
	__syncthreads();
	for (int i = threadIdx.x; i < nq * 32; i += blockDim.x) {
		const int q = i >> 5, d = (i & 31) * 4, row = G.rows[q / gh], h = kvh * gh + q % gh;
		float M = -INFINITY, L = 0.f;
		float4 O = make_float4(0.f, 0.f, 0.f, 0.f);

		for (int w = 0; w < DM_WARPS; w++)
			M = fmaxf(M, mls[(w * 16 + q) * 2]);
		for (int w = 0; w < DM_WARPS; w++) {
			const float mw = mls[(w * 16 + q) * 2], e = mw == -INFINITY ? 0.f : __expf(mw - M);
			const float4 v = *(const float4 *)&ob[((size_t)w * 16 + q) * HD + d];

			L += e * mls[(w * 16 + q) * 2 + 1];
			O.x += e * v.x;
			O.y += e * v.y;
			O.z += e * v.z;
			O.w += e * v.w;
		}
		*(float4 *)&a.part[(((size_t)row * a.NH + h) * DEC_SMAX + s) * HD + d] = O;
		if (d == 0) {
			float *ml = a.ml + (((size_t)row * a.NH + h) * DEC_SMAX + s) * 2;

			ml[0] = M;
			ml[1] = L;
		}
	}
}

/* The local branch of each later-loop row of the group, for the gh heads
 * of K/V head kvh: attention over the loop's own keys at positions
 * max(0, t-64)..t (the ring), normalised, into partial slot DM_WSLOT.
 * The first such row's keys but t are asked for before waiting for the
 * kernel before (which writes key t); the kernel before is waited for
 * here. */
static __device__ void dm_window(const DecAttnArgs &a, const DecGroup &G, int kvh, int gh, unsigned char *dsm)
{
	constexpr int HD = 128;
	const int tpos = G.pos, lo = tpos >= WIN - 1 ? tpos - (WIN - 1) : 0, nl = tpos - lo + 1;
	bf16 *kw = (bf16 *)dsm, *vw = kw + WIN * DM_WLD;
	float *qsh = (float *)(vw + WIN * DM_WLD), *sc = qsh + 16 * HD, *inv = sc + 16 * WIN;
	int first = -1;

	for (int ri = 0; ri < G.nrows && first < 0; ri++)
		if (a.P->row[G.rows[ri]].loop >= 1)
			first = ri;
	if (first >= 0)
		win_stage(kw, vw, DM_WLD, a, a.P->row[G.rows[first]].ring, kvh, lo, 0, nl, tpos);
	grid_dep_wait();
	for (int ri = first < 0 ? G.nrows : first; ri < G.nrows; ri++) {
		const int row = G.rows[ri];
		const DecRow &R = a.P->row[row];

		if (R.loop < 1)
			continue;
		if (ri == first)
			win_stage(kw, vw, DM_WLD, a, R.ring, kvh, lo, nl - 1, nl, -1);
		else
			win_stage(kw, vw, DM_WLD, a, R.ring, kvh, lo, 0, nl, -1);
		for (int i = threadIdx.x; i < gh * HD; i += blockDim.x)
			qsh[i] = a.q[(size_t)row * a.ldq + (size_t)(kvh * gh + i / HD) * HD + i % HD];
		asm volatile("cp.async.wait_all;" ::: "memory");
		__syncthreads();
		win_weights(sc, inv, qsh, kw, DM_WLD, gh, nl, HD, a.scale);
		/* a thread per (query, 4 dimensions): 4 sums side by side */
		for (int i = threadIdx.x; i < gh * (HD / 4); i += blockDim.x) {
			const int qi = i / (HD / 4), d = (i % (HD / 4)) * 4, h = kvh * gh + qi;
			const float *w = sc + qi * WIN;
			float4 acc = make_float4(0.f, 0.f, 0.f, 0.f);

			for (int k = 0; k < nl; k++) {
				const uint2 v = *(const uint2 *)(vw + k * DM_WLD + d);
				const float2 v01 = __bfloat1622float2(*(const __nv_bfloat162 *)&v.x),
					     v23 = __bfloat1622float2(*(const __nv_bfloat162 *)&v.y);

				acc.x = fmaf(w[k], v01.x, acc.x);
				acc.y = fmaf(w[k], v01.y, acc.y);
				acc.z = fmaf(w[k], v23.x, acc.z);
				acc.w = fmaf(w[k], v23.y, acc.w);
			}
			acc.x *= inv[qi];
			acc.y *= inv[qi];
			acc.z *= inv[qi];
			acc.w *= inv[qi];
			*(float4 *)&a.part[(((size_t)row * a.NH + h) * DEC_SMAX + DM_WSLOT) * HD + d] = acc;
		}
		__syncthreads(); /* the next row's copies reuse the space */
	}
}

/* The last block of a (group, K/V head): the splits merged in split
 * order, normalised; a later loop's row mixes in its window with the
 * gate. */
static __device__ void dm_merge(const DecAttnArgs &a, const DecGroup &G, int kvh, int nq, int gh, int ns)
{
	constexpr int HD = 128;
	const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
	__shared__ float wts[16][DM_SPLITS], invl[16];

	for (int q = warp; q < nq; q += DM_WARPS) {
		const int row = G.rows[q / gh], h = kvh * gh + q % gh;
		const float *ml = a.ml + ((size_t)row * a.NH + h) * DEC_SMAX * 2;
		const float mv = lane < ns ? __ldcg(ml + 2 * lane) : -INFINITY, M = warp_max(mv);
		const float w = lane < ns ? __expf(mv - M) : 0.f;
		const float L = warp_sum(lane < ns ? w * __ldcg(ml + 2 * lane + 1) : 0.f);

		if (lane < ns)
			wts[q][lane] = w;
		if (lane == 0)
			invl[q] = 1.0f / L;
	}
	__syncthreads();
	for (int i = threadIdx.x; i < nq * 32; i += blockDim.x) {
		const int q = i >> 5, d = (i & 31) * 4, row = G.rows[q / gh], h = kvh * gh + q % gh;
		const float *pp = a.part + ((size_t)row * a.NH + h) * DEC_SMAX * HD + d;
		float4 v[DM_SPLITS], acc = make_float4(0.f, 0.f, 0.f, 0.f);

#pragma unroll
		for (int sp = 0; sp < DM_SPLITS; sp++)
			v[sp] = sp < ns ? __ldcg((const float4 *)(pp + (size_t)sp * HD)) : acc;
#pragma unroll
		for (int sp = 0; sp < DM_SPLITS; sp++)
			if (sp < ns) {
				const float w = wts[q][sp];

				acc.x = fmaf(v[sp].x, w, acc.x);
				acc.y = fmaf(v[sp].y, w, acc.y);
				acc.z = fmaf(v[sp].z, w, acc.z);
				acc.w = fmaf(v[sp].w, w, acc.w);
			}
		acc.x *= invl[q];
		acc.y *= invl[q];
		acc.z *= invl[q];
		acc.w *= invl[q];
		if (a.P->row[row].loop >= 1) {
			const float gv = a.gate[(size_t)row * a.ldgate + h];
			const float4 loc = __ldcg((const float4 *)(pp + (size_t)DM_WSLOT * HD));

			acc.x = gv * acc.x + (1.0f - gv) * loc.x;
			acc.y = gv * acc.y + (1.0f - gv) * loc.y;
			acc.z = gv * acc.z + (1.0f - gv) * loc.z;
			acc.w = gv * acc.w + (1.0f - gv) * loc.w;
		}
		*(float4 *)&a.att[(size_t)row * a.ldatt + (size_t)h * HD + d] = acc;
	}
}

__global__ void __launch_bounds__(DM_WARPS * 32, 1) k_dec_mma(const __grid_constant__ DecAttnArgs a)
{
	const DecGroup &G = a.P->grp[blockIdx.z];
	const int kvh = blockIdx.y, s = blockIdx.x, gh = a.NH / a.KVH;
	const int nq = gh * G.nrows, nk = G.pos + 1, chunk = dm_chunk(nk), ns = (nk + chunk - 1) / chunk;
	extern __shared__ __align__(16) unsigned char dsm[];
	__shared__ bool last;
	int later = 0;

	grid_dep_trigger();
	for (int i = 0; i < G.nrows; i++)
		later |= a.P->row[G.rows[i]].loop >= 1;
	if (s == DM_SPLITS ? !later : s >= ns)
		return; /* not counted: the last block expects ns + later */
	/* each part waits for the kernel before itself, once its reads of
	 * earlier steps' keys are in flight */
	if (s == DM_SPLITS)
		dm_window(a, G, kvh, gh, dsm);
	else
		dm_split(a, G, kvh, s, nq, gh, s * chunk, min(nk, (s + 1) * chunk), dsm);
	__threadfence();
	__syncthreads();
	if (threadIdx.x == 0) {
		unsigned *c = a.cnt + (size_t)blockIdx.z * a.KVH + kvh;

		last = atomicAdd(c, 1u) == (unsigned)(ns + later) - 1;
		if (last)
			*c = 0; /* for the next launch: every block of the pair has counted */
	}
	__syncthreads();
	if (!last)
		return;
	__threadfence();
	dm_merge(a, G, kvh, nq, gh, ns);
}

/* Each kernel may take all the shared memory a block can have on the
 * current device (less its static part): the cap costs nothing (a launch
 * asks for what it needs), no model of the process can lower it under
 * another's feet, and no state outside the device is kept. */
static cudaError_t allow_all_smem(const void *kernel, int optin)
{
	cudaFuncAttributes fa;
	cudaError_t rc;

	if ((rc = cudaFuncGetAttributes(&fa, kernel)) != cudaSuccess)
		return rc;
	return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, optin - (int)fa.sharedSizeBytes);
}

cudaError_t dec_attn_init(bool *mma)
{
	cudaFuncAttributes fa;
	int dev, optin;
	cudaError_t rc;

	*mma = false;
	if ((rc = cudaGetDevice(&dev)) != cudaSuccess ||
	    (rc = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev)) != cudaSuccess ||
	    (rc = allow_all_smem((const void *)k_dec_split, optin)) != cudaSuccess ||
	    (rc = allow_all_smem((const void *)k_dec_mma, optin)) != cudaSuccess ||
	    (rc = cudaFuncGetAttributes(&fa, (const void *)k_dec_mma)) != cudaSuccess)
		return rc;
	/* 170 KB a block: Hopper's 227 have room, a GPU of ~100 runs the
	 * split and merge kernels */
	*mma = dm_smem() + fa.sharedSizeBytes <= (size_t)optin;
	return cudaSuccess;
}

cudaError_t dec_attn_launch(const DecAttnArgs &a, int ngroups, int nrows, int nq_max, cudaStream_t st)
{
	cudaError_t rc;

	if (a.HD == 128 && nq_max <= 16 && a.cnt)
		return launch_dep(k_dec_mma, dim3(DM_SPLITS + 1, a.KVH, ngroups), dim3(DM_WARPS * 32), dm_smem(), st,
				  a.pdl, a);
	k_dec_split<<<dim3(DEC_SMAX, a.KVH, ngroups), 128, dec_split_simt_smem(nq_max, a.HD), st>>>(a);
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
