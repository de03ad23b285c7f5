/* The loop driven by the embedded engine on a random checkpoint written
 * here (mechanics only): tokens flow through the chat template and the
 * tokenizer, tool calls parse, and each turn prefills only what is new:
 * the counted prefill tokens prove the session's K/V is kept between turns
 * and that rewriting history truncates it.
 *
 * The checkpoint is a PLT model (R = 2) built to be a bigram machine: its
 * layers add nothing (o_proj and down_proj are zero), so the last
 * position's hidden state points along its token's embedding, and lm_head
 * maps the "\n" that ends "<|im_start|>assistant\n" to a CALL token and
 * CALL to <|im_end|>.  The tokenizer is a byte-level BPE tokenizer.json
 * written here, whose added tokens are the ChatML markers and CALL, whose
 * content is a whole tool call. */
#include "agent_test.h"

#include "engine/engine.h"

#define HIDDEN 8
#define VOCAB 260
#define ID_IM_START 256
#define ID_IM_END 257
#define ID_CALL 258

static pl_buf root = PL_BUF_INIT;
static char *repo;

static void setup(void)
{
	repo = at_repo(&root);
}

static void teardown(void)
{
	pl_rm_rf(root.ptr, NULL);
	pl_buf_release(&root);
	free(repo);
}

TestSuite(engine_loop, .init = setup, .fini = teardown, .timeout = 120);

typedef struct ckpt {
	json_t *hdr;
	pl_buf data;
	uint64_t rng;
} ckpt;

static float rnd(ckpt *c)
{
	c->rng = c->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (float)((double)(c->rng >> 40) / (double)(1ull << 24) * 2.0 - 1.0);
}

/* A tensor [d0, d1] (d1 = 0: a vector): value(row, col) from fn, else a
 * random value times scale plus base. */
static void tensor(ckpt *c, const char *name, int64_t d0, int64_t d1, float base, float scale,
		   float (*fn)(int64_t r, int64_t col))
{
	size_t off = c->data.len;
	int64_t r, k, cols = d1 ? d1 : 1;

	for (r = 0; r < d0; r++)
		for (k = 0; k < cols; k++) {
			float v = fn ? fn(r, k) : base + scale * rnd(c);

			pl_buf_add(&c->data, &v, 4);
		}
	pl_json_set(c->hdr, name,
		    json_pack("{s:s, s:o, s:[I, I]}", "dtype", "F32", "shape",
			      d1 ? json_pack("[I, I]", (json_int_t)d0, (json_int_t)d1) : json_pack("[I]", (json_int_t)d0),
			      "data_offsets", (json_int_t)off, (json_int_t)c->data.len));
}

static float embed(int64_t r, int64_t k)
{
	if (r == '\n')
		return k == 0 ? 20.0f : 0.0f;
	if (r == ID_CALL)
		return k == 1 ? 20.0f : 0.0f;
	return (float)(((r * 7 + k * 3) % 11) - 5) * 0.02f;
}

static float head(int64_t r, int64_t k)
{
	if (r == ID_CALL)
		return k == 0 ? 10.0f : 0.0f;
	if (r == ID_IM_END)
		return k == 1 ? 10.0f : 0.0f;
	return 0.0f;
}

static float zero(int64_t r, int64_t k)
{
	(void)r, (void)k;
	return 0.0f;
}

/* GPT-2's byte-to-unicode map: the byte-level alphabet. */
static void byte_char(pl_buf *out, int b)
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

static void write_file(const char *dir, const char *name, const void *p, size_t n)
{
	pl_buf path = PL_BUF_INIT;

	pl_path_join(&path, dir, name);
	cr_assert_eq(pl_file_write_atomic(path.ptr, p, n, 0644, NULL), 0);
	pl_buf_release(&path);
}

