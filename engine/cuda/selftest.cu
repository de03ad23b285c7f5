/* selftest.cu - every kernel of the module against a plain CPU reference
 * in double precision on random inputs (llm.c's habit): the GEMV in each
 * configuration and epilogue, cuBLASLt, the decode attention (split and
 * merge, window and gate), the prefill attention (tensor-core and plain),
 * the weight placement maps and sampling.  Run by the engine's tests on a
 * machine with a GPU; one line per check in the report. */
#include "engine/cuda/cuda.h"
#include "engine/rand.h"

#include <algorithm>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vector>

namespace ecu
{

namespace
{

struct Rng {
	uint64_t s;
	float next()
	{
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		return (float)((double)(s >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
	}
};

float to_bf(float f)
{
	uint32_t u = (uint32_t)eng__rand_bf16(f) << 16;
	float r;

	memcpy(&r, &u, 4);
	return r;
}

uint16_t bits(float f)
{
	return eng__rand_bf16(f);
}

struct Report {
	char *buf;
	size_t n;
	int failed;
	void line(bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)))
	{
		va_list ap;
		size_t len = strlen(buf);

		if (!ok)
			failed++;
		snprintf(buf + len, n - len, "%s ", ok ? "ok  " : "FAIL");
		len = strlen(buf);
		va_start(ap, fmt);
		vsnprintf(buf + len, n - len, fmt, ap);
		va_end(ap);
		len = strlen(buf);
		snprintf(buf + len, n - len, "\n");
	}
};

double rel_err(const std::vector<float> &got, const std::vector<double> &ref)
{
	double mx = 0, md = 0;

	for (size_t i = 0; i < ref.size(); i++) {
		double d = fabs((double)got[i] - ref[i]);

		if (fabs(ref[i]) > mx)
			mx = fabs(ref[i]);
		if (!(d <= md))
			md = d != d ? INFINITY : d;
	}
	return mx > 0 ? md / mx : md;
}

template <typename T> T *dup(const std::vector<T> &v)
{
	T *p = NULL;

	cudaMalloc(&p, v.size() * sizeof(T) + 16);
	cudaMemcpy(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice);
	return p;
}

template <typename T> std::vector<T> back(const T *p, size_t n)
{
	std::vector<T> v(n);

	cudaMemcpy(v.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost);
	return v;
}

/* ------------------------------------------------------------ GEMV */

void t_gemv(Report &r, Rng &g)
{
	GemvCfg cfgs[] = { { 2, 4, 1, 0, 0, 0, 0 }, { 2, 8, 1, 0, 0, 0, 0 }, { 4, 4, 1, 0, 0, 0, 0 },
			   { 4, 8, 1, 0, 0, 0, 0 }, { 2, 4, 3, 0, 0, 0, 0 }, { 4, 8, 2, 0, 0, 0, 0 },
			   { 2, 8, 8, 0, 0, 0, 0 }, { 16, 4, 1, 0, 0, 0, 0 }, { 16, 8, 1, 0, 0, 0, 0 },
			   { 16, 4, 3, 0, 0, 0, 0 }, { 16, 8, 8, 0, 0, 0, 0 } };
	const int N = 334, K = 1000, Kp = 1000, M = 3;
	float *ws = NULL;
	unsigned *cnt = NULL;

	/* splits: 3 ranges of K's 4 steps of 256, 2, and 8 (some empty) */
	cudaMalloc(&ws, GEMV_WS_FLOATS * 4);
	cudaMalloc(&cnt, GEMV_TILES * 4);
	cudaMemset(cnt, 0, GEMV_TILES * 4);
	for (GemvCfg &c : cfgs) {
		c.ws = ws;
		c.cnt = cnt;
		c.ws_n = GEMV_WS_FLOATS;
		c.cnt_n = GEMV_TILES;
	}
	std::vector<uint16_t> W((size_t)N * Kp);
	std::vector<float> Wf((size_t)N * Kp), x((size_t)M * Kp), nw(Kp), bias(N);

	for (size_t i = 0; i < W.size(); i++) {
		Wf[i] = to_bf(g.next() * 0.1f);
		W[i] = bits(Wf[i]);
	}
	for (auto &v : x)
		v = g.next();
	for (auto &v : nw)
		v = 1.0f + 0.2f * g.next();
	for (auto &v : bias)
		v = g.next();
	bf16 *dW = (bf16 *)dup(W);
	float *dx = dup(x), *dnw = dup(nw), *db = dup(bias), *dout;
	cudaMalloc(&dout, (size_t)M * N * 4);
	for (int mode : { EPI_STORE, EPI_ADD, EPI_SWIGLU, EPI_GATE })
		for (const GemvCfg &c : cfgs) {
			const bool norm = mode != EPI_ADD;
			std::vector<float> init((size_t)M * N);
			std::vector<double> ref;
			GemvArgs a;

			for (auto &v : init)
				v = g.next();
			cudaMemcpy(dout, init.data(), init.size() * 4, cudaMemcpyHostToDevice);
			memset(&a, 0, sizeof(a));
			a.x = dx;
			a.ldx = Kp;
			a.m = M;
			a.rowsel[0] = 2;
			a.rowsel[1] = 0;
			a.rowsel[2] = 1;
			a.nprob = 1;
			a.eps = 1e-5f;
			a.p[0] = GemvProb{ dW, N, K, Kp, NULL, norm ? dnw : NULL, mode, dout, N, db, 0 };
			cudaError_t e = gemv_launch(a, c, 0);
			if (e == cudaSuccess)
				e = cudaDeviceSynchronize();
			std::vector<float> got = back(dout, (size_t)M * N);
			for (int m = 0; m < M; m++) {
				const int row = a.rowsel[m];
				double ss = 0, rs = 1;

				for (int k = 0; k < K; k++)
					ss += (double)x[(size_t)row * Kp + k] * x[(size_t)row * Kp + k];
				if (norm)
					rs = 1.0 / sqrt(ss / K + 1e-5);
				std::vector<double> y(N);
				for (int n = 0; n < N; n++) {
					double acc = 0;

					for (int k = 0; k < K; k++)
						acc += (double)Wf[(size_t)n * Kp + k] * x[(size_t)row * Kp + k] * (norm ? nw[k] : 1.0f);
					y[n] = acc * rs;
				}
				for (int n = 0; n < N; n++) {
					if (mode == EPI_SWIGLU && n >= N / 2)
						break;
					size_t at = (size_t)row * N + n;
					double v = mode == EPI_STORE ? y[n]
						   : mode == EPI_ADD ? init[at] + y[n]
						   : mode == EPI_GATE ? 1.0 / (1.0 + exp(-(y[n] + bias[n])))
								      : y[2 * n] / (1.0 + exp(-y[2 * n])) * y[2 * n + 1];
					(void)at;
					ref.push_back(v);
				}
			}
			std::vector<float> sel;
			for (int m = 0; m < M; m++)
				for (int n = 0; n < (mode == EPI_SWIGLU ? N / 2 : N); n++)
					sel.push_back(got[(size_t)a.rowsel[m] * N + n]);
			const double err = rel_err(sel, ref);
			/* the tensor cores see x as two bf16 parts: 2^-17 of it */
			r.line(e == cudaSuccess && err < (c.rows == 16 ? 5e-5 : 2e-5),
			       "gemv mode %d, %d rows/warp, %d warps, %d splits: rel err %.2e%s%s",
			       mode, c.rows, c.warps, c.splits, err, e ? " " : "", e ? cudaGetErrorString(e) : "");
		}
	cudaFree(ws);
	cudaFree(cnt);
	cudaFree(dW);
	cudaFree(dx);
	cudaFree(dnw);
	cudaFree(db);
	cudaFree(dout);
}

/* ------------------------------------------------------------ cuBLASLt */

void t_blas(Report &r, Rng &g)
{
	const int T = 37, N = 200, K = 120;
	std::vector<uint16_t> X((size_t)T * K), W((size_t)N * K);
	std::vector<float> Xf(X.size()), Wf(W.size());
	Blas *b = NULL;
	pl_err err = { 0, "" };

	for (size_t i = 0; i < X.size(); i++)
		X[i] = bits(Xf[i] = to_bf(g.next()));
	for (size_t i = 0; i < W.size(); i++)
		W[i] = bits(Wf[i] = to_bf(g.next()));
	if (blas_open(&b, &err) < 0) {
		r.line(false, "cuBLASLt: %s", err.msg);
		return;
	}
	bf16 *dX = (bf16 *)dup(X), *dW = (bf16 *)dup(W);
	float *dY;
	cudaMalloc(&dY, (size_t)T * N * 4);
	int rc = blas_gemm(b, 0, T, N, K, dX, K, dW, K, dY, N, false, 0.f, &err);
	cudaDeviceSynchronize();
	std::vector<float> got = back(dY, (size_t)T * N);
	std::vector<double> ref;
	for (int t = 0; t < T; t++)
		for (int n = 0; n < N; n++) {
			double acc = 0;

			for (int k = 0; k < K; k++)
				acc += (double)Xf[(size_t)t * K + k] * Wf[(size_t)n * K + k];
			ref.push_back(acc);
		}
	const double e = rel_err(got, ref);
	r.line(rc == 0 && e < 1e-5, "cuBLASLt bf16 %dx%dx%d (cuBLASLt %s: %s): rel err %.2e %s", T, N, K, blas_version(b),
	       blas_path(b), e, rc ? err.msg : "");
	/* plait's own GEMM (the fallback), fp32 and bf16 out, with beta */
	{
		std::vector<float> init((size_t)T * N);

		for (auto &v : init)
			v = g.next();
		cudaMemcpy(dY, init.data(), init.size() * 4, cudaMemcpyHostToDevice);
		cudaError_t ce = gemm_fallback(0, T, N, K, dX, K, dW, K, dY, N, false, 1.0f);
		if (ce == cudaSuccess)
			ce = cudaDeviceSynchronize();
		std::vector<float> g2 = back(dY, (size_t)T * N);
		std::vector<double> ref2(ref);
		for (size_t i = 0; i < ref2.size(); i++)
			ref2[i] += init[i];
		const double e2 = rel_err(g2, ref2);
		r.line(ce == cudaSuccess && e2 < 1e-5, "plait GEMM bf16 %dx%dx%d, beta 1: rel err %.2e %s", T, N, K, e2,
		       ce ? cudaGetErrorString(ce) : "");
	}
	blas_close(b);
	cudaFree(dX);
	cudaFree(dW);
	cudaFree(dY);
}

/* ------------------------------------------------------------ attention */

/* softmax attention in double over keys lo..hi (key j's K at kf(j)). */
template <typename KF, typename VF>
void attend_ref(double *out, const double *q, int HD, int lo, int hi, double scale, KF kf, VF vf)
{
	std::vector<double> s(hi - lo + 1);
	double mx = -INFINITY, sum = 0;

	for (int j = lo; j <= hi; j++) {
		double acc = 0;

		for (int d = 0; d < HD; d++)
			acc += q[d] * kf(j, d);
		s[j - lo] = acc * scale;
		mx = s[j - lo] > mx ? s[j - lo] : mx;
	}
	for (auto &v : s) {
		v = exp(v - mx);
		sum += v;
	}
	for (int d = 0; d < HD; d++) {
		double acc = 0;

		for (int j = lo; j <= hi; j++)
			acc += s[j - lo] * vf(j, d);
		out[d] = acc / sum;
	}
}

/* Prefill of a segment of n rows at position p: loop 0, then loop 1. */
void t_prefill_attn(Report &r, Rng &g, int HD, int p, int n)
{
	const int NH = 4, KVH = 2, L = 2, layer = 1, KVD = KVH * HD, QD = NH * HD;
	const long long ps = (long long)L * 2 * KVD;
	std::vector<uint16_t> kv((size_t)(p + n) * ps), lock((size_t)(64 + n) * 2 * KVD), q((size_t)n * QD);
	std::vector<float> kvf(kv.size()), lockf(lock.size()), qf(q.size()), gate((size_t)n * NH);

	for (size_t i = 0; i < kv.size(); i++)
		kv[i] = bits(kvf[i] = to_bf(g.next()));
	for (size_t i = 0; i < lock.size(); i++)
		lock[i] = bits(lockf[i] = to_bf(g.next()));
	for (size_t i = 0; i < q.size(); i++)
		q[i] = bits(qf[i] = to_bf(g.next() * 2.0f));
	for (auto &v : gate)
		v = 0.5f + 0.5f * g.next();
	bf16 *dkv = (bf16 *)dup(kv), *dlock = (bf16 *)dup(lock), *dq = (bf16 *)dup(q), *dout;
	float *dg = dup(gate);
	cudaMalloc(&dout, (size_t)n * QD * 2);
	for (int loop = 0; loop < 2; loop++) {
		FlashArgs a;

		memset(&a, 0, sizeof(a));
		a.q = dq;
		a.ldq = QD;
		a.kv0 = dkv + (size_t)layer * 2 * KVD;
		a.kv0_ps = ps;
		a.lockv = dlock;
		a.p = p;
		a.n = n;
		a.loop = loop;
		a.gate = dg;
		a.ldg = NH;
		a.out = dout;
		a.ldo = QD;
		a.NH = NH;
		a.KVH = KVH;
		a.HD = HD;
		a.KVD = KVD;
		a.scale = (float)(1.0 / sqrt((double)HD));
		cudaError_t e = flash_launch(a, 0);
		if (e == cudaSuccess)
			e = cudaDeviceSynchronize();
		std::vector<uint16_t> ob = back((uint16_t *)dout, (size_t)n * QD);
		std::vector<float> got(ob.size());
		std::vector<double> ref((size_t)n * QD);
		for (size_t i = 0; i < ob.size(); i++) {
			uint32_t u = (uint32_t)ob[i] << 16;

			memcpy(&got[i], &u, 4);
		}
		for (int i = 0; i < n; i++)
			for (int h = 0; h < NH; h++) {
				const int kvh = h / (NH / KVH), qp = p + i;
				std::vector<double> qd(HD), og(HD), ol(HD);

				for (int d = 0; d < HD; d++)
					qd[d] = qf[(size_t)i * QD + h * HD + d];
				attend_ref(
					og.data(), qd.data(), HD, 0, qp, a.scale,
					[&](int j, int d) { return (double)kvf[(size_t)j * ps + layer * 2 * KVD + kvh * HD + d]; },
					[&](int j, int d) {
						return (double)kvf[(size_t)j * ps + layer * 2 * KVD + KVD + kvh * HD + d];
					});
				if (loop) {
					const int lo = qp >= 64 ? qp - 64 : 0;

					attend_ref(
						ol.data(), qd.data(), HD, lo, qp, a.scale,
						[&](int j, int d) { return (double)lockf[(size_t)(j - p + 64) * 2 * KVD + kvh * HD + d]; },
						[&](int j, int d) {
							return (double)lockf[(size_t)(j - p + 64) * 2 * KVD + KVD + kvh * HD + d];
						});
				}
				for (int d = 0; d < HD; d++) {
					const double gv = gate[(size_t)i * NH + h];

					ref[(size_t)i * QD + h * HD + d] = loop ? gv * og[d] + (1 - gv) * ol[d] : og[d];
				}
			}
		const double err = rel_err(got, ref), tol = HD == 128 ? 2e-2 : 1e-2;
		r.line(e == cudaSuccess && err < tol, "prefill attention head_dim %d, loop %d, positions %d..%d: rel err %.2e %s",
		       HD, loop, p, p + n - 1, err, e ? cudaGetErrorString(e) : "");
	}
	cudaFree(dkv);
	cudaFree(dlock);
	cudaFree(dq);
	cudaFree(dg);
	cudaFree(dout);
}

/* A decode step of G groups (sessions): loops 0..R-1 of group gi at
 * position t + 37 gi, each group its own K/V and its own ring (the later
 * loops of a group share it here). */
void t_decode_attn(Report &r, Rng &g, bool mma, int HD, int t, int R, int G = 1)
{
	const int NH = 6, KVH = 2, L = 2, layer = 1, KVD = KVH * HD, QD = NH * HD, gh = NH / KVH, NR = G * R;
	const long long ps = (long long)L * 2 * KVD;
	std::vector<std::vector<float>> kvf(G), ringf(G);
	std::vector<float> q((size_t)NR * QD), gate((size_t)NR * NH);
	std::vector<bf16 *> dkv(G), dring(G);
	DecParams hp, *dP;

	memset(&hp, 0, sizeof(hp));
	hp.nrows = NR;
	hp.ngroups = G;
	for (int gi = 0; gi < G; gi++) {
		const int tg = t + 37 * gi;
		std::vector<uint16_t> kv((size_t)(tg + 1) * ps), ring((size_t)WIN * ps);

		kvf[gi].resize(kv.size());
		ringf[gi].resize(ring.size());
		for (size_t i = 0; i < kv.size(); i++)
			kv[i] = bits(kvf[gi][i] = to_bf(g.next()));
		for (size_t i = 0; i < ring.size(); i++)
			ring[i] = bits(ringf[gi][i] = to_bf(g.next()));
		dkv[gi] = (bf16 *)dup(kv);
		dring[gi] = (bf16 *)dup(ring);
		hp.grp[gi].pos = tg;
		hp.grp[gi].nrows = R;
		hp.grp[gi].kv0 = dkv[gi];
		for (int i = 0; i < R; i++) {
			const int row = gi * R + i;

			hp.grp[gi].rows[i] = row;
			hp.row[row].pos = tg;
			hp.row[row].loop = i;
			hp.row[row].group = gi;
			hp.row[row].qslot = i;
			hp.row[row].ring = i ? dring[gi] : NULL;
		}
	}
	for (auto &v : q)
		v = 2.0f * g.next();
	for (auto &v : gate)
		v = 0.5f + 0.5f * g.next();
	float *dq = dup(q), *dg = dup(gate), *datt, *dpart, *dml;
	unsigned *dcnt;
	cudaMalloc(&dP, sizeof(hp));
	cudaMemcpy(dP, &hp, sizeof(hp), cudaMemcpyHostToDevice);
	cudaMalloc(&datt, (size_t)NR * QD * 4);
	cudaMalloc(&dpart, (size_t)NR * NH * DEC_SMAX * HD * 4);
	cudaMalloc(&dml, (size_t)NR * NH * DEC_SMAX * 2 * 4);
	cudaMalloc(&dcnt, (size_t)G * KVH * 4);
	cudaMemset(dcnt, 0, (size_t)G * KVH * 4);
	DecAttnArgs a;
	memset(&a, 0, sizeof(a));
	a.P = dP;
	a.q = dq;
	a.ldq = QD;
	a.part = dpart;
	a.ml = dml;
	a.layer = layer;
	a.L = L;
	a.NH = NH;
	a.KVH = KVH;
	a.HD = HD;
	a.KVD = KVD;
	a.scale = (float)(1.0 / sqrt((double)HD));
	a.gate = dg;
	a.ldgate = NH;
	a.att = datt;
	a.ldatt = QD;
	a.cnt = mma ? dcnt : NULL; /* no counters: the split and merge kernels */
	/* twice: the second launch finds the counters put back */
	cudaError_t e = dec_attn_launch(a, G, NR, gh * R, 0);
	if (e == cudaSuccess)
		e = cudaMemset(datt, 0, (size_t)NR * QD * 4);
	if (e == cudaSuccess)
		e = dec_attn_launch(a, G, NR, gh * R, 0);
	if (e == cudaSuccess)
		e = cudaDeviceSynchronize();
	std::vector<float> got = back(datt, (size_t)NR * QD);
	std::vector<double> ref((size_t)NR * QD);
	for (int row = 0; row < NR; row++)
		for (int h = 0; h < NH; h++) {
			const int kvh = h / gh, gi = row / R, loop = row % R, tg = t + 37 * gi;
			const std::vector<float> &kf = kvf[gi], &rf = ringf[gi];
			std::vector<double> qd(HD), og(HD), ol(HD);

			for (int d = 0; d < HD; d++)
				qd[d] = q[(size_t)row * QD + h * HD + d];
			attend_ref(
				og.data(), qd.data(), HD, 0, tg, a.scale,
				[&](int j, int d) {
					return (double)kf[(size_t)j * ps + layer * 2 * KVD + kvh * HD + d];
				},
				[&](int j, int d) {
					const size_t row = (size_t)j * ps + layer * 2 * KVD;

					return (double)kf[row + KVD + kvh * HD + d];
				});
			if (loop) {
				const int lo = tg >= 64 ? tg - 64 : 0;

				attend_ref(
					ol.data(), qd.data(), HD, lo, tg, a.scale,
					[&](int j, int d) {
						return (double)rf[(size_t)(j % WIN) * ps + layer * 2 * KVD +
								  kvh * HD + d];
					},
					[&](int j, int d) {
						return (double)rf[(size_t)(j % WIN) * ps + layer * 2 * KVD +
								  KVD + kvh * HD + d];
					});
			}
			for (int d = 0; d < HD; d++) {
				const double gv = gate[(size_t)row * NH + h];

				ref[(size_t)row * QD + h * HD + d] =
					loop ? gv * og[d] + (1 - gv) * ol[d] : og[d];
			}
		}
	const double err = rel_err(got, ref);
	r.line(e == cudaSuccess && err < 1e-4,
	       "decode attention head_dim %d, position %d, %d loops, %d group%s: rel err %.2e %s", HD, t, R,
	       G, G > 1 ? "s" : "", err, e ? cudaGetErrorString(e) : "");
	for (int gi = 0; gi < G; gi++) {
		cudaFree(dkv[gi]);
		cudaFree(dring[gi]);
	}
	cudaFree(dq);
	cudaFree(dg);
	cudaFree(datt);
	cudaFree(dpart);
	cudaFree(dml);
	cudaFree(dcnt);
	cudaFree(dP);
}

/* The decode norm: rows of ldx floats, H of them real (zero padding in x
 * and w, as the model keeps them); widths up to 8192 take the kernel's
 * one-pass path, wider ones its loop. */
void t_norm(Report &r, Rng &g, int H, int ldx, int rows)
{
	const float eps = 1e-6f;
	std::vector<float> x((size_t)rows * ldx, 0.f), w((size_t)ldx, 0.f);

	for (int i = 0; i < rows; i++)
		for (int k = 0; k < H; k++)
			x[(size_t)i * ldx + k] = 3.0f * g.next();
	for (int k = 0; k < H; k++)
		w[k] = 1.0f + g.next();
	float *dx = dup(x), *dw = dup(w), *dout;
	cudaMalloc(&dout, x.size() * 4);
	cudaMemset(dout, 0xff, x.size() * 4); /* NaN: every column must be written */
	cudaError_t e = dec_norm_launch(dx, ldx, H, dw, dout, rows, eps, false, 0);
	if (e == cudaSuccess)
		e = cudaDeviceSynchronize();
	std::vector<float> got = back(dout, x.size());
	std::vector<double> ref(x.size(), 0.0);
	for (int i = 0; i < rows; i++) {
		double ss = 0;

		for (int k = 0; k < H; k++)
			ss += (double)x[(size_t)i * ldx + k] * x[(size_t)i * ldx + k];
		const double rs = 1.0 / sqrt(ss / H + eps);
		for (int k = 0; k < H; k++)
			ref[(size_t)i * ldx + k] = (double)w[k] * x[(size_t)i * ldx + k] * rs;
	}
	const double err = rel_err(got, ref);
	r.line(e == cudaSuccess && err < 1e-5, "decode norm, %d rows of %d (%d real): rel err %.2e %s", rows, ldx, H, err,
	       e ? cudaGetErrorString(e) : "");
	cudaFree(dx);
	cudaFree(dw);
	cudaFree(dout);
}

/* ------------------------------------------------------------ placement */

void t_place(Report &r, Rng &g)
{
	const int rows = 24, cols = 13, ldd = 16, hd = 8;
	std::vector<float> src((size_t)rows * cols);
	bool ok = true;

	for (auto &v : src)
		v = g.next();
	float *ds = dup(src);
	bf16 *dd;
	cudaMalloc(&dd, (size_t)2 * rows * ldd * 2);
	for (int map = 0; map < 3; map++) {
		PlaceArgs a;

		cudaMemset(dd, 0xff, (size_t)2 * rows * ldd * 2);
		memset(&a, 0, sizeof(a));
		a.src = ds;
		a.dtype = ENG_CUDA_F32;
		a.rows = rows;
		a.cols = cols;
		a.dst = dd;
		a.ldd = ldd;
		a.map = map;
		a.hd = hd;
		a.which = 1;
		place_launch(a, 0);
		cudaDeviceSynchronize();
		std::vector<uint16_t> got = back((uint16_t *)dd, (size_t)2 * rows * ldd);
		for (int rr = 0; rr < rows; rr++) {
			const int j = rr % hd;
			const int dr = map == 0 ? rr : map == 2 ? 2 * rr + 1 : rr / hd * hd + (j < hd / 2 ? 2 * j : 2 * (j - hd / 2) + 1);

			for (int c = 0; c < ldd; c++)
				ok = ok && got[(size_t)dr * ldd + c] == (c < cols ? bits(src[(size_t)rr * cols + c]) : 0);
		}
	}
	r.line(ok, "weight placement (identity, RoPE pairs, gate/up interleave, f32 to bf16, padding)");
	cudaFree(ds);
	cudaFree(dd);
}

/* ------------------------------------------------------------ sampling */

/* engine/sampler.c's algorithm after the draw, on the host. */
int pick_ref(const std::vector<float> &lg, const eng_sampling &sp, double u01)
{
	const int V = (int)lg.size();
	std::vector<std::pair<float, int>> c(V);
	std::vector<float> w(V);

	for (int i = 0; i < V; i++)
		c[i] = { (float)(lg[i] / sp.temperature), i };
	std::stable_sort(c.begin(), c.end(), [](const std::pair<float, int> &a, const std::pair<float, int> &b) {
		return a.first > b.first;
	});
	size_t n = V, keep;
	if (sp.top_k > 0 && sp.top_k < V)
		n = sp.top_k;
	double sum = 0, acc;
	for (size_t i = 0; i < n; i++)
		sum += w[i] = (float)exp((double)c[i].first - (double)c[0].first);
	keep = n;
	if (sp.top_p > 0 && sp.top_p < 1) {
		acc = 0;
		for (size_t i = 0; i < n; i++) {
			acc += w[i] / sum;
			if (acc >= sp.top_p) {
				keep = i + 1;
				break;
			}
		}
	}
	if (sp.min_p > 0)
		for (size_t i = 1; i < keep; i++)
			if (w[i] < sp.min_p * w[0]) {
				keep = i;
				break;
			}
	sum = 0;
	for (size_t i = 0; i < keep; i++)
		sum += w[i];
	double u = u01 * sum;
	acc = 0;
	for (size_t i = 0; i < keep; i++) {
		acc += w[i];
		if (u < acc)
			return c[i].second;
	}
	return c[keep - 1].second;
}

void t_sample(Report &r, Rng &g)
{
	const int V = 5000;
	std::vector<float> lg(V);
	SampleBufs b;
	int agree = 0, total = 0, id = -1;

	for (auto &v : lg)
		v = 3.0f * g.next();
	lg[17] = lg[4000] = 9.0f; /* a tie for the argmax: the lower id wins */
	memset(&b, 0, sizeof(b));
	b.tmp_bytes = sample_tmp_bytes(V);
	cudaMalloc(&b.seen, V);
	cudaMalloc(&b.w, V * 4);
	cudaMalloc(&b.keys, V * 4);
	cudaMalloc(&b.keys_sorted, V * 4);
	cudaMalloc(&b.vals, V * 4);
	cudaMalloc(&b.vals_sorted, V * 4);
	cudaMalloc(&b.tmp, b.tmp_bytes);
	cudaMalloc(&b.id_out, 4);
	cudaMalloc(&b.lse_out, 8);
	float *dl = dup(lg);
	eng_sampling sp;
	memset(&sp, 0, sizeof(sp));
	sp.top_p = 1;
	sp.repetition_penalty = 1;
	cudaError_t e = sample_launch(dl, V, NULL, 0, &sp, 0, b, 0);
	cudaMemcpy(&id, b.id_out, 4, cudaMemcpyDeviceToHost);
	r.line(e == cudaSuccess && id == 17, "greedy on the device: id %d (expected 17, the lower of a tie)", id);
	for (int trial = 0; trial < 40; trial++) {
		sp.temperature = 0.5 + 0.05 * trial;
		sp.top_k = trial % 3 ? 50 * trial : 0;
		sp.top_p = trial % 4 ? 0.5 + 0.01 * trial : 1;
		sp.min_p = trial % 5 == 1 ? 0.05 : 0;
		const double u = (g.next() + 1) / 2;
		e = sample_launch(dl, V, NULL, 0, &sp, u, b, 0);
		cudaMemcpy(&id, b.id_out, 4, cudaMemcpyDeviceToHost);
		total++;
		agree += e == cudaSuccess && id == pick_ref(lg, sp, u);
	}
	/* sums in another order may move a draw that falls within rounding of
	 * a boundary: allow one */
	r.line(agree >= total - 1, "temperature/top-k/top-p/min-p sampling: %d of %d draws as engine/sampler.c", agree,
	       total);
	e = logprobs_launch(dl, V, b, 0);
	std::vector<int> ids = back(b.vals_sorted, 3);
	double lse = 0;
	cudaMemcpy(&lse, b.lse_out, 8, cudaMemcpyDeviceToHost);
	double mx = -INFINITY, s = 0;
	for (float v : lg)
		mx = v > mx ? v : mx;
	for (float v : lg)
		s += exp((double)v - mx);
	r.line(e == cudaSuccess && ids[0] == 17 && ids[1] == 4000 && fabs(lse - (mx + log(s))) < 1e-9,
	       "log-probabilities: top ids %d %d, log-sum-exp error %.1e", ids[0], ids[1], fabs(lse - (mx + log(s))));
	cudaFree(dl);
	cudaFree(b.seen);
	cudaFree(b.w);
	cudaFree(b.keys);
	cudaFree(b.keys_sorted);
	cudaFree(b.vals);
	cudaFree(b.vals_sorted);
	cudaFree(b.tmp);
	cudaFree(b.id_out);
	cudaFree(b.lse_out);
}

} /* namespace */

int selftest(char *report, size_t n, int device, pl_err *err)
{
	Report r = { report, n, 0 };
	Rng g = { 12345 };
	cudaError_t e;

	report[0] = '\0';
	if ((e = cudaSetDevice(device)) != cudaSuccess)
		return seterr(err, PL_EUNSUPPORTED, "no CUDA device %d: %s", device, cudaGetErrorString(e));
	bool mma = false;

	gemv_init();
	dec_attn_init(&mma);
	flash_init();
	t_gemv(r, g);
	t_blas(r, g);
	t_decode_attn(r, g, mma, 128, 4100, 2);  /* 15 splits of 288 keys */
	t_decode_attn(r, g, mma, 128, 700, 2, 3);  /* three sessions, each its own keys and window */
	t_decode_attn(r, g, mma, 128, 5000, 2, 2); /* two sessions, two tiles for some warps */
	t_decode_attn(r, g, mma, 128, 300, 3);   /* 9 queries per K/V head, 2 splits */
	t_decode_attn(r, g, mma, 128, 4100, 6);  /* 18: the split and merge kernels */
	t_decode_attn(r, g, mma, 128, 40, 1);    /* one split, warps without keys */
	t_decode_attn(r, g, mma, 128, 20000, 2); /* 5 tiles per warp */
	t_decode_attn(r, g, mma, 128, 255, 5);   /* 15 queries, one split */
	t_decode_attn(r, g, mma, 16, 70, 2);
	t_prefill_attn(r, g, 128, 100, 150);
	t_prefill_attn(r, g, 128, 0, 70);
	t_prefill_attn(r, g, 16, 40, 90);
	t_norm(r, g, 5120, 5120, 2);
	t_norm(r, g, 70, 72, 3);
	t_norm(r, g, 9000, 9000, 1); /* past 8192: the loop */
	t_place(r, g);
	t_sample(r, g);
	if ((e = cudaGetLastError()) != cudaSuccess)
		r.line(false, "CUDA error after the checks: %s", cudaGetErrorString(e));
	if (r.failed)
		return seterr(err, PL_EINTERNAL, "%d kernel checks failed", r.failed);
	return 0;
}

} /* namespace ecu */
