/* blas.cu - bf16 products through cuBLASLt (prefill, and the GEMM ceiling).
 *
 * libcublasLt is opened at first use with dlopen, like the module itself:
 * a machine without it can still probe GPUs (plait doctor), and the error
 * says which library is missing.  Each shape gets its algorithm from
 * cublasLtMatmulAlgoGetHeuristic once (llm.c's approach) and keeps it. */
#include "engine/cuda/cuda.h"

#include <cublasLt.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

namespace ecu
{

enum { MAX_PLANS = 128, WS_BYTES = 32 << 20, MAX_ALGOS = 8 };

struct Plan {
	int T, N, K, ldx, ldw, ldy;
	bool ybf;
	cublasLtMatmulDesc_t op;
	cublasLtMatrixLayout_t la, lb, lc;
	cublasLtMatmulAlgo_t algo[MAX_ALGOS];
	int nalgo, use; /* heuristic results; the one that ran */
};


struct Blas {
	void *lib;
	cublasLtHandle_t h;
	void *ws;
	Plan plans[MAX_PLANS];
	int nplans, next;
	char version[32];
	char path[256];
	bool lt_failed; /* cuBLASLt could not run a product here: the fallback kernel runs them */
	char lt_error[256];
#define FN(name) decltype(&name) name##_
	FN(cublasLtCreate);
	FN(cublasLtDestroy);
	FN(cublasLtGetVersion);
	FN(cublasLtGetStatusString);
	FN(cublasLtMatmulDescCreate);
	FN(cublasLtMatmulDescDestroy);
	FN(cublasLtMatmulDescSetAttribute);
	FN(cublasLtMatrixLayoutCreate);
	FN(cublasLtMatrixLayoutDestroy);
	FN(cublasLtMatmulPreferenceCreate);
	FN(cublasLtMatmulPreferenceDestroy);
	FN(cublasLtMatmulPreferenceSetAttribute);
	FN(cublasLtMatmulAlgoGetHeuristic);
	FN(cublasLtMatmul);
#undef FN
};

static int lterr(Blas *b, pl_err *err, cublasStatus_t s, const char *what)
{
	return seterr(err, PL_EINTERNAL, "%s: %s (cuBLASLt status %d)", what,
		      b->cublasLtGetStatusString_ ? b->cublasLtGetStatusString_(s) : "error", (int)s);
}

#define LT(call, what)                                 \
	do {                                           \
		cublasStatus_t s_ = (call);            \
		if (s_ != CUBLAS_STATUS_SUCCESS)       \
			return lterr(b, err, s_, what); \
	} while (0)

int blas_open(Blas **out, pl_err *err)
{
	static const char *const names[] = { "libcublasLt.so.13", "/usr/local/cuda/lib64/libcublasLt.so.13",
					     "libcublasLt.so" };
	Blas *b = new Blas();
	char tried[512] = "";
	size_t i;
	cudaError_t rc;

	for (i = 0; i < sizeof(names) / sizeof(names[0]) && !b->lib; i++) {
		b->lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		if (!b->lib) {
			const char *why = dlerror();

			snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried), "%s%s", i ? "; " : "",
				 why ? why : names[i]);
		}
	}
	if (!b->lib) {
		delete b;
		return seterr(err, PL_EUNSUPPORTED, "cannot load cuBLASLt (tried %s)", tried);
	}
