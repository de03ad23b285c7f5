/* engine_model.h - a tiny PLT checkpoint the tests write themselves, for
 * driving the agent's loop with the embedded engine (tests/agent/ and
 * tests/bench-harness/).
 *
 * The checkpoint is a PLT model (R = 2) built to be a bigram machine: its
 * layers add nothing (o_proj and down_proj are zero), so the last
 * position's hidden state points along its token's embedding, and lm_head
 * maps the "\n" that ends "<|im_start|>assistant\n" to a CALL token and
 * CALL to <|im_end|>: every answer is CALL's content.  The tokenizer is a
 * byte-level BPE tokenizer.json written here, whose added tokens are the
 * ChatML markers and CALL, whose content is a whole tool call (or any
 * text). */
#ifndef PLAIT_TESTS_ENGINE_MODEL_H
#define PLAIT_TESTS_ENGINE_MODEL_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "common/common.h"

#define TM_HIDDEN 8
#define TM_VOCAB 260
#define TM_ID_IM_START 256
#define TM_ID_IM_END 257
#define TM_ID_CALL 258

typedef struct tm_ckpt {
	json_t *hdr;
	pl_buf data;
	uint64_t rng;
} tm_ckpt;

static inline float tm_rnd(tm_ckpt *c)
{
	c->rng = c->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (float)((double)(c->rng >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
}

/* A tensor [d0, d1] (d1 = 0: a vector): value(row, col) from fn, else a
 * random value times scale plus base. */
static inline void tm_tensor(tm_ckpt *c, const char *name, int64_t d0, int64_t d1, float base, float scale,
		   float (*fn)(int64_t r, int64_t col))
{
	size_t off = c->data.len;
	int64_t r, k, cols = d1 ? d1 : 1;

	for (r = 0; r < d0; r++)
		for (k = 0; k < cols; k++) {
			float v = fn ? fn(r, k) : base + scale * tm_rnd(c);

			pl_buf_add(&c->data, &v, 4);
		}
	pl_json_set(c->hdr, name,
		    json_pack("{s:s, s:o, s:[I, I]}", "dtype", "F32", "shape",
			      d1 ? json_pack("[I, I]", (json_int_t)d0, (json_int_t)d1) : json_pack("[I]", (json_int_t)d0),
			      "data_offsets", (json_int_t)off, (json_int_t)c->data.len));
}

static inline float tm_embed(int64_t r, int64_t k)
{
	if (r == '\n')
		return k == 0 ? 20.0f : 0.0f;
	if (r == TM_ID_CALL)
		return k == 1 ? 20.0f : 0.0f;
	return (float)(((r * 7 + k * 3) % 11) - 5) * 0.02f;
}

static inline float tm_head(int64_t r, int64_t k)
{
	if (r == TM_ID_CALL)
		return k == 0 ? 10.0f : 0.0f;
	if (r == TM_ID_IM_END)
		return k == 1 ? 10.0f : 0.0f;
	return 0.0f;
}

static inline float tm_zero(int64_t r, int64_t k)
{
	(void)r, (void)k;
	return 0.0f;
}

/* GPT-2's byte-to-unicode map: the byte-level alphabet. */
static inline void tm_byte_char(pl_buf *out, int b)
{
	int cp;

	if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) {
		cp = b;
	} else {
		int n = 0;

		for (int x = 0; x < b; x++)
			if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255)))
				n++;
		cp = 256 + n;
	}
	if (cp < 0x80) {
		pl_buf_putc(out, (char)cp);
	} else {
		pl_buf_putc(out, (char)(0xC0 | (cp >> 6)));
		pl_buf_putc(out, (char)(0x80 | (cp & 0x3F)));
	}
}

static inline void tm_write_file(const char *dir, const char *name, const void *p, size_t n)
{
	pl_buf path = PL_BUF_INIT;

	pl_path_join(&path, dir, name);
	cr_assert_eq(pl_file_write_atomic(path.ptr, p, n, 0644, NULL), 0);
	pl_buf_release(&path);
}

