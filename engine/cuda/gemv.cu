/* gemv.cu - skinny products for decode: y = x . W^T for up to 8 rows of x
 * (the R loop rows of a step), reading each weight once for all rows at
 * the memory bus's speed.
 *
 * Each warp owns ROWS consecutive weight rows and walks K in 16-byte loads
 * (8 bf16 per lane, a warp covers 256 columns per load); x, staged in
 * shared memory in fp32 chunks of KC columns, is read by every warp of the
 * block.  The weights of a chunk are loaded into registers before the
 * barrier that stages its x, so that they are in flight while x arrives.
 * Accumulation is fp32, x is fp32 (the CPU backend's arithmetic, so decode
 * stays close to the oracle); weights are widened exactly.  A row's
 * summation order does not depend on how many rows run, so a batch of
 * several sessions gives each the bits it gets alone.
 *
 * RMSNorm is fused: with normw set, the block stages x . diag(normw) and
 * sums x^2 on the way; the result is scaled by rsqrt(mean + eps) at the
 * end.  Epilogues write, add into the residual, apply SwiGLU to (gate, up)
 * row pairs, the PLT gate's sigmoid, RoPE with the K/V write of the QKV
 * rows, or logits.  CPU reference: engine/cpu/matmul.c (the oracle) and
 * selftest.cu. */
#include "engine/cuda/cuda.h"

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

static __device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
	for (int o = 16; o; o >>= 1)
		v += __shfl_xor_sync(0xffffffffu, v, o);
	return v;
}

static __device__ __forceinline__ void unpack8(float *f, uint4 w)
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

/* The epilogue of one (row pair, x row) for EPI_QKV: RoPE on q and k at
 * the row's position (angle in double, as the CPU computes it), q to the
 * query buffer, k and v to the row's K/V slot in bf16. */
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
		double s, c;

		sincos((double)R.pos * (double)a.inv_freq[j], &s, &c);
		y0 = x0 * (float)c - x1 * (float)s;
		y1 = x1 * (float)c + x0 * (float)s;
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

