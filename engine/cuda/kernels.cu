/* kernels.cu - the cheap kernels around the products: weight placement
 * and conversion, the embedding with the cross-loop combine, norms, RoPE
 * with the K/V write, SwiGLU, the window buffers, and sampling.  Each
 * follows the CPU backend's arithmetic (engine/cpu/forward.c, the oracle;
 * engine/sampler.c for sampling); selftest.cu checks them. */
#include "engine/cuda/cuda.h"
#include "engine/rand.h"

#include <cub/cub.cuh>
#include <cuda_fp16.h>

namespace ecu
{

static __device__ __forceinline__ float block_sum(float v, float *red)
{
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;

	v = warp_sum(v);
	__syncthreads();
	if (lane == 0)
		red[warp] = v;
	__syncthreads();
	v = 0.f;
	for (int w = 0; w < nw; w++)
		v += red[w];
	return v;
}

/* ------------------------------------------------------------ weights */

static __device__ __forceinline__ float src_value(const void *src, int dtype, long long i)
{
	switch (dtype) {
	case ENG_CUDA_BF16:
		return __bfloat162float(((const bf16 *)src)[i]);
	case ENG_CUDA_F16:
		return __half2float(((const __half *)src)[i]);
	default:
		return ((const float *)src)[i];
	}
}

__global__ void k_place(const __grid_constant__ PlaceArgs a)
{
	const long long r = blockIdx.y, rs = a.row0 + r;
	long long dr;

	if (a.map == 1) {
		const long long head = rs / a.hd, j = rs % a.hd, half = a.hd / 2;

		dr = a.dst_row0 + head * a.hd + (j < half ? 2 * j : 2 * (j - half) + 1);
	} else if (a.map == 2) {
		dr = a.dst_row0 + 2 * rs + a.which;
	} else {
		dr = a.dst_row0 + rs;
	}
	for (long long c = blockIdx.x * (long long)blockDim.x + threadIdx.x; c < a.ldd; c += (long long)gridDim.x * blockDim.x) {
		bf16 v = __float2bfloat16_rn(0.f);

		if (c < a.cols) {
			if (!a.src)
				v = __ushort_as_bfloat16(eng__rand_bf16(eng__rand_weight(a.seed, a.tag, rs * a.K + c, a.K)));
			else if (a.dtype == ENG_CUDA_BF16)
				v = ((const bf16 *)a.src)[r * a.cols + c];
			else
				v = __float2bfloat16_rn(src_value(a.src, a.dtype, r * a.cols + c));
		}
		a.dst[dr * a.ldd + c] = v;
	}
}

cudaError_t place_launch(const PlaceArgs &a, cudaStream_t st)
{
	dim3 grid((unsigned)((a.ldd + 255) / 256 < 8 ? (a.ldd + 255) / 256 : 8), (unsigned)a.rows);

	k_place<<<grid, 256, 0, st>>>(a);
	return cudaGetLastError();
}

__global__ void k_vec(const void *src, int dtype, long long n, long long np, float *dst, uint64_t seed, uint64_t tag)
{
	for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < np; i += (long long)gridDim.x * blockDim.x)
		dst[i] = i >= n ? 0.f : src ? src_value(src, dtype, i) : eng__rand_weight(seed, tag, (uint64_t)i, 0);
}

cudaError_t vec_launch(const void *src, int dtype, long long n, long long np, float *dst, uint64_t seed, uint64_t tag,
		       cudaStream_t st)
{
	k_vec<<<(unsigned)((np + 255) / 256 < 1024 ? (np + 255) / 256 : 1024), 256, 0, st>>>(src, dtype, n, np, dst,
												 seed, tag);
	return cudaGetLastError();
}

__global__ void k_fill_random(bf16 *p, size_t n, uint64_t seed, float scale)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
		p[i] = __float2bfloat16_rn(eng__rand_uniform(seed, 7, i) * scale);
}

cudaError_t fill_random_bf16(bf16 *p, size_t n, uint64_t seed, float scale, cudaStream_t st)
{
	k_fill_random<<<4096, 256, 0, st>>>(p, n, seed, scale);
	return cudaGetLastError();
}

/* ------------------------------------------------------------ decode */

/* Loop 0: x = E_t; loop r: x = a E_t + b h^{r-1}_{t-1} (zero at t = 0).
 * And the row's RoPE table for the step's QKV epilogues: (cos, sin) of
 * pos * inv_freq[j], the angle in double as the CPU computes it. */
