/* model.c - load a model directory: config.json, then every tensor the
 * forward pass needs, found and checked against the configuration (name,
 * shape) in the mapped checkpoint, then handed to the chosen backend
 * (backend.h), which keeps them its own way. */
#include "engine/internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct loader {
	eng__st_set set;
	uint64_t params, bytes;
	uint64_t used; /* tensors taken, to report unknown ones */
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
			n += snprintf(have + n, sizeof(have) - (size_t)n, "%s%lld", i ? ", " : "",
				      (long long)t->shape[i]);
		snprintf(have + n, sizeof(have) - (size_t)n, "]");
		return pl_err_set(err, PL_EFORMAT, "%s: tensor '%s' has shape %s, expected %s",
				  ld->set.files[t->file], name, have, want);
	}
	ld->params += t->numel;
	ld->bytes += t->nbytes;
	ld->used++;
	*out = t;
	return 0;
}

static int find_layer(eng__layer_tensors *L, loader *ld, const eng_config *c, int64_t i, pl_err *err)
{
	int64_t H = c->hidden, hd = c->head_dim, q = c->heads * hd, kv = c->kv_heads * hd, I = c->intermediate;
	char nm[160];
	const char *gate_prefix;
	int rc;

#define NM(fmt) (snprintf(nm, sizeof(nm), "model.layers.%lld." fmt, (long long)i), nm)
	if ((rc = find(&L->ln1, ld, NM("input_layernorm.weight"), 1, H, 0, err)) < 0 ||
	    (rc = find(&L->ln2, ld, NM("post_attention_layernorm.weight"), 1, H, 0, err)) < 0 ||
	    (rc = find(&L->q, ld, NM("self_attn.q_proj.weight"), 2, q, H, err)) < 0 ||
	    (rc = find(&L->k, ld, NM("self_attn.k_proj.weight"), 2, kv, H, err)) < 0 ||
	    (rc = find(&L->v, ld, NM("self_attn.v_proj.weight"), 2, kv, H, err)) < 0 ||
	    (rc = find(&L->o, ld, NM("self_attn.o_proj.weight"), 2, H, q, err)) < 0 ||
	    (rc = find(&L->gate, ld, NM("mlp.gate_proj.weight"), 2, I, H, err)) < 0 ||
	    (rc = find(&L->up, ld, NM("mlp.up_proj.weight"), 2, I, H, err)) < 0 ||
	    (rc = find(&L->down, ld, NM("mlp.down_proj.weight"), 2, H, I, err)) < 0)
		return rc;
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
	snprintf(nm, sizeof(nm), "model.layers.%lld.self_attn.%s.weight", (long long)i, gate_prefix);
	if ((rc = find(&L->gate_w, ld, nm, 2, c->heads, H, err)) < 0)
		return rc;
	snprintf(nm, sizeof(nm), "model.layers.%lld.self_attn.%s.bias", (long long)i, gate_prefix);
	if ((rc = find(&L->gate_b, ld, nm, 1, c->heads, 0, err)) < 0)
		return rc;
	snprintf(nm, sizeof(nm), "model.layers.%lld.self_attn.%s.gate_norm.weight", (long long)i, gate_prefix);
	return find(&L->gate_norm, ld, nm, 1, H, 0, err);
#undef NM
}

/* The backend named by opts: "cpu" (or NULL), or "cuda" when built, whose
 * module must open (the error names every path tried); whether the
 * machine has a GPU it can run on is its upload's answer. */
static int pick_backend(const eng__backend_ops **out, const char *name, pl_err *err)
{
	int rc;

	if (!name)
		name = "cpu";
	if (strcmp(name, "cpu") && (rc = eng_backend_load(name, err)) < 0) {
		if (eng_backend_is_built(name))
			pl_err_prefix(err, "backend '%s'", name);
		return rc;
	}
	if ((*out = eng__backend_find(name)))
		return 0;
	return pl_err_set(err, PL_EUNSUPPORTED, "backend '%s' cannot run a model in this plait", name);
}

static void backend_opts(eng__backend_opts *bo, const eng_load_opts *o)
{
	memset(bo, 0, sizeof(*bo));
	bo->threads = o->threads;
	bo->portable_kernels = o->portable_kernels;
	bo->log = o->log;
	bo->progress = o->progress;
	bo->progress_user = o->progress_user;
}