#define SYM(name)                                                                                        \
	if (!(*(void **)&b->name##_ = dlsym(b->lib, #name))) {                                           \
		dlclose(b->lib);                                                                         \
		delete b;                                                                                \
		return seterr(err, PL_EUNSUPPORTED, "libcublasLt has no %s: too old for this module", #name); \
	}
	SYM(cublasLtCreate);
	SYM(cublasLtDestroy);
	SYM(cublasLtGetVersion);
	SYM(cublasLtGetStatusString);
	SYM(cublasLtMatmulDescCreate);
	SYM(cublasLtMatmulDescDestroy);
	SYM(cublasLtMatmulDescSetAttribute);
	SYM(cublasLtMatrixLayoutCreate);
	SYM(cublasLtMatrixLayoutDestroy);
	SYM(cublasLtMatmulPreferenceCreate);
	SYM(cublasLtMatmulPreferenceDestroy);
	SYM(cublasLtMatmulPreferenceSetAttribute);
	SYM(cublasLtMatmulAlgoGetHeuristic);
	SYM(cublasLtMatmul);
#undef SYM
	{
		cublasStatus_t s = b->cublasLtCreate_(&b->h);

		if (s != CUBLAS_STATUS_SUCCESS) {
			int r = lterr(b, err, s, "cublasLtCreate");

			dlclose(b->lib);
			delete b;
			return r;
		}
	}
	if ((rc = cudaMalloc(&b->ws, WS_BYTES)) != cudaSuccess) {
		b->cublasLtDestroy_(b->h);
		dlclose(b->lib);
		delete b;
		return cuerr(err, rc, "cudaMalloc (cuBLASLt workspace, 32 MiB)");
	}
	{
		Dl_info di;

		if (dladdr((void *)b->cublasLtMatmul_, &di) && di.dli_fname)
			snprintf(b->path, sizeof(b->path), "%s", di.dli_fname);
	}
	{
		size_t v = b->cublasLtGetVersion_();

		snprintf(b->version, sizeof(b->version), "%zu.%zu.%zu", v / 10000, v / 100 % 100, v % 100);
	}
	*out = b;
	return 0;
}

static void plan_release(Blas *b, Plan *p)
{
	b->cublasLtMatrixLayoutDestroy_(p->la);
	b->cublasLtMatrixLayoutDestroy_(p->lb);
	b->cublasLtMatrixLayoutDestroy_(p->lc);
	b->cublasLtMatmulDescDestroy_(p->op);
}

void blas_close(Blas *b)
{
	if (!b)
		return;
	for (int i = 0; i < b->nplans; i++)
		plan_release(b, &b->plans[i]);
	cudaFree(b->ws);
	b->cublasLtDestroy_(b->h);
	/* the library stays mapped: cuBLAS's own exit handlers may still run */
	delete b;
}

const char *blas_version(Blas *b)
{
	return b ? b->version : "";
}

static int plan_make(Blas *b, Plan *p, pl_err *err)
{
	cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
	cublasLtMatmulPreference_t pref;
	cublasLtMatmulHeuristicResult_t res[MAX_ALGOS];
	size_t ws = WS_BYTES;
	int n = 0;

	/* Y^T (N x T, column-major) = W^T-as-stored (N x K) . X^T (K x T) */
	LT(b->cublasLtMatmulDescCreate_(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
	LT(b->cublasLtMatmulDescSetAttribute_(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)),
	   "cublasLtMatmulDescSetAttribute (TRANSA)");
	LT(b->cublasLtMatmulDescSetAttribute_(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)),
	   "cublasLtMatmulDescSetAttribute (TRANSB)");
	LT(b->cublasLtMatrixLayoutCreate_(&p->la, CUDA_R_16BF, p->K, p->N, p->ldw), "cublasLtMatrixLayoutCreate (W)");
	LT(b->cublasLtMatrixLayoutCreate_(&p->lb, CUDA_R_16BF, p->K, p->T, p->ldx), "cublasLtMatrixLayoutCreate (X)");
	LT(b->cublasLtMatrixLayoutCreate_(&p->lc, p->ybf ? CUDA_R_16BF : CUDA_R_32F, p->N, p->T, p->ldy),
	   "cublasLtMatrixLayoutCreate (Y)");
	LT(b->cublasLtMatmulPreferenceCreate_(&pref), "cublasLtMatmulPreferenceCreate");
	{
		cublasStatus_t s = b->cublasLtMatmulPreferenceSetAttribute_(
			pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));

		if (s == CUBLAS_STATUS_SUCCESS)
			s = b->cublasLtMatmulAlgoGetHeuristic_(b->h, p->op, p->la, p->lb, p->lc, p->lc, pref, MAX_ALGOS,
								res, &n);
		b->cublasLtMatmulPreferenceDestroy_(pref);
		if (s != CUBLAS_STATUS_SUCCESS)
			return lterr(b, err, s, "cublasLtMatmulAlgoGetHeuristic");
	}
	if (n < 1)
		return seterr(err, PL_EUNSUPPORTED, "cuBLASLt has no algorithm for a %d x %d x %d bf16 product", p->T,
			      p->N, p->K);
	for (int i = 0; i < n; i++)
		p->algo[i] = res[i].algo;
	p->nalgo = n;
	p->use = 0;
	return 0;
}

/* ------------------------------------------------------------ fallback */

