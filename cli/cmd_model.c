/* cmd_model.c - `plait model info`: a model directory's configuration,
 * weights, per-token state and tokenizer, without loading the weights. */
#include "cli/cli.h"

#include <string.h>

#include "engine/engine.h"

static const char model_usage[] =
	"usage: plait model info DIR [--json]\n"
	"\n"
	"Describe the model directory DIR without loading its weights: the\n"
	"configuration (config.json, generation_config.json), the parameter count\n"
	"and bytes of the weight files (every safetensors header is validated), the\n"
	"per-token K/V state, which tokenizer files are present and what the\n"
	"tokenizer is (it is loaded, and must fit in the embedding).\n"
	"\n"
	"  --json       print one JSON object\n"
	"  -h, --help   show this help\n";

static json_t *config_json(const eng_config *c)
{
	json_t *o = json_object(), *eos = json_array();
	int i;

	pl_json_set(o, "hidden_size", json_integer(c->hidden));
	pl_json_set(o, "intermediate_size", json_integer(c->intermediate));
	pl_json_set(o, "num_hidden_layers", json_integer(c->layers));
	pl_json_set(o, "num_attention_heads", json_integer(c->heads));
	pl_json_set(o, "num_key_value_heads", json_integer(c->kv_heads));
	pl_json_set(o, "head_dim", json_integer(c->head_dim));
	pl_json_set(o, "vocab_size", json_integer(c->vocab));
	pl_json_set(o, "max_position_embeddings", json_integer(c->max_pos));
	pl_json_set(o, "rms_norm_eps", json_real(c->rms_eps));
	pl_json_set(o, "rope_theta", json_real(c->rope_theta));
	pl_json_set(o, "tie_word_embeddings", json_boolean(c->tie_embeddings));
	pl_json_set(o, "plt", json_boolean(c->is_plt));
	pl_json_set(o, "loops", json_integer(c->loops));
	if (c->is_plt) {
		pl_json_set(o, "plt_window_size", json_pack("[Ii]", (json_int_t)c->window_left, 0));
		pl_json_set(o, "plt_emb_scale", json_real(c->emb_scale));
		pl_json_set(o, "plt_hidden_scale", json_real(c->hidden_scale));
	}
	for (i = 0; i < c->n_eos; i++)
		json_array_append_new(eos, json_integer(c->eos_ids[i]));
	pl_json_set(o, "eos_token_ids", eos);
	return o;
}

static void tokenizer_line(pl_buf *out, const json_t *t)
{
	const json_t *eos = json_object_get(t, "eos"), *v;
	size_t i;

	pl_buf_printf(out, "tokenizer   %s %s, %lld pieces, %lld ids with %lld added tokens",
		      json_string_value(json_object_get(t, "type")), json_string_value(json_object_get(t, "model_type")),
		      (long long)json_integer_value(json_object_get(t, "pieces")),
		      (long long)json_integer_value(json_object_get(t, "vocab_size")),
		      (long long)json_integer_value(json_object_get(t, "added_tokens")));
	if (json_is_true(json_object_get(t, "byte_fallback")))
		pl_buf_puts(out, ", byte fallback");
	if (json_is_string(json_object_get(t, "normalizer")))
		pl_buf_printf(out, ", normalizer %s", json_string_value(json_object_get(t, "normalizer")));
	pl_buf_printf(out, ", bos %lld%s, eos", (long long)json_integer_value(json_object_get(t, "bos")),
		      json_is_true(json_object_get(t, "add_bos_token")) ? " (added to prompts)" : "");
	json_array_foreach(eos, i, v)
		pl_buf_printf(out, "%s%lld", i ? "," : " ", (long long)json_integer_value(v));
	if (!json_array_size(eos))
		pl_buf_puts(out, " none");
	pl_buf_putc(out, '\n');
}

enum { O_JSON = 1 };

static const cli_opt info_opts[] = {
	{ "json", 0, false, O_JSON },
	{ NULL, 0, false, 0 },
};

