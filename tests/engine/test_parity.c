/* Parity of every backend that can run a model (engine/backend.h: "cpu",
 * and "cuda" in CUDA builds) against the PyTorch float64 reference, and
 * the agreement of prefill, token-by-token decode, chunked prefill,
 * truncate-then-regenerate and fork on each.  Each case runs once per
 * backend, as a parameterised test whose parameter is the backend's index
 * in eng__backends(); a backend this machine cannot run (a GPU backend
 * without a GPU) is skipped with the loader's reason.  Tolerances are per
 * backend: the CPU backend computes in fp32 and is the oracle the others
 * are held to (test_cuda.c holds the CUDA backend to it position by
 * position); the CUDA backend keeps weights and K/V in bf16 and runs
 * prefill products on bf16 operands, so it gets bf16 tolerances here. */
#include <criterion/parameterized.h>

#include "engine/backend.h"
#include "test_helpers.h"

typedef struct tolerance {
	const char *backend;
	double ref;	 /* max |backend - reference| / max |reference| */
	double self;	 /* the backend against itself, different schedules */
	double near_tie; /* reference top-1/top-2 logit margin below which greedy may differ */
} tolerance;

/* A backend without a row here fails its parity tests: adding one means
 * deciding how close it must be.  bf16 has 8 significant bits: 4e-3
 * relative per rounding, a few roundings per layer. */
static const tolerance tolerances[] = {
	{ "cpu", 1e-4, 1e-5, 1e-3 },
	{ "cuda", 5e-2, 5e-2, 0.25 },
};

static const tolerance *tolerance_of(const char *backend)
{
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(tolerances); i++)
		if (!strcmp(tolerances[i].backend, backend))
			return &tolerances[i];
	cr_assert_fail("backend '%s' has no parity tolerance in test_parity.c", backend);
	return NULL;
}

/* The parameters of every parity test: the index of each backend that can
 * run a model (indices, not names: a parameter crosses into the test's
 * process by value). */
static struct criterion_test_params backend_params(void)
{
	static int idx[16];
	size_t n = 0;

	while (eng__backends()[n]) {
		PL_ASSERT(n < PL_ARRAY_LEN(idx));
		idx[n] = (int)n;
		n++;
	}
	return cr_make_param_array(int, idx, n);
}

static const char *backend_name(int i)
{
	return eng__backends()[i]->name;
}

/* Loads dir on backend; skips the test when this machine cannot run the
 * backend (no device), fails on any other error. */
static eng_model *load_on(const char *dir, const char *backend, int loops, int threads, bool portable)
{
	eng_load_opts lo = { 0 };
	eng_model *m = NULL;
	pl_err err = { 0 };
	int rc;

	lo.loops = loops;
	lo.threads = threads;
	lo.portable_kernels = portable;
	lo.backend = backend;
	rc = eng_model_load(&m, dir, &lo, &err);
	if (rc == PL_EUNSUPPORTED && strcmp(backend, "cpu"))
		cr_skip_test("backend %s cannot run here: %s", backend, err.msg);
	cr_assert_eq(rc, 0, "%s on %s: %s", dir, backend, err.msg);
	return m;
}

typedef struct pcase {
	const char *args; /* reference shape options */
	int prompt_len, greedy;
	int threads;
	bool portable; /* the plain C kernels instead of AVX2 */
} pcase;

/* Greedy with the engine; compares with the reference's continuation.
 * Returns the number of steps compared (all, or up to a reported near-tie). */
static size_t check_greedy(eng_session *s, const char *dir, const char *label, double near_tie)
{
	size_t n_ref, n_m, i;
	int32_t *ref = read_ids(dir, "greedy.json", "ids", &n_ref);
	double *margin = read_doubles(dir, "greedy.json", "margins", &n_m);
	eng_gen_opts o;
	eng_gen_result r;
	pl_err err = { 0 };

	eng_gen_opts_init(&o);
	o.max_tokens = n_ref;
	cr_assert_eq(eng_generate(&r, s, NULL, &o, &err), 0, "%s", err.msg);
	cr_assert_eq(r.n, n_ref);
	cr_assert_eq(r.finish, ENG_FINISH_LENGTH);
	for (i = 0; i < n_ref; i++) {
		if (r.ids[i] == ref[i])
			continue;
		/* A genuine near-tie in the float64 reference may go either way in fp32. */
		cr_assert_lt(margin[i], near_tie, "%s: greedy step %zu: engine %d, reference %d (margin %g)", label,
			     i, r.ids[i], ref[i], margin[i]);
		cr_log_warn("%s: greedy step %zu is a near-tie in the reference (margin %g); compared %zu steps",
			    label, i, margin[i], i);
		break;
	}
	eng_gen_result_release(&r);
	free(ref);
	free(margin);
	return i;
}

