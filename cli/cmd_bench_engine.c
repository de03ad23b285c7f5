/* cmd_bench_engine.c - `plait bench engine`: decode and prefill speed of
 * the engine on a LoopCoder-V2-shaped model with random bf16 weights drawn
 * on the device (no download), against the machine's two ceilings
 * measured in the same run (device-to-device copy bandwidth, a large bf16
 * matrix product).  scripts/gpu-run.sh runs it beside the PyTorch
 * implementation (scripts/bench_engine_torch.py) and prints one table. */
#include "cli/cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

static const char bench_engine_usage[] =
	"usage: plait bench engine [--backend cuda|cpu] [--json] [options]\n"
	"\n"
	"Measure the engine on a model with LoopCoder-V2's shape (hidden 5120,\n"
	"intermediate 27648, 14 layers, 40/8 heads of 128, vocab 76800) and random\n"
	"bf16 weights drawn by the backend itself: the GPU's copy bandwidth and bf16\n"
	"matrix-product rate (CUDA), then for R = 1 and R = 2 the prefill of a prompt,\n"
	"decode per token at the context (greedy, sampled on the device), R = 2 also\n"
	"run loop after loop (each loop its own pass over the weights, as the vendor's\n"
	"fork serves), and the session's state bytes at --kv-context positions.\n"
	"\n"
	"  --backend NAME     cuda (default when built) or cpu\n"
	"  --shape NAME       loopcoder-v2 (default) or tiny (a smoke test)\n"
	"  --prompt N         prefill prompt tokens (default 4096)\n"
	"  --context N        decode context (default 4096)\n"
	"  --tokens N         decode tokens timed (default 64)\n"
	"  --kv-context N     positions for the state bytes (default 32768)\n"
	"  --seed S           weight seed (default 1)\n"
	"  --profile          after the timed runs, time each kind of kernel of a few\n"
	"                     decode steps and of one prefill (decode then runs\n"
	"                     without its graph, so these add up to a little more)\n"
	"  --json             print one JSON object\n"
	"  -h, --help         show this help\n";

enum { O_BACKEND = 1, O_SHAPE, O_PROMPT, O_CONTEXT, O_TOKENS, O_KV, O_SEED, O_JSON, O_PROFILE };

static const cli_opt bench_opts[] = {
	{ "backend", 0, true, O_BACKEND },  { "shape", 0, true, O_SHAPE },     { "prompt", 0, true, O_PROMPT },
	{ "context", 0, true, O_CONTEXT },  { "tokens", 0, true, O_TOKENS },   { "kv-context", 0, true, O_KV },
	{ "seed", 0, true, O_SEED },	    { "json", 0, false, O_JSON },      { "profile", 0, false, O_PROFILE },
	{ NULL, 0, false, 0 },
};

typedef struct bargs {
	const char *backend, *shape;
	int64_t prompt, context, tokens, kv, seed;
	bool json, profile;
} bargs;

static void shape_of(eng_config *c, const char *shape, int loops)
{
	memset(c, 0, sizeof(*c));
	if (!strcmp(shape, "tiny")) {
		c->hidden = 64;
		c->intermediate = 128;
		c->layers = 2;
		c->heads = 4;
		c->kv_heads = 2;
		c->head_dim = 16;
		c->vocab = 256;
	} else {
		c->hidden = 5120;
		c->intermediate = 27648;
		c->layers = 14;
		c->heads = 40;
		c->kv_heads = 8;
		c->head_dim = 128;
		c->vocab = 76800;
	}
	c->max_pos = 131072;
	c->rms_eps = 1e-5;
	c->rope_theta = 500000;
	c->loops = c->config_loops = loops;
	c->is_plt = true;
	c->window_left = 64;
	c->emb_scale = 0.707;
	c->hidden_scale = 0.053;
	c->bos_id = -1;
}

/* Bytes one decode step must move: every weight matrix once (the gate
 * only with later loops), lm_head, one embedding row, the norms, loop-0
 * K/V of ctx positions once for all loops, each later loop's window. */