template <int M, int ROWS, int WARPS>
__global__ void __launch_bounds__(WARPS * 32) k_gemv(const __grid_constant__ GemvArgs a)
{
	constexpr int STEPS = 16 / ROWS; /* 16-byte loads per row and lane per chunk */
	constexpr int KC = 256 * STEPS;
	constexpr int NT = WARPS * 32;
	extern __shared__ __align__(16) float xs[]; /* [M][KC] */
	__shared__ float red[WARPS][M];
	const int pi = (a.nprob > 1 && (int)blockIdx.x >= a.p[0].nblocks) ? 1 : 0;
	const GemvProb &p = a.p[pi];
	const int blk = (int)blockIdx.x - (pi ? a.p[0].nblocks : 0);
	const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
	const int n0 = (blk * WARPS + warp) * ROWS;
	const int Kp = p.ldw;
	float acc[ROWS][M], ss[M];

#pragma unroll
	for (int r = 0; r < ROWS; r++)
#pragma unroll
		for (int m = 0; m < M; m++)
			acc[r][m] = 0.f;
#pragma unroll
	for (int m = 0; m < M; m++)
		ss[m] = 0.f;

	for (int kc = 0; kc < Kp; kc += KC) {
		uint4 w[ROWS][STEPS];

#pragma unroll
		for (int r = 0; r < ROWS; r++)
#pragma unroll
			for (int s = 0; s < STEPS; s++) {
				const int k = kc + s * 256 + lane * 8, n = n0 + r;

				if (n < p.N && k < Kp)
					w[r][s] = ld_stream(p.W + (size_t)n * p.ldw + k);
				else
					w[r][s] = make_uint4(0, 0, 0, 0);
			}
		__syncthreads(); /* the previous chunk's reads of xs are done */
#pragma unroll
		for (int m = 0; m < M; m++) {
			const float *xr = a.x + (size_t)a.rowsel[m] * a.ldx;

			for (int c = threadIdx.x * 4; c < KC; c += NT * 4) {
				const int k = kc + c;
				float4 v = make_float4(0.f, 0.f, 0.f, 0.f);

				if (k < Kp) {
					v = *(const float4 *)(xr + k);
					if (p.normw) {
						const float4 g = *(const float4 *)(p.normw + k);

						ss[m] += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
						v.x *= g.x;
						v.y *= g.y;
						v.z *= g.z;
						v.w *= g.w;
					}
				}
				*(float4 *)&xs[m * KC + c] = v;
			}
		}
		__syncthreads();
#pragma unroll
		for (int s = 0; s < STEPS; s++) {
			const int c = s * 256 + lane * 8;
			float xv[M][8];

#pragma unroll
			for (int m = 0; m < M; m++) {
				const float4 x0 = *(const float4 *)&xs[m * KC + c], x1 = *(const float4 *)&xs[m * KC + c + 4];

				xv[m][0] = x0.x;
				xv[m][1] = x0.y;
				xv[m][2] = x0.z;
				xv[m][3] = x0.w;
				xv[m][4] = x1.x;
				xv[m][5] = x1.y;
				xv[m][6] = x1.z;
				xv[m][7] = x1.w;
			}
#pragma unroll
			for (int r = 0; r < ROWS; r++) {
				float wf[8];

				unpack8(wf, w[r][s]);
#pragma unroll
				for (int m = 0; m < M; m++)
#pragma unroll
					for (int e = 0; e < 8; e++)
						acc[r][m] = fmaf(wf[e], xv[m][e], acc[r][m]);
			}
		}
	}

	/* the norm: sum of squares over the block, then 1 / sqrt(mean + eps) */
	float rs[M];
#pragma unroll
	for (int m = 0; m < M; m++) {
		const float v = warp_sum(ss[m]);

		if (lane == 0)
			red[warp][m] = v;
	}
	__syncthreads();
#pragma unroll
	for (int m = 0; m < M; m++) {
		float t = 0.f;

		for (int w = 0; w < WARPS; w++)
			t += red[w][m];
		rs[m] = p.normw ? 1.0f / sqrtf(t / (float)p.K + a.eps) : 1.0f;
	}
#pragma unroll
	for (int r = 0; r < ROWS; r++)
#pragma unroll
		for (int m = 0; m < M; m++)
			acc[r][m] = warp_sum(acc[r][m]) * rs[m];

	if (p.mode == EPI_SWIGLU || p.mode == EPI_QKV) {
#pragma unroll
		for (int q = 0; q < ROWS / 2; q++)
#pragma unroll
			for (int m = 0; m < M; m++) {
				const int n = n0 + 2 * q;

				if (lane != q * M + m || n >= p.N)
					continue;
				if (p.mode == EPI_SWIGLU) {
					const float g = acc[2 * q][m], u = acc[2 * q + 1][m];

					p.out[(size_t)a.rowsel[m] * p.ldo + n / 2] = g / (1.0f + expf(-g)) * u;
				} else {
					qkv_pair(a, n, m, acc[2 * q][m], acc[2 * q + 1][m]);
				}
			}
		return;
	}
#pragma unroll
	for (int r = 0; r < ROWS; r++)
#pragma unroll
		for (int m = 0; m < M; m++) {
			const int n = n0 + r;
			const float v = acc[r][m];

			if (lane != r * M + m || n >= p.N)
				continue;
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
}

template <int M, int ROWS, int WARPS> static size_t smem_of(void)
{
	return (size_t)M * 256 * (16 / ROWS) * sizeof(float);
}

template <int M, int ROWS, int WARPS> static void set_attr(void)
{
	cudaFuncSetAttribute(k_gemv<M, ROWS, WARPS>, cudaFuncAttributeMaxDynamicSharedMemorySize,
			     (int)smem_of<M, ROWS, WARPS>());
}

template <int M, int ROWS, int WARPS> static cudaError_t launch(GemvArgs &a, cudaStream_t st)
{
	int grid = 0;

	for (int i = 0; i < a.nprob; i++) {
		a.p[i].nblocks = (a.p[i].N + ROWS * WARPS - 1) / (ROWS * WARPS);
		grid += a.p[i].nblocks;
	}
	k_gemv<M, ROWS, WARPS><<<grid, WARPS * 32, smem_of<M, ROWS, WARPS>(), st>>>(a);
	return cudaGetLastError();
}

template <int M> static void set_attrs_m(void)
{
	set_attr<M, 2, 4>();
	set_attr<M, 2, 8>();
	set_attr<M, 4, 4>();
	set_attr<M, 4, 8>();
}

void gemv_init(void)
{
	set_attrs_m<1>();
	set_attrs_m<2>();
	set_attrs_m<3>();
	set_attrs_m<4>();
	set_attrs_m<5>();
	set_attrs_m<6>();
	set_attrs_m<7>();
	set_attrs_m<8>();
}

template <int M> static cudaError_t launch_m(GemvArgs &a, GemvCfg c, cudaStream_t st)
{
	if (c.rows == 2)
		return c.warps == 4 ? launch<M, 2, 4>(a, st) : launch<M, 2, 8>(a, st);
	return c.warps == 4 ? launch<M, 4, 4>(a, st) : launch<M, 4, 8>(a, st);
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
