/* matmul.c - y[M x N] (+)= x[M x K] . W[N x K]^T in fp32 across the pool.
 *
 * Work is split over N (rows of W) in blocks that stay in cache while every
 * row of x streams past; each tile computes 4 x-rows (fewer for the last
 * rows) by 3 W-rows.  An AVX2 +
 * FMA kernel is compiled with a target attribute and chosen at run time when
 * the CPU has it; the plain C kernel is the portable fallback. */
#include "engine/cpu/cpu.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86_KERNEL 1
#endif

typedef struct mm_ctx {
	float *y;
	const float *x;
	const float *w;     /* fp32 weights, or NULL */
	const uint16_t *wb; /* BF16 weights, or NULL */
	size_t M, N, K;
	bool acc;
	bool avx2;
} mm_ctx;

static float dot_plain(const float *restrict a, const float *restrict b, size_t K)
{
	float s[8] = { 0 };
	size_t k, j;

	for (k = 0; k + 8 <= K; k += 8)
		for (j = 0; j < 8; j++)
			s[j] += a[k + j] * b[k + j];
	for (; k < K; k++)
		s[0] += a[k] * b[k];
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static float bf16_to_f32(uint16_t h)
{
	uint32_t b = (uint32_t)h << 16;
	float f;

	memcpy(&f, &b, 4);
	return f;
}

void eng__wmat_row(float *dst, eng__wmat w, size_t r, size_t K)
{
	size_t i;

	if (!w.bf16) {
		memcpy(dst, (const float *)w.p + r * K, K * sizeof(float));
		return;
	}
	for (i = 0; i < K; i++)
		dst[i] = bf16_to_f32(((const uint16_t *)w.p)[r * K + i]);
}

static void tile_plain(const mm_ctx *c, size_t n0, size_t n1)
{
	float *row = NULL;
	size_t m, n;

	if (c->wb)
		row = pl_xmalloc(c->K * sizeof(float));
	for (n = n0; n < n1; n++) {
		const float *w = c->w ? c->w + n * c->K : row;

		if (c->wb)
			eng__wmat_row(row, (eng__wmat){ (void *)c->wb, true }, n, c->K);
		for (m = 0; m < c->M; m++) {
			float v = dot_plain(c->x + m * c->K, w, c->K);

			c->y[m * c->N + n] = c->acc ? c->y[m * c->N + n] + v : v;
		}
	}
	free(row);
}

#ifdef HAVE_X86_KERNEL
__attribute__((target("avx2,fma"))) static inline float hsum(__m256 v)
{
	__m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);

	lo = _mm_add_ps(lo, hi);
	lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
	lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
	return _mm_cvtss_f32(lo);
}

__attribute__((target("avx2,fma"))) static inline __m256 load_bf16(const uint16_t *p)
{
	__m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)p));

	return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

/* MR rows of x (kept in L1 across the n loop) by 3 rows of W per tile:
 * with MR = 4, 12 accumulators, 7 loads per 12 FMAs.  Blocks of 4 rows
 * serve prefill; the rows left over (decode: 1 row per loop) run in blocks
 * of 2 and 1, so that a decode step does no FMAs on padding rows and stays
 * bound by reading the weights.  Every output is the same sum in the same
 * order whatever the block, so results do not depend on MR.  One kernel
 * body for both weight types: WLOAD(j, k) loads 8 weights of tile row j at
 * column k, WELEM(j, k) one of them as float. */
#define BLOCK_AVX2_BODY(WLOAD, WELEM, MR)                                                                   \
	const size_t K = c->K, K8 = K & ~(size_t)7;                                                        \
	size_t n, k, i, j;                                                                                 \
	const float *x[MR];                                                                                \
	for (i = 0; i < MR; i++)                                                                           \
		x[i] = c->x + (m + i) * K;                                                                 \
	for (n = n0; n < n1; n += 3) {                                                                     \
		size_t nb = n + 3 <= n1 ? 3 : n1 - n, wr[3];                                               \
		__m256 acc[MR][3];                                                                         \
		float out;                                                                                 \
		for (j = 0; j < 3; j++)                                                                    \
			wr[j] = (n + (j < nb ? j : 0)) * K;                                                \
		for (i = 0; i < MR; i++)                                                                   \
			for (j = 0; j < 3; j++)                                                            \
				acc[i][j] = _mm256_setzero_ps();                                           \
		for (k = 0; k < K8; k += 8) {                                                              \
			__m256 a = WLOAD(0, k), b = WLOAD(1, k), d = WLOAD(2, k);                          \
			for (i = 0; i < MR; i++) {                                                         \
				__m256 xv = _mm256_loadu_ps(x[i] + k);                                     \
				acc[i][0] = _mm256_fmadd_ps(xv, a, acc[i][0]);                             \
				acc[i][1] = _mm256_fmadd_ps(xv, b, acc[i][1]);                             \
				acc[i][2] = _mm256_fmadd_ps(xv, d, acc[i][2]);                             \
			}                                                                                  \
		}                                                                                          \
		for (i = 0; i < MR; i++)                                                                   \
			for (j = 0; j < nb; j++) {                                                         \
				float *yp = &c->y[(m + i) * c->N + n + j];                                 \
				out = hsum(acc[i][j]);                                                     \
				for (k = K8; k < K; k++)                                                   \
					out += x[i][k] * WELEM(j, k);                                      \
				*yp = c->acc ? *yp + out : out;                                            \
			}                                                                                  \
	}

