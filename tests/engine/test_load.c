/* Model directory loading: valid checkpoints, and every malformed input a
 * clear error naming the file and the tensor. */
#include <unistd.h>

#include "test_ckpt.h"

static char *dir;
static ck C;

static void setup(void)
{
	dir = tmpdir("plait-load");
	ck_build(&C, true);
}

static void teardown(void)
{
	ck_release(&C);
	tmpdir_remove(dir);
	dir = NULL;
}

static json_t *T(const char *name)
{
	json_t *t = json_object_get(C.hdr, name);

	cr_assert_not_null(t, "no tensor %s in the fixture", name);
	return t;
}

TestSuite(load, .init = setup, .fini = teardown);

Test(load, valid_plt_checkpoint)
{
	eng_model *m;
	const eng_config *c;

	ck_write(&C, dir);
	m = load_ok(dir, 0, 2);
	c = eng_model_config(m);
	cr_assert_eq(c->loops, 2);
	cr_assert(c->is_plt);
	cr_assert_eq(c->head_dim, 4);
	cr_assert_eq(c->kv_heads, 1);
	cr_assert_float_eq(c->emb_scale, 0.707, 1e-12);
	/* 16*8*2 + 8*3 + 64*5 + 32*2 + 16 + 2 + 8 */
	cr_assert_eq(eng_model_params(m), 256 + 24 + 320 + 64 + 16 + 2 + 8);
	cr_assert_eq(eng_model_file_bytes(m), 4 * eng_model_params(m));
	eng_model_free(m);
	eng_model_free(NULL);
}

Test(load, plain_llama_is_one_loop_and_tied_embeddings)
{
	eng_model *m;

	ck_release(&C);
	ck_build(&C, false);
	json_object_del(C.hdr, "lm_head.weight");
	pl_json_set(C.cfg, "tie_word_embeddings", json_true());
	ck_write(&C, dir);
	m = load_ok(dir, 0, 1);
	cr_assert_eq(eng_model_config(m)->loops, 1);
	cr_assert_not(eng_model_config(m)->is_plt);
	eng_model_free(m);
	expect_load_error(dir, 2, "needs a PLT checkpoint", NULL);
}

Test(load, loop_gate_proj_spelling_and_generation_config)
{
	const char *parts[] = { "weight", "bias", "gate_norm.weight" };
	eng_model *m;
	size_t i;
	const char *gc = "{\"eos_token_id\": [2, 7], \"bos_token_id\": 1, \"temperature\": 0.6, \"top_p\": 0.95}";

	for (i = 0; i < 3; i++) {
		char from[128], to[128];

		snprintf(from, sizeof(from), "model.layers.0.self_attn.plt_gate.%s", parts[i]);
		snprintf(to, sizeof(to), "model.layers.0.self_attn.loop_gate_proj.%s", parts[i]);
		pl_json_set(C.hdr, to, json_incref(T(from)));
		json_object_del(C.hdr, from);
	}
	ck_write(&C, dir);
	ck_write_file(dir, "generation_config.json", gc, strlen(gc));
	m = load_ok(dir, 3, 1);
	cr_assert_eq(eng_model_config(m)->loops, 3);
	cr_assert_eq(eng_model_config(m)->config_loops, 2);
	cr_assert_eq(eng_model_config(m)->n_eos, 2);
	cr_assert_eq(eng_model_config(m)->eos_ids[1], 7);
	cr_assert_float_eq(eng_model_config(m)->gen_top_p, 0.95, 1e-12);
	cr_assert_float_eq(eng_model_config(m)->gen_temperature, 0.0, 1e-12); /* no do_sample: greedy */
	eng_model_free(m);
}

/* ---- safetensors corruptions */

Test(load, truncated_file)
{
	ck_write(&C, dir);
	ck_write_file(dir, "model.safetensors", "\x10\x00\x00", 3);
	expect_load_error(dir, 0, "model.safetensors", "truncated");
}