/* Writes the model into dir; call_text is CALL's content. */
static inline void tm_write_model(const char *dir, const char *call_text)
{
	tm_ckpt c = { json_object(), PL_BUF_INIT, 42 };
	json_t *cfg, *tok, *vocab = json_object();
	pl_buf b = PL_BUF_INIT, h = PL_BUF_INIT;
	uint64_t len;
	unsigned char le[8];

	cr_assert_eq(pl_mkdir_p(dir, 0755, NULL), 0);
	cfg = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:f, s:i, s:i, s:[i, i], s:f, s:f, s:b, s:b, s:i}",
			"hidden_size", TM_HIDDEN, "intermediate_size", 8, "num_hidden_layers", 1, "num_attention_heads", 2,
			"num_key_value_heads", 1, "vocab_size", TM_VOCAB, "rms_norm_eps", 1e-5, "rope_theta", 10000.0,
			"max_position_embeddings", 32768, "plt_num_loops", 2, "plt_window_size", 64, 0, "plt_emb_scale",
			0.707, "plt_hidden_scale", 0.5, "plt_normalize_per_loop", 1, "plt_gate_use_hidden_states", 1,
			"eos_token_id", TM_ID_IM_END);
	pl_json_set(c.hdr, "__metadata__", json_pack("{s:s}", "format", "pt"));
	tm_tensor(&c, "model.embed_tokens.weight", TM_VOCAB, TM_HIDDEN, 0, 0, tm_embed);
	tm_tensor(&c, "model.norm.weight", TM_HIDDEN, 0, 1, 0, NULL);
	tm_tensor(&c, "lm_head.weight", TM_VOCAB, TM_HIDDEN, 0, 0, tm_head);
	tm_tensor(&c, "model.layers.0.input_layernorm.weight", TM_HIDDEN, 0, 1, 0, NULL);
	tm_tensor(&c, "model.layers.0.post_attention_layernorm.weight", TM_HIDDEN, 0, 1, 0, NULL);
	tm_tensor(&c, "model.layers.0.self_attn.q_proj.weight", 8, TM_HIDDEN, 0, 1, NULL);
	tm_tensor(&c, "model.layers.0.self_attn.k_proj.weight", 4, TM_HIDDEN, 0, 1, NULL);
	tm_tensor(&c, "model.layers.0.self_attn.v_proj.weight", 4, TM_HIDDEN, 0, 1, NULL);
	tm_tensor(&c, "model.layers.0.self_attn.o_proj.weight", TM_HIDDEN, 8, 0, 0, tm_zero);
	tm_tensor(&c, "model.layers.0.mlp.gate_proj.weight", 8, TM_HIDDEN, 0, 1, NULL);
	tm_tensor(&c, "model.layers.0.mlp.up_proj.weight", 8, TM_HIDDEN, 0, 1, NULL);
	tm_tensor(&c, "model.layers.0.mlp.down_proj.weight", TM_HIDDEN, 8, 0, 0, tm_zero);
	tm_tensor(&c, "model.layers.0.self_attn.plt_gate.weight", 2, TM_HIDDEN, 0, 1, NULL);
	tm_tensor(&c, "model.layers.0.self_attn.plt_gate.bias", 2, 0, 0, 1, NULL);
	tm_tensor(&c, "model.layers.0.self_attn.plt_gate.gate_norm.weight", TM_HIDDEN, 0, 1, 0, NULL);
	pl_json_dump(&b, cfg, true);
	tm_write_file(dir, "config.json", b.ptr, b.len);
	pl_buf_reset(&b);
	pl_json_dump(&h, c.hdr, false);
	len = h.len;
	for (int i = 0; i < 8; i++)
		le[i] = (unsigned char)(len >> (8 * i));
	pl_buf_add(&b, le, 8);
	pl_buf_add(&b, h.ptr, h.len);
	pl_buf_add(&b, c.data.ptr, c.data.len);
	tm_write_file(dir, "model.safetensors", b.ptr, b.len);

	for (int i = 0; i < 256; i++) {
		pl_buf k = PL_BUF_INIT;

		tm_byte_char(&k, i);
		pl_json_set(vocab, k.ptr, json_integer(i));
		pl_buf_release(&k);
	}
	tok = json_pack("{s:s, s:[{s:i, s:s, s:b, s:b}, {s:i, s:s, s:b, s:b}, {s:i, s:s, s:b, s:b}], "
			"s:n, s:{s:s, s:b, s:b, s:b}, s:n, s:{s:s, s:b, s:b, s:b}, s:{s:s, s:o, s:[]}}",
			"version", "1.0", "added_tokens", "id", TM_ID_IM_START, "content", "<|im_start|>", "special", 1,
			"normalized", 0, "id", TM_ID_IM_END, "content", "<|im_end|>", "special", 1, "normalized", 0, "id", TM_ID_CALL,
			"content", call_text, "special", 0, "normalized", 0, "normalizer", "pre_tokenizer", "type", "ByteLevel",
			"add_prefix_space", 0, "trim_offsets", 1, "use_regex", 1, "post_processor", "decoder", "type",
			"ByteLevel", "add_prefix_space", 0, "trim_offsets", 1, "use_regex", 1, "model", "type", "BPE", "vocab",
			vocab, "merges");
	cr_assert_not_null(tok);
	pl_buf_reset(&b);
	pl_json_dump(&b, tok, true);
	tm_write_file(dir, "tokenizer.json", b.ptr, b.len);
	json_decref(tok);
	json_decref(cfg);
	json_decref(c.hdr);
	pl_buf_release(&c.data);
	pl_buf_release(&b);
	pl_buf_release(&h);
}

#endif
