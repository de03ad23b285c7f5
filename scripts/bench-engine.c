/* bench-engine.c - `make bench-engine`: prefill and decode tokens per second
 * and peak memory of the CPU path on random PLT checkpoints (a tiny one and
 * a ~100M-parameter one, BF16 storage) at R = 1 and R = 2, with PyTorch's
 * fp32 full-sequence forward of the same prompt as the comparison for
 * prefill.  Each configuration runs in a child process so that its peak RSS
 * is its own.  A benchmark, not a test: it asserts nothing. */
#define _GNU_SOURCE
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/engine.h"

/* Best of REPS runs, engine and torch alike: the machine may be shared, and
 * the best of several runs is the nearest to an idle machine's figure. */
#define REPS 5

typedef struct shape {
	const char *name;
	int hidden, inter, layers, heads, kv_heads, vocab;
} shape;

static uint64_t rng = 88172645463325252ull;

static float frand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static uint16_t to_bf16(float f)
{
	uint32_t b;

	memcpy(&b, &f, 4);
	b += 0x7fff + ((b >> 16) & 1); /* round to nearest even */
	return (uint16_t)(b >> 16);
}

typedef struct writer {
	json_t *hdr;
	FILE *data;
	uint64_t off;
} writer;

static void tensor(writer *w, const char *name, int64_t d0, int64_t d1, float base, float scale)
{
	int64_t n = d0 * (d1 ? d1 : 1), i;
	json_t *t = json_object();

	for (i = 0; i < n; i++) {
		uint16_t v = to_bf16(base + scale * frand());

		fwrite(&v, 2, 1, w->data);
	}
	pl_json_set(t, "dtype", json_string("BF16"));
	pl_json_set(t, "shape", d1 ? json_pack("[II]", (json_int_t)d0, (json_int_t)d1) : json_pack("[I]", (json_int_t)d0));
	pl_json_set(t, "data_offsets", json_pack("[II]", (json_int_t)w->off, (json_int_t)(w->off + 2 * (uint64_t)n)));
	pl_json_set(w->hdr, name, t);
	w->off += 2 * (uint64_t)n;
}

static int write_model(const char *dir, const shape *s, pl_err *err)
{
	pl_buf p = PL_BUF_INIT, h = PL_BUF_INIT, d = PL_BUF_INIT;
	writer w = { json_object(), NULL, 0 };
	json_t *cfg;
	int hd = s->hidden / s->heads, i, rc = 0;
	char nm[128];
	float sh = 1.0f / (float)sqrt((double)s->hidden) * 1.7f, si = 1.0f / (float)sqrt((double)s->inter) * 1.7f;
	FILE *out;
	char buf[1 << 16];
	size_t n;
	uint64_t hl;

	pl_path_join(&d, dir, "data.tmp");
	w.data = fopen(d.ptr, "w+b");
	if (!w.data)
		return pl_err_sys(err, PL_EIO, "cannot create '%s'", d.ptr);
	tensor(&w, "model.embed_tokens.weight", s->vocab, s->hidden, 0, 1.7f);
	tensor(&w, "lm_head.weight", s->vocab, s->hidden, 0, sh);
	tensor(&w, "model.norm.weight", s->hidden, 0, 1, 0.2f);
	for (i = 0; i < s->layers; i++) {
#define N(x) (snprintf(nm, sizeof(nm), "model.layers.%d." x, i), nm)
		tensor(&w, N("input_layernorm.weight"), s->hidden, 0, 1, 0.2f);
		tensor(&w, N("post_attention_layernorm.weight"), s->hidden, 0, 1, 0.2f);
		tensor(&w, N("self_attn.q_proj.weight"), s->heads * hd, s->hidden, 0, sh);
		tensor(&w, N("self_attn.k_proj.weight"), s->kv_heads * hd, s->hidden, 0, sh);
		tensor(&w, N("self_attn.v_proj.weight"), s->kv_heads * hd, s->hidden, 0, sh);
		tensor(&w, N("self_attn.o_proj.weight"), s->hidden, s->heads * hd, 0, sh);
		tensor(&w, N("mlp.gate_proj.weight"), s->inter, s->hidden, 0, sh);
		tensor(&w, N("mlp.up_proj.weight"), s->inter, s->hidden, 0, sh);
		tensor(&w, N("mlp.down_proj.weight"), s->hidden, s->inter, 0, si);
		tensor(&w, N("self_attn.plt_gate.weight"), s->heads, s->hidden, 0, sh);
		tensor(&w, N("self_attn.plt_gate.bias"), s->heads, 0, 0, 0.5f);
		tensor(&w, N("self_attn.plt_gate.gate_norm.weight"), s->hidden, 0, 1, 0.2f);
#undef N
	}
	pl_json_dump(&h, w.hdr, false);
	pl_path_join(&p, dir, "model.safetensors");
	out = fopen(p.ptr, "wb");
	if (!out) {
		rc = pl_err_sys(err, PL_EIO, "cannot create '%s'", p.ptr);
		goto done;
	}
	hl = h.len;
	for (i = 0; i < 8; i++)
		fputc((int)((hl >> (8 * i)) & 0xff), out);
	fwrite(h.ptr, 1, h.len, out);
	rewind(w.data);
	while ((n = fread(buf, 1, sizeof(buf), w.data)) > 0)
		fwrite(buf, 1, n, out);
	if (fclose(out) != 0)
		rc = pl_err_sys(err, PL_EIO, "cannot write '%s'", p.ptr);
	cfg = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:f, s:i, s:i, s:[ii], s:f, s:f, s:b, s:b}",
			"hidden_size", s->hidden, "intermediate_size", s->inter, "num_hidden_layers", s->layers,
			"num_attention_heads", s->heads, "num_key_value_heads", s->kv_heads, "vocab_size", s->vocab,
			"rms_norm_eps", 1e-5, "rope_theta", 500000.0, "max_position_embeddings", 8192,
			"plt_num_loops", 2, "plt_window_size", 64, 0, "plt_emb_scale", 0.707, "plt_hidden_scale",
			0.053, "plt_normalize_per_loop", 1, "plt_gate_use_hidden_states", 1);
	pl_buf_reset(&h);
	pl_json_dump(&h, cfg, true);
	json_decref(cfg);
	pl_buf_reset(&p);
	pl_path_join(&p, dir, "config.json");
	if (rc == 0)
		rc = pl_file_write_atomic(p.ptr, h.ptr, h.len, 0644, err);