__global__ void k_dec_embed(const DecParams *P, const bf16 *embed, int Hp, int H, float a, float b, float *x,
			    const float *inv_freq, int half, float2 *rope)
{
	grid_dep_trigger();
	const DecRow &R = P->row[blockIdx.x];
	const bf16 *e = embed + (size_t)R.id * Hp;
	float *xr = x + (size_t)blockIdx.x * Hp;

	for (int j = threadIdx.x; j < half; j += blockDim.x) {
		double s, c;

		sincos((double)R.pos * (double)inv_freq[j], &s, &c);
		rope[(size_t)blockIdx.x * half + j] = make_float2((float)c, (float)s);
	}

	for (int k = threadIdx.x; k < Hp; k += blockDim.x) {
		float v = 0.f;

		if (k < H) {
			const float ev = __bfloat162float(e[k]);

			v = R.loop == 0 ? ev : R.pos == 0 ? a * ev : a * ev + b * R.h_in[k];
		}
		xr[k] = v;
	}
	if (threadIdx.x == 0)
		*R.id_out = R.id;
}

cudaError_t dec_embed_launch(const DecParams *P, int nrows, const bf16 *embed, int Hp, int H, float a,
			     float b, float *x, const float *inv_freq, int half, float2 *rope,
			     cudaStream_t st)
{
	k_dec_embed<<<nrows, 256, 0, st>>>(P, embed, Hp, H, a, b, x, inv_freq, half, rope);
	return cudaGetLastError();
}

struct RowList {
	int r[DEC_MAX_ROWS];
};

/* h^r_t = norm(x) for the rows of loops below R-1: kept for the next step. */
__global__ void k_dec_hsave(const DecParams *P, RowList rows, const float *x, int ldx, const float *w, int H, float eps)
{
	grid_dep_trigger();
	__shared__ float red[32];
	const int row = rows.r[blockIdx.x];
	const float *xr = x + (size_t)row * ldx;
	float *h = P->row[row].h_out;
	float ss = 0.f;

	for (int k = threadIdx.x; k < H; k += blockDim.x)
		ss += xr[k] * xr[k];
	ss = block_sum(ss, red);
	const float r = 1.0f / sqrtf(ss / (float)H + eps);

	for (int k = threadIdx.x; k < H; k += blockDim.x)
		h[k] = w[k] * (xr[k] * r);
}

cudaError_t dec_hsave_launch(const DecParams *P, const int *rows, int n, const float *x, int ldx, const float *normw,
			     int H, float eps, cudaStream_t st)
{
	RowList rl;

	if (n <= 0)
		return cudaSuccess;
	for (int i = 0; i < DEC_MAX_ROWS; i++)
		rl.r[i] = i < n ? rows[i] : 0;
	k_dec_hsave<<<n, 256, 0, st>>>(P, rl, x, ldx, normw, H, eps);
	return cudaGetLastError();
}

/* One block per row; x's padding is zero, and so is w's, so the padded
 * row can be read whole in float4 pieces: 8 of them a thread, every load
 * in flight at once, up to 8192 columns (more: the loop goes round). */
enum { NORM_THREADS = 256, NORM_PER = 8 };

__global__ void __launch_bounds__(NORM_THREADS) k_dec_norm(const float *x, int ldx, int H, const float *w, float *out,
							   float eps)
{
	__shared__ float red[32];
	const float4 *x4 = (const float4 *)(x + (size_t)blockIdx.x * ldx), *w4 = (const float4 *)w;
	float4 *o4 = (float4 *)(out + (size_t)blockIdx.x * ldx);
	const int n4 = ldx / 4;
	float ss = 0.f, r;

	grid_dep_trigger();
	grid_dep_wait();
	if (n4 <= NORM_THREADS * NORM_PER) {
		float4 v[NORM_PER];

#pragma unroll
		for (int i = 0; i < NORM_PER; i++) {
			const int k = threadIdx.x + i * NORM_THREADS;

			v[i] = k < n4 ? x4[k] : make_float4(0.f, 0.f, 0.f, 0.f);
		}
#pragma unroll
		for (int i = 0; i < NORM_PER; i++)
			ss += v[i].x * v[i].x + v[i].y * v[i].y + v[i].z * v[i].z + v[i].w * v[i].w;
		ss = block_sum(ss, red);
		r = 1.0f / sqrtf(ss / (float)H + eps);
#pragma unroll
		for (int i = 0; i < NORM_PER; i++) {
			const int k = threadIdx.x + i * NORM_THREADS;

			if (k < n4) {
				const float4 g = w4[k];

				o4[k] = make_float4(g.x * (v[i].x * r), g.y * (v[i].y * r), g.z * (v[i].z * r),
						    g.w * (v[i].w * r));
			}
		}
		return;
	}
	for (int k = threadIdx.x; k < n4; k += NORM_THREADS) {
		const float4 v = x4[k];

		ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
	}
	ss = block_sum(ss, red);
	r = 1.0f / sqrtf(ss / (float)H + eps);
	for (int k = threadIdx.x; k < n4; k += NORM_THREADS) {
		const float4 v = x4[k], g = w4[k];

		o4[k] = make_float4(g.x * (v.x * r), g.y * (v.y * r), g.z * (v.z * r), g.w * (v.w * r));
	}
}

