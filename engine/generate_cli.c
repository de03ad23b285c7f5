/* generate_cli.c - `plait model info` and `plait generate`: the model
 * directory's config, weights and tokenizer from the command line, and
 * generation from ids, text or a chat file with text streamed as it comes. */
#define _GNU_SOURCE /* memmem */
#include "engine/internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- model info */

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

/* The model directory's tokenizer, or *out = NULL when it has neither
 * tokenizer.model nor tokenizer.json; a tokenizer that is there must load
 * and fit in the embedding of embedding_rows rows (when > 0). */
static int tokenizer_load_opt(eng_tokenizer **out, const char *dir, int64_t embedding_rows, pl_err *err)
{
	pl_buf p = PL_BUF_INIT, q = PL_BUF_INIT;
	eng_tokenizer *tk = NULL;
	bool any;
	int rc = 0;

	*out = NULL;
	pl_path_join(&p, dir, "tokenizer.model");
	pl_path_join(&q, dir, "tokenizer.json");
	any = pl_file_exists(p.ptr) || pl_file_exists(q.ptr);
	pl_buf_release(&p);
	pl_buf_release(&q);
	if (!any)
		return 0;
	if ((rc = eng_tokenizer_load(&tk, dir, err)) < 0)
		return rc;
	if (embedding_rows > 0 && (rc = eng_tokenizer_check_vocab(tk, embedding_rows, err)) < 0) {
		pl_err_prefix(err, "%s", dir);
		eng_tokenizer_free(tk);
		return rc;
	}
	*out = tk;
	return 0;
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

static int model_info(int argc, char **argv, const pl_cmd_ctx *ctx)
{
	static const char *const tok_files[] = { "tokenizer.model", "tokenizer.json", "tokenizer_config.json",
						 "generation_config.json" };
	const char *dir = NULL;
	bool json = false;
	eng_config c;
	st_set set = { 0 };
	eng_tokenizer *tk = NULL;
	pl_err err = { 0 };
	json_t *o = NULL, *files, *tkj;
	pl_buf out = PL_BUF_INIT, p = PL_BUF_INIT;
	uint64_t params = 0, bytes = 0, kv_row;
	size_t i;
	int status = PL_EXIT_FAIL;

	for (i = 2; i < (size_t)argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (argv[i][0] == '-')
			return pl_cli_fail(ctx, "model info", PL_EXIT_USAGE, "unknown option '%s'", argv[i]);
		else if (!dir)
			dir = argv[i];
		else
			return pl_cli_fail(ctx, "model info", PL_EXIT_USAGE, "unexpected argument '%s'", argv[i]);
	}
	if (!dir)
		return pl_cli_fail(ctx, "model info", PL_EXIT_USAGE, "a model directory is needed");
	if (eng_config_load(&c, dir, &err) < 0 || st_set_open_dir(&set, dir, &err) < 0 ||
	    tokenizer_load_opt(&tk, dir, c.vocab, &err) < 0) {
		if (!strstr(err.msg, dir))
			pl_err_prefix(&err, "%s", dir);
		status = pl_cli_fail_err(ctx, "model info", &err);
		goto done;
	}
	for (i = 0; i < set.n; i++) {
		params += set.t[i].numel;
		bytes += set.t[i].nbytes;
	}
	kv_row = (uint64_t)c.layers * 2 * (uint64_t)(c.kv_heads * c.head_dim);
	o = json_object();
	pl_json_set(o, "path", json_string(dir));
	pl_json_set(o, "config", config_json(&c));
	pl_json_set(o, "tensors", json_integer((json_int_t)set.n));
	pl_json_set(o, "weight_files", json_integer((json_int_t)set.n_files));
	pl_json_set(o, "parameters", json_integer((json_int_t)params));
	pl_json_set(o, "weight_bytes", json_integer((json_int_t)bytes));
	/* loop-0 K/V per token at 2 bytes (bf16, as a GPU would keep it) and
	 * what the CPU path keeps per token (fp32 K/V of every loop for exact
	 * truncation, plus the saved hidden states). */
	pl_json_set(o, "kv_bytes_per_token_bf16", json_integer((json_int_t)(kv_row * 2)));
	pl_json_set(o, "cpu_state_bytes_per_token",
		    json_integer((json_int_t)(kv_row * 4 * (uint64_t)c.loops +
					      (uint64_t)(c.loops - 1) * (uint64_t)c.hidden * 4)));
	pl_json_set(o, "ring_bytes_per_later_loop_bf16",
		    json_integer((json_int_t)(kv_row * 2 * ENG_LOCAL_WINDOW)));
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
		char a[32], b[32];

		pl_buf_printf(&out, "model       %s\n", dir);
		pl_buf_printf(&out, "kind        %s, %d loop%s%s\n", c.is_plt ? "PLT" : "Llama", c.loops,
			      c.loops == 1 ? "" : "s", c.is_plt ? " (gated 65-key local window)" : "");
		pl_buf_printf(&out, "shape       hidden %lld, intermediate %lld, layers %lld, heads %lld/%lld kv, head_dim %lld, vocab %lld\n",
			      (long long)c.hidden, (long long)c.intermediate, (long long)c.layers, (long long)c.heads,
			      (long long)c.kv_heads, (long long)c.head_dim, (long long)c.vocab);
		pl_buf_printf(&out, "parameters  %llu in %zu tensors, %zu file%s, %s\n", (unsigned long long)params,
			      set.n, set.n_files, set.n_files == 1 ? "" : "s", pl_fmt_size(a, sizeof(a), bytes));
		pl_buf_printf(&out, "kv/token    %s loop-0 K/V in bf16; %s on the CPU path\n",
			      pl_fmt_size(a, sizeof(a), kv_row * 2),
			      pl_fmt_size(b, sizeof(b), kv_row * 4 * (uint64_t)c.loops +
							     (uint64_t)(c.loops - 1) * (uint64_t)c.hidden * 4));
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
	status = PL_EXIT_OK;
done:
	json_decref(o);
	eng_tokenizer_free(tk);
	st_set_release(&set);
	pl_buf_release(&out);
	pl_buf_release(&p);
	return status;
}

int eng_cmd_model(int argc, char **argv, const pl_cmd_ctx *ctx)
{
	if (pl_cli_wants_help(argc, argv) || argc < 2) {
		fputs(model_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? PL_EXIT_USAGE : PL_EXIT_OK;
	}
	if (!strcmp(argv[1], "info"))
		return model_info(argc, argv, ctx);
	return pl_cli_fail(ctx, "model", PL_EXIT_USAGE, "unknown subcommand '%s' (known: info)", argv[1]);
}

/* ---------------------------------------------------------------- generate */

static const char generate_usage[] =
	"usage: plait generate --model DIR (--prompt TEXT | --prompt-ids 1,2,3 | --chat FILE.json)\n"
	"                      [options]\n"
	"\n"
	"Append the prompt to a fresh session and generate on the CPU.  The text\n"
	"streams to stdout as it is generated, exactly (a final newline is added\n"
	"only on a terminal); a model directory without a tokenizer streams the ids,\n"
	"comma-separated.  With --json one object is printed at the end: {\"ids\",\n"
	"\"text\" (null without a tokenizer), \"finish_reason\" (stop or length),\n"
	"\"message\" (with --chat: {\"role\", \"content\", \"tool_calls\"}, the calls\n"
	"parsed in the --tool-dialect, \"tool_call_error\" when one is malformed),\n"
	"\"usage\", \"timings\", \"logprobs\" (with --logprobs)}.\n"
	"\n"
	"  --model DIR              model directory (config.json, safetensors, and\n"
	"                           tokenizer.model or tokenizer.json for text)\n"
	"  --prompt TEXT            prompt text; added tokens such as <|im_start|>\n"
	"                           are parsed, bos added if tokenizer_config.json says\n"
	"                           so; the generated text continues it\n"
	"  --prompt-ids LIST        prompt token ids, comma-separated\n"
	"  --chat FILE.json         a chat: an object {\"messages\": [...], \"tools\":\n"
	"                           [...]} (an OpenAI request body; other keys are\n"
	"                           ignored) or an array of messages, rendered with the\n"
	"                           ChatML template, the assistant turn opened\n"
	"  --tool-dialect NAME      tool calls in --chat: json (hermes, the default)\n"
	"                           or xml (qwen3_coder)\n"
	"  --max-tokens N           tokens to generate at most (default 128)\n"
	"  --temperature T          0 = greedy (default: generation_config.json, else 0)\n"
	"  --top-k K                keep the K most likely tokens (0 = off)\n"
	"  --top-p P                nucleus sampling (1 = off)\n"
	"  --min-p P                drop tokens below P x the best probability (0 = off)\n"
	"  --repetition-penalty X   divide positive / multiply negative logits of seen ids\n"
	"  --presence-penalty X     subtract X from the logits of seen ids\n"
	"  --seed S                 RNG seed (default 0)\n"
	"  --loops R                run R loops instead of config.json's plt_num_loops\n"
	"  --logprobs K             report the top-K log-probabilities of each step\n"
	"  --stop STR               stop when the text contains STR; the text ends\n"
	"                           before it (repeatable; needs a tokenizer)\n"
	"  --stop-id ID             stop when ID is generated (repeatable; the eos ids\n"
	"                           of generation_config.json, tokenizer_config.json\n"
	"                           and config.json are stop ids unless --ignore-eos)\n"
	"  --ignore-eos             do not stop on the model's eos ids\n"
	"  --backend cpu            compute backend (cpu)\n"
	"  --threads N              worker threads (default: online cores)\n"
	"  --json                   print one JSON object\n"
	"  -h, --help               show this help\n";

#define MAX_STOPS 64

typedef struct gen_args {
	const char *model, *ids, *prompt, *chat, *dialect, *backend;
	int64_t max_tokens, top_k, seed, loops, logprobs, threads;
	double temperature, top_p, min_p, rep, presence;
	bool have_temp, have_top_p, have_top_k, json, ignore_eos;
	int32_t stop_ids[MAX_STOPS];
	size_t n_stop;
	const char *stop_str[MAX_STOPS];
	size_t n_stop_str;
} gen_args;

static int parse_ids(int32_t **out, size_t *n, const char *s, pl_err *err)
{
	int32_t *ids = NULL;
	size_t cnt = 0;
	const char *p = s;
	int rc = 0;

	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char *tok = pl_xstrndup(p, len);
		int64_t v;

		rc = pl_parse_i64(&v, tok, 0, INT32_MAX, err);
		if (rc < 0)
			pl_err_prefix(err, "--prompt-ids item %zu", cnt + 1);
		free(tok);
		if (rc < 0) {
			free(ids);
			return rc;
		}
		ids = pl_xrealloc(ids, (cnt + 1) * sizeof(*ids));
		ids[cnt++] = (int32_t)v;
		p = e ? e + 1 : p + len;
		if (e && !*p) {
			free(ids);
			return pl_err_set(err, PL_EINVAL, "--prompt-ids ends with a comma");
		}
	}
	if (!cnt)
		return pl_err_set(err, PL_EINVAL, "--prompt-ids is empty");
	*out = ids;
	*n = cnt;
	return 0;
}

/* Renders the chat file at path (an array of messages, or an object with
 * "messages" and optionally "tools") into text. */
static int render_chat(pl_buf *text, const char *path, eng_tool_dialect dialect, pl_err *err)
{
	json_t *j = NULL;
	const json_t *msgs = NULL, *tools = NULL;
	eng_chat_opts co = { 0 };
	int rc;

	if ((rc = pl_json_load_file(&j, path, err)) < 0)
		return rc;
	if (json_is_array(j)) {
		msgs = j;
	} else if (json_is_object(j)) {
		msgs = json_object_get(j, "messages");
		tools = json_object_get(j, "tools");
		if (!msgs) {
			rc = pl_err_set(err, PL_EFORMAT, "%s: no \"messages\"", path);
			goto done;
		}
		if (json_is_null(tools))
			tools = NULL;
	} else {
		rc = pl_err_set(err, PL_EFORMAT, "%s: expected an array of messages or an object with \"messages\"",
				path);
		goto done;
	}
	if (json_is_array(msgs) && !json_array_size(msgs)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: the chat has no messages", path);
		goto done;
	}
	co.dialect = dialect;
	co.add_generation_prompt = true;
	if ((rc = eng_chat_render(text, msgs, tools, &co, err)) < 0)
		pl_err_prefix(err, "%s", path);
done:
	json_decref(j);
	return rc;
}

static int opt_val(const char **out, int argc, char **argv, int *i)
{
	if (*i + 1 >= argc)
		return -1;
	*out = argv[++*i];
	return 0;
}

static int parse_gen_args(gen_args *a, int argc, char **argv, const pl_cmd_ctx *ctx)
{
	pl_err err = { 0 };
	int i, sources;

	memset(a, 0, sizeof(*a));
	a->max_tokens = 128;
	a->top_p = 1.0;
	a->rep = 1.0;
	for (i = 1; i < argc; i++) {
		const char *o = argv[i], *v = NULL;
		int rc = 0;

		if (!strcmp(o, "--json")) {
			a->json = true;
			continue;
		}
		if (!strcmp(o, "--ignore-eos")) {
			a->ignore_eos = true;
			continue;
		}
		if (o[0] != '-' || o[1] != '-')
			return pl_cli_fail(ctx, "generate", PL_EXIT_USAGE, "unexpected argument '%s'", o);
		if (opt_val(&v, argc, argv, &i) < 0)
			return pl_cli_fail(ctx, "generate", PL_EXIT_USAGE, "%s needs a value", o);
		if (!strcmp(o, "--model"))
			a->model = v;
		else if (!strcmp(o, "--prompt-ids"))
			a->ids = v;
		else if (!strcmp(o, "--prompt"))
			a->prompt = v;
		else if (!strcmp(o, "--chat"))
			a->chat = v;
		else if (!strcmp(o, "--tool-dialect")) {
			eng_tool_dialect d;

			a->dialect = v;
			rc = eng_tool_dialect_parse(&d, v, &err);
		} else if (!strcmp(o, "--backend"))
			a->backend = v;
		else if (!strcmp(o, "--max-tokens"))
			rc = pl_parse_i64(&a->max_tokens, v, 1, 1 << 24, &err);
		else if (!strcmp(o, "--top-k")) {
			rc = pl_parse_i64(&a->top_k, v, 0, INT32_MAX, &err);
			a->have_top_k = true;
		} else if (!strcmp(o, "--seed"))
			rc = pl_parse_i64(&a->seed, v, 0, INT64_MAX, &err);
		else if (!strcmp(o, "--loops"))
			rc = pl_parse_i64(&a->loops, v, 1, ENG_MAX_LOOPS, &err);
		else if (!strcmp(o, "--logprobs"))
			rc = pl_parse_i64(&a->logprobs, v, 1, 1000, &err);
		else if (!strcmp(o, "--threads"))
			rc = pl_parse_i64(&a->threads, v, 1, 1024, &err);
		else if (!strcmp(o, "--stop")) {
			if (!*v)
				rc = pl_err_set(&err, PL_EINVAL, "a stop string must not be empty");
			else if (a->n_stop_str == MAX_STOPS)
				return pl_cli_fail(ctx, "generate", PL_EXIT_USAGE, "too many --stop (at most %d)", MAX_STOPS);
			else
				a->stop_str[a->n_stop_str++] = v;
		} else if (!strcmp(o, "--stop-id")) {
			int64_t id;

			if ((rc = pl_parse_i64(&id, v, 0, INT32_MAX, &err)) == 0) {
				if (a->n_stop == MAX_STOPS)
					return pl_cli_fail(ctx, "generate", PL_EXIT_USAGE, "too many --stop-id (at most %d)",
							   MAX_STOPS);
				a->stop_ids[a->n_stop++] = (int32_t)id;
			}
		} else if (!strcmp(o, "--temperature")) {
			rc = pl_parse_f64(&a->temperature, v, &err);
			a->have_temp = true;
			if (!rc && !(a->temperature >= 0 && a->temperature <= 100))
				rc = pl_err_set(&err, PL_EINVAL, "must be in [0, 100]");
		} else if (!strcmp(o, "--top-p")) {
			rc = pl_parse_f64(&a->top_p, v, &err);
			a->have_top_p = true;
			if (!rc && !(a->top_p > 0 && a->top_p <= 1))
				rc = pl_err_set(&err, PL_EINVAL, "must be in (0, 1]");
		} else if (!strcmp(o, "--min-p")) {
			rc = pl_parse_f64(&a->min_p, v, &err);
			if (!rc && !(a->min_p >= 0 && a->min_p <= 1))
				rc = pl_err_set(&err, PL_EINVAL, "must be in [0, 1]");
		} else if (!strcmp(o, "--repetition-penalty")) {
			rc = pl_parse_f64(&a->rep, v, &err);
			if (!rc && !(a->rep > 0 && a->rep <= 100))
				rc = pl_err_set(&err, PL_EINVAL, "must be in (0, 100]");
		} else if (!strcmp(o, "--presence-penalty")) {
			rc = pl_parse_f64(&a->presence, v, &err);
			if (!rc && !(a->presence >= -100 && a->presence <= 100))
				rc = pl_err_set(&err, PL_EINVAL, "must be in [-100, 100]");
		} else
			return pl_cli_fail(ctx, "generate", PL_EXIT_USAGE, "unknown option '%s'", o);
		if (rc < 0)
			return pl_cli_fail(ctx, "generate", PL_EXIT_USAGE, "%s '%s': %s", o, v, err.msg);
	}
	if (!a->model)
		return pl_cli_fail(ctx, "generate", PL_EXIT_USAGE, "--model DIR is needed");
	sources = !!a->ids + !!a->prompt + !!a->chat;
	if (sources == 0)
		return pl_cli_fail(ctx, "generate", PL_EXIT_USAGE, "a prompt is needed: --prompt, --prompt-ids or --chat");
	if (sources > 1)
		return pl_cli_fail(ctx, "generate", PL_EXIT_USAGE,
				   "give only one of --prompt, --prompt-ids and --chat");
	if (a->dialect && !a->chat)
		return pl_cli_fail(ctx, "generate", PL_EXIT_USAGE, "--tool-dialect applies to --chat only");
	return 0;
}

/*
 * What the callback of each generated token keeps: the decoded text and how
 * much of it went to stdout.  With stop strings, the end of the text that
 * could be the start of one is held back, so that stdout never shows text
 * that a stop string then cuts off: what streams equals the final text.
 */
typedef struct stream_ctx {
	bool json;
	size_t n;
	eng_detok *detok; /* NULL without a tokenizer: ids stream instead */
	pl_buf text;
	size_t emitted;
	const char *const *stops;
	size_t n_stops;
	bool stopped; /* a stop string was found; text ends before it */
	bool chat;    /* --chat: the text is an assistant turn that may call tools */
	eng_tool_dialect dialect;
	int rc;
	pl_err err;
} stream_ctx;

static void emit(stream_ctx *st, size_t upto)
{
	if (upto <= st->emitted)
		return;
	if (!st->json) {
		fwrite(st->text.ptr + st->emitted, 1, upto - st->emitted, stdout);
		fflush(stdout);
	}
	st->emitted = upto;
}

/* Cuts the text at the first stop string in its unemitted part (occurrences
 * cannot start earlier: that part is held back); true when one was found. */
static bool cut_at_stop(stream_ctx *st)
{
	const char *base = st->text.ptr + st->emitted, *best = NULL;
	size_t avail = st->text.len - st->emitted, i;

	for (i = 0; i < st->n_stops; i++) {
		const char *p = memmem(base, avail, st->stops[i], strlen(st->stops[i]));

		if (p && (!best || p < best))
			best = p;
	}
	if (!best)
		return false;
	pl_buf_setlen(&st->text, (size_t)(best - st->text.ptr));
	st->stopped = true;
	return true;
}

/* Bytes at the end of the text that are a proper prefix of a stop string. */
static size_t held_back(const stream_ctx *st)
{
	size_t best = 0, avail = st->text.len - st->emitted, i, k;

	for (i = 0; i < st->n_stops; i++) {
		size_t sl = strlen(st->stops[i]);

		for (k = sl - 1 < avail ? sl - 1 : avail; k > best; k--)
			if (!memcmp(st->text.ptr + st->text.len - k, st->stops[i], k)) {
				best = k;
				break;
			}
	}
	return best;
}

static int stream_token(void *user, int32_t id, const eng_logprob *top, int n_top)
{
	stream_ctx *st = user;

	(void)top;
	(void)n_top;
	st->n++;
	if (!st->detok) {
		if (!st->json) {
			printf("%s%d", st->n > 1 ? "," : "", id);
			fflush(stdout);
		}
		return 0;
	}
	if ((st->rc = eng_detok_push(st->detok, id, &st->text, &st->err)) < 0)
		return 1;
	if (cut_at_stop(st)) {
		emit(st, st->text.len);
		return 1;
	}
	emit(st, st->text.len - held_back(st));
	return 0;
}

/* After generation: the pending bytes of an incomplete character, a last
 * look for stop strings, and the rest of the text. */
static void stream_end(stream_ctx *st)
{
	if (!st->detok || st->stopped)
		return;
	eng_detok_flush(st->detok, &st->text);
	cut_at_stop(st);
	emit(st, st->text.len);
}

static void add_stop_id(int32_t **ids, size_t *n, int32_t id)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if ((*ids)[i] == id)
			return;
	*ids = pl_xrealloc(*ids, (*n + 1) * sizeof(**ids));
	(*ids)[(*n)++] = id;
}