static double step_bytes(const eng_config *c, double ctx)
{
	const double H = (double)c->hidden, I = (double)c->intermediate, L = (double)c->layers,
		     QD = (double)(c->heads * c->head_dim), KVD = (double)(c->kv_heads * c->head_dim),
		     V = (double)c->vocab, NH = (double)c->heads;
	const bool gate = c->loops > 1;
	double w = L * ((QD + 2 * KVD) * H + H * QD + 3 * H * I + (gate ? NH * H : 0)) * 2 + V * H * 2 + H * 2;
	double norms = (L * (2 * H + (gate ? H + NH : 0)) + H) * 4;
	double kv = ctx * L * 2 * KVD * 2 + (c->loops - 1) * 65.0 * L * 2 * KVD * 2;

	return w + norms + kv;
}

/* Model FLOPs of the full-sequence form of T tokens, every loop: the
 * products (2 per weight per row; the gate in later loops), causal
 * attention (4 x head_dim per key and head), each later loop's 65-key
 * window, lm_head of the last row. */
static double prefill_flops(const eng_config *c, double T)
{
	const double H = (double)c->hidden, I = (double)c->intermediate, L = (double)c->layers,
		     QD = (double)(c->heads * c->head_dim), KVD = (double)(c->kv_heads * c->head_dim),
		     NH = (double)c->heads, R = (double)c->loops;
	const double mat = (QD + 2 * KVD) * H + H * QD + 3 * H * I, causal = T * (T + 1) / 2;
	double win = 0, i;

	for (i = 0; i < T; i++)
		win += i + 1 < 65 ? i + 1 : 65;
	return R * (2 * T * L * mat + L * 4 * QD * causal) + (R - 1) * (2 * T * L * NH * H + L * 4 * QD * win) +
	       2 * (double)c->vocab * H;
}

typedef struct run_result {
	double prefill_s, decode_ms, seq_decode_ms, decode_ctx;
	uint64_t kv_device, kv_host;
	json_t *describe, *profile;
} run_result;

static int decode_tokens(double *ms, eng_session *s, int64_t n, pl_err *err)
{
	eng_gen_opts o;
	eng_gen_result r;
	double t0;
	int rc;

	eng_gen_opts_init(&o);
	o.max_tokens = 4; /* warm-up: the step's graph is captured at its first use */
	if ((rc = eng_generate(&r, s, NULL, &o, err)) < 0)
		return rc;
	eng_gen_result_release(&r);
	o.max_tokens = (size_t)n;
	t0 = pl_now();
	if ((rc = eng_generate(&r, s, NULL, &o, err)) < 0)
		return rc;
	*ms = (pl_now() - t0) * 1000.0 / (double)r.n;
	eng_gen_result_release(&r);
	return 0;
}

/* A new session in *s (the one there freed) holding the first n ids, one
 * chunk per loop; *secs, when asked for, the time of the append and of
 * the logits it leaves (which wait for the device). */
static int prefill_fresh(eng_session **s, eng_model *m, const int32_t *ids, int64_t n, double *secs, pl_err *err)
{
	double t0;
	int rc;

	eng_session_free(*s);
	*s = NULL;
	if ((rc = eng_session_new(s, m, err)) < 0)
		return rc;
	eng_session_set_chunk(*s, (size_t)n);
	t0 = pl_now();
	if ((rc = eng_session_append(NULL, *s, ids, (size_t)n, err)) < 0)
		return rc;
	if (!eng_session_logits(*s))
		return pl_err_set(err, PL_EINTERNAL, "no logits after the prefill");
	if (secs)
		*secs = pl_now() - t0;
	return 0;
}