cudaError_t dec_norm_launch(const float *x, int ldx, int H, const float *w, float *out, int nrows, float eps, bool pdl,
			    cudaStream_t st)
{
	if (ldx % 4)
		return cudaErrorInvalidValue; /* rows of whole float4s (Hp is a multiple of 8) */
	return launch_dep(k_dec_norm, dim3(nrows), dim3(NORM_THREADS), 0, st, pdl, x, ldx, H, w, out, eps);
}

/* ------------------------------------------------------------ prefill */

__global__ void k_pf_embed(const int32_t *ids, int loop, const bf16 *embed, int Hp, int H, float a, float b,
			   const float *hprev, int ldh, float *x)
{
	const int i = blockIdx.x;
	const bf16 *e = embed + (size_t)ids[i] * Hp;
	float *xr = x + (size_t)i * Hp;

	for (int k = threadIdx.x; k < Hp; k += blockDim.x) {
		float v = 0.f;

		if (k < H) {
			const float ev = __bfloat162float(e[k]);

			v = loop == 0 ? ev : a * ev + b * hprev[(size_t)i * ldh + k];
		}
		xr[k] = v;
	}
}

cudaError_t pf_embed_launch(const int32_t *ids, int n, int loop, const bf16 *embed, int Hp, int H, float a, float b,
			    const float *hprev, int ldh, float *x, cudaStream_t st)
{
	k_pf_embed<<<n, 256, 0, st>>>(ids, loop, embed, Hp, H, a, b, hprev, ldh, x);
	return cudaGetLastError();
}

/* o1 = bf16(w1 . norm(x)), o2 likewise with w2, hout = w1 . norm(x) in
 * fp32: each optional. */
__global__ void k_pf_norm(const float *x, int H, int Hp, const float *w1, bf16 *o1, const float *w2, bf16 *o2,
			  float *hout, int ldh, float eps)
{
	__shared__ float red[32];
	const int i = blockIdx.x;
	const float *xr = x + (size_t)i * Hp;
	float ss = 0.f;

	for (int k = threadIdx.x; k < H; k += blockDim.x)
		ss += xr[k] * xr[k];
	ss = block_sum(ss, red);
	const float r = 1.0f / sqrtf(ss / (float)H + eps);

	for (int k = threadIdx.x; k < Hp; k += blockDim.x) {
		const float v = k < H ? xr[k] * r : 0.f;

		if (o1)
			o1[(size_t)i * Hp + k] = __float2bfloat16_rn(k < H ? w1[k] * v : 0.f);
		if (o2 && w2)
			o2[(size_t)i * Hp + k] = __float2bfloat16_rn(k < H ? w2[k] * v : 0.f);
		if (hout && k < H)
			hout[(size_t)i * ldh + k] = w1[k] * v;
	}
}

cudaError_t pf_norm_launch(const float *x, int n, int H, int Hp, const float *w1, bf16 *o1, const float *w2, bf16 *o2,
			   float *hout, int ldh, float eps, cudaStream_t st)
{
	k_pf_norm<<<n, 256, 0, st>>>(x, H, Hp, w1, o1, w2, o2, hout, ldh, eps);
	return cudaGetLastError();
}