/* With --chat, the generated assistant turn as a message: its text outside
 * tool calls and the calls parsed in the chat's dialect.  Calls the model
 * wrote malformed are not dropped silently: the text stays whole and
 * "tool_call_error" says what was wrong, for the caller to show the model. */
static json_t *chat_message(const stream_ctx *st)
{
	json_t *msg = json_object(), *calls = NULL;
	pl_buf content = PL_BUF_INIT;
	pl_err perr = { 0 };

	pl_json_set(msg, "role", json_string("assistant"));
	if (eng_chat_parse_tool_calls(&calls, &content, st->text.ptr, st->dialect, &perr) == 0) {
		pl_json_set(msg, "content", json_stringn(content.ptr, content.len));
		pl_json_set(msg, "tool_calls", calls);
	} else {
		pl_json_set(msg, "content", json_stringn(st->text.ptr, st->text.len));
		pl_json_set(msg, "tool_calls", json_array());
		pl_json_set(msg, "tool_call_error", json_string(perr.msg));
	}
	pl_buf_release(&content);
	return msg;
}

static void print_json(const stream_ctx *st, const eng_gen_result *res, size_t n_prompt, double prefill_ms)
{
	json_t *o = json_object(), *arr = json_array(), *lp;
	pl_buf out = PL_BUF_INIT;
	size_t i;
	int k;

	for (i = 0; i < res->n; i++)
		json_array_append_new(arr, json_integer(res->ids[i]));
	pl_json_set(o, "ids", arr);
	pl_json_set(o, "text", st->detok ? json_stringn(st->text.ptr, st->text.len) : json_null());
	pl_json_set(o, "finish_reason", json_string(res->finish == ENG_FINISH_STOP ? "stop" : "length"));
	if (st->chat && st->detok)
		pl_json_set(o, "message", chat_message(st));
	pl_json_set(o, "usage", json_pack("{s:I, s:I}", "prompt_tokens", (json_int_t)n_prompt, "completion_tokens",
					  (json_int_t)res->n));
	pl_json_set(o, "timings", json_pack("{s:f, s:f}", "prefill_ms", prefill_ms, "decode_ms", res->decode_ms));
	if (res->n_logprobs) {
		lp = json_array();
		for (i = 0; i < res->n; i++) {
			json_t *step = json_array();

			for (k = 0; k < res->n_logprobs; k++) {
				const eng_logprob *e = &res->logprobs[i * (size_t)res->n_logprobs + (size_t)k];

				json_array_append_new(step,
						      json_pack("{s:i, s:f}", "id", e->id, "logprob", (double)e->logprob));
			}
			json_array_append_new(lp, step);
		}
		pl_json_set(o, "logprobs", lp);
	}
	pl_json_dump(&out, o, false);
	pl_buf_putc(&out, '\n');
	fwrite(out.ptr, 1, out.len, stdout);
	json_decref(o);
	pl_buf_release(&out);
}