static int run_loops(run_result *out, const bargs *a, int loops, pl_err *err)
{
	eng_config c;
	eng_load_opts lo = { 0 };
	eng_model *m = NULL;
	eng_session *s = NULL, *f = NULL;
	int32_t *ids = NULL;
	int64_t i, n = a->prompt > a->context ? a->prompt : a->context;
	int rc;

	memset(out, 0, sizeof(*out));
	shape_of(&c, a->shape, loops);
	lo.backend = a->backend;
	if ((rc = eng_model_random(&m, &c, (uint64_t)a->seed, &lo, err)) < 0)
		return rc;
	out->describe = eng_model_describe(m);
	ids = pl_xmalloc((size_t)n * sizeof(*ids));
	for (i = 0; i < n; i++)
		ids[i] = (int32_t)((i * 7919 + 17) % c.vocab);
	/* prefill: once to warm up (cuBLASLt picks its algorithms, scratch
	 * grows), once timed; the prompt in one chunk per loop */
	for (i = 0; i < 2; i++)
		if ((rc = prefill_fresh(&s, m, ids, a->prompt, &out->prefill_s, err)) < 0)
			goto done;
	/* decode at the context */
	if (a->context != a->prompt && (rc = prefill_fresh(&s, m, ids, a->context, NULL, err)) < 0)
		goto done;
	if (loops > 1 && (rc = eng_session_fork(&f, s, err)) < 0)
		goto done;
	if ((rc = eng_session_reserve(s, (size_t)(a->context + a->tokens + 32), err)) < 0 ||
	    (rc = decode_tokens(&out->decode_ms, s, a->tokens, err)) < 0)
		goto done;
	out->decode_ctx = (double)a->context + 4 + (double)a->tokens / 2;
	if (f) {
		eng_session_set_sequential_loops(f, true);
		if ((rc = eng_session_reserve(f, (size_t)(a->context + a->tokens + 8), err)) < 0 ||
		    (rc = decode_tokens(&out->seq_decode_ms, f, a->tokens, err)) < 0)
			goto done;
	}
	if (a->profile) {
		json_t *d;
		double ms;

		if ((rc = eng_model_profile(m, true, err)) < 0 || (rc = decode_tokens(&ms, s, 8, err)) < 0 ||
		    (rc = prefill_fresh(&s, m, ids, a->prompt, NULL, err)) < 0 || (rc = eng_model_profile(m, false, err)) < 0)
			goto done;
		d = eng_model_describe(m);
		out->profile = json_incref(json_object_get(d, "profile"));
		json_decref(d);
	}
	/* the state of a session holding kv-context positions */
	eng_session_free(s);
	s = NULL;
	if ((rc = eng_session_new(&s, m, err)) < 0 || (rc = eng_session_reserve(s, (size_t)a->kv, err)) < 0)
		goto done;
	eng_session_memory(s, &out->kv_device, &out->kv_host);
done:
	free(ids);
	eng_session_free(f);
	eng_session_free(s);
	eng_model_free(m);
	return rc;
}

static int parse(bargs *a, int argc, char **argv, const cli_ctx *ctx)
{
	const char *v;
	cli_args ca;
	int id, st = 0;

	memset(a, 0, sizeof(*a));
	a->backend = eng_backend_is_built("cuda") ? "cuda" : "cpu";
	a->shape = "loopcoder-v2";
	a->prompt = a->context = 4096;
	a->tokens = 64;
	a->kv = 32768;
	a->seed = 1;
	cli_args_init(&ca, argc, argv, 1, "bench engine", bench_opts, ctx);
	while ((id = cli_next(&ca, &v)) != CLI_END) {
		switch (id) {
		case CLI_BAD:
			return CLI_EXIT_USAGE;
		case CLI_POS:
			return cli_fail(ctx, "bench engine", CLI_EXIT_USAGE, "unexpected argument '%s'", v);
		case O_BACKEND:
			a->backend = v;
			break;
		case O_SHAPE:
			if (strcmp(v, "loopcoder-v2") && strcmp(v, "tiny"))
				return cli_bad_value(&ca, v, "known shapes: loopcoder-v2, tiny");
			a->shape = v;
			break;
		case O_PROMPT:
			st = cli_value_i64(&a->prompt, &ca, v, 2, 1 << 20);
			break;
		case O_CONTEXT:
			st = cli_value_i64(&a->context, &ca, v, 2, 1 << 20);
			break;
		case O_TOKENS:
			st = cli_value_i64(&a->tokens, &ca, v, 1, 1 << 16);
			break;
		case O_KV:
			st = cli_value_i64(&a->kv, &ca, v, 1, 1 << 24);
			break;
		case O_SEED:
			st = cli_value_i64(&a->seed, &ca, v, 0, INT64_MAX);
			break;
		case O_JSON:
			a->json = true;
			break;
		case O_PROFILE:
			a->profile = true;
			break;
		}
		if (st)
			return st;
	}
	return 0;
}

