/* The CUDA backend held to the CPU backend (the oracle) position by
 * position, and the CUDA module's kernels to their CPU references.  On a
 * machine without a GPU (or a build without nvcc) every test here is
 * skipped with the reason, visibly; `scripts/gpu-run.sh` runs them on a
 * GPU machine, under compute-sanitizer too.
 *
 * Done when (issue #13): on random checkpoints (R = 1, 2, 3; GQA; BF16,
 * F16 and F32 storage; prompts past the 65-key window; --loops overriding
 * the config), CUDA log-probabilities match the CPU backend's within bf16
 * tolerance: over 512 teacher-forced positions, top-1 agreement >= 99%
 * and the log-probabilities of the CPU's top 5 within 5e-2; and CUDA's
 * prefill, decode, chunked prefill, truncate and fork agree with each
 * other.
 *
 * "Within bf16 tolerance" is measured, not guessed: the CUDA backend keeps
 * weights (F16 and F32 ones rounded on upload) and K/V in bf16 and runs
 * prefill products on bf16 operands, and on these random checkpoints (q
 * and k weights twice the usual scale: sharp attention) that rounding
 * alone costs more than 1% top-1 and 5e-2: bf16 K/V alone, in R = 1 decode
 * of a BF16 checkpoint, gives 98.4% and 0.057.  So each case also runs
 * tests/reference/cuda_numerics.py, plt_ref.py's forward pass with exactly
 * the CUDA backend's roundings, and the bounds are 99% and 5e-2 or, where
 * the rounding itself is further from the CPU, what the rounding gives with
 * a margin (ROUND_*); and decode, whose fp32 activations leave little
 * room, is held close to its emulation (EMU_DEC_*): a bug (an index, a
 * stride, a gate) moves CUDA away from it.
 * The H200 figures of the first run and the emulation's agreed to a few
 * percent in every case (docs/ENGINE.md, "Parity on the GPU").
 *
 * A second set of checkpoints, trained-like (trained_like[]: q, k and the
 * gate at the 1/sqrt(fan_in) scale, o_proj and down_proj at GPT-2's
 * 1/sqrt(2 x layers), an lm_head of log-normal row norms, untied
 * embeddings), is held to the bar as it is, 99% and 5e-2, in
 * prefill and decode, with no allowance from the emulation: there the
 * emulated rounding meets it (`cuda_numerics.py --set conditioned`), and
 * the emulation with a deliberate bug (a 64-key window, the gate ignored,
 * the global branch over the loop's own K/V, RoPE off by one, the
 * cross-loop input unshifted, ...) misses it (`--mutations`).  The same
 * self-consistency checks run on both sets. */
#include "engine/cuda/module.h"
#include "engine/internal.h"
#include "test_helpers.h" /* criterion.h before parameterized.h: Test() needs that order */

#include <criterion/parameterized.h>

#define POSITIONS 512
#define TOP1_MIN 0.99
#define TOP5_MAX 5e-2
#define SELF_MAX 5e-2 /* CUDA against itself: prefill (bf16 products) and decode (fp32 GEMV) */
/* Where the emulated rounding is further from the CPU than TOP1_MIN and
 * TOP5_MAX allow: CUDA may be ROUND_TOP1 of the positions below the
 * emulation's agreement, and ROUND_TOP5 times its difference plus TOP5_MAX
 * away (the first H200 run: within 0.8% and 1.24x of the emulation in all 14 figures). */
#define ROUND_TOP1 0.02
#define ROUND_TOP5 1.25
/* CUDA against the emulation itself (the same roundings, another
 * summation order and exp): the emulation in fp32 instead of float64
 * arithmetic, a second correct implementation, differs from it in decode
 * by at most 0.4% top-1 and 0.2 (r3_f16; 0.023 elsewhere), so a decode
 * bug shows here first; in prefill the bf16 operands amplify the order of
 * summation (up to 2.3% and 0.19, 2.1 for r3_f16: as much as the rounding
 * itself), so prefill is only printed and held to the CPU bounds. */
#define EMU_DEC_TOP1 0.98
#define EMU_DEC_TOP5 0.1      /* at least */
#define EMU_DEC_TOP5_FRAC 0.1 /* of the emulation's own difference from the CPU */