static int model_info(int argc, char **argv, const cli_ctx *ctx)
{
	static const char *const tok_files[] = { "tokenizer.model", "tokenizer.json", "tokenizer_config.json",
						 "generation_config.json" };
	const char *dir = NULL, *v;
	bool json = false, have_info = false;
	eng_model_info info;
	const eng_config *c;
	eng_tokenizer *tk = NULL;
	pl_err err = { 0 };
	json_t *o = NULL, *files, *tkj;
	pl_buf out = PL_BUF_INIT, p = PL_BUF_INIT;
	size_t i;
	int status = CLI_EXIT_FAIL, id;
	cli_args a;

	cli_args_init(&a, argc, argv, 2, "model info", info_opts, ctx);
	while ((id = cli_next(&a, &v)) != CLI_END) {
		if (id == CLI_BAD)
			return CLI_EXIT_USAGE;
		if (id == O_JSON)
			json = true;
		else if (!dir)
			dir = v;
		else
			return cli_fail(ctx, "model info", CLI_EXIT_USAGE, "unexpected argument '%s'", v);
	}
	if (!dir)
		return cli_fail(ctx, "model info", CLI_EXIT_USAGE, "a model directory is needed");
	if (eng_model_inspect(&info, dir, &err) < 0)
		goto fail;
	have_info = true;
	if (eng_tokenizer_load_for_model(&tk, dir, info.cfg.vocab, &err) < 0)
		goto fail;
	c = &info.cfg;
	o = json_object();
	pl_json_set(o, "path", json_string(dir));
	pl_json_set(o, "config", config_json(c));
	pl_json_set(o, "tensors", json_integer((json_int_t)info.n_tensors));
	pl_json_set(o, "weight_files", json_integer((json_int_t)info.n_files));
	pl_json_set(o, "parameters", json_integer((json_int_t)info.params));
	pl_json_set(o, "weight_bytes", json_integer((json_int_t)info.weight_bytes));
	pl_json_set(o, "kv_bytes_per_token_bf16", json_integer((json_int_t)info.state.kv0_bf16));
	pl_json_set(o, "cpu_state_bytes_per_token", json_integer((json_int_t)info.state.cpu_per_token));
	pl_json_set(o, "ring_bytes_per_later_loop_bf16", json_integer((json_int_t)info.state.ring_bf16));
	files = json_object();
	for (i = 0; i < PL_ARRAY_LEN(tok_files); i++) {
		pl_buf_reset(&p);
		pl_path_join(&p, dir, tok_files[i]);
		pl_json_set(files, tok_files[i], json_boolean(pl_file_exists(p.ptr)));
	}
	pl_json_set(o, "files", files);
	tkj = tk ? eng_tokenizer_describe(tk) : json_null();
	pl_json_set(o, "tokenizer", tkj);
	if (json) {
		pl_json_dump(&out, o, true);
		pl_buf_putc(&out, '\n');
	} else {
		char sz_a[32], sz_b[32];

		pl_buf_printf(&out, "model       %s\n", dir);
		pl_buf_printf(&out, "kind        %s, %d loop%s%s\n", c->is_plt ? "PLT" : "Llama", c->loops,
			      c->loops == 1 ? "" : "s", c->is_plt ? " (gated 65-key local window)" : "");
		pl_buf_printf(&out, "shape       hidden %lld, intermediate %lld, layers %lld, heads %lld/%lld kv, head_dim %lld, vocab %lld\n",
			      (long long)c->hidden, (long long)c->intermediate, (long long)c->layers, (long long)c->heads,
			      (long long)c->kv_heads, (long long)c->head_dim, (long long)c->vocab);
		pl_buf_printf(&out, "parameters  %llu in %zu tensors, %zu file%s, %s\n", (unsigned long long)info.params,
			      info.n_tensors, info.n_files, info.n_files == 1 ? "" : "s",
			      pl_fmt_size(sz_a, sizeof(sz_a), info.weight_bytes));
		pl_buf_printf(&out, "kv/token    %s loop-0 K/V in bf16; %s on the CPU path\n",
			      pl_fmt_size(sz_a, sizeof(sz_a), info.state.kv0_bf16),
			      pl_fmt_size(sz_b, sizeof(sz_b), info.state.cpu_per_token));
		pl_buf_printf(&out, "files      ");
		for (i = 0; i < PL_ARRAY_LEN(tok_files); i++)
			pl_buf_printf(&out, " %s %s", tok_files[i],
				      json_is_true(json_object_get(files, tok_files[i])) ? "yes" : "no");
		pl_buf_putc(&out, '\n');
		if (tk)
			tokenizer_line(&out, tkj);
		else
			pl_buf_puts(&out, "tokenizer   none (no tokenizer.model or tokenizer.json): ids only\n");
	}
	fwrite(out.ptr, 1, out.len, stdout);
	status = CLI_EXIT_OK;
	goto done;
fail:
	if (!strstr(err.msg, dir))
		pl_err_prefix(&err, "%s", dir);
	status = cli_fail_err(ctx, "model info", &err);
done:
	json_decref(o);
	eng_tokenizer_free(tk);
	if (have_info)
		eng_model_info_release(&info);
	pl_buf_release(&out);
	pl_buf_release(&p);
	return status;
}

int cli_cmd_model(int argc, char **argv, const cli_ctx *ctx)
{
	if (cli_wants_help(argc, argv) || argc < 2) {
		fputs(model_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	if (!strcmp(argv[1], "info"))
		return model_info(argc, argv, ctx);
	return cli_fail(ctx, "model", CLI_EXIT_USAGE, "unknown subcommand '%s' (known: info)", argv[1]);
}