/* Writes the model into dir; call_text is CALL's content. */
static void write_model(const char *dir, const char *call_text)
{
	ckpt c = { json_object(), PL_BUF_INIT, 42 };
	json_t *cfg, *tok, *vocab = json_object();
	pl_buf b = PL_BUF_INIT, h = PL_BUF_INIT;
	uint64_t len;
	unsigned char le[8];

	cr_assert_eq(pl_mkdir_p(dir, 0755, NULL), 0);
	cfg = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:f, s:f, s:i, s:i, s:[i, i], s:f, s:f, s:b, s:b, s:i}",
			"hidden_size", HIDDEN, "intermediate_size", 8, "num_hidden_layers", 1, "num_attention_heads", 2,
			"num_key_value_heads", 1, "vocab_size", VOCAB, "rms_norm_eps", 1e-5, "rope_theta", 10000.0,
			"max_position_embeddings", 32768, "plt_num_loops", 2, "plt_window_size", 64, 0, "plt_emb_scale",
			0.707, "plt_hidden_scale", 0.5, "plt_normalize_per_loop", 1, "plt_gate_use_hidden_states", 1,
			"eos_token_id", ID_IM_END);
	pl_json_set(c.hdr, "__metadata__", json_pack("{s:s}", "format", "pt"));
	tensor(&c, "model.embed_tokens.weight", VOCAB, HIDDEN, 0, 0, embed);
	tensor(&c, "model.norm.weight", HIDDEN, 0, 1, 0, NULL);
	tensor(&c, "lm_head.weight", VOCAB, HIDDEN, 0, 0, head);
	tensor(&c, "model.layers.0.input_layernorm.weight", HIDDEN, 0, 1, 0, NULL);
	tensor(&c, "model.layers.0.post_attention_layernorm.weight", HIDDEN, 0, 1, 0, NULL);
	tensor(&c, "model.layers.0.self_attn.q_proj.weight", 8, HIDDEN, 0, 1, NULL);
	tensor(&c, "model.layers.0.self_attn.k_proj.weight", 4, HIDDEN, 0, 1, NULL);
	tensor(&c, "model.layers.0.self_attn.v_proj.weight", 4, HIDDEN, 0, 1, NULL);
	tensor(&c, "model.layers.0.self_attn.o_proj.weight", HIDDEN, 8, 0, 0, zero);
	tensor(&c, "model.layers.0.mlp.gate_proj.weight", 8, HIDDEN, 0, 1, NULL);
	tensor(&c, "model.layers.0.mlp.up_proj.weight", 8, HIDDEN, 0, 1, NULL);
	tensor(&c, "model.layers.0.mlp.down_proj.weight", HIDDEN, 8, 0, 0, zero);
	tensor(&c, "model.layers.0.self_attn.plt_gate.weight", 2, HIDDEN, 0, 1, NULL);
	tensor(&c, "model.layers.0.self_attn.plt_gate.bias", 2, 0, 0, 1, NULL);
	tensor(&c, "model.layers.0.self_attn.plt_gate.gate_norm.weight", HIDDEN, 0, 1, 0, NULL);
	pl_json_dump(&b, cfg, true);
	write_file(dir, "config.json", b.ptr, b.len);
	pl_buf_reset(&b);
	pl_json_dump(&h, c.hdr, false);
	len = h.len;
	for (int i = 0; i < 8; i++)
		le[i] = (unsigned char)(len >> (8 * i));
	pl_buf_add(&b, le, 8);
	pl_buf_add(&b, h.ptr, h.len);
	pl_buf_add(&b, c.data.ptr, c.data.len);
	write_file(dir, "model.safetensors", b.ptr, b.len);

	for (int i = 0; i < 256; i++) {
		pl_buf k = PL_BUF_INIT;

		byte_char(&k, i);
		pl_json_set(vocab, k.ptr, json_integer(i));
		pl_buf_release(&k);
	}
	tok = json_pack("{s:s, s:[{s:i, s:s, s:b, s:b}, {s:i, s:s, s:b, s:b}, {s:i, s:s, s:b, s:b}], "
			"s:n, s:{s:s, s:b, s:b, s:b}, s:n, s:{s:s, s:b, s:b, s:b}, s:{s:s, s:o, s:[]}}",
			"version", "1.0", "added_tokens", "id", ID_IM_START, "content", "<|im_start|>", "special", 1,
			"normalized", 0, "id", ID_IM_END, "content", "<|im_end|>", "special", 1, "normalized", 0, "id", ID_CALL,
			"content", call_text, "special", 0, "normalized", 0, "normalizer", "pre_tokenizer", "type", "ByteLevel",
			"add_prefix_space", 0, "trim_offsets", 1, "use_regex", 1, "post_processor", "decoder", "type",
			"ByteLevel", "add_prefix_space", 0, "trim_offsets", 1, "use_regex", 1, "model", "type", "BPE", "vocab",
			vocab, "merges");
	cr_assert_not_null(tok);
	pl_buf_reset(&b);
	pl_json_dump(&b, tok, true);
	write_file(dir, "tokenizer.json", b.ptr, b.len);
	json_decref(tok);
	json_decref(cfg);
	json_decref(c.hdr);
	pl_buf_release(&c.data);
	pl_buf_release(&b);
	pl_buf_release(&h);
}