#define F32_LOAD(j, k) _mm256_loadu_ps(c->w + wr[j] + (k))
#define F32_ELEM(j, k) c->w[wr[j] + (k)]
#define BF16_LOAD(j, k) load_bf16(c->wb + wr[j] + (k))
#define BF16_ELEM(j, k) bf16_to_f32(c->wb[wr[j] + (k)])

#define DEFINE_BLOCK(name, WLOAD, WELEM, MR)                                                                \
	__attribute__((target("avx2,fma"))) static void name(const mm_ctx *c, size_t m, size_t n0, size_t n1) \
	{                                                                                                  \
		BLOCK_AVX2_BODY(WLOAD, WELEM, MR)                                                          \
	}

DEFINE_BLOCK(block4_bf16, BF16_LOAD, BF16_ELEM, 4)
DEFINE_BLOCK(block2_bf16, BF16_LOAD, BF16_ELEM, 2)
DEFINE_BLOCK(block1_bf16, BF16_LOAD, BF16_ELEM, 1)
DEFINE_BLOCK(block4_f32, F32_LOAD, F32_ELEM, 4)
DEFINE_BLOCK(block2_f32, F32_LOAD, F32_ELEM, 2)
DEFINE_BLOCK(block1_f32, F32_LOAD, F32_ELEM, 1)

typedef void (*block_fn)(const mm_ctx *c, size_t m, size_t n0, size_t n1);

static void tile_avx2(const mm_ctx *c, size_t n0, size_t n1)
{
	block_fn b4 = c->wb ? block4_bf16 : block4_f32, b2 = c->wb ? block2_bf16 : block2_f32,
		 b1 = c->wb ? block1_bf16 : block1_f32;
	size_t m = 0;

	for (; m + 4 <= c->M; m += 4)
		b4(c, m, n0, n1);
	if (m + 2 <= c->M) {
		b2(c, m, n0, n1);
		m += 2;
	}
	if (m < c->M)
		b1(c, m, n0, n1);
}

#endif

/* ---- vector helpers for attention */

#ifdef HAVE_X86_KERNEL
__attribute__((target("avx2,fma"))) static float vdot_avx2(const float *a, const float *b, size_t n)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
	size_t i = 0;
	float s;

	for (; i + 16 <= n; i += 16) {
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
	s = hsum(_mm256_add_ps(s0, s1));
	for (; i < n; i++)
		s += a[i] * b[i];
	return s;
}

__attribute__((target("avx2,fma"))) static void vaxpy_avx2(float *y, float a, const float *x, size_t n)
{
	__m256 av = _mm256_set1_ps(a);
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
	for (; i < n; i++)
		y[i] += a * x[i];
}
#endif

static bool have_avx2(void)
{
#ifdef HAVE_X86_KERNEL
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
	return false;
#endif
}

float eng__vdot(const float *a, const float *b, size_t n, bool portable)
{
#ifdef HAVE_X86_KERNEL
	if (!portable && have_avx2())
		return vdot_avx2(a, b, n);
#endif
	return dot_plain(a, b, n);
}

void eng__vaxpy(float *y, float a, const float *x, size_t n, bool portable)
{
	size_t i;

#ifdef HAVE_X86_KERNEL
	if (!portable && have_avx2()) {
		vaxpy_avx2(y, a, x, n);
		return;
	}
#endif
	for (i = 0; i < n; i++)
		y[i] += a * x[i];
}

static void mm_task(void *ctx, size_t b, size_t e, int worker)
{
	const mm_ctx *c = ctx;

	(void)worker;
#ifdef HAVE_X86_KERNEL
	if (c->avx2) {
		tile_avx2(c, b, e);
		return;
	}
#endif
	tile_plain(c, b, e);
}

void eng__mm(eng__cpu *cpu, float *y, const float *x, eng__wmat w, size_t M, size_t N, size_t K,
	     bool accumulate)
{
	mm_ctx c = { y, x, w.bf16 ? NULL : w.p, w.bf16 ? w.p : NULL, M, N, K, accumulate, false };
	size_t grain;

	c.avx2 = !cpu->portable && have_avx2();
	/* About 64 KiB of W per piece (it stays in L2 while x streams), a
	 * multiple of 3 rows, enough pieces for every worker. */
	grain = (64 * 1024 / sizeof(float)) / (K ? K : 1);
	grain = grain / 3 * 3;
	if (grain < 3)
		grain = 3;
	while (grain > 3 && N / grain < (size_t)cpu->pool.n * 4)
		grain = grain / 2 / 3 * 3;
	if (grain < 3)
		grain = 3;
	eng__pool_run(&cpu->pool, mm_task, &c, N, grain);
}