int cli_bench_engine(int argc, char **argv, const cli_ctx *ctx)
{
	bargs a;
	eng_gpu_ceilings ceil;
	bool have_ceil = false;
	run_result r[2];
	eng_config c1, c2;
	pl_err err = { 0 };
	json_t *o = NULL, *runs;
	pl_buf out = PL_BUF_INIT;
	double b1, b2, bs, f1, f2;
	int st, i;

	if (cli_wants_help(argc, argv)) {
		fputs(bench_engine_usage, stdout);
		return CLI_EXIT_OK;
	}
	if ((st = parse(&a, argc, argv, ctx)) != 0)
		return st;
	/* said before the model is drawn and timed, not after */
	if (a.profile && eng_backend_is_built(a.backend) && !eng_backend_has_profile(a.backend))
		return cli_fail(ctx, "bench engine", CLI_EXIT_FAIL, "the %s backend has no kernel profile", a.backend);
	memset(r, 0, sizeof(r));
	if (!strcmp(a.backend, "cuda")) {
		/* without the ceilings the rest still runs: the ratios then wait */
		if (eng_gpu_ceilings_measure(&ceil, 0, &err) < 0)
			fprintf(stderr, "plait bench engine: the ceilings could not be measured: %s\n", err.msg);
		else
			have_ceil = true;
		pl_err_clear(&err);
	}
	for (i = 0; i < 2; i++)
		if (run_loops(&r[i], &a, i + 1, &err) < 0) {
			st = cli_fail_err(ctx, "bench engine", &err);
			goto done;
		}
	shape_of(&c1, a.shape, 1);
	shape_of(&c2, a.shape, 2);
	b1 = step_bytes(&c1, r[0].decode_ctx);
	b2 = step_bytes(&c2, r[1].decode_ctx);
	/* loop after loop: the weights twice, loop-0 K/V once per loop */
	bs = 2 * step_bytes(&c1, r[1].decode_ctx) + (step_bytes(&c2, 0) - step_bytes(&c1, 0));
	f1 = prefill_flops(&c1, (double)a.prompt);
	f2 = prefill_flops(&c2, (double)a.prompt);
	o = json_object();
	pl_json_set(o, "backend", json_string(a.backend));
	pl_json_set(o, "shape", json_string(a.shape));
	pl_json_set(o, "prompt_tokens", json_integer(a.prompt));
	pl_json_set(o, "context", json_integer(a.context));
	pl_json_set(o, "decode_tokens", json_integer(a.tokens));
	pl_json_set(o, "kv_context", json_integer(a.kv));
	pl_json_set(o, "device", json_incref(r[1].describe));
	if (have_ceil)
		pl_json_set(o, "ceilings",
			    json_pack("{s:s, s:f, s:I, s:f, s:i, s:s}", "device", ceil.device, "copy_bytes_per_s",
				      ceil.copy_bytes_per_s, "copy_buffer_bytes", (json_int_t)ceil.copy_bytes,
				      "gemm_flops_per_s", ceil.gemm_flops_per_s, "gemm_n", ceil.gemm_n, "gemm_by", ceil.gemm_by));
	runs = json_object();
	for (i = 0; i < 2; i++) {
		const double bytes = i ? b2 : b1, flops = i ? f2 : f1;
		json_t *x = json_object();

		pl_json_set(x, "decode_ms_per_token", json_real(r[i].decode_ms));
		pl_json_set(x, "decode_bytes_per_token", json_real(bytes));
		pl_json_set(x, "decode_bytes_per_s", json_real(bytes / (r[i].decode_ms * 1e-3)));
		pl_json_set(x, "prefill_s", json_real(r[i].prefill_s));
		pl_json_set(x, "prefill_tokens_per_s", json_real((double)a.prompt / r[i].prefill_s));
		pl_json_set(x, "prefill_flops", json_real(flops));
		pl_json_set(x, "prefill_flops_per_s", json_real(flops / r[i].prefill_s));
		pl_json_set(x, "state_device_bytes", json_integer((json_int_t)r[i].kv_device));
		pl_json_set(x, "state_host_bytes", json_integer((json_int_t)r[i].kv_host));
		if (r[i].profile)
			pl_json_set(x, "profile", json_incref(r[i].profile));
		/* each model's own choices (the GEMV configurations are timed at
		 * each load); "device" above is R = 2's */
		if (json_object_get(r[i].describe, "kernels"))
			pl_json_set(x, "kernels", json_incref(json_object_get(r[i].describe, "kernels")));
		if (i) {
			pl_json_set(x, "sequential_decode_ms_per_token", json_real(r[i].seq_decode_ms));
			pl_json_set(x, "sequential_decode_bytes_per_token", json_real(bs));
		}
		pl_json_set(runs, i ? "r2" : "r1", x);
	}
	pl_json_set(o, "runs", runs);
	if (a.json) {
		pl_json_dump(&out, o, true);
		pl_buf_putc(&out, '\n');
	} else {
		const char *dev = json_string_value(json_object_get(r[1].describe, "device"));

		pl_buf_printf(&out, "plait bench engine: backend %s on %s, %s shape, random bf16 weights (seed %lld)\n",
			      a.backend, dev ? dev : "the CPU", a.shape, (long long)a.seed);
		if (have_ceil)
			pl_buf_printf(&out, "ceilings: device-to-device copy %.0f GB/s, bf16 GEMM %d^3 %.0f TFLOP/s (%s)\n",
				      ceil.copy_bytes_per_s / 1e9, ceil.gemm_n, ceil.gemm_flops_per_s / 1e12, ceil.gemm_by);
		pl_buf_printf(&out, "| measure | R = 1 | R = 2 | R = 2 loop after loop |\n| --- | ---: | ---: | ---: |\n");
		pl_buf_printf(&out, "| decode ms/token at %lld context | %.3f | %.3f | %.3f |\n", (long long)a.context,
			      r[0].decode_ms, r[1].decode_ms, r[1].seq_decode_ms);
		pl_buf_printf(&out, "| decode GB moved per token | %.3f | %.3f | %.3f |\n", b1 / 1e9, b2 / 1e9, bs / 1e9);
		pl_buf_printf(&out, "| decode GB/s | %.0f | %.0f | %.0f |\n", b1 / r[0].decode_ms / 1e6,
			      b2 / r[1].decode_ms / 1e6, bs / r[1].seq_decode_ms / 1e6);
		if (have_ceil)
			pl_buf_printf(&out, "| decode share of the copy bandwidth | %.1f%% | %.1f%% | %.1f%% |\n",
				      100 * b1 / (r[0].decode_ms * 1e-3) / ceil.copy_bytes_per_s,
				      100 * b2 / (r[1].decode_ms * 1e-3) / ceil.copy_bytes_per_s,
				      100 * bs / (r[1].seq_decode_ms * 1e-3) / ceil.copy_bytes_per_s);
		pl_buf_printf(&out, "| prefill %lld tokens: tokens/s | %.0f | %.0f | |\n", (long long)a.prompt,
			      (double)a.prompt / r[0].prefill_s, (double)a.prompt / r[1].prefill_s);
		pl_buf_printf(&out, "| prefill TFLOP/s | %.1f | %.1f | |\n", f1 / r[0].prefill_s / 1e12,
			      f2 / r[1].prefill_s / 1e12);
		if (have_ceil)
			pl_buf_printf(&out, "| prefill share of the GEMM rate | %.1f%% | %.1f%% | |\n",
				      100 * f1 / r[0].prefill_s / ceil.gemm_flops_per_s,
				      100 * f2 / r[1].prefill_s / ceil.gemm_flops_per_s);
		pl_buf_printf(&out, "| state bytes at %lld positions (device) | %llu | %llu (%.4fx) | |\n",
			      (long long)a.kv, (unsigned long long)r[0].kv_device, (unsigned long long)r[1].kv_device,
			      (double)r[1].kv_device / (double)(r[0].kv_device ? r[0].kv_device : 1));
		for (i = 0; i < 2; i++)
			if (r[i].profile) {
				const char *k;
				json_t *v;

				pl_buf_printf(&out, "profile R = %d, decode us/step:", i + 1);
				json_object_foreach(json_object_get(r[i].profile, "decode_us_per_step"), k, v)
					pl_buf_printf(&out, " %s %.1f", k, json_number_value(v));
				pl_buf_printf(&out, "\nprofile R = %d, decode weight GB/s:", i + 1);
				json_object_foreach(json_object_get(r[i].profile, "decode_weight_gb_per_s"), k, v)
					pl_buf_printf(&out, " %s %.0f", k, json_number_value(v));
				pl_buf_printf(&out, "\nprofile R = %d, prefill ms:", i + 1);
				json_object_foreach(json_object_get(r[i].profile, "prefill_ms"), k, v)
					pl_buf_printf(&out, " %s %.2f", k, json_number_value(v));
				pl_buf_putc(&out, '\n');
			}
	}
	fwrite(out.ptr, 1, out.len, stdout);
	st = CLI_EXIT_OK;
done:
	for (i = 0; i < 2; i++) {
		json_decref(r[i].describe);
		json_decref(r[i].profile);
	}
	json_decref(o);
	pl_buf_release(&out);
	return st;
}