/* A plain tensor-core product (mma.sync m16n8k16, bf16 in, fp32
 * accumulation): Y[T][N] = beta Y + X . W^T, both operands K-contiguous
 * rows padded with zeros to a multiple of 8.  128 x 128 tiles, 32-deep
 * K steps, three cp.async stages.  Runs only where cuBLASLt cannot (it is
 * slower): the error that made it run is in the description. */
enum { GB = 128, GK = 32, GLD = GK + 8, GSTAGES = 3 };
enum { GSMEM = GSTAGES * 2 * GB * GLD * (int)sizeof(bf16) };

static __device__ __forceinline__ void g_cp16(void *dst, const void *src, bool valid)
{
	const unsigned s = (unsigned)__cvta_generic_to_shared(dst);

	asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(s), "l"(src), "r"(valid ? 16 : 0));
}

static __device__ __forceinline__ void g_mma(float *c, const uint32_t *a, uint32_t b0, uint32_t b1)
{
	asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
		     "{%8, %9}, {%0, %1, %2, %3};"
		     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
		     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__global__ void __launch_bounds__(256) k_gemm(const bf16 *X, int ldx, const bf16 *W, int ldw, void *Y, int ldy, int ybf,
					      float beta, int T, int N, int K)
{
	extern __shared__ __align__(16) bf16 gsm[];
	const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t4 = lane & 3;
	const int wm = warp >> 2, wn = warp & 3, r0 = blockIdx.y * GB, c0 = blockIdx.x * GB;
	const int Kr = (K + 7) & ~7, nk = (Kr + GK - 1) / GK;
	float acc[4][4][4];

#pragma unroll
	for (int i = 0; i < 4; i++)
#pragma unroll
		for (int j = 0; j < 4; j++)
			acc[i][j][0] = acc[i][j][1] = acc[i][j][2] = acc[i][j][3] = 0.f;
	auto xs = [&](int st) { return gsm + (size_t)st * 2 * GB * GLD; };
	auto ws = [&](int st) { return gsm + (size_t)st * 2 * GB * GLD + GB * GLD; };
	auto load = [&](int st, int kt) {
		for (int c = threadIdx.x; c < 2 * GB * (GK / 8); c += 256) {
			const int which = c / (GB * (GK / 8)), cc = c % (GB * (GK / 8)), r = cc / (GK / 8),
				  k = kt * GK + (cc % (GK / 8)) * 8;
			bf16 *dst = (which ? ws(st) : xs(st)) + r * GLD + (cc % (GK / 8)) * 8;

			if (which == 0) {
				const bool ok = r0 + r < T && k < Kr;

				g_cp16(dst, X + (ok ? (size_t)(r0 + r) * ldx + k : 0), ok);
			} else {
				const bool ok = c0 + r < N && k < Kr;

				g_cp16(dst, W + (ok ? (size_t)(c0 + r) * ldw + k : 0), ok);
			}
		}
	};
	for (int s = 0; s < GSTAGES - 1; s++) {
		if (s < nk)
			load(s, s);
		asm volatile("cp.async.commit_group;");
	}
	for (int kt = 0; kt < nk; kt++) {
		asm volatile("cp.async.wait_group %0;" ::"n"(GSTAGES - 2));
		__syncthreads();
		if (kt + GSTAGES - 1 < nk)
			load((kt + GSTAGES - 1) % GSTAGES, kt + GSTAGES - 1);
		asm volatile("cp.async.commit_group;");
		const bf16 *A = xs(kt % GSTAGES), *Bm = ws(kt % GSTAGES);
#pragma unroll
		for (int kk = 0; kk < GK / 16; kk++) {
			uint32_t a[4][4];
#pragma unroll
			for (int mt = 0; mt < 4; mt++) {
				const bf16 *p = A + (wm * 64 + mt * 16 + g) * GLD + kk * 16 + 2 * t4;

				a[mt][0] = *(const uint32_t *)p;
				a[mt][1] = *(const uint32_t *)(p + 8 * GLD);
				a[mt][2] = *(const uint32_t *)(p + 8);
				a[mt][3] = *(const uint32_t *)(p + 8 * GLD + 8);
			}
#pragma unroll
			for (int nt = 0; nt < 4; nt++) {
				const bf16 *p = Bm + (wn * 32 + nt * 8 + g) * GLD + kk * 16 + 2 * t4;
				const uint32_t b0 = *(const uint32_t *)p, b1 = *(const uint32_t *)(p + 8);

#pragma unroll
				for (int mt = 0; mt < 4; mt++)
					g_mma(acc[mt][nt], a[mt], b0, b1);
			}
		}
	}
	asm volatile("cp.async.wait_group 0;");
#pragma unroll
	for (int mt = 0; mt < 4; mt++)
#pragma unroll
		for (int nt = 0; nt < 4; nt++)
#pragma unroll
			for (int e = 0; e < 4; e++) {
				const int row = r0 + wm * 64 + mt * 16 + g + (e >> 1) * 8, col = c0 + wn * 32 + nt * 8 + 2 * t4 + (e & 1);

				if (row >= T || col >= N)
					continue;
				if (ybf) {
					bf16 *y = (bf16 *)Y + (size_t)row * ldy + col;
					const float v = acc[mt][nt][e] + (beta != 0.f ? beta * __bfloat162float(*y) : 0.f);

					*y = __float2bfloat16_rn(v);
				} else {
					float *y = (float *)Y + (size_t)row * ldy + col;

					*y = acc[mt][nt][e] + (beta != 0.f ? beta * *y : 0.f);
				}
			}
}

cudaError_t gemm_fallback(cudaStream_t st, int T, int N, int K, const bf16 *X, int ldx, const bf16 *W, int ldw, void *Y,
			  int ldy, bool y_bf16, float beta)
{
	static bool attr;

	if (!attr) {
		cudaError_t rc = cudaFuncSetAttribute(k_gemm, cudaFuncAttributeMaxDynamicSharedMemorySize, GSMEM);

		if (rc != cudaSuccess)
			return rc;
		attr = true;
	}
	k_gemm<<<dim3((N + GB - 1) / GB, (T + GB - 1) / GB), 256, GSMEM, st>>>(X, ldx, W, ldw, Y, ldy, y_bf16, beta, T, N,
									   K);
	return cudaGetLastError();
}

const char *blas_path(Blas *b)
{
	return b ? (b->lt_failed ? b->lt_error : b->path) : "";
}

int blas_gemm(Blas *b, cudaStream_t st, int T, int N, int K, const bf16 *X, int ldx, const bf16 *W, int ldw, void *Y,
	      int ldy, bool y_bf16, float beta, pl_err *err)
{
	Plan *p = NULL;
	const float alpha = 1.0f;
	int i, rc;

	if (b->lt_failed)
		goto fallback;

	for (i = 0; i < b->nplans; i++) {
		Plan *q = &b->plans[i];

		if (q->T == T && q->N == N && q->K == K && q->ldx == ldx && q->ldw == ldw && q->ldy == ldy &&
		    q->ybf == y_bf16) {
			p = q;
			break;
		}
	}
	if (!p) {
		Plan np;

		memset(&np, 0, sizeof(np));
		np.T = T;
		np.N = N;
		np.K = K;
		np.ldx = ldx;
		np.ldw = ldw;
		np.ldy = ldy;
		np.ybf = y_bf16;
		if ((rc = plan_make(b, &np, err)) < 0)
			return rc; /* (handles made before the failure are not freed: a broken library) */
		if (b->nplans < MAX_PLANS) {
			p = &b->plans[b->nplans++];
		} else {
			p = &b->plans[b->next];
			b->next = (b->next + 1) % MAX_PLANS;
			plan_release(b, p);
		}
		*p = np;
	}
	/* the heuristic's choices in order: one that cannot launch here
	 * (seen: status 13 on a VM) gives way to the next */
	for (; p->use < p->nalgo; p->use++) {
		cublasStatus_t s = b->cublasLtMatmul_(b->h, p->op, &alpha, W, p->la, X, p->lb, &beta, Y, p->lc, Y, p->lc,
						      &p->algo[p->use], b->ws, WS_BYTES, st);
		cudaError_t ce = cudaGetLastError();

		if (s == CUBLAS_STATUS_SUCCESS)
			return 0;
		snprintf(b->lt_error, sizeof(b->lt_error),
			 "cuBLASLt %s could not run a %dx%dx%d product (%s, status %d; CUDA: %s); plait's own tensor-core "
			 "GEMM runs the products",
			 b->version, T, N, K, b->cublasLtGetStatusString_(s), (int)s, cudaGetErrorName(ce));
	}
	b->lt_failed = true;
fallback:
	{
		cudaError_t e = gemm_fallback(st, T, N, K, X, ldx, W, ldw, Y, ldy, y_bf16, beta);

		return e == cudaSuccess ? 0 : cuerr(err, e, "plait's GEMM (cuBLASLt fallback)");
	}
}

} /* namespace ecu */