int eng_cmd_generate(int argc, char **argv, const pl_cmd_ctx *ctx)
{
	gen_args a;
	eng_load_opts lo = { 0 };
	eng_config cfg;
	eng_model *m = NULL;
	eng_session *s = NULL;
	eng_tokenizer *tk = NULL;
	eng_gen_opts go;
	eng_gen_result res = { 0 };
	const eng_config *c;
	pl_err err = { 0 };
	int32_t *ids = NULL, *stops = NULL;
	size_t n_ids = 0, n_stops = 0, i;
	stream_ctx st = { 0 };
	eng_detok detok;
	bool have_detok = false;
	double t0, prefill_ms;
	pl_buf chat = PL_BUF_INIT;
	int status = PL_EXIT_FAIL, k;

	if (pl_cli_wants_help(argc, argv)) {
		fputs(generate_usage, stdout);
		return PL_EXIT_OK;
	}
	if ((status = parse_gen_args(&a, argc, argv, ctx)) != 0)
		return status;
	status = PL_EXIT_FAIL;
	if (a.ids && parse_ids(&ids, &n_ids, a.ids, &err) < 0)
		return pl_cli_fail(ctx, "generate", PL_EXIT_USAGE, "%s", err.msg);
	pl_buf_init(&st.text, 0);

	/* The tokenizer and the prompt before the weights, so that a bad prompt
	 * costs no load; a tokenizer that is there must load and fit. */
	if (eng_config_load(&cfg, a.model, &err) < 0 || tokenizer_load_opt(&tk, a.model, cfg.vocab, &err) < 0)
		goto fail;
	if (!tk && (a.prompt || a.chat || a.n_stop_str)) {
		pl_err_set(&err, PL_ENOTFOUND, "%s needs the model's tokenizer: %s has no tokenizer.model or tokenizer.json",
			   a.prompt ? "--prompt" : a.chat ? "--chat" : "--stop", a.model);
		goto fail;
	}
	if (a.prompt) {
		if (eng_tokenizer_encode_prompt(tk, a.prompt, strlen(a.prompt), &ids, &n_ids, &err) < 0)
			goto fail;
		if (!n_ids) {
			status = pl_cli_fail(ctx, "generate", PL_EXIT_USAGE, "--prompt: the text gives no tokens");
			goto done;
		}
	} else if (a.chat) {
		eng_tool_dialect d = ENG_TOOLS_JSON;

		if (a.dialect)
			eng_tool_dialect_parse(&d, a.dialect, NULL);
		st.chat = true;
		st.dialect = d;
		if (render_chat(&chat, a.chat, d, &err) < 0 ||
		    eng_tokenizer_encode(tk, chat.ptr, chat.len, true, &ids, &n_ids, &err) < 0)
			goto fail;
	}

	lo.loops = (int)a.loops;
	lo.threads = (int)a.threads;
	lo.backend = a.backend;
	lo.log = ctx ? ctx->log : NULL;
	if (eng_model_load(&m, a.model, &lo, &err) < 0 || eng_session_new(&s, m, &err) < 0)
		goto fail;
	c = eng_model_config(m);
	eng_gen_opts_init(&go);
	go.sampling.temperature = a.have_temp ? a.temperature : c->gen_temperature >= 0 ? c->gen_temperature : 0;
	go.sampling.top_p = a.have_top_p ? a.top_p : c->gen_top_p > 0 ? c->gen_top_p : 1.0;
	go.sampling.top_k = (int)(a.have_top_k ? a.top_k : c->gen_top_k > 0 ? c->gen_top_k : 0);
	go.sampling.min_p = a.min_p;
	go.sampling.repetition_penalty = a.rep;
	go.sampling.presence_penalty = a.presence;
	go.max_tokens = (size_t)a.max_tokens;
	go.logprobs = (int)a.logprobs;
	for (i = 0; i < a.n_stop; i++)
		add_stop_id(&stops, &n_stops, a.stop_ids[i]);
	if (!a.ignore_eos) {
		for (k = 0; k < c->n_eos; k++)
			add_stop_id(&stops, &n_stops, c->eos_ids[k]);
		if (tk) {
			size_t ne;
			const int32_t *e = eng_tokenizer_eos_ids(tk, &ne);

			for (i = 0; i < ne; i++)
				add_stop_id(&stops, &n_stops, e[i]);
		}
	}
	go.stop_ids = stops;
	go.n_stop_ids = n_stops;
	if (tk) {
		/* A chat's answer starts a text; a prompt's continuation goes on
		 * from it (a leading U+2581 is a space, not a dummy prefix). */
		if (a.chat)
			eng_detok_init(&detok, tk);
		else
			eng_detok_init_continue(&detok, tk);
		have_detok = true;
		st.detok = &detok;
	}
	st.json = a.json;
	st.stops = a.stop_str;
	st.n_stops = a.n_stop_str;
	go.on_token = stream_token;
	go.user = &st;
	eng_session_seed(s, (uint64_t)a.seed);
	t0 = pl_now();
	if (eng_session_append(s, ids, n_ids, NULL, &err) < 0)
		goto fail;
	prefill_ms = (pl_now() - t0) * 1000.0;
	if (eng_generate(&res, s, &go, &err) < 0)
		goto fail;
	if (st.rc < 0) {
		err = st.err;
		goto fail;
	}
	stream_end(&st);
	if (st.stopped)
		res.finish = ENG_FINISH_STOP;
	if (a.json) {
		print_json(&st, &res, n_ids, prefill_ms);
	} else {
		if (!tk)
			putchar('\n');
		else if (isatty(STDOUT_FILENO) && st.text.len && st.text.ptr[st.text.len - 1] != '\n')
			putchar('\n');
		fflush(stdout);
		fprintf(stderr, "plait generate: %zu prompt + %zu generated tokens (%s), prefill %.1f ms, decode %.1f ms\n",
			n_ids, res.n, res.finish == ENG_FINISH_STOP ? "stop" : "length", prefill_ms, res.decode_ms);
	}
	status = PL_EXIT_OK;
	goto done;
fail:
	status = pl_cli_fail_err(ctx, "generate", &err);
done:
	if (have_detok)
		eng_detok_release(&detok);
	eng_gen_result_release(&res);
	eng_session_free(s);
	eng_model_free(m);
	eng_tokenizer_free(tk);
	free(ids);
	free(stops);
	pl_buf_release(&st.text);
	pl_buf_release(&chat);
	return status;
}