int eng_model_load(eng_model **out, const char *dir, const eng_load_opts *opts, pl_err *err)
{
	eng_load_opts o = { 0 };
	eng_model *m = pl_xcalloc(1, sizeof(*m));
	const eng__backend_ops *ops = NULL;
	eng__checkpoint ck;
	eng__layer_tensors *layers = NULL;
	eng__backend_opts bo = { 0 };
	loader ld = { 0 };
	const eng__st_tensor *emb;
	int64_t i;
	size_t k;
	int rc = 0;

	if (opts)
		o = *opts;
	m->dir = pl_xstrdup(dir);
	m->log = o.log;
	if ((rc = pick_backend(&ops, o.backend, err)) < 0)
		goto fail;
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
	memset(&ck, 0, sizeof(ck));
	ck.cfg = &m->cfg;
	if ((rc = find(&ck.embed, &ld, "model.embed_tokens.weight", 2, m->cfg.vocab, m->cfg.hidden, err)) <
		    0 ||
	    (rc = find(&ck.norm, &ld, "model.norm.weight", 1, m->cfg.hidden, 0, err)) < 0)
		goto fail_prefix;
	if (m->cfg.tie_embeddings && !eng__st_set_find(&ld.set, "lm_head.weight"))
		ck.lm_head = ck.embed;
	else if ((rc = find(&ck.lm_head, &ld, "lm_head.weight", 2, m->cfg.vocab, m->cfg.hidden, err)) < 0)
		goto fail_prefix;
	layers = pl_xcalloc((size_t)m->cfg.layers, sizeof(*layers));
	for (i = 0; i < m->cfg.layers; i++)
		if ((rc = find_layer(&layers[i], &ld, &m->cfg, i, err)) < 0)
			goto fail_prefix;
	ck.layer = layers;
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
	backend_opts(&bo, &o);
	if ((rc = ops->upload(&m->b, &ck, &bo, err)) < 0) {
		if (strcmp(ops->name, "cpu"))
			pl_err_prefix(err, "backend '%s'", ops->name);
		goto fail_prefix;
	}
	free(layers);
	eng__st_set_release(&ld.set);
	*out = m;
	return 0;
fail_prefix:
	if (err && !strstr(err->msg, dir))
		pl_err_prefix(err, "%s", dir);
fail:
	free(layers);
	eng__st_set_release(&ld.set);
	eng_model_free(m);
	return rc;
}

int eng_model_random(eng_model **out, const eng_config *cfg, uint64_t seed, const eng_load_opts *opts, pl_err *err)
{
	eng_load_opts o = { 0 };
	eng_model *m;
	const eng__backend_ops *ops = NULL;
	eng__checkpoint ck;
	eng__backend_opts bo;
	const eng_config *c = cfg;
	uint64_t per_layer;
	int rc;

	if (opts)
		o = *opts;
	if (c->hidden < 1 || c->intermediate < 1 || c->layers < 1 || c->heads < 1 || c->kv_heads < 1 ||
	    c->heads % c->kv_heads || c->head_dim < 2 || c->head_dim % 2 || c->vocab < 1 || c->loops < 1 ||
	    c->loops > ENG_MAX_LOOPS || !(c->rms_eps > 0) || !(c->rope_theta > 0))
		return pl_err_set(err, PL_EINVAL, "random model: the configuration is not a valid Llama/PLT shape");
	if ((rc = pick_backend(&ops, o.backend, err)) < 0)
		return rc;
	m = pl_xcalloc(1, sizeof(*m));
	m->cfg = *c;
	m->dir = pl_xstrdup("(random weights)");
	m->log = o.log;
	per_layer = (uint64_t)(c->heads + 2 * c->kv_heads) * (uint64_t)(c->head_dim * c->hidden) +
		    (uint64_t)(c->heads * c->head_dim * c->hidden) + 3 * (uint64_t)(c->hidden * c->intermediate) +
		    2 * (uint64_t)c->hidden + (c->loops > 1 ? (uint64_t)(c->heads * c->hidden + c->heads + c->hidden) : 0);
	m->params = (uint64_t)c->layers * per_layer + (uint64_t)(c->vocab * c->hidden) * (c->tie_embeddings ? 1 : 2) +
		    (uint64_t)c->hidden;
	m->file_bytes = 2 * m->params;
	memset(&ck, 0, sizeof(ck));
	ck.cfg = &m->cfg;
	ck.random = true;
	ck.seed = seed;
	backend_opts(&bo, &o);
	if ((rc = ops->upload(&m->b, &ck, &bo, err)) < 0) {
		pl_err_prefix(err, "backend '%s'", ops->name);
		eng_model_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

json_t *eng_model_describe(const eng_model *m)
{
	json_t *j = m->b->ops->describe ? m->b->ops->describe(m->b) : json_object();

	pl_json_set(j, "backend", json_string(m->b->ops->name));
	pl_json_set(j, "loops", json_integer(m->cfg.loops));
	return j;
}

int eng_model_profile(eng_model *m, bool on, pl_err *err)
{
	if (!m->b->ops->profile)
		return pl_err_set(err, PL_EUNSUPPORTED, "the %s backend has no kernel profile", m->b->ops->name);
	return m->b->ops->profile(m->b, on, err);
}

void eng_model_free(eng_model *m)
{
	if (!m)
		return;
	if (m->b)
		m->b->ops->free(m->b);
	free(m->dir);
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
