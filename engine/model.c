/* model.c - load a model directory for the CPU path.
 *
 * Choice: weight matrices stored in BF16 stay BF16 in memory and are
 * widened to fp32 inside the matmul kernels (exact: a BF16 value is the top
 * half of an fp32), which halves the bytes a decode step streams and lets
 * a 15 GB bf16 checkpoint fit where its 30 GB fp32 copy would not; F16 and
 * F32 matrices, and every norm and gate vector, are converted to fp32 at
 * load.  All arithmetic is fp32.  q/k/v and gate/up are concatenated at load
 * so one matmul serves each. */
#include "engine/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct loader {
	eng__st_set set;
	uint64_t params, bytes;
	uint64_t used; /* tensors consumed, to report unknown ones */
} loader;

/* Tensor `name`, checked against the expected shape. */
static int find(const eng__st_tensor **out, loader *ld, const char *name, int ndim, int64_t d0, int64_t d1,
		pl_err *err)
{
	const eng__st_tensor *t = eng__st_set_find(&ld->set, name);
	char want[64], have[128];
	int i, n = 0;

	if (!t)
		return pl_err_set(err, PL_ENOTFOUND, "missing tensor '%s'", name);
	if (t->ndim != ndim || t->shape[0] != d0 || (ndim == 2 && t->shape[1] != d1)) {
		if (ndim == 1)
			snprintf(want, sizeof(want), "[%lld]", (long long)d0);
		else
			snprintf(want, sizeof(want), "[%lld, %lld]", (long long)d0, (long long)d1);
		n += snprintf(have + n, sizeof(have) - (size_t)n, "[");
		for (i = 0; i < t->ndim && n < 100; i++)
			n += snprintf(have + n, sizeof(have) - (size_t)n, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
		snprintf(have + n, sizeof(have) - (size_t)n, "]");
		return pl_err_set(err, PL_EFORMAT, "%s: tensor '%s' has shape %s, expected %s",
				  ld->set.files[t->file], name, have, want);
	}
	*out = t;
	return 0;
}

static void count(loader *ld, const eng__st_tensor *t)
{
	ld->params += t->numel;
	ld->bytes += t->nbytes;
	ld->used++;
}

/* Copy tensor `name` of the given shape into dst (fp32), converting. */
static int take(loader *ld, float *dst, const char *name, int ndim, int64_t d0, int64_t d1, pl_err *err)
{
	const eng__st_tensor *t;
	int rc;

	if ((rc = find(&t, ld, name, ndim, d0, d1, err)) < 0)
		return rc;
	eng__st_to_f32(dst, t, 0, t->numel);
	count(ld, t);
	return 0;
}

/* A matrix made of n parts stacked by rows (q/k/v, gate/up), each [rows[i], K]. */
static int load_mat(eng__wmat *out, loader *ld, const char *const *names, const int64_t *rows, int n,
		    int64_t K, const char *what, pl_err *err)
{
	const eng__st_tensor *t[4];
	int64_t total = 0;
	size_t el, off = 0;
	bool bf16 = true;
	int i, rc;

	PL_ASSERT(n <= 4);
	for (i = 0; i < n; i++) {
		if ((rc = find(&t[i], ld, names[i], 2, rows[i], K, err)) < 0)
			return rc;
		bf16 = bf16 && t[i]->dtype == ENG__ST_BF16;
		total += rows[i];
	}
	el = bf16 ? 2 : 4;
	if (!(out->p = malloc((size_t)(total * K) * el)))
		return pl_err_set(err, PL_ENOMEM, "cannot allocate %zu bytes for %s", (size_t)(total * K) * el, what);
	out->bf16 = bf16;
	for (i = 0; i < n; i++) {
		if (bf16) {
			uint16_t *d = (uint16_t *)out->p + off;
			const uint8_t *p = t[i]->data;
			uint64_t j;

			for (j = 0; j < t[i]->numel; j++)
				d[j] = (uint16_t)(p[2 * j] | p[2 * j + 1] << 8);
		} else {
			eng__st_to_f32((float *)out->p + off, t[i], 0, t[i]->numel);
		}
		off += (size_t)(rows[i] * K);
		count(ld, t[i]);
	}
	return 0;
}

static float *alloc_f(size_t n, const char *what, pl_err *err)
{
	float *p = malloc(n * sizeof(float));

	if (!p)
		pl_err_set(err, PL_ENOMEM, "cannot allocate %zu bytes for %s", n * sizeof(float), what);
	return p;
}

static int load_layer(eng_model *m, loader *ld, int64_t i, pl_err *err)
{
	const eng_config *c = &m->cfg;
	eng__layer *L = &m->layer[i];
	int64_t H = c->hidden, hd = c->head_dim, q = c->heads * hd, kv = c->kv_heads * hd, I = c->intermediate;
	char nm[160];
	const char *gate_prefix;
	int rc;

#define NM(fmt) (snprintf(nm, sizeof(nm), "model.layers.%lld." fmt, (long long)i), nm)
	if (!(L->ln1 = alloc_f((size_t)H, "a norm", err)) || !(L->ln2 = alloc_f((size_t)H, "a norm", err)))
		return PL_ENOMEM;
	{
		char qn[160], kn[160], vn[160], on[160], gn[160], un[160], dn[160];
		const char *qkv[3] = { qn, kn, vn }, *gu[2] = { gn, un }, *o1[1] = { on }, *d1[1] = { dn };
		const int64_t qkv_rows[3] = { q, kv, kv }, gu_rows[2] = { I, I }, h_rows[1] = { H };

		snprintf(qn, sizeof(qn), "model.layers.%lld.self_attn.q_proj.weight", (long long)i);
		snprintf(kn, sizeof(kn), "model.layers.%lld.self_attn.k_proj.weight", (long long)i);
		snprintf(vn, sizeof(vn), "model.layers.%lld.self_attn.v_proj.weight", (long long)i);
		snprintf(on, sizeof(on), "model.layers.%lld.self_attn.o_proj.weight", (long long)i);
		snprintf(gn, sizeof(gn), "model.layers.%lld.mlp.gate_proj.weight", (long long)i);
		snprintf(un, sizeof(un), "model.layers.%lld.mlp.up_proj.weight", (long long)i);
		snprintf(dn, sizeof(dn), "model.layers.%lld.mlp.down_proj.weight", (long long)i);
		if ((rc = take(ld, L->ln1, NM("input_layernorm.weight"), 1, H, 0, err)) < 0 ||
		    (rc = take(ld, L->ln2, NM("post_attention_layernorm.weight"), 1, H, 0, err)) < 0 ||
		    (rc = load_mat(&L->wqkv, ld, qkv, qkv_rows, 3, H, "q/k/v weights", err)) < 0 ||
		    (rc = load_mat(&L->wo, ld, o1, h_rows, 1, q, "o_proj", err)) < 0 ||
		    (rc = load_mat(&L->wgu, ld, gu, gu_rows, 2, H, "gate/up weights", err)) < 0 ||
		    (rc = load_mat(&L->wdown, ld, d1, h_rows, 1, I, "down_proj", err)) < 0)
			return rc;
	}
	/* The gate, in either spelling: only loops r >= 1 read it.  A checkpoint
	 * whose config says R > 1 must have it whatever --loops says (without
	 * it the checkpoint is broken); one of R = 1 needs it only when --loops
	 * asks for more. */
	gate_prefix = eng__st_set_find(&ld->set, NM("self_attn.plt_gate.weight"))	  ? "plt_gate"
		      : eng__st_set_find(&ld->set, NM("self_attn.loop_gate_proj.weight")) ? "loop_gate_proj"
											  : NULL;
	if (!gate_prefix) {
		if (c->config_loops > 1 || c->loops > 1)
			return pl_err_set(err, PL_ENOTFOUND,
					  "missing tensor 'model.layers.%lld.self_attn.plt_gate.weight' (or loop_gate_proj)",
					  (long long)i);
		return 0;
	}
	if (!(L->gate_w = alloc_f((size_t)(c->heads * H), "gate", err)) ||
	    !(L->gate_b = alloc_f((size_t)c->heads, "gate", err)) ||
	    !(L->gate_norm = alloc_f((size_t)H, "gate", err)))
		return PL_ENOMEM;
	snprintf(nm, sizeof(nm), "model.layers.%lld.self_attn.%s.weight", (long long)i, gate_prefix);
	if ((rc = take(ld, L->gate_w, nm, 2, c->heads, H, err)) < 0)
		return rc;
	snprintf(nm, sizeof(nm), "model.layers.%lld.self_attn.%s.bias", (long long)i, gate_prefix);
	if ((rc = take(ld, L->gate_b, nm, 1, c->heads, 0, err)) < 0)
		return rc;
	snprintf(nm, sizeof(nm), "model.layers.%lld.self_attn.%s.gate_norm.weight", (long long)i, gate_prefix);
	return take(ld, L->gate_norm, nm, 1, H, 0, err);
#undef NM
}

int eng_model_load(eng_model **out, const char *dir, const eng_load_opts *opts, pl_err *err)
{
	eng_load_opts o = { 0 };
	eng_model *m = pl_xcalloc(1, sizeof(*m));
	loader ld = { 0 };
	const eng__st_tensor *emb;
	int64_t i;
	size_t k;
	int rc = 0, threads;

	pthread_mutex_init(&m->run, NULL);
	if (opts)
		o = *opts;
	m->dir = pl_xstrdup(dir);
	m->log = o.log;
	m->portable = o.portable_kernels;
	if (o.backend && strcmp(o.backend, "cpu")) {
		/* "cuda" may be built (GPU probes today) before it can run a
		 * model, and built but its module missing: say which. */
		if ((rc = eng_backend_load(o.backend, err)) < 0) {
			if (eng_backend_is_built(o.backend))
				pl_err_prefix(err, "backend '%s'", o.backend);
		} else {
			rc = pl_err_set(err, PL_EUNSUPPORTED,
					"backend 'cuda': this build's CUDA backend only probes GPUs, its forward pass "
					"is not implemented yet; use --backend cpu");
		}
		goto fail;
	}
	if (o.loops < 0 || o.loops > ENG_MAX_LOOPS) {
		rc = pl_err_set(err, PL_EINVAL, "loops %d out of range 1..%d", o.loops, ENG_MAX_LOOPS);
		goto fail;
	}
	if ((rc = eng_config_load(&m->cfg, dir, err)) < 0)
		goto fail;
	if (o.loops > 0)
		m->cfg.loops = o.loops;
	if (m->cfg.loops > 1 && !m->cfg.is_plt) {
		/* A plain Llama has no gate and no CLP scales: looping it is undefined. */
		rc = pl_err_set(err, PL_EINVAL, "%s: --loops %d needs a PLT checkpoint (config.json has no plt_* fields)",
				dir, m->cfg.loops);
		goto fail;
	}
	if ((rc = eng__st_set_open_dir(&ld.set, dir, err)) < 0)
		goto fail_prefix;
	emb = eng__st_set_find(&ld.set, "model.embed_tokens.weight");
	if (!emb) {
		rc = pl_err_set(err, PL_ENOTFOUND, "missing tensor 'model.embed_tokens.weight'");
		goto fail_prefix;
	}
	/* The embedding may be padded past the tokenizer (LoopCoder-V2: 76800);
	 * config.json's vocab_size must equal its rows. */
	if (emb->ndim == 2 && emb->shape[0] != m->cfg.vocab) {
		rc = pl_err_set(err, PL_EFORMAT,
				"%s: tensor 'model.embed_tokens.weight' has %lld rows, config.json vocab_size is %lld",
				ld.set.files[emb->file], (long long)emb->shape[0], (long long)m->cfg.vocab);
		goto fail_prefix;
	}
	{
		const char *en[1] = { "model.embed_tokens.weight" }, *ln[1] = { "lm_head.weight" };
		const int64_t vr[1] = { m->cfg.vocab };

		if (!(m->norm = alloc_f((size_t)m->cfg.hidden, "the final norm", err))) {
			rc = PL_ENOMEM;
			goto fail;
		}
		if ((rc = load_mat(&m->embed, &ld, en, vr, 1, m->cfg.hidden, "the embedding", err)) < 0 ||
		    (rc = take(&ld, m->norm, "model.norm.weight", 1, m->cfg.hidden, 0, err)) < 0)
			goto fail_prefix;
		if (m->cfg.tie_embeddings && !eng__st_set_find(&ld.set, "lm_head.weight"))
			m->lm_head = m->embed;
		else if ((rc = load_mat(&m->lm_head, &ld, ln, vr, 1, m->cfg.hidden, "lm_head", err)) < 0)
			goto fail_prefix;
	}
	m->layer = pl_xcalloc((size_t)m->cfg.layers, sizeof(*m->layer));
	for (i = 0; i < m->cfg.layers; i++)
		if ((rc = load_layer(m, &ld, i, err)) < 0)
			goto fail_prefix;
	/* Tensors nobody asked for are a sign of a different architecture; the
	 * only known harmless ones are rotary_emb.inv_freq buffers. */
	{
		size_t ignorable = 0;

		for (k = 0; k < ld.set.n; k++)
			if (strstr(ld.set.t[k].name, "rotary_emb.inv_freq"))
				ignorable++;
		if (ld.used + ignorable < ld.set.n)
			pl_log_warn(m->log, "%s: %zu tensors were not used", dir,
				    (size_t)(ld.set.n - ld.used - ignorable));
	}
	m->params = ld.params;
	m->file_bytes = ld.bytes;
	m->rope_inv_freq = pl_xmalloc((size_t)(m->cfg.head_dim / 2) * sizeof(float));
	for (i = 0; i < m->cfg.head_dim / 2; i++)
		m->rope_inv_freq[i] = (float)pow(m->cfg.rope_theta, -2.0 * (double)i / (double)m->cfg.head_dim);
	threads = o.threads > 0 ? o.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (threads < 1)
		threads = 1;
	if ((rc = eng__pool_init(&m->pool, threads, err)) < 0)
		goto fail;
	eng__st_set_release(&ld.set);
	*out = m;
	return 0;
fail_prefix:
	if (err && !strstr(err->msg, dir))
		pl_err_prefix(err, "%s", dir);
fail:
	eng__st_set_release(&ld.set);
	eng_model_free(m);
	return rc;
}

static void layer_release(eng__layer *L)
{
	free(L->ln1);
	free(L->ln2);
	free(L->wqkv.p);
	free(L->wo.p);
	free(L->wgu.p);
	free(L->wdown.p);
	free(L->gate_w);
	free(L->gate_b);
	free(L->gate_norm);
}

void eng_model_free(eng_model *m)
{
	int64_t i;

	if (!m)
		return;
	if (m->layer)
		for (i = 0; i < m->cfg.layers; i++)
			layer_release(&m->layer[i]);
	free(m->layer);
	if (m->lm_head.p != m->embed.p)
		free(m->lm_head.p);
	free(m->embed.p);
	free(m->norm);
	free(m->rope_inv_freq);
	if (m->pool.n)
		eng__pool_release(&m->pool);
	free(m->sc.x);
	free(m->sc.scores);
	free(m->dir);
	pthread_mutex_destroy(&m->run);
	free(m);
}

const eng_config *eng_model_config(const eng_model *m)
{
	return &m->cfg;
}

uint64_t eng_model_params(const eng_model *m)
{
	return m->params;
}

uint64_t eng_model_file_bytes(const eng_model *m)
{
	return m->file_bytes;
}

uint64_t eng_model_kv_bytes_per_token(const eng_model *m)
{
	eng_state_bytes b;

	eng_config_state_bytes(&b, &m->cfg);
	return b.cpu_per_token;
}