/* The QKV rows come permuted (the RoPE pair i, i + hd/2 at 2i, 2i+1). */
__global__ void k_pf_rope(const float *qkv, int p, int NH, int KVH, int HD, const float *inv_freq, bf16 *q, bf16 *kv,
			  long long kv_ps, float *gate, const float *gbias)
{
	const int i = blockIdx.x, half = HD / 2, QD = NH * HD, KVD = KVH * HD, npairs = (QD + 2 * KVD) / 2;
	const float *row = qkv + (size_t)i * (QD + 2 * KVD);
	bf16 *kvr = kv + (size_t)i * kv_ps;

	for (int pr = threadIdx.x; pr < npairs; pr += blockDim.x) {
		const int n = 2 * pr, region = n < QD ? 0 : n < QD + KVD ? 1 : 2;
		const int local = n - (region == 0 ? 0 : region == 1 ? QD : QD + KVD), head = local / HD,
			  j = (local % HD) / 2;
		const float x0 = row[n], x1 = row[n + 1];
		float y0 = x0, y1 = x1;

		if (region < 2) {
			double s, c;

			sincos((double)(p + i) * (double)inv_freq[j], &s, &c);
			y0 = x0 * (float)c - x1 * (float)s;
			y1 = x1 * (float)c + x0 * (float)s;
		}
		bf16 *dst = region == 0 ? q + (size_t)i * QD + head * HD : kvr + (region == 2 ? KVD : 0) + head * HD;

		dst[j] = __float2bfloat16_rn(y0);
		dst[j + half] = __float2bfloat16_rn(y1);
	}
	if (gate)
		for (int h = threadIdx.x; h < NH; h += blockDim.x) {
			float *g = gate + (size_t)i * NH + h;

			*g = 1.0f / (1.0f + expf(-(*g + gbias[h])));
		}
}

cudaError_t pf_rope_launch(const float *qkv, int n, int p, int NH, int KVH, int HD, const float *inv_freq, bf16 *q,
			   bf16 *kv, long long kv_ps, float *gate, const float *gbias, cudaStream_t st)
{
	k_pf_rope<<<n, 128, 0, st>>>(qkv, p, NH, KVH, HD, inv_freq, q, kv, kv_ps, gate, gbias);
	return cudaGetLastError();
}

__global__ void k_pf_swiglu(const bf16 *gu, int I, bf16 *act, int ldact)
{
	const int i = blockIdx.y;

	for (int j = blockIdx.x * blockDim.x + threadIdx.x; j < ldact; j += gridDim.x * blockDim.x) {
		float v = 0.f;

		if (j < I) {
			const float g = __bfloat162float(gu[(size_t)i * 2 * I + 2 * j]),
				    u = __bfloat162float(gu[(size_t)i * 2 * I + 2 * j + 1]);

			v = g / (1.0f + expf(-g)) * u;
		}
		act[(size_t)i * ldact + j] = __float2bfloat16_rn(v);
	}
}

cudaError_t pf_swiglu_launch(const bf16 *gu, int n, int I, bf16 *act, int ldact, cudaStream_t st)
{
	dim3 grid((unsigned)((ldact + 255) / 256 < 64 ? (ldact + 255) / 256 : 64), (unsigned)n);

	k_pf_swiglu<<<grid, 256, 0, st>>>(gu, I, act, ldact);
	return cudaGetLastError();
}

/* The window buffer's first 64 rows: positions p-64..p-1 from the ring. */
__global__ void k_lockv_fill(const bf16 *ring, int p, int layer, int L, int KVD, bf16 *lockv)
{
	const int pos = p - 64 + (int)blockIdx.x;

	if (pos < 0)
		return;
	const bf16 *src = ring + ((size_t)(pos % WIN) * L + layer) * 2 * KVD;
	bf16 *dst = lockv + (size_t)blockIdx.x * 2 * KVD;

	for (int k = threadIdx.x; k < 2 * KVD; k += blockDim.x)
		dst[k] = src[k];
}

cudaError_t pf_lockv_fill_launch(const bf16 *ring, int p, int layer, int L, int KVD, bf16 *lockv, cudaStream_t st)
{
	k_lockv_fill<<<64, 256, 0, st>>>(ring, p, layer, L, KVD, lockv);
	return cudaGetLastError();
}

/* The last 65 positions of the segment go to their ring slots. */
__global__ void k_ring_store(bf16 *ring, int p, int n, int layer, int L, int KVD, const bf16 *lockv)
{
	const int cnt = n < WIN ? n : WIN, pos = p + n - cnt + (int)blockIdx.x;
	const bf16 *src = lockv + (size_t)(pos - p + 64) * 2 * KVD;
	bf16 *dst = ring + ((size_t)(pos % WIN) * L + layer) * 2 * KVD;

	for (int k = threadIdx.x; k < 2 * KVD; k += blockDim.x)
		dst[k] = src[k];
}

cudaError_t pf_ring_store_launch(bf16 *ring, int p, int n, int layer, int L, int KVD, const bf16 *lockv,
				 cudaStream_t st)
{
	k_ring_store<<<n < WIN ? n : WIN, 256, 0, st>>>(ring, p, n, layer, L, KVD, lockv);
	return cudaGetLastError();
}