static eng_model *load(const char *dir, const char *backend, int loops)
{
	eng_load_opts lo = { 0 };
	eng_model *m = NULL;
	pl_err err = { 0 };
	int rc;

	lo.loops = loops;
	lo.threads = 2;
	lo.backend = backend;
	rc = eng_model_load(&m, dir, &lo, &err);
	if (strcmp(backend, "cpu") && (rc == PL_EUNSUPPORTED || (rc == PL_ENOTFOUND && !eng_backend_is_built("cuda"))))
		cr_skip_test("backend %s cannot run here: %s", backend, err.msg);
	cr_assert_eq(rc, 0, "%s on %s: %s", dir, backend, err.msg);
	return m;
}

static void need_cuda(void)
{
	if (!eng_backend_is_built("cuda"))
		cr_skip_test("this plait is built without the CUDA backend (no nvcc)");
}

/* log-softmax of one row, in double */
static void log_softmax(double *out, const float *lg, size_t V)
{
	double mx = -INFINITY, s = 0;
	size_t i;

	for (i = 0; i < V; i++)
		mx = lg[i] > mx ? lg[i] : mx;
	for (i = 0; i < V; i++)
		s += exp((double)lg[i] - mx);
	for (i = 0; i < V; i++)
		out[i] = (double)lg[i] - mx - log(s);
}

static size_t argmax(const float *lg, size_t V)
{
	size_t i, b = 0;

	for (i = 1; i < V; i++)
		if (lg[i] > lg[b])
			b = i;
	return b;
}

typedef struct agreement {
	size_t top1;	 /* positions whose argmax agrees */
	double top5;	 /* largest |logprob difference| over the oracle's top 5 */
	size_t n;
} agreement;

static agreement compare(const float *got, const float *oracle, size_t n, size_t V)
{
	double *a = malloc(V * sizeof(double)), *b = malloc(V * sizeof(double));
	agreement r = { 0, 0, n };
	size_t t, k, i;

	for (t = 0; t < n; t++) {
		const float *g = got + t * V, *o = oracle + t * V;
		bool used[1024] = { false };

		cr_assert_leq(V, 1024);
		log_softmax(a, g, V);
		log_softmax(b, o, V);
		r.top1 += argmax(g, V) == argmax(o, V);
		for (k = 0; k < 5 && k < V; k++) {
			size_t best = 0;

			for (i = 0; i < V; i++)
				if (!used[i] && (used[best] || b[i] > b[best]))
					best = i;
			used[best] = true;
			if (fabs(a[best] - b[best]) > r.top5 || isnan(a[best]))
				r.top5 = isnan(a[best]) ? INFINITY : fabs(a[best] - b[best]);
		}
	}
	free(a);
	free(b);
	return r;
}

/* What bf16 rounding alone gives: tests/reference/cuda_numerics.py's
 * emulated logits (mode "decode" or "prefill") of ids, as floats. */
static float *emulated(const char *dir, const char *mode, int loops, const int32_t *ids, size_t n, size_t V)
{
	const char *root = getenv("PLAIT_ROOT"), *py = getenv("PLAIT_REF_PYTHON");
	pl_buf cmd = PL_BUF_INIT;
	char out[64];
	double *d;
	float *f = malloc(n * V * sizeof(float));
	size_t i;
	int st;

	snprintf(out, sizeof(out), "emulated-%s.bin", mode);
	pl_buf_printf(&cmd, "OMP_NUM_THREADS=2 %s %s/tests/reference/cuda_numerics.py logits %s --mode %s --out %s/%s --ids ",
		      py && *py ? py : "/usr/bin/python3", root ? root : ".", dir, mode, dir, out);
	for (i = 0; i < n; i++)
		pl_buf_printf(&cmd, "%s%d", i ? "," : "", ids[i]);
	if (loops)
		pl_buf_printf(&cmd, " --loops %d", loops);
	st = test_sh(NULL, "%s", cmd.ptr);
	cr_assert_eq(st, 0, "the rounding emulation failed (%d): %.200s", st, cmd.ptr);
	d = read_f64(dir, out, n * V);
	for (i = 0; i < n * V; i++)
		f[i] = (float)d[i];
	free(d);
	pl_buf_release(&cmd);
	return f;
}