Test(load, header_length_past_end)
{
	pl_buf b = PL_BUF_INIT;

	ck_write(&C, dir);
	ck_st_bytes(&b, "{}", 2, &C.data);
	b.ptr[0] = (char)0xff;
	b.ptr[1] = (char)0xff;
	b.ptr[5] = 0x01;
	ck_write_file(dir, "model.safetensors", b.ptr, b.len);
	pl_buf_release(&b);
	expect_load_error(dir, 0, "model.safetensors", "header length");
}

Test(load, header_not_json)
{
	pl_buf b = PL_BUF_INIT;

	ck_write(&C, dir);
	ck_st_bytes(&b, "{\"model.norm.weight\": {", 23, &C.data);
	ck_write_file(dir, "model.safetensors", b.ptr, b.len);
	pl_buf_release(&b);
	expect_load_error(dir, 0, "model.safetensors", "not valid JSON");
}

Test(load, header_not_an_object)
{
	pl_buf b = PL_BUF_INIT;

	ck_write(&C, dir);
	ck_st_bytes(&b, "[1, 2]", 6, &C.data);
	ck_write_file(dir, "model.safetensors", b.ptr, b.len);
	pl_buf_release(&b);
	expect_load_error(dir, 0, "model.safetensors", "not a JSON object");
}

Test(load, unsupported_dtype)
{
	pl_json_set(T("model.norm.weight"), "dtype", json_string("I32"));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "'model.norm.weight'", "dtype 'I32'");
}

Test(load, offsets_past_end_of_data)
{
	pl_json_set(T("model.norm.weight"), "data_offsets", json_pack("[ii]", 1 << 20, (1 << 20) + 32));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "'model.norm.weight'", "past the end");
}

Test(load, offsets_reversed)
{
	pl_json_set(T("model.norm.weight"), "data_offsets", json_pack("[ii]", 64, 32));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "'model.norm.weight'", "reversed");
}

Test(load, offsets_overlap)
{
	json_t *a = json_object_get(T("model.layers.0.input_layernorm.weight"), "data_offsets");

	pl_json_set(T("model.layers.0.post_attention_layernorm.weight"), "data_offsets", json_deep_copy(a));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "model.safetensors", "overlapping");
}

Test(load, bytes_do_not_match_shape)
{
	pl_json_set(T("model.norm.weight"), "shape", json_pack("[i]", 9));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "'model.norm.weight'", "shape and dtype need 36");
}

Test(load, shape_differs_from_config)
{
	pl_json_set(T("model.layers.0.self_attn.q_proj.weight"), "shape", json_pack("[ii]", 4, 16));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "'model.layers.0.self_attn.q_proj.weight' has shape [4, 16], expected [8, 8]",
			  "model.safetensors");
}

Test(load, negative_shape_entry)
{
	pl_json_set(T("model.norm.weight"), "shape", json_pack("[i]", -8));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "'model.norm.weight'", "non-negative");
}

Test(load, bad_data_offsets_field)
{
	pl_json_set(T("model.norm.weight"), "data_offsets", json_pack("[i]", 0));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "'model.norm.weight'", "data_offsets");
}

Test(load, tensor_entry_not_object)
{
	pl_json_set(C.hdr, "model.extra", json_integer(3));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "'model.extra'", "not an object");
}

Test(load, metadata_not_object)
{
	pl_json_set(C.hdr, "__metadata__", json_string("pt"));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "model.safetensors", "__metadata__");
}

Test(load, data_cut_short)
{
	char *p;
	pl_buf b = PL_BUF_INIT;
	pl_err err = { 0 };

	ck_write(&C, dir);
	p = path_in(dir, "model.safetensors");
	cr_assert_eq(pl_file_read(&b, p, 0, &err), 0);
	cr_assert_eq(truncate(p, (off_t)b.len - 4), 0);
	pl_buf_release(&b);
	free(p);
	expect_load_error(dir, 0, "model.safetensors: tensor", "past the end");
}