/* ------------------------------------------------------------ sampling */

__global__ void k_mark_seen(const int32_t *hist, int n, int V, unsigned char *seen)
{
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
		if (hist[i] >= 0 && hist[i] < V)
			seen[hist[i]] = 1;
}

/* Penalties (engine/sampler.c order), then the keys to sort: w / T. */
__global__ void k_penalize(const float *logits, int V, const unsigned char *seen, int penalize, float rep,
			   float presence, double temp, float *w, float *keys, int *vals)
{
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < V; i += gridDim.x * blockDim.x) {
		float v = logits[i];

		if (penalize && seen[i]) {
			if (rep > 0 && rep != 1.0f)
				v = v > 0 ? v / rep : v * rep;
			v -= presence;
		}
		w[i] = v;
		if (keys) {
			keys[i] = temp > 0 ? (float)((double)v / temp) : v;
			vals[i] = i;
		}
	}
}

/* The first index of the largest value. */
__global__ void __launch_bounds__(1024) k_argmax(const float *w, int V, int *out)
{
	__shared__ float bv[32];
	__shared__ int bi[32];
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	float v = -INFINITY;
	int idx = 0x7fffffff;

	for (int i = threadIdx.x; i < V; i += blockDim.x)
		if (w[i] > v || (w[i] == v && i < idx)) {
			v = w[i];
			idx = i;
		}
	for (int o = 16; o; o >>= 1) {
		const float ov = __shfl_xor_sync(0xffffffffu, v, o);
		const int oi = __shfl_xor_sync(0xffffffffu, idx, o);

		if (ov > v || (ov == v && oi < idx)) {
			v = ov;
			idx = oi;
		}
	}
	if (lane == 0) {
		bv[warp] = v;
		bi[warp] = idx;
	}
	__syncthreads();
	if (threadIdx.x == 0) {
		for (int k = 1; k < (int)(blockDim.x >> 5); k++)
			if (bv[k] > v || (bv[k] == v && bi[k] < idx)) {
				v = bv[k];
				idx = bi[k];
			}
		/* all NaN: the CPU sampler's best stays 0 */
		*out = idx == 0x7fffffff ? 0 : idx;
	}
}

typedef cub::BlockScan<double, 1024> Scan;
typedef cub::BlockReduce<double, 1024> Reduce;

/* After the sort: top-k, probabilities, top-p, min-p, then the draw
 * (engine/sampler.c, in that order). */
__global__ void __launch_bounds__(1024) k_pick(const float *keys, const int *vals, int V, int top_k, double top_p,
					       double min_p, double draw, int *out)
{
	__shared__ union {
		Scan::TempStorage scan;
		Reduce::TempStorage red;
	} tmp;
	__shared__ double carry, total;
	__shared__ int first;
	const int n = top_k > 0 && top_k < V ? top_k : V;
	const double v0 = keys[0];
	double s = 0;

	for (int i = threadIdx.x; i < n; i += blockDim.x)
		s += (double)(float)exp((double)keys[i] - v0);
	s = Reduce(tmp.red).Sum(s);
	if (threadIdx.x == 0) {
		total = s;
		first = n;
	}
	__syncthreads();
	int keep = n;
	if (top_p > 0 && top_p < 1) {
		if (threadIdx.x == 0)
			carry = 0;
		__syncthreads();
		for (int base = 0; base < n; base += blockDim.x) {
			const int i = base + threadIdx.x;
			double x = i < n ? (double)(float)exp((double)keys[i] - v0) : 0, inc, agg;

			Scan(tmp.scan).InclusiveSum(x, inc, agg);
			if (i < n && (carry + inc) / total >= top_p)
				atomicMin(&first, i + 1);
			__syncthreads();
			if (threadIdx.x == 0)
				carry += agg;
			__syncthreads();
			if (first < n)
				break;
		}
		keep = first;
	}
	__syncthreads();
	if (min_p > 0) {
		if (threadIdx.x == 0)
			first = keep;
		__syncthreads();
		for (int i = 1 + threadIdx.x; i < keep; i += blockDim.x)
			if ((float)exp((double)keys[i] - v0) < min_p * 1.0)
				atomicMin(&first, i);
		__syncthreads();
		keep = first;
	}
	s = 0;
	for (int i = threadIdx.x; i < keep; i += blockDim.x)
		s += (double)(float)exp((double)keys[i] - v0);
	__syncthreads();
	s = Reduce(tmp.red).Sum(s);
	if (threadIdx.x == 0) {
		total = s * draw; /* u */
		carry = 0;
		first = keep - 1;
	}
	__syncthreads();
	for (int base = 0; base < keep; base += blockDim.x) {
		const int i = base + threadIdx.x;
		double x = i < keep ? (double)(float)exp((double)keys[i] - v0) : 0, inc, agg;

		Scan(tmp.scan).InclusiveSum(x, inc, agg);
		if (i < keep && total < carry + inc)
			atomicMin(&first, i);
		__syncthreads();
		if (threadIdx.x == 0)
			carry += agg;
		__syncthreads();
		if (first < keep - 1)
			break;
	}
	if (threadIdx.x == 0)
		*out = vals[first];
}

