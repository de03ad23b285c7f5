/* test_ckpt.h - a tiny checkpoint written in C (config.json plus a F32
 * model.safetensors built from a jansson header), easy to corrupt one field
 * at a time.  Shape: hidden 8, 2 heads of 4, 1 K/V head, 1 layer,
 * intermediate 8, vocab 16, R = 2. */
#ifndef PLAIT_TEST_ENGINE_CKPT_H
#define PLAIT_TEST_ENGINE_CKPT_H

#include "test_helpers.h"

typedef struct ck {
	json_t *cfg;
	json_t *hdr;
	pl_buf data;
	uint64_t rng;
} ck;

static float ck_rand(ck *c)
{
	c->rng = c->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (float)((double)(c->rng >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
}

static void ck_tensor(ck *c, const char *name, int64_t d0, int64_t d1, float base)
{
	int64_t n = d0 * (d1 ? d1 : 1), i;
	size_t off = c->data.len;
	json_t *t = json_object();

	for (i = 0; i < n; i++) {
		float v = base + ck_rand(c);

		pl_buf_add(&c->data, &v, 4);
	}
	pl_json_set(t, "dtype", json_string("F32"));
	pl_json_set(t, "shape", d1 ? json_pack("[II]", (json_int_t)d0, (json_int_t)d1) : json_pack("[I]", (json_int_t)d0));
	pl_json_set(t, "data_offsets", json_pack("[II]", (json_int_t)off, (json_int_t)c->data.len));
	pl_json_set(c->hdr, name, t);
}

static PL_UNUSED void ck_build(ck *c, bool plt)
{
	memset(c, 0, sizeof(*c));
	c->rng = 42;
	pl_buf_init(&c->data, 0);
	c->cfg = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:f, s:i}", "hidden_size", 8, "intermediate_size", 8,
			   "num_hidden_layers", 1, "num_attention_heads", 2, "num_key_value_heads", 1, "vocab_size",
			   16, "rms_norm_eps", 1e-5, "rope_theta", 10000.0, "max_position_embeddings", 512);
	if (plt) {
		pl_json_set(c->cfg, "plt_num_loops", json_integer(2));
		pl_json_set(c->cfg, "plt_window_size", json_pack("[ii]", 64, 0));
		pl_json_set(c->cfg, "plt_emb_scale", json_real(0.707));
		pl_json_set(c->cfg, "plt_hidden_scale", json_real(0.5));
		pl_json_set(c->cfg, "plt_normalize_per_loop", json_true());
		pl_json_set(c->cfg, "plt_gate_use_hidden_states", json_true());
	}
	c->hdr = json_object();
	pl_json_set(c->hdr, "__metadata__", json_pack("{s:s}", "format", "pt"));
	ck_tensor(c, "model.embed_tokens.weight", 16, 8, 0);
	ck_tensor(c, "model.norm.weight", 8, 0, 1);
	ck_tensor(c, "lm_head.weight", 16, 8, 0);
	ck_tensor(c, "model.layers.0.input_layernorm.weight", 8, 0, 1);
	ck_tensor(c, "model.layers.0.post_attention_layernorm.weight", 8, 0, 1);
	ck_tensor(c, "model.layers.0.self_attn.q_proj.weight", 8, 8, 0);
	ck_tensor(c, "model.layers.0.self_attn.k_proj.weight", 4, 8, 0);
	ck_tensor(c, "model.layers.0.self_attn.v_proj.weight", 4, 8, 0);
	ck_tensor(c, "model.layers.0.self_attn.o_proj.weight", 8, 8, 0);
	ck_tensor(c, "model.layers.0.mlp.gate_proj.weight", 8, 8, 0);
	ck_tensor(c, "model.layers.0.mlp.up_proj.weight", 8, 8, 0);
	ck_tensor(c, "model.layers.0.mlp.down_proj.weight", 8, 8, 0);
	if (plt) {
		ck_tensor(c, "model.layers.0.self_attn.plt_gate.weight", 2, 8, 0);
		ck_tensor(c, "model.layers.0.self_attn.plt_gate.bias", 2, 0, 0);
		ck_tensor(c, "model.layers.0.self_attn.plt_gate.gate_norm.weight", 8, 0, 1);
	}
}

static PL_UNUSED void ck_write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char *path = path_in(dir, name);
	pl_err err = { 0 };

	cr_assert_eq(pl_file_write_atomic(path, p, n, 0644, &err), 0, "%s", err.msg);
	free(path);
}

/* The safetensors bytes for a header text and data. */
static PL_UNUSED void ck_st_bytes(pl_buf *out, const char *hdr, size_t hlen, const pl_buf *data)
{
	uint64_t n = hlen;
	unsigned char le[8];
	int i;

	for (i = 0; i < 8; i++)
		le[i] = (unsigned char)(n >> (8 * i));
	pl_buf_add(out, le, 8);
	pl_buf_add(out, hdr, hlen);
	pl_buf_add(out, data->ptr, data->len);
}

static PL_UNUSED void ck_write(const ck *c, const char *dir)
{
	pl_buf b = PL_BUF_INIT, h = PL_BUF_INIT;

	pl_json_dump(&b, c->cfg, true);
	ck_write_file(dir, "config.json", b.ptr, b.len);
	pl_buf_reset(&b);
	pl_json_dump(&h, c->hdr, false);
	ck_st_bytes(&b, h.ptr, h.len, &c->data);
	ck_write_file(dir, "model.safetensors", b.ptr, b.len);
	pl_buf_release(&b);
	pl_buf_release(&h);
}

static PL_UNUSED void ck_release(ck *c)
{
	json_decref(c->cfg);
	json_decref(c->hdr);
	pl_buf_release(&c->data);
}

/* Load dir and expect failure whose message holds both needles. */
static PL_UNUSED void expect_load_error(const char *dir, int loops, const char *needle1, const char *needle2)
{
	eng_load_opts o = { 0 };
	eng_model *m = NULL;
	pl_err err = { 0 };
	int rc;

	o.loops = loops;
	o.threads = 1;
	rc = eng_model_load(&m, dir, &o, &err);
	cr_assert_lt(rc, 0, "loading should fail (expected '%s')", needle1);
	cr_assert_null(m);
	cr_assert(strstr(err.msg, needle1), "message '%s' lacks '%s'", err.msg, needle1);
	if (needle2)
		cr_assert(strstr(err.msg, needle2), "message '%s' lacks '%s'", err.msg, needle2);
}

#endif