Test(load, missing_tensor)
{
	json_object_del(C.hdr, "model.norm.weight");
	ck_write(&C, dir);
	expect_load_error(dir, 0, "missing tensor 'model.norm.weight'", dir);
}

Test(load, missing_gate_in_plt_checkpoint)
{
	json_object_del(C.hdr, "model.layers.0.self_attn.plt_gate.bias");
	ck_write(&C, dir);
	expect_load_error(dir, 0, "missing tensor 'model.layers.0.self_attn.plt_gate.bias'", NULL);
}

Test(load, one_loop_plt_checkpoint_needs_no_gate)
{
	/* plt_num_loops 1: loop 0 never reads the gate, so a checkpoint
	 * without it loads, and computes what the same weights as a plain
	 * Llama compute; asking for a second loop needs the gate */
	const char *parts[] = { "weight", "bias", "gate_norm.weight" };
	char *plain = tmpdir("plait-load-plain");
	eng_model *m, *p;
	eng_session *s = NULL, *t = NULL;
	pl_err err = { 0 };
	int32_t ids[] = { 3, 1, 4, 1, 5, 9, 2, 6 };
	float a[8 * 16], b[8 * 16];
	ck q;
	size_t i;

	pl_json_set(C.cfg, "plt_num_loops", json_integer(1));
	for (i = 0; i < 3; i++) {
		char nm[128];

		snprintf(nm, sizeof(nm), "model.layers.0.self_attn.plt_gate.%s", parts[i]);
		cr_assert_eq(json_object_del(C.hdr, nm), 0);
	}
	ck_write(&C, dir);
	m = load_ok(dir, 0, 1);
	cr_assert_eq(eng_model_config(m)->loops, 1);
	cr_assert(eng_model_config(m)->is_plt);
	ck_build(&q, false);
	ck_write(&q, plain);
	ck_release(&q);
	p = load_ok(plain, 0, 1);
	cr_assert_eq(eng_session_new(&s, m, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_new(&t, p, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(a, s, ids, 8, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(b, t, ids, 8, &err), 0, "%s", err.msg);
	cr_assert_arr_eq(a, b, sizeof(a));
	eng_session_free(s);
	eng_session_free(t);
	eng_model_free(m);
	eng_model_free(p);
	expect_load_error(dir, 2, "missing tensor 'model.layers.0.self_attn.plt_gate.weight'", NULL);
	tmpdir_remove(plain);
}

Test(load, vocab_differs_from_embedding)
{
	pl_json_set(C.cfg, "vocab_size", json_integer(20));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "'model.embed_tokens.weight' has 16 rows", "vocab_size is 20");
}

Test(load, no_weight_files)
{
	pl_buf b = PL_BUF_INIT;

	pl_json_dump(&b, C.cfg, true);
	ck_write_file(dir, "config.json", b.ptr, b.len);
	pl_buf_release(&b);
	expect_load_error(dir, 0, "no model.safetensors", NULL);
}

/* ---- config.json corruptions */

Test(load, config_not_json)
{
	ck_write(&C, dir);
	ck_write_file(dir, "config.json", "{\"hidden_size\": ", 16);
	expect_load_error(dir, 0, "config.json", "invalid JSON");
}

Test(load, config_missing_file)
{
	expect_load_error(dir, 0, "config.json", NULL);
}

Test(load, config_heads_not_multiple_of_kv_heads)
{
	pl_json_set(C.cfg, "num_key_value_heads", json_integer(3));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "config.json", "not a multiple of \"num_key_value_heads\" 3");
}

Test(load, config_negative_size)
{
	pl_json_set(C.cfg, "hidden_size", json_integer(-8));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "config.json", "\"hidden_size\" is -8");
}

Test(load, config_missing_vocab)
{
	json_object_del(C.cfg, "vocab_size");
	ck_write(&C, dir);
	expect_load_error(dir, 0, "config.json", "vocab_size");
}