__global__ void k_iota(int *v, int n)
{
	for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
		v[i] = i;
}

/* log(sum(exp(logits))) in double, as eng_logprobs_top computes it. */
__global__ void __launch_bounds__(1024) k_lse(const float *sorted, int V, double *out)
{
	__shared__ Reduce::TempStorage red;
	const double mx = sorted[0];
	double s = 0;

	for (int i = threadIdx.x; i < V; i += blockDim.x)
		s += exp((double)sorted[i] - mx);
	s = Reduce(red).Sum(s);
	if (threadIdx.x == 0)
		*out = mx + log(s);
}

size_t sample_tmp_bytes(int V)
{
	size_t n = 0;

	cub::DeviceRadixSort::SortPairsDescending((void *)NULL, n, (const float *)NULL, (float *)NULL, (const int *)NULL,
						  (int *)NULL, V);
	return n;
}

cudaError_t sample_launch(const float *logits, int V, const int32_t *hist, int nhist, const eng_sampling *sp,
			  double draw, const SampleBufs &b, cudaStream_t st)
{
	const bool penalize = nhist > 0 && ((sp->repetition_penalty > 0 && sp->repetition_penalty != 1.0) ||
					    sp->presence_penalty != 0);
	const bool greedy = sp->temperature <= 0;
	const unsigned grid = (unsigned)((V + 255) / 256 < 1024 ? (V + 255) / 256 : 1024);
	cudaError_t rc;
	size_t tb = b.tmp_bytes;

	if (penalize) {
		if ((rc = cudaMemsetAsync(b.seen, 0, (size_t)V, st)) != cudaSuccess)
			return rc;
		k_mark_seen<<<(unsigned)((nhist + 255) / 256 < 256 ? (nhist + 255) / 256 : 256), 256, 0, st>>>(
			hist, nhist, V, b.seen);
	}
	k_penalize<<<grid, 256, 0, st>>>(logits, V, b.seen, penalize, (float)sp->repetition_penalty,
					 (float)sp->presence_penalty, sp->temperature, b.w, greedy ? NULL : b.keys,
					 b.vals);
	if (greedy) {
		k_argmax<<<1, 1024, 0, st>>>(b.w, V, b.id_out);
		return cudaGetLastError();
	}
	if ((rc = cudaGetLastError()) != cudaSuccess)
		return rc;
	if ((rc = cub::DeviceRadixSort::SortPairsDescending(b.tmp, tb, b.keys, b.keys_sorted, b.vals, b.vals_sorted, V,
							     0, (int)sizeof(float) * 8, st)) != cudaSuccess)
		return rc;
	k_pick<<<1, 1024, 0, st>>>(b.keys_sorted, b.vals_sorted, V, sp->top_k, sp->top_p, sp->min_p, draw, b.id_out);
	return cudaGetLastError();
}

cudaError_t logprobs_launch(const float *logits, int V, const SampleBufs &b, cudaStream_t st)
{
	cudaError_t rc;
	size_t tb = b.tmp_bytes;

	k_iota<<<(unsigned)((V + 255) / 256 < 1024 ? (V + 255) / 256 : 1024), 256, 0, st>>>(b.vals, V);
	if ((rc = cudaGetLastError()) != cudaSuccess)
		return rc;
	if ((rc = cub::DeviceRadixSort::SortPairsDescending(b.tmp, tb, logits, b.keys_sorted, b.vals, b.vals_sorted, V,
							     0, (int)sizeof(float) * 8, st)) != cudaSuccess)
		return rc;
	k_lse<<<1, 1024, 0, st>>>(b.keys_sorted, V, b.lse_out);
	return cudaGetLastError();
}

} /* namespace ecu */