done:
	fclose(w.data);
	unlink(d.ptr);
	json_decref(w.hdr);
	pl_buf_release(&p);
	pl_buf_release(&h);
	pl_buf_release(&d);
	return rc;
}

typedef struct result {
	int ok;
	double load_s, prefill_ms, decode_ms;
	double prefill_cpu_ms, decode_cpu_ms; /* CPU time of all the process's threads */
	uint64_t params;
	char msg[PL_ERR_MSG_MAX];
} result;

/* CPU time (user + system) of the whole process, all threads, in ms. */
static double cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void run_child(int fd, const char *dir, int loops, int threads, int prompt, int gen)
{
	result r;
	eng_load_opts o = { 0 };
	eng_model *m = NULL;
	eng_session *s = NULL;
	eng_gen_opts go;
	eng_gen_result res;
	pl_err err = { 0 };
	int32_t *ids = malloc((size_t)prompt * sizeof(*ids));
	double t0;
	int i, rep;

	memset(&r, 0, sizeof(r));
	o.loops = loops;
	o.threads = threads;
	t0 = pl_now();
	if (eng_model_load(&m, dir, &o, &err) < 0 || eng_session_new(&s, m, &err) < 0)
		goto fail;
	r.load_s = pl_now() - t0;
	r.params = eng_model_params(m);
	for (i = 0; i < prompt; i++)
		ids[i] = (int32_t)((i * 7919 + 13) % eng_model_config(m)->vocab);
	/* Best of REPS runs, each on a fresh session: the machine is shared. */
	r.prefill_ms = r.decode_ms = r.prefill_cpu_ms = r.decode_cpu_ms = 1e30;
	for (rep = 0; rep < REPS; rep++) {
		double pm, c0;

		eng_session_free(s);
		s = NULL;
		if (eng_session_new(&s, m, &err) < 0)
			goto fail;
		c0 = cpu_ms();
		t0 = pl_now();
		if (eng_session_append(NULL, s, ids, (size_t)prompt, &err) < 0)
			goto fail;
		pm = (pl_now() - t0) * 1000;
		if (pm < r.prefill_ms)
			r.prefill_ms = pm;
		if (cpu_ms() - c0 < r.prefill_cpu_ms)
			r.prefill_cpu_ms = cpu_ms() - c0;
		eng_gen_opts_init(&go);
		go.max_tokens = (size_t)gen;
		c0 = cpu_ms();
		if (eng_generate(&res, s, NULL, &go, &err) < 0)
			goto fail;
		if (cpu_ms() - c0 < r.decode_cpu_ms)
			r.decode_cpu_ms = cpu_ms() - c0;
		if (res.decode_ms < r.decode_ms)
			r.decode_ms = res.decode_ms;
		eng_gen_result_release(&res);
	}
	r.ok = 1;
	goto out;
fail:
	snprintf(r.msg, sizeof(r.msg), "%s", err.msg);
out:
	if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(1);
	eng_session_free(s);
	eng_model_free(m);
	free(ids);
}

/* PyTorch fp32 full-sequence forward of the same prompt, in ms; < 0 when
 * the reference cannot run. */