static void run_case(const pcase *pc, const char *name, const char *backend)
{
	const tolerance *tol = tolerance_of(backend);
	char label[96];
	char *dir = tmpdir("plait-parity");
	pl_buf args = PL_BUF_INIT;
	eng_model *m;
	eng_session *s = NULL, *t = NULL, *u = NULL;
	pl_err err = { 0 };
	int32_t *ids;
	size_t n, V, i, cut;
	double *ref;
	float *lg, *lg2;
	const eng_config *c;

	snprintf(label, sizeof(label), "%s on %s", name, backend);
	pl_buf_printf(&args, "case %s %s --prompt-len %d --greedy %d", dir, pc->args, pc->prompt_len, pc->greedy);
	ref_run(args.ptr);
	m = load_on(dir, backend, 0, pc->threads, pc->portable);
	c = eng_model_config(m);
	V = (size_t)c->vocab;
	ids = read_ids(dir, "prompt.json", "ids", &n);
	ref = read_f64(dir, "logits.bin", n * V);
	lg = malloc(n * V * sizeof(float));
	lg2 = malloc(n * V * sizeof(float));

	/* 1. prefill (one chunk of 64, then the rest) against the reference */
	cr_assert_eq(eng_session_new(&s, m, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(lg, s, ids, n, &err), 0, "%s", err.msg);
	cr_assert_lt(rel_err_f64(lg, ref, n * V), tol->ref, "%s: prefill rel err %g", label,
		     rel_err_f64(lg, ref, n * V));
	if (strcmp(backend, "cpu"))
		fprintf(stderr, "parity %s: prefill rel err %.3g against the float64 reference\n", label,
			rel_err_f64(lg, ref, n * V));
	cr_assert_eq(memcmp(eng_session_logits(s), lg + (n - 1) * V, V * sizeof(float)), 0);

	/* 2. token-by-token decode (all loops of a token in one pass) */
	cr_assert_eq(eng_session_new(&t, m, &err), 0, "%s", err.msg);
	for (i = 0; i < n; i++)
		cr_assert_eq(eng_session_append(lg2 + i * V, t, &ids[i], 1, &err), 0, "%s", err.msg);
	cr_assert_lt(rel_err_f64(lg2, ref, n * V), tol->ref, "%s: decode rel err %g", label,
		     rel_err_f64(lg2, ref, n * V));
	cr_assert_lt(rel_err_f32(lg2, lg, n * V), tol->self, "%s: decode vs prefill %g", label,
		     rel_err_f32(lg2, lg, n * V));
	eng_session_free(t);

	/* 3. chunked prefill with an odd chunk, in two appends */
	cr_assert_eq(eng_session_new(&t, m, &err), 0, "%s", err.msg);
	eng_session_set_chunk(t, 7);
	cr_assert_eq(eng_session_append(lg2, t, ids, 30, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(lg2 + 30 * V, t, ids + 30, n - 30, &err), 0, "%s", err.msg);
	cr_assert_lt(rel_err_f32(lg2, lg, n * V), tol->self, "%s: chunked vs prefill %g", label,
		     rel_err_f32(lg2, lg, n * V));

	/* 4. truncate then regenerate: cut a longer session back and re-append */
	for (cut = 1; cut < n; cut += n / 3) {
		cr_assert_eq(eng_session_truncate(t, cut, &err), 0, "%s", err.msg);
		cr_assert_eq(eng_session_len(t), cut);
		cr_assert_lt(rel_err_f32(eng_session_logits(t), lg + (cut - 1) * V, V), tol->self,
			     "%s: logits after truncate to %zu", label, cut);
		cr_assert_eq(eng_session_append(lg2 + cut * V, t, ids + cut, n - cut, &err), 0, "%s",
			     err.msg);
		cr_assert_lt(rel_err_f32(lg2 + cut * V, lg + cut * V, (n - cut) * V), tol->self,
			     "%s: regenerate after truncate to %zu: %g", label, cut,
			     rel_err_f32(lg2 + cut * V, lg + cut * V, (n - cut) * V));
	}

	/* 5. greedy continuation; a fork, and a truncated copy, regenerate it */
	if (pc->greedy) {
		size_t steps;

		cr_assert_eq(eng_session_fork(&u, s, &err), 0, "%s", err.msg);
		steps = check_greedy(s, dir, label, tol->near_tie);
		if (steps == (size_t)pc->greedy) {
			check_greedy(u, dir, label, tol->near_tie);
			cr_assert_eq(eng_session_truncate(s, n, &err), 0, "%s", err.msg);
			check_greedy(s, dir, label, tol->near_tie);
		}
		eng_session_free(u);
	}
	eng_session_free(t);
	eng_session_free(s);
	eng_model_free(m);
	free(lg);
	free(lg2);
	free(ref);
	free(ids);
	pl_buf_release(&args);
	tmpdir_remove(dir);
}

ParameterizedTestParameters(parity, r2_f32_gqa)
{
	return backend_params();
}

ParameterizedTest(int *backend, parity, r2_f32_gqa)
{
	pcase pc = { "--seed 11 --loops 2 --dtype f32 --hidden 32 --heads 4 --kv-heads 2", 80, 64, 2, false };
	run_case(&pc, "r2_f32_gqa", backend_name(*backend));
}

ParameterizedTestParameters(parity, r3_bf16_gqa_loop_gate_proj)
{
	return backend_params();
}

ParameterizedTest(int *backend, parity, r3_bf16_gqa_loop_gate_proj)
{
	pcase pc = { "--seed 12 --loops 3 --dtype bf16 --hidden 64 --inter 96 --heads 8 --kv-heads 2 --vocab 96 "
		     "--gate-spelling loop_gate_proj",
		     100, 64, 1, false };
	run_case(&pc, "r3_bf16_gqa", backend_name(*backend));
}

ParameterizedTestParameters(parity, r1_plain_llama_bf16_tied)
{
	return backend_params();
}

ParameterizedTest(int *backend, parity, r1_plain_llama_bf16_tied)
{
	pcase pc = { "--seed 13 --plain --loops 1 --dtype bf16 --hidden 48 --heads 4 --kv-heads 4 --tie", 70, 64, 2, false };
	run_case(&pc, "r1_plain", backend_name(*backend));
}

ParameterizedTestParameters(parity, r2_f16_sharded_three_layers)
{
	return backend_params();
}

ParameterizedTest(int *backend, parity, r2_f16_sharded_three_layers)
{
	pcase pc = { "--seed 14 --loops 2 --dtype f16 --hidden 32 --layers 3 --heads 2 --kv-heads 1 --shards 3", 90,
		     64, 2, false };
	run_case(&pc, "r2_f16_sharded", backend_name(*backend));
}

ParameterizedTestParameters(parity, r2_bf16_portable_kernels)
{
	return backend_params();
}

ParameterizedTest(int *backend, parity, r2_bf16_portable_kernels)
{
	pcase pc = { "--seed 16 --loops 2 --dtype bf16 --hidden 40 --inter 52 --heads 5 --kv-heads 1 --vocab 70", 75, 16,
		     2, true };
	run_case(&pc, "r2_bf16_portable", backend_name(*backend));
}

ParameterizedTestParameters(parity, r3_f32_gqa3_long_prompt_loopcoder_scales)
{
	return backend_params();
}

ParameterizedTest(int *backend, parity, r3_f32_gqa3_long_prompt_loopcoder_scales)
{
	/* more than two local windows of prompt, then 64 greedy steps; RoPE
	 * theta and CLP scales as LoopCoder-V2's config.json; 3 query heads
	 * per K/V head */
	pcase pc = { "--seed 17 --loops 3 --dtype f32 --hidden 48 --inter 64 --layers 2 --heads 6 --kv-heads 2 "
		     "--vocab 80 --rope-theta 500000 --hidden-scale 0.053",
		     135, 64, 2, false };
	run_case(&pc, "r3_f32_long", backend_name(*backend));
}

ParameterizedTestParameters(parity, r1_plain_llama_f32_gqa)
{
	return backend_params();
}

ParameterizedTest(int *backend, parity, r1_plain_llama_f32_gqa)
{
	pcase pc = { "--seed 18 --plain --loops 1 --dtype f32 --hidden 48 --heads 6 --kv-heads 2", 70, 64, 2, false };
	run_case(&pc, "r1_plain_gqa", backend_name(*backend));
}

ParameterizedTestParameters(parity, r1_of_plt_checkpoint_and_loops_override)
{
	return backend_params();
}

ParameterizedTest(int *backend, parity, r1_of_plt_checkpoint_and_loops_override)
{
	const tolerance *tol = tolerance_of(backend_name(*backend));
	/* --loops 1 and --loops 3 on an R = 2 checkpoint against the reference
	 * run with the same loop count. */
	char *dir = tmpdir("plait-parity");
	pl_buf args = PL_BUF_INIT;
	const char *ids_s = "5,9,1,0,33,17,63,2,8,8,8,40,41,42";
	int32_t ids[] = { 5, 9, 1, 0, 33, 17, 63, 2, 8, 8, 8, 40, 41, 42 };
	size_t n = PL_ARRAY_LEN(ids), V = 64;
	int loops;

	pl_buf_printf(&args, "write %s --seed 15 --loops 2", dir);
	ref_run(args.ptr);
	for (loops = 1; loops <= 3; loops += 2) {
		eng_model *m = load_on(dir, backend_name(*backend), loops, 1, false);
		eng_session *s = NULL;
		pl_err err = { 0 };
		float lg[14 * 64];
		double *ref;
		char out[32];

		snprintf(out, sizeof(out), "logits%d.bin", loops);
		pl_buf_reset(&args);
		pl_buf_printf(&args, "forward %s --ids %s --loops %d --out %s/%s", dir, ids_s, loops, dir, out);
		ref_run(args.ptr);
		ref = read_f64(dir, out, n * V);
		cr_assert_eq(eng_model_config(m)->loops, loops);
		cr_assert_eq(eng_session_new(&s, m, &err), 0, "%s", err.msg);
		cr_assert_eq(eng_session_append(lg, s, ids, n, &err), 0, "%s", err.msg);
		cr_assert_lt(rel_err_f64(lg, ref, n * V), tol->ref, "loops %d: %g", loops,
			     rel_err_f64(lg, ref, n * V));
		free(ref);
		eng_session_free(s);
		eng_model_free(m);
	}
	pl_buf_release(&args);
	tmpdir_remove(dir);
}