/* How a case's CUDA figures are held to the CPU's. */
typedef enum bounds {
	/* the sharp set: TOP1_MIN and TOP5_MAX or, where the emulated rounding
	 * itself is further from the CPU, what it gives with a margin; and
	 * decode close to its emulation */
	BOUNDS_EMULATED,
	/* the trained-like set: TOP1_MIN and TOP5_MAX as the issue states them */
	BOUNDS_FIXED,
} bounds;

/* got (CUDA) against the oracle (the CPU).  With emu and near (the
 * emulated rounding against the same oracle, CUDA against the emulation):
 * bounded by what the rounding gives, and in decode by the emulation
 * itself; without (NULL), by the bar as it is. */
static void expect(const char *label, const char *what, bool decode, agreement r, const agreement *emu,
		   const agreement *near)
{
	double n = (double)r.n, top1_min = TOP1_MIN * n, top5_max = TOP5_MAX, near_top5;

	if (!emu) {
		fprintf(stderr,
			"cuda parity %s, %s: top-1 agreement %zu/%zu (%.2f%%), top-5 log-prob max diff %.2e "
			"(the bar: at least %.0f%%, at most %.0e)\n",
			label, what, r.top1, r.n, 100.0 * (double)r.top1 / n, r.top5, 100.0 * TOP1_MIN, TOP5_MAX);
		cr_expect_geq((double)r.top1, top1_min, "%s, %s: top-1 agreement %zu of %zu (at least %.0f)", label, what,
			      r.top1, r.n, ceil(top1_min));
		cr_expect_leq(r.top5, top5_max, "%s, %s: top-5 log-prob difference %g (at most %g)", label, what, r.top5,
			      top5_max);
		return;
	}
	near_top5 = EMU_DEC_TOP5_FRAC * emu->top5 > EMU_DEC_TOP5 ? EMU_DEC_TOP5_FRAC * emu->top5 : EMU_DEC_TOP5;
	if ((double)emu->top1 - ROUND_TOP1 * n < top1_min)
		top1_min = (double)emu->top1 - ROUND_TOP1 * n;
	if (ROUND_TOP5 * emu->top5 + TOP5_MAX > top5_max)
		top5_max = ROUND_TOP5 * emu->top5 + TOP5_MAX;
	fprintf(stderr,
		"cuda parity %s, %s: top-1 agreement %zu/%zu (%.2f%%), top-5 log-prob max diff %.2e; "
		"bf16 rounding alone (emulated): %zu/%zu (%.2f%%), %.2e; CUDA against the emulation: %zu/%zu, %.2e\n",
		label, what, r.top1, r.n, 100.0 * (double)r.top1 / n, r.top5, emu->top1, emu->n,
		100.0 * (double)emu->top1 / n, emu->top5, near->top1, near->n, near->top5);
	cr_expect_geq((double)r.top1, top1_min, "%s, %s: top-1 agreement %zu of %zu (at least %.0f: rounding alone gives %zu)",
		      label, what, r.top1, r.n, ceil(top1_min), emu->top1);
	cr_expect_leq(r.top5, top5_max, "%s, %s: top-5 log-prob difference %g (at most %g: rounding alone gives %g)", label,
		      what, r.top5, top5_max, emu->top5);
	if (!decode)
		return;
	cr_expect_geq((double)near->top1, EMU_DEC_TOP1 * n, "%s, %s: top-1 agreement with the emulated rounding %zu of %zu",
		      label, what, near->top1, near->n);
	cr_expect_leq(near->top5, near_top5, "%s, %s: top-5 log-prob difference from the emulated rounding %g (at most %g)",
		      label, what, near->top5, near_top5);
}

typedef struct tcase {
	const char *name, *args;
	int loops; /* --loops; 0 = the config's */
} tcase;

/* PLAIT_TEST_CASES (names, comma-separated) runs only those cases: under
 * compute-sanitizer's racecheck a case takes minutes, and the longest
 * needs a process (and a command's time limit) of its own. */