static agent_settings *engine_settings(const char *model, const char *format, const char *steps)
{
	agent_settings *s = NULL;
	pl_err err = { 0 };
	const char *kv[][2] = { { "backend.name", "engine" }, { "backend.model", model },     { "backend.threads", "1" },
				{ "tools.format", format },   { "limits.max_steps", steps }, { "sampling.max_tokens", "8" },
				{ "tools.enabled", "view,search,submit" } };

	cr_assert_eq(agent_settings_load(&s, NULL, &err), 0, "%s", err.msg);
	for (size_t i = 0; i < PL_ARRAY_LEN(kv); i++)
		cr_assert_eq(agent_settings_set(s, kv[i][0], kv[i][1], "test", &err), 0, "%s", err.msg);
	cr_assert_eq(agent_settings_check(s, &err), 0, "%s", err.msg);
	return s;
}

static json_t *usages(const at_events *ev)
{
	json_t *a = at_of_type(ev, "assistant"), *u = json_array(), *x;
	size_t i;

	json_array_foreach(a, i, x)
		json_array_append(u, json_object_get(x, "usage"));
	json_decref(a);
	return u;
}

static int64_t num(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

Test(engine_loop, turns_prefill_only_what_is_new)
{
	pl_buf dir = PL_BUF_INIT;
	agent_settings *s;
	agent_session *sess = NULL;
	agent_result res;
	at_events ev;
	json_t *us, *tools, *stats;
	int64_t prefill = 0;
	size_t i;

	pl_path_join(&dir, root.ptr, "model");
	write_model(dir.ptr, "<tool_call>\n{\"name\": \"view\", \"arguments\": {\"path\": \"calc.py\"}}\n</tool_call>");
	s = engine_settings(dir.ptr, "native", "3");
	at_run(&res, &ev, s, repo, NULL, NULL, &sess);
	cr_assert_eq(res.exit, AGENT_EXIT_STEP_LIMIT, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	/* the tool call the model wrote was parsed and run each turn */
	tools = at_of_type(&ev, "tool_end");
	cr_assert_eq(json_array_size(tools), 3);
	for (i = 0; i < 3; i++) {
		cr_assert_str_eq(json_string_value(json_object_get(json_array_get(tools, i), "name")), "view");
		cr_assert(strstr(json_string_value(json_object_get(json_array_get(tools, i), "text")), "def add"));
	}
	/* each call: input = the whole conversation, cached = what the session
	 * already held, and the one generated token (CALL) stays in it */
	us = usages(&ev);
	cr_assert_eq(json_array_size(us), 3);
	cr_assert_eq(num(json_array_get(us, 0), "cached"), 0);
	cr_assert_eq(num(json_array_get(us, 0), "output"), 1);
	for (i = 1; i < 3; i++) {
		const json_t *prev = json_array_get(us, i - 1), *u = json_array_get(us, i);

		cr_assert_eq(num(u, "cached"), num(prev, "input") + num(prev, "output"),
			     "call %zu reused %lld tokens, the session held %lld", i + 1, (long long)num(u, "cached"),
			     (long long)(num(prev, "input") + num(prev, "output")));
		cr_assert_lt(num(u, "input") - num(u, "cached"), num(u, "input") / 2,
			     "call %zu prefilled %lld of %lld tokens", i + 1, (long long)(num(u, "input") - num(u, "cached")),
			     (long long)num(u, "input"));
	}
	{
		json_t *u;

		json_array_foreach(us, i, u)
			prefill += num(u, "input") - num(u, "cached");
	}
	stats = agent_session_backend_stats(sess);
	cr_assert_eq(num(stats, "prefill_tokens"), prefill, "counted prefill %lld, summed %lld",
		     (long long)num(stats, "prefill_tokens"), (long long)prefill);
	cr_assert_eq(num(stats, "generated_tokens"), 3);
	json_decref(stats);
	json_decref(us);
	json_decref(tools);
	agent_session_free(sess);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
	pl_buf_release(&dir);
}

Test(engine_loop, openhands_text_calls_through_the_engine)
{
	pl_buf dir = PL_BUF_INIT;
	agent_settings *s;
	agent_result res;
	at_events ev;
	json_t *tools;

	pl_path_join(&dir, root.ptr, "model-text");
	write_model(dir.ptr, "I will look.\n<function=view>\n<parameter=path>calc.py</parameter>\n</function>");
	s = engine_settings(dir.ptr, "text", "2");
	at_run(&res, &ev, s, repo, NULL, NULL, NULL);
	cr_assert_eq(res.exit, AGENT_EXIT_STEP_LIMIT, "exit %s: %s", agent_exit_name(res.exit), res.message.ptr);
	tools = at_of_type(&ev, "tool_end");
	cr_assert_eq(json_array_size(tools), 2);
	cr_assert(json_is_true(json_object_get(json_array_get(tools, 0), "ok")));
	cr_assert_str_eq(ev.text.ptr, "I will look.\n<function=view>\n<parameter=path>calc.py</parameter>\n</function>"
				      "I will look.\n<function=view>\n<parameter=path>calc.py</parameter>\n</function>",
			 "the text streamed: %s", ev.text.ptr);
	json_decref(tools);
	at_events_release(&ev);
	agent_result_release(&res);
	agent_settings_free(s);
	pl_buf_release(&dir);
}

Test(engine_loop, a_rewind_truncates_the_session)
{
	pl_buf dir = PL_BUF_INIT;
	agent_settings *s;
	agent_session *sess = NULL;
	agent_session_opts o = { 0 };
	agent_result res;
	at_events ev = { json_array(), PL_BUF_INIT, NULL };
	pl_err err = { 0 };
	json_t *us, *stats;
	int64_t held_after_turn1, held_before_rewind;

	pl_path_join(&dir, root.ptr, "model");
	write_model(dir.ptr, "<tool_call>\n{\"name\": \"view\", \"arguments\": {\"path\": \"README\"}}\n</tool_call>");
	s = engine_settings(dir.ptr, "native", "2");
	agent_settings_set(s, "prompts.task", "", "test", NULL);
	o.repo = repo;
	o.kind = "chat";
	o.checkpoints = true;
	o.on_event = at_on_event;
	o.user = &ev;
	cr_assert_eq(agent_session_new(&sess, s, &o, &err), 0, "%s", err.msg);
	agent_result_init(&res);
	cr_assert_eq(agent_session_run(&res, sess, "first", &err), 0, "%s", err.msg);
	agent_result_release(&res);
	stats = agent_session_backend_stats(sess);
	held_after_turn1 = num(stats, "session_tokens");
	json_decref(stats);
	agent_result_init(&res);
	cr_assert_eq(agent_session_run(&res, sess, "second", &err), 0, "%s", err.msg);
	agent_result_release(&res);
	stats = agent_session_backend_stats(sess);
	held_before_rewind = num(stats, "session_tokens");
	json_decref(stats);
	cr_assert_eq(agent_session_rewind(sess, 2, &err), 0, "%s", err.msg);
	agent_result_init(&res);
	cr_assert_eq(agent_session_run(&res, sess, "second, again", &err), 0, "%s", err.msg);
	agent_result_release(&res);
	us = usages(&ev);
	cr_assert_eq(json_array_size(us), 6);
	/* after the rewind the session was cut back to the end of turn 1's
	 * last answer, not to zero, and not kept at its full length */
	cr_assert_lt(num(json_array_get(us, 4), "cached"), held_before_rewind);
	cr_assert_eq(num(json_array_get(us, 4), "cached"), held_after_turn1,
		     "reused %lld, turn 1 ended at %lld", (long long)num(json_array_get(us, 4), "cached"),
		     (long long)held_after_turn1);
	json_decref(us);
	agent_session_free(sess);
	at_events_release(&ev);
	agent_settings_free(s);
	pl_buf_release(&dir);
}