static double torch_prefill_ms(const char *root, const char *dir, int loops, int threads, int prompt)
{
	pl_buf cmd = PL_BUF_INIT;
	FILE *p;
	double ms = -1;

	pl_buf_printf(&cmd,
		      "/usr/bin/python3 %s/tests/reference/plt_ref.py bench %s --loops %d --threads %d --prompt-len %d "
		      "--reps %d",
		      root, dir, loops, threads, prompt, REPS);
	p = popen(cmd.ptr, "r");
	if (p) {
		if (fscanf(p, "%lf", &ms) != 1)
			ms = -1;
		if (pclose(p) != 0)
			ms = -1;
	}
	pl_buf_release(&cmd);
	return ms;
}

/* The load average, so that a run on a shared machine says how shared. */
static void print_load(const char *when)
{
	double l[3];

	if (getloadavg(l, 3) == 3)
		printf("%s: load average %.2f %.2f %.2f\n", when, l[0], l[1], l[2]);
}

int main(int argc, char **argv)
{
	static const shape shapes[] = {
		{ "tiny", 64, 128, 2, 4, 2, 256 },
		{ "100M", 768, 2048, 12, 12, 4, 16000 },
	};
	const char *root = getenv("PLAIT_ROOT") ? getenv("PLAIT_ROOT") : ".";
	int threads = (int)sysconf(_SC_NPROCESSORS_ONLN), prompt = 256, gen = 64, loops;
	size_t si;
	pl_buf tmp = PL_BUF_INIT;
	pl_err err = { 0 };
	pl_sysinfo sys;
	bool torch = !(argc > 1 && !strcmp(argv[1], "--no-torch"));

	if (pl_sysinfo_read(&sys, &err) < 0 || pl_mkdtemp(&tmp, "plait-bench", &err) < 0) {
		fprintf(stderr, "bench-engine: %s\n", err.msg);
		return 1;
	}
	printf("plait engine CPU benchmark: %s, %d cores, %d threads\n", sys.cpu_model, sys.cores_online, threads);
	print_load("at the start");
	printf("prompt %d tokens (prefill, chunks of 64), then %d greedy tokens (decode); BF16 checkpoints, fp32 compute;\n"
	       "best of %d runs each (engine and torch)\n\n",
	       prompt, gen, REPS);
	printf("tok/s: wall clock; tok/CPU-s: tokens per second of CPU time of all threads (what a\n"
	       "shared machine disturbs least; %d threads on an idle machine give at most %d x that)\n\n",
	       threads, threads);
	printf("| model | params | R | prefill tok/s | decode tok/s | prefill tok/CPU-s | decode tok/CPU-s | peak RSS "
	       "| load s | torch fp32 prefill tok/s | ratio |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (si = 0; si < PL_ARRAY_LEN(shapes); si++) {
		pl_buf d = PL_BUF_INIT;

		pl_path_join(&d, tmp.ptr, shapes[si].name);
		if (pl_mkdir_p(d.ptr, 0755, &err) < 0 || write_model(d.ptr, &shapes[si], &err) < 0) {
			fprintf(stderr, "bench-engine: %s\n", err.msg);
			return 1;
		}
		for (loops = 1; loops <= 2; loops++) {
			int fds[2], st;
			pid_t pid;
			struct rusage ru;
			result r;
			double tms = -1;
			char rss[32];

			if (pipe(fds) < 0)
				return 1;
			fflush(stdout);
			pid = fork();
			if (pid == 0) {
				close(fds[0]);
				run_child(fds[1], d.ptr, loops, threads, prompt, gen);
				_exit(0);
			}
			close(fds[1]);
			memset(&r, 0, sizeof(r));
			if (read(fds[0], &r, sizeof(r)) != (ssize_t)sizeof(r))
				r.ok = 0;
			close(fds[0]);
			wait4(pid, &st, 0, &ru);
			if (!r.ok) {
				printf("| %s | - | %d | failed: %s |\n", shapes[si].name, loops, r.msg);
				continue;
			}
			if (torch)
				tms = torch_prefill_ms(root, d.ptr, loops, threads, prompt);
			printf("| %s | %.1fM | %d | %.0f | %.1f | %.0f | %.1f | %s | %.2f | %s%.0f | %s%.2fx |\n",
			       shapes[si].name, (double)r.params / 1e6, loops, prompt / (r.prefill_ms / 1000),
			       gen / (r.decode_ms / 1000), prompt / (r.prefill_cpu_ms / 1000),
			       gen / (r.decode_cpu_ms / 1000), pl_fmt_size(rss, sizeof(rss), (uint64_t)ru.ru_maxrss * 1024), r.load_s,
			       tms > 0 ? "" : "n/a ", tms > 0 ? prompt / (tms / 1000) : 0, tms > 0 ? "" : "n/a ",
			       tms > 0 ? tms / r.prefill_ms : 0);
		}
		pl_buf_release(&d);
	}
	print_load("\nat the end");
	pl_rm_rf(tmp.ptr, NULL);
	pl_buf_release(&tmp);
	return 0;
}