static void only_named(const char *name)
{
	const char *l = getenv("PLAIT_TEST_CASES"), *p;
	size_t n = strlen(name);

	if (!l || !*l)
		return;
	for (p = l; (p = strstr(p, name)); p += n)
		if ((p == l || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
			return;
	cr_skip_test("case %s is not among PLAIT_TEST_CASES (%s)", name, l);
}

static void run(const tcase *tc, bounds bd)
{
	char *dir;
	pl_buf args = PL_BUF_INIT;
	eng_model *cpu, *cu;
	eng_session *s = NULL, *t = NULL, *f = NULL;
	pl_err err = { 0 };
	int32_t ids[POSITIONS], next;
	size_t V, i, cut = 300;
	float *oracle, *pf, *dec, *lg, *x1, *x2, *epf = NULL, *edec = NULL;
	agreement emu, near;
	double self_max = SELF_MAX;

	need_cuda();
	only_named(tc->name);
	dir = tmpdir("plait-cuda");
	pl_buf_printf(&args, "write %s %s", dir, tc->args);
	ref_run(args.ptr);
	cu = load(dir, "cuda", tc->loops);
	cpu = load(dir, "cpu", tc->loops);
	V = (size_t)eng_model_config(cpu)->vocab;
	for (i = 0; i < POSITIONS; i++)
		ids[i] = (int32_t)((i * 7919 + 13 + i * i * 31) % V);
	oracle = malloc(POSITIONS * V * sizeof(float));
	pf = malloc(POSITIONS * V * sizeof(float));
	dec = malloc(POSITIONS * V * sizeof(float));
	lg = malloc(POSITIONS * V * sizeof(float));
	x1 = malloc(V * sizeof(float));
	x2 = malloc(V * sizeof(float));

	/* the oracle: CPU prefill of all positions */
	cr_assert_eq(eng_session_new(&s, cpu, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(oracle, s, ids, POSITIONS, &err), 0, "%s", err.msg);
	eng_session_free(s);

	if (bd == BOUNDS_EMULATED) {
		/* what the CUDA backend's roundings alone give (cuda_numerics.py) */
		epf = emulated(dir, "prefill", tc->loops, ids, POSITIONS, V);
		edec = emulated(dir, "decode", tc->loops, ids, POSITIONS, V);
		/* decode and prefill round differently: they may differ by what
		 * the emulation's two differ, with the same margin */
		self_max = ROUND_TOP5 * rel_err_f32(edec, epf, POSITIONS * V);
		self_max = self_max > SELF_MAX ? self_max : SELF_MAX;
	}

	/* CUDA prefill (chunks of 64, loops in order) */
	cr_assert_eq(eng_session_new(&s, cu, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(pf, s, ids, POSITIONS, &err), 0, "%s", err.msg);
	if (epf) {
		emu = compare(epf, oracle, POSITIONS, V);
		near = compare(pf, epf, POSITIONS, V);
	}
	expect(tc->name, "prefill", false, compare(pf, oracle, POSITIONS, V), epf ? &emu : NULL, epf ? &near : NULL);

	/* CUDA decode, token by token (all loops of a token in one step) */
	cr_assert_eq(eng_session_new(&t, cu, &err), 0, "%s", err.msg);
	for (i = 0; i < POSITIONS; i++)
		cr_assert_eq(eng_session_append(dec + i * V, t, &ids[i], 1, &err), 0, "%s", err.msg);
	if (edec) {
		emu = compare(edec, oracle, POSITIONS, V);
		near = compare(dec, edec, POSITIONS, V);
	}
	expect(tc->name, "decode", true, compare(dec, oracle, POSITIONS, V), edec ? &emu : NULL, edec ? &near : NULL);
	cr_expect_lt(rel_err_f32(dec, pf, POSITIONS * V), self_max, "%s: decode against prefill %g (at most %g)", tc->name,
		     rel_err_f32(dec, pf, POSITIONS * V), self_max);

	/* a fork continues exactly as the original */
	next = ids[7];
	cr_assert_eq(eng_session_fork(&f, t, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(x1, t, &next, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(x2, f, &next, 1, &err), 0, "%s", err.msg);
	cr_expect_arr_eq(x1, x2, V * sizeof(float), "%s: a fork decodes differently", tc->name);
	eng_session_free(f);
	eng_session_free(t);

	/* chunked prefill in two appends, chunks of 200 */
	cr_assert_eq(eng_session_new(&t, cu, &err), 0, "%s", err.msg);
	eng_session_set_chunk(t, 200);
	cr_assert_eq(eng_session_append(lg, t, ids, 150, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(lg + 150 * V, t, ids + 150, POSITIONS - 150, &err), 0, "%s", err.msg);
	cr_expect_lt(rel_err_f32(lg, pf, POSITIONS * V), SELF_MAX, "%s: chunked against prefill %g", tc->name,
		     rel_err_f32(lg, pf, POSITIONS * V));

	/* truncate the prefilled session back to 300, regenerate: the
	 * windows of positions 235..298 come back from the host copy, and
	 * eng_session_truncate re-runs position 299 in the decode form, so
	 * its K/V and h^r are decode's roundings from there on: the bound is
	 * decode against prefill's (self_max) */
	cr_assert_eq(eng_session_truncate(s, cut, &err), 0, "%s", err.msg);
	cr_expect_lt(rel_err_f32(eng_session_logits(s), pf + (cut - 1) * V, V), self_max, "%s: logits after truncate %g",
		     tc->name, rel_err_f32(eng_session_logits(s), pf + (cut - 1) * V, V));
	cr_assert_eq(eng_session_append(lg, s, ids + cut, POSITIONS - cut, &err), 0, "%s", err.msg);
	cr_expect_lt(rel_err_f32(lg, pf + cut * V, (POSITIONS - cut) * V), self_max,
		     "%s: regenerate after truncate %g (at most %g)", tc->name,
		     rel_err_f32(lg, pf + cut * V, (POSITIONS - cut) * V), self_max);
	/* and decode after truncate (the chunked session): decode's roundings
	 * against prefill's */
	cr_assert_eq(eng_session_truncate(t, cut, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(lg, t, ids + cut, 1, &err), 0, "%s", err.msg);
	cr_expect_lt(rel_err_f32(lg, pf + cut * V, V), self_max, "%s: decode after truncate %g", tc->name,
		     rel_err_f32(lg, pf + cut * V, V));

	eng_session_free(t);
	eng_session_free(s);
	eng_model_free(cu);
	eng_model_free(cpu);
	free(oracle);
	free(epf);
	free(edec);
	free(pf);
	free(dec);
	free(lg);
	free(x1);
	free(x2);
	pl_buf_release(&args);
	tmpdir_remove(dir);
}

static const tcase cases[] = {
	{ "r1_plain_bf16_gqa", "--seed 31 --plain --loops 1 --dtype bf16 --hidden 64 --inter 96 --heads 4 --kv-heads 2 --vocab 128",
	  0 },
	{ "r2_bf16_gqa4", "--seed 32 --loops 2 --dtype bf16 --hidden 64 --inter 96 --heads 8 --kv-heads 2 --vocab 128", 0 },
	{ "r2_f32_head128", "--seed 33 --loops 2 --dtype f32 --hidden 256 --inter 384 --heads 2 --kv-heads 1 --vocab 256 "
			    "--rope-theta 500000 --hidden-scale 0.053",
	  0 },
	{ "r3_bf16_head128_gqa", "--seed 34 --loops 3 --dtype bf16 --hidden 512 --inter 256 --heads 4 --kv-heads 2 "
				 "--vocab 256",
	  0 },
	{ "loops3_over_r2_checkpoint", "--seed 35 --loops 2 --dtype bf16 --hidden 48 --heads 6 --kv-heads 2 --vocab 96", 3 },
	{ "loops1_over_r2_checkpoint", "--seed 36 --loops 2 --dtype bf16 --hidden 48 --heads 6 --kv-heads 2 --vocab 96", 1 },
	{ "r3_f16_sharded_three_layers", "--seed 37 --loops 3 --dtype f16 --hidden 32 --layers 3 --heads 2 --kv-heads 1 "
					 "--shards 3 --tie",
	  0 },
};

ParameterizedTestParameters(cuda, logprobs_match_the_cpu_backend)
{
	static int idx[PL_ARRAY_LEN(cases)];
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(cases); i++)
		idx[i] = (int)i;
	return cr_make_param_array(int, idx, PL_ARRAY_LEN(cases));
}

ParameterizedTest(int *i, cuda, logprobs_match_the_cpu_backend, .timeout = 600)
{
	run(&cases[*i], BOUNDS_EMULATED);
}

/* The trained-like set (the same strings as tests/reference/
 * cuda_numerics.py's CONDITIONED): q, k and the gate at the 1/sqrt(fan_in)
 * scale, the lm_head at half of it with rows of log-normal norms, o_proj
 * and down_proj at GPT-2's 1/sqrt(2 x layers), RMSNorm weights 1 +- 0.2,
 * untied embeddings.  Each case covers one item of the list, and
 * all of them the rest: GQA and more than one layer everywhere, head_dim
 * 128 (the flash kernel) in two cases and 16 or 32 in the others, 512
 * positions past the 65-key window. */
#define TRAINED_LIKE " --qk-scale 1 --gate-scale 1 --lm-head-scale 0.3 --lm-head-spread 0.8"
static const tcase trained_like[] = {
	{ "tl_r1_plain_bf16_gqa",
	  "--seed 51 --plain --loops 1 --dtype bf16 --hidden 64 --inter 128 --heads 4 --kv-heads 2 --vocab 128 "
	  "--out-scale 0.5" TRAINED_LIKE,
	  0 },
	{ "tl_r2_bf16_gqa4",
	  "--seed 52 --loops 2 --dtype bf16 --hidden 128 --inter 256 --heads 8 --kv-heads 2 --vocab 128 "
	  "--out-scale 0.5" TRAINED_LIKE,
	  0 },
	{ "tl_r2_f32_head128",
	  "--seed 53 --loops 2 --dtype f32 --hidden 256 --inter 512 --heads 2 --kv-heads 1 --vocab 128 "
	  "--rope-theta 500000 --hidden-scale 0.053 --out-scale 0.5" TRAINED_LIKE,
	  0 },
	{ "tl_r3_bf16_head128_gqa",
	  "--seed 54 --loops 3 --dtype bf16 --hidden 512 --inter 768 --heads 4 --kv-heads 2 --vocab 128 "
	  "--out-scale 0.5" TRAINED_LIKE,
	  0 },
	{ "tl_loops3_over_r2_checkpoint",
	  "--seed 55 --loops 2 --dtype bf16 --hidden 96 --inter 192 --heads 6 --kv-heads 2 --vocab 128 "
	  "--out-scale 0.5" TRAINED_LIKE,
	  3 },
	{ "tl_loops1_over_r2_checkpoint",
	  "--seed 56 --loops 2 --dtype bf16 --hidden 96 --inter 192 --heads 6 --kv-heads 2 --vocab 128 "
	  "--out-scale 0.5" TRAINED_LIKE,
	  1 },
	{ "tl_r3_f16_sharded_three_layers",
	  "--seed 57 --loops 3 --dtype f16 --hidden 256 --inter 512 --layers 3 --heads 8 --kv-heads 2 --vocab 128 "
	  "--shards 3 --out-scale 0.41" TRAINED_LIKE,
	  0 },
};

ParameterizedTestParameters(cuda, logprobs_meet_the_bf16_bar_on_trained_like_checkpoints)
{
	static int idx[PL_ARRAY_LEN(trained_like)];
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(trained_like); i++)
		idx[i] = (int)i;
	return cr_make_param_array(int, idx, PL_ARRAY_LEN(trained_like));
}

ParameterizedTest(int *i, cuda, logprobs_meet_the_bf16_bar_on_trained_like_checkpoints, .timeout = 600)
{
	run(&trained_like[*i], BOUNDS_FIXED);
}

/* The rounding emulation the parity bounds come from is the reference
 * itself when it rounds nothing, on any machine (no GPU needed): its
 * exact mode gives the CPU backend's logits (R = 3, past the window), and
 * on a BF16 checkpoint rounding the weights changes nothing, while
 * rounding the K/V (decode) does. */
Test(cuda, rounding_emulation_without_rounding_is_the_reference, .timeout = 120)
{
	char *dir = tmpdir("plait-cuda");
	pl_buf args = PL_BUF_INIT;
	eng_model *cpu;
	eng_session *s = NULL;
	pl_err err = { 0 };
	int32_t ids[80];
	float *lg, *ex, *wt, *dc;
	size_t V, i;

	pl_buf_printf(&args, "write %s --seed 38 --loops 3 --dtype bf16 --hidden 32 --heads 4 --kv-heads 2 --vocab 64",
		      dir);
	ref_run(args.ptr);
	pl_buf_release(&args);
	cpu = load(dir, "cpu", 0);
	V = (size_t)eng_model_config(cpu)->vocab;
	for (i = 0; i < 80; i++)
		ids[i] = (int32_t)((i * 7919 + 13 + i * i * 31) % V);
	lg = malloc(80 * V * sizeof(float));
	cr_assert_eq(eng_session_new(&s, cpu, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(lg, s, ids, 80, &err), 0, "%s", err.msg);
	ex = emulated(dir, "exact", 0, ids, 80, V);
	wt = emulated(dir, "weights", 0, ids, 80, V);
	dc = emulated(dir, "decode", 0, ids, 80, V);
	cr_expect_lt(rel_err_f32(ex, lg, 80 * V), 1e-4, "exact emulation against the CPU: %g", rel_err_f32(ex, lg, 80 * V));
	cr_expect_lt(rel_err_f32(wt, ex, 80 * V), 1e-6, "bf16 weights of a BF16 checkpoint: %g", rel_err_f32(wt, ex, 80 * V));
	cr_expect_gt(rel_err_f32(dc, ex, 80 * V), 1e-6, "bf16 K/V must change the logits");
	eng_session_free(s);
	eng_model_free(cpu);
	free(lg);
	free(ex);
	free(wt);
	free(dc);
	tmpdir_remove(dir);
}

Test(cuda, kernels_match_their_cpu_references, .timeout = 300)
{
	const eng_cuda_ops_v2 *ops;
	static char report[16384];
	pl_err err = { 0 };
	int rc;

	need_cuda();
	cr_assert_eq(eng__cuda_module_load_v2(&ops, &err), 0, "%s", err.msg);
	rc = ops->selftest(report, sizeof(report), 0, &err);
	if (rc == PL_EUNSUPPORTED)
		cr_skip_test("no GPU: %s", err.msg);
	fprintf(stderr, "%s", report);
	cr_assert_eq(rc, 0, "%s\n%s", err.msg, report);
}

/* eng_model_random draws the same weights on both backends: a model of
 * LoopCoder-V2's proportions, scaled down, agrees with the CPU's; and the
 * device keeps only the windows of the later loops (K/V of R = 2 within
 * 1.02 x R = 1 at 32768 positions). */
Test(cuda, random_models_agree_and_windows_stay_fixed, .timeout = 300)
{
	eng_config c;
	eng_load_opts lo = { 0 };
	eng_model *m[2][2] = { { NULL } };
	pl_err err = { 0 };
	uint64_t dev[2], host;
	int32_t ids[70];
	float *lg[2];
	int b, r, i, rc;

	need_cuda();
	memset(&c, 0, sizeof(c));
	c.hidden = 256;
	c.intermediate = 512;
	c.layers = 2;
	c.heads = 4;
	c.kv_heads = 2;
	c.head_dim = 128;
	c.vocab = 500;
	c.rms_eps = 1e-5;
	c.rope_theta = 500000;
	c.emb_scale = 0.707;
	c.hidden_scale = 0.053;
	c.window_left = 64;
	c.is_plt = true;
	for (i = 0; i < 70; i++)
		ids[i] = (i * 37 + 11) % 500;
	for (r = 1; r <= 2; r++)
		for (b = 0; b < 2; b++) {
			c.loops = c.config_loops = r;
			lo.backend = b ? "cuda" : "cpu";
			lo.threads = 2;
			rc = eng_model_random(&m[r - 1][b], &c, 7, &lo, &err);
			if (b && rc == PL_EUNSUPPORTED)
				cr_skip_test("backend cuda cannot run here: %s", err.msg);
			cr_assert_eq(rc, 0, "%s", err.msg);
		}
	for (r = 0; r < 2; r++) {
		eng_session *s[2];
		agreement a;

		for (b = 0; b < 2; b++) {
			lg[b] = malloc(70 * 500 * sizeof(float));
			cr_assert_eq(eng_session_new(&s[b], m[r][b], &err), 0, "%s", err.msg);
			cr_assert_eq(eng_session_append(lg[b], s[b], ids, 70, &err), 0, "%s", err.msg);
		}
		a = compare(lg[1], lg[0], 70, 500);
		fprintf(stderr, "cuda random model R=%d: top-1 %zu/70, top-5 log-prob max diff %.2e\n", r + 1, a.top1, a.top5);
		cr_expect_leq(a.top5, TOP5_MAX);
		/* K/V at 32768 positions */
		cr_assert_eq(eng_session_append(NULL, s[1], ids, 1, &err), 0, "%s", err.msg);
		cr_assert_eq(m[r][1]->b->ops->state_reserve(s[1]->st, 32768, &err), 0, "%s", err.msg);
		eng_session_memory(s[1], &dev[r], &host);
		for (b = 0; b < 2; b++) {
			eng_session_free(s[b]);
			free(lg[b]);
		}
	}
	fprintf(stderr, "cuda state at 32768 positions: R=1 %llu bytes, R=2 %llu bytes (%.4fx)\n",
		(unsigned long long)dev[0], (unsigned long long)dev[1], (double)dev[1] / (double)dev[0]);
	cr_expect_leq((double)dev[1], 1.02 * (double)dev[0]);
	for (r = 0; r < 2; r++)
		for (b = 0; b < 2; b++)
			eng_model_free(m[r][b]);
}

/* Sampling on the device: greedy is the argmax; with a seed, the draws
 * are the CPU sampler's (one uniform number per token, on the host), and
 * a top_k of 1 gives the argmax whatever the temperature; log-probs. */
Test(cuda, sampling_on_the_device, .timeout = 300)
{
	char *dir = tmpdir("plait-cuda");
	pl_buf args = PL_BUF_INIT;
	eng_model *cu;
	eng_session *s = NULL;
	eng_sampler *smp = NULL, *smp2 = NULL;
	eng_sampling sp;
	pl_err err = { 0 };
	int32_t ids[] = { 3, 9, 27, 81, 50 }, id, id2;
	eng_logprob top[5], ref[5];
	const float *lg;
	size_t V, i;
	int k;

	need_cuda();
	pl_buf_printf(&args, "write %s --seed 41 --loops 2 --dtype bf16 --hidden 64 --heads 4 --kv-heads 2 --vocab 100",
		      dir);
	ref_run(args.ptr);
	cu = load(dir, "cuda", 0);
	V = (size_t)eng_model_config(cu)->vocab;
	cr_assert_eq(eng_session_new(&s, cu, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(NULL, s, ids, 5, &err), 0, "%s", err.msg);
	lg = eng_session_logits(s);
	cr_assert_not_null(lg);
	cr_assert_eq(eng__session_sample(&id, s, NULL, &err), 0, "%s", err.msg);
	cr_expect_eq((size_t)id, argmax(lg, V));
	cr_assert_eq(eng__session_logprobs(top, s, 5, &err), 0, "%s", err.msg);
	eng_logprobs_top(ref, lg, (int64_t)V, 5);
	for (k = 0; k < 5; k++) {
		cr_expect_eq(top[k].id, ref[k].id, "log-prob rank %d: id %d, expected %d", k, top[k].id, ref[k].id);
		cr_expect_lt(fabsf(top[k].logprob - ref[k].logprob), 1e-5);
	}
	eng_sampling_init(&sp);
	sp.temperature = 0.9;
	sp.top_p = 0.95;
	sp.repetition_penalty = 1.3;
	cr_assert_eq(eng_sampler_new(&smp, &sp, 1234, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_sampler_new(&smp2, &sp, 1234, &err), 0, "%s", err.msg);
	for (i = 0; i < 20; i++) {
		/* the device's draw against the CPU sampler on the same logits */
		cr_assert_eq(eng__session_sample(&id, s, smp, &err), 0, "%s", err.msg);
		id2 = eng_sampler_sample(smp2, eng_session_logits(s), (int64_t)V, eng_session_tokens(s), eng_session_len(s));
		cr_expect_eq(id, id2, "draw %zu: device %d, host sampler %d", i, id, id2);
		cr_assert_eq(eng_session_append(NULL, s, &id, 1, &err), 0, "%s", err.msg);
	}
	sp.top_k = 1;
	sp.temperature = 5;
	cr_assert_eq(eng_sampler_set_params(smp, &sp, &err), 0, "%s", err.msg);
	cr_assert_eq(eng__session_sample(&id, s, smp, &err), 0, "%s", err.msg);
	sp.temperature = 0;
	sp.top_k = 0;
	cr_assert_eq(eng_sampler_set_params(smp2, &sp, &err), 0, "%s", err.msg);
	id2 = eng_sampler_sample(smp2, eng_session_logits(s), (int64_t)V, eng_session_tokens(s), eng_session_len(s));
	cr_expect_eq(id, id2, "top_k 1 must give the (penalised) argmax");
	eng_sampler_free(smp);
	eng_sampler_free(smp2);
	eng_session_free(s);
	eng_model_free(cu);
	pl_buf_release(&args);
	tmpdir_remove(dir);
}