Test(load, config_wrong_type)
{
	pl_json_set(C.cfg, "num_hidden_layers", json_string("one"));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "config.json", "num_hidden_layers");
}

Test(load, config_hidden_not_multiple_of_heads)
{
	pl_json_set(C.cfg, "num_attention_heads", json_integer(3));
	pl_json_set(C.cfg, "num_key_value_heads", json_integer(1));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "config.json", "\"hidden_size\" 8 is not a multiple");
}

Test(load, config_loops_zero)
{
	pl_json_set(C.cfg, "plt_num_loops", json_integer(0));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "config.json", "plt_num_loops");
}

Test(load, config_window_unsupported)
{
	pl_json_set(C.cfg, "plt_window_size", json_pack("[ii]", 32, 0));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "config.json", "plt_window_size");
}

Test(load, config_rope_scaling_unsupported)
{
	pl_json_set(C.cfg, "rope_scaling", json_pack("{s:s}", "type", "linear"));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "config.json", "rope_scaling");
}

Test(load, generation_config_not_json)
{
	ck_write(&C, dir);
	ck_write_file(dir, "generation_config.json", "{,}", 3);
	expect_load_error(dir, 0, "generation_config.json", "invalid JSON");
}

Test(load, generation_config_bad_eos)
{
	ck_write(&C, dir);
	ck_write_file(dir, "generation_config.json", "{\"eos_token_id\": \"2\"}", 21);
	expect_load_error(dir, 0, "generation_config.json", "eos_token_id");
}

Test(load, generation_config_bad_top_p)
{
	ck_write(&C, dir);
	ck_write_file(dir, "generation_config.json", "{\"top_p\": 1.5}", 14);
	expect_load_error(dir, 0, "generation_config.json", "top_p");
}

Test(load, config_negative_max_positions)
{
	pl_json_set(C.cfg, "max_position_embeddings", json_integer(-1));
	ck_write(&C, dir);
	expect_load_error(dir, 0, "config.json", "max_position_embeddings");
}

Test(load, bad_loops_and_backend_options)
{
	eng_load_opts o = { 0 };
	eng_model *m = NULL;
	pl_err err = { 0 };

	ck_write(&C, dir);
	o.loops = ENG_MAX_LOOPS + 1;
	cr_assert_lt(eng_model_load(&m, dir, &o, &err), 0);
	cr_assert(strstr(err.msg, "loops 17 out of range"), "%s", err.msg);
	o.loops = 0;
	o.backend = "metal";
	cr_assert_eq(eng_model_load(&m, dir, &o, &err), PL_EUNSUPPORTED);
	cr_assert(strstr(err.msg, "backend 'metal' is not built into this plait"), "%s", err.msg);
	cr_assert_null(m);
	/* cuda: not built, or built on a machine without a GPU, the message
	 * says which; on a GPU machine it loads */
	o.backend = "cuda";
	if (eng_model_load(&m, dir, &o, &err) == 0) {
		cr_assert(eng_backend_is_built("cuda"));
		eng_model_free(m);
		return;
	}
	cr_assert_eq(err.code, PL_EUNSUPPORTED, "%s", err.msg);
	cr_assert(strstr(err.msg, eng_backend_is_built("cuda") ? "backend 'cuda': " : "backend 'cuda' is not built into this plait"),
		  "%s", err.msg);
	cr_assert_null(m);
}

/* ---- sharded checkpoints */

static void write_shards(bool wrong_map, bool missing_shard, bool duplicate)
{
	json_t *h1 = json_object(), *h2 = json_object(), *wm = json_object(), *idx, *v;
	pl_buf b = PL_BUF_INIT, h = PL_BUF_INIT;
	const char *key;
	int i = 0;

	/* Both shards share the fixture's data section; each header names
	 * half of the tensors, so their ranges do not overlap within a file. */
	json_object_foreach(C.hdr, key, v) {
		if (!strcmp(key, "__metadata__"))
			continue;
		pl_json_set(i % 2 ? h2 : h1, key, json_incref(v));
		pl_json_set(wm, key, json_string(i % 2 ? "model-00002-of-00002.safetensors"
						       : "model-00001-of-00002.safetensors"));
		i++;
	}
	if (duplicate) {
		pl_json_set(h1, "model.norm.weight", json_incref(T("model.norm.weight")));
		pl_json_set(h2, "model.norm.weight", json_incref(T("model.norm.weight")));
	}
	if (wrong_map) {
		const char *cur = json_string_value(json_object_get(wm, "model.norm.weight"));

		pl_json_set(wm, "model.norm.weight",
			    json_string(strstr(cur, "00001-of") ? "model-00002-of-00002.safetensors"
								: "model-00001-of-00002.safetensors"));
	}
	if (duplicate)
		pl_json_set(wm, "model.norm.weight", json_string("model-00001-of-00002.safetensors"));
	pl_json_dump(&h, h1, false);
	ck_st_bytes(&b, h.ptr, h.len, &C.data);
	ck_write_file(dir, "model-00001-of-00002.safetensors", b.ptr, b.len);
	if (!missing_shard) {
		pl_buf_reset(&b);
		pl_buf_reset(&h);
		pl_json_dump(&h, h2, false);
		ck_st_bytes(&b, h.ptr, h.len, &C.data);
		ck_write_file(dir, "model-00002-of-00002.safetensors", b.ptr, b.len);
	}
	idx = json_pack("{s:{s:i}, s:o}", "metadata", "total_size", 0, "weight_map", wm);
	pl_buf_reset(&b);
	pl_json_dump(&b, idx, true);
	ck_write_file(dir, "model.safetensors.index.json", b.ptr, b.len);
	pl_buf_reset(&b);
	pl_json_dump(&b, C.cfg, true);
	ck_write_file(dir, "config.json", b.ptr, b.len);
	json_decref(idx);
	json_decref(h1);
	json_decref(h2);
	pl_buf_release(&b);
	pl_buf_release(&h);
}

Test(load, shards_valid)
{
	eng_model *m;

	write_shards(false, false, false);
	m = load_ok(dir, 0, 1);
	cr_assert_eq(eng_model_params(m), 256 + 24 + 320 + 64 + 16 + 2 + 8);
	eng_model_free(m);
}

Test(load, shard_missing)
{
	write_shards(false, true, false);
	expect_load_error(dir, 0, "model-00002-of-00002.safetensors", "cannot open");
}

Test(load, shard_map_wrong)
{
	write_shards(true, false, false);
	expect_load_error(dir, 0, "model.safetensors.index.json", "'model.norm.weight' is not in shard");
}

Test(load, tensor_in_two_shards)
{
	write_shards(false, false, true);
	expect_load_error(dir, 0, "'model.norm.weight' also appears in an earlier file", NULL);
}

Test(load, index_without_weight_map)
{
	pl_buf b = PL_BUF_INIT;

	pl_json_dump(&b, C.cfg, true);
	ck_write_file(dir, "config.json", b.ptr, b.len);
	ck_write_file(dir, "model.safetensors.index.json", "{\"metadata\": {}}", 16);
	pl_buf_release(&b);
	expect_load_error(dir, 0, "model.safetensors.index.json", "weight_map");
}

Test(load, index_shard_name_escapes_directory)
{
	pl_buf b = PL_BUF_INIT;
	const char *idx = "{\"weight_map\": {\"model.norm.weight\": \"../x.safetensors\"}}";

	pl_json_dump(&b, C.cfg, true);
	ck_write_file(dir, "config.json", b.ptr, b.len);
	ck_write_file(dir, "model.safetensors.index.json", idx, strlen(idx));
	pl_buf_release(&b);
	expect_load_error(dir, 0, "model.safetensors.index.json", "invalid shard name");
}
