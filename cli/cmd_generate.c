/* cmd_generate.c - `plait generate`: generation from ids, text or a chat
 * file, with text streamed as it comes and stop strings held back so that
 * what streams equals the final text. */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine.h"

static const char generate_usage[] =
	"usage: plait generate --model DIR (--prompt TEXT | --prompt-ids 1,2,3 | --chat FILE.json)\n"
	"                      [options]\n"
	"\n"
	"Append the prompt to a fresh session and generate (on the CPU, or the GPU\n"
	"with --backend cuda: what runs is reported on stderr, or as \"backend\" in\n"
	"the JSON, with the device memory it holds).  The text\n"
	"streams to stdout as it is generated, exactly (a final newline is added\n"
	"only on a terminal); a model directory without a tokenizer streams the ids,\n"
	"comma-separated.  With --json one object is printed at the end: {\"ids\",\n"
	"\"text\" (null without a tokenizer), \"finish_reason\" (stop or length),\n"
	"\"message\" (with --chat: {\"role\", \"content\", \"tool_calls\"}, the calls\n"
	"parsed in the --tool-dialect, \"tool_call_error\" when one is malformed),\n"
	"\"usage\", \"timings\", \"backend\", \"logprobs\" (with --logprobs)}.\n"
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
	"  --backend NAME           compute backend: cpu (default), or cuda when built\n"
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

enum {
	O_MODEL = 1, O_PROMPT, O_PROMPT_IDS, O_CHAT, O_TOOL_DIALECT, O_MAX_TOKENS, O_TEMPERATURE, O_TOP_K, O_TOP_P,
	O_MIN_P, O_REP, O_PRESENCE, O_SEED, O_LOOPS, O_LOGPROBS, O_STOP, O_STOP_ID, O_IGNORE_EOS, O_BACKEND,
	O_THREADS, O_JSON
};

static const cli_opt gen_opts[] = {
	{ "model", 0, true, O_MODEL },
	{ "prompt", 0, true, O_PROMPT },
	{ "prompt-ids", 0, true, O_PROMPT_IDS },
	{ "chat", 0, true, O_CHAT },
	{ "tool-dialect", 0, true, O_TOOL_DIALECT },
	{ "max-tokens", 0, true, O_MAX_TOKENS },
	{ "temperature", 0, true, O_TEMPERATURE },
	{ "top-k", 0, true, O_TOP_K },
	{ "top-p", 0, true, O_TOP_P },
	{ "min-p", 0, true, O_MIN_P },
	{ "repetition-penalty", 0, true, O_REP },
	{ "presence-penalty", 0, true, O_PRESENCE },
	{ "seed", 0, true, O_SEED },
	{ "loops", 0, true, O_LOOPS },
	{ "logprobs", 0, true, O_LOGPROBS },
	{ "stop", 0, true, O_STOP },
	{ "stop-id", 0, true, O_STOP_ID },
	{ "ignore-eos", 0, false, O_IGNORE_EOS },
	{ "backend", 0, true, O_BACKEND },
	{ "threads", 0, true, O_THREADS },
	{ "json", 0, false, O_JSON },
	{ NULL, 0, false, 0 },
};

/* One option into a; 0 or CLI_EXIT_USAGE (printed). */
static int gen_opt(gen_args *a, const cli_args *ca, int id, const char *v)
{
	pl_err err = { 0 };
	int64_t n;
	int st = 0;

	switch (id) {
	case O_MODEL:
		a->model = v;
		break;
	case O_PROMPT:
		a->prompt = v;
		break;
	case O_PROMPT_IDS:
		a->ids = v;
		break;
	case O_CHAT:
		a->chat = v;
		break;
	case O_TOOL_DIALECT: {
		eng_tool_dialect d;

		if (eng_tool_dialect_parse(&d, v, &err) < 0)
			return cli_bad_value(ca, v, "%s", err.msg);
		a->dialect = v;
		break;
	}
	case O_BACKEND:
		a->backend = v;
		break;
	case O_MAX_TOKENS:
		st = cli_value_i64(&a->max_tokens, ca, v, 1, 1 << 24);
		break;
	case O_TOP_K:
		st = cli_value_i64(&a->top_k, ca, v, 0, INT32_MAX);
		a->have_top_k = true;
		break;
	case O_SEED:
		st = cli_value_i64(&a->seed, ca, v, 0, INT64_MAX);
		break;
	case O_LOOPS:
		st = cli_value_i64(&a->loops, ca, v, 1, ENG_MAX_LOOPS);
		break;
	case O_LOGPROBS:
		st = cli_value_i64(&a->logprobs, ca, v, 1, 1000);
		break;
	case O_THREADS:
		st = cli_value_i64(&a->threads, ca, v, 1, 1024);
		break;
	case O_STOP:
		if (!*v)
			return cli_bad_value(ca, v, "a stop string must not be empty");
		if (a->n_stop_str == MAX_STOPS)
			return cli_bad_value(ca, v, "too many --stop (at most %d)", MAX_STOPS);
		a->stop_str[a->n_stop_str++] = v;
		break;
	case O_STOP_ID:
		if ((st = cli_value_i64(&n, ca, v, 0, INT32_MAX)) != 0)
			break;
		if (a->n_stop == MAX_STOPS)
			return cli_bad_value(ca, v, "too many --stop-id (at most %d)", MAX_STOPS);
		a->stop_ids[a->n_stop++] = (int32_t)n;
		break;
	case O_TEMPERATURE:
		st = cli_value_f64(&a->temperature, ca, v, 0, 100);
		a->have_temp = true;
		break;
	case O_TOP_P:
		if ((st = cli_value_f64(&a->top_p, ca, v, 0, 1)) == 0 && !(a->top_p > 0))
			return cli_bad_value(ca, v, "must be in (0, 1]");
		a->have_top_p = true;
		break;
	case O_MIN_P:
		st = cli_value_f64(&a->min_p, ca, v, 0, 1);
		break;
	case O_REP:
		if ((st = cli_value_f64(&a->rep, ca, v, 0, 100)) == 0 && !(a->rep > 0))
			return cli_bad_value(ca, v, "must be in (0, 100]");
		break;
	case O_PRESENCE:
		st = cli_value_f64(&a->presence, ca, v, -100, 100);
		break;
	case O_IGNORE_EOS:
		a->ignore_eos = true;
		break;
	case O_JSON:
		a->json = true;
		break;
	default:
		PL_BUG("generate: option %d has no handler", id);
	}
	return st;
}

static int parse_gen_args(gen_args *a, int argc, char **argv, const cli_ctx *ctx)
{
	const char *v;
	int id, st, sources;
	cli_args ca;

	memset(a, 0, sizeof(*a));
	a->max_tokens = 128;
	a->top_p = 1.0;
	a->rep = 1.0;
	cli_args_init(&ca, argc, argv, 1, "generate", gen_opts, ctx);
	while ((id = cli_next(&ca, &v)) != CLI_END) {
		if (id == CLI_BAD)
			return CLI_EXIT_USAGE;
		if (id == CLI_POS)
			return cli_fail(ctx, "generate", CLI_EXIT_USAGE, "unexpected argument '%s'", v);
		if ((st = gen_opt(a, &ca, id, v)) != 0)
			return st;
	}
	if (!a->model)
		return cli_fail(ctx, "generate", CLI_EXIT_USAGE, "--model DIR is needed");
	sources = !!a->ids + !!a->prompt + !!a->chat;
	if (sources == 0)
		return cli_fail(ctx, "generate", CLI_EXIT_USAGE, "a prompt is needed: --prompt, --prompt-ids or --chat");
	if (sources > 1)
		return cli_fail(ctx, "generate", CLI_EXIT_USAGE, "give only one of --prompt, --prompt-ids and --chat");
	if (a->dialect && !a->chat)
		return cli_fail(ctx, "generate", CLI_EXIT_USAGE, "--tool-dialect applies to --chat only");
	return 0;
}

/* What streams to stdout: the library's final text as it comes (the end
 * that could start a stop string is held back there, so what streams
 * equals the final text), or the ids without a tokenizer. */
typedef struct stream_ctx {
	bool json;
	bool ids;     /* no tokenizer: ids stream instead */
	size_t n;
	bool chat;    /* --chat: the text is an assistant turn that may call tools */
	eng_tool_dialect dialect;
} stream_ctx;

static int stream_token(void *user, int32_t id, const eng_logprob *top, int n_top)
{
	stream_ctx *st = user;

	(void)top;
	(void)n_top;
	st->n++;
	if (st->ids && !st->json) {
		printf("%s%d", st->n > 1 ? "," : "", id);
		fflush(stdout);
	}
	return 0;
}

static int stream_text(void *user, const char *text, size_t len)
{
	stream_ctx *st = user;

	if (!st->json) {
		fwrite(text, 1, len, stdout);
		fflush(stdout);
	}
	return 0;
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
static json_t *chat_message(const stream_ctx *st, const eng_gen_result *res)
{
	json_t *msg = json_object(), *calls = NULL;
	pl_buf content = PL_BUF_INIT;
	pl_err perr = { 0 };

	pl_json_set(msg, "role", json_string("assistant"));
	if (eng_chat_parse_tool_calls(&calls, &content, res->text, st->dialect, &perr) == 0) {
		pl_json_set(msg, "content", json_stringn(content.ptr, content.len));
		pl_json_set(msg, "tool_calls", calls);
	} else {
		pl_json_set(msg, "content", json_stringn(res->text, res->text_len));
		pl_json_set(msg, "tool_calls", json_array());
		pl_json_set(msg, "tool_call_error", json_string(perr.msg));
	}
	pl_buf_release(&content);
	return msg;
}

static void print_json(const stream_ctx *st, const eng_gen_result *res, size_t n_prompt, double prefill_ms,
		       json_t *backend)
{
	json_t *o = json_object(), *arr = json_array(), *lp;
	pl_buf out = PL_BUF_INIT;
	size_t i;
	int k;

	for (i = 0; i < res->n; i++)
		json_array_append_new(arr, json_integer(res->ids[i]));
	pl_json_set(o, "ids", arr);
	pl_json_set(o, "text", res->text ? json_stringn(res->text, res->text_len) : json_null());
	pl_json_set(o, "finish_reason", json_string(res->finish == ENG_FINISH_STOP ? "stop" : "length"));
	if (st->chat && res->text)
		pl_json_set(o, "message", chat_message(st, res));
	pl_json_set(o, "usage", json_pack("{s:I, s:I}", "prompt_tokens", (json_int_t)n_prompt, "completion_tokens",
					  (json_int_t)res->n));
	pl_json_set(o, "timings", json_pack("{s:f, s:f}", "prefill_ms", prefill_ms, "decode_ms", res->decode_ms));
	pl_json_set(o, "backend", json_incref(backend));
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

/* The weights' upload, on a terminal: one line rewritten in place. */
static void load_progress(void *user, uint64_t done, uint64_t total)
{
	(void)user;
	fprintf(stderr, "\rplait generate: loading weights %.2f of %.2f GB", (double)done / 1e9, (double)total / 1e9);
	if (done >= total)
		fputc('\n', stderr);
}

/* What runs the model, and the memory it holds, as one line. */
static void print_backend(json_t *d, const eng_session *s)
{
	const char *dev = json_string_value(json_object_get(d, "device"));
	uint64_t sd = 0, sh = 0;

	eng_session_memory(s, &sd, &sh);
	if (!dev) {
		fprintf(stderr, "plait generate: backend %s (%s), session state %.1f MB in host memory\n",
			json_string_value(json_object_get(d, "backend")),
			json_string_value(json_object_get(d, "kernels")) ? json_string_value(json_object_get(d, "kernels"))
									 : "",
			(double)sh / 1e6);
		return;
	}
	fprintf(stderr,
		"plait generate: backend %s on %s: weights %.2f GB bf16, workspace %.2f GB, session state %.1f MB on the "
		"device (+%.1f MB pinned host copy of the later loops' K/V), %.1f GB free; decode GEMV %s\n",
		json_string_value(json_object_get(d, "backend")), dev,
		(double)json_integer_value(json_object_get(d, "weights_bytes")) / 1e9,
		(double)json_integer_value(json_object_get(d, "workspace_bytes")) / 1e9, (double)sd / 1e6, (double)sh / 1e6,
		(double)json_integer_value(json_object_get(d, "device_free_bytes")) / 1e9,
		json_string_value(json_object_get(json_object_get(d, "kernels"), "decode_gemv")));
}

int cli_cmd_generate(int argc, char **argv, const cli_ctx *ctx)
{
	gen_args a;
	eng_load_opts lo = { 0 };
	eng_config cfg;
	eng_model *m = NULL;
	eng_session *s = NULL;
	eng_tokenizer *tk = NULL;
	eng_sampling sp;
	eng_sampler *smp = NULL;
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
	json_t *backend = NULL;
	int status = CLI_EXIT_FAIL, k;

	if (cli_wants_help(argc, argv)) {
		fputs(generate_usage, stdout);
		return CLI_EXIT_OK;
	}
	if ((status = parse_gen_args(&a, argc, argv, ctx)) != 0)
		return status;
	status = CLI_EXIT_FAIL;
	if (a.ids && cli_parse_ids(&ids, &n_ids, a.ids, &err) < 0)
		return cli_fail(ctx, "generate", CLI_EXIT_USAGE, "--prompt-ids: %s", err.msg);

	/* The tokenizer and the prompt before the weights, so that a bad prompt
	 * costs no load; a tokenizer that is there must load and fit. */
	if (eng_config_load(&cfg, a.model, &err) < 0 || eng_tokenizer_load_for_model(&tk, a.model, cfg.vocab, &err) < 0)
		goto fail;
	if (!tk && (a.prompt || a.chat || a.n_stop_str)) {
		pl_err_set(&err, PL_ENOTFOUND, "%s needs the model's tokenizer: %s has no tokenizer.model or tokenizer.json",
			   a.prompt ? "--prompt" : a.chat ? "--chat" : "--stop", a.model);
		goto fail;
	}
	if (a.prompt) {
		if (eng_tokenizer_encode_prompt(&ids, &n_ids, tk, a.prompt, strlen(a.prompt), &err) < 0)
			goto fail;
		if (!n_ids) {
			status = cli_fail(ctx, "generate", CLI_EXIT_USAGE, "--prompt: the text gives no tokens");
			goto done;
		}
	} else if (a.chat) {
		eng_tool_dialect d = ENG_TOOLS_JSON;

		if (a.dialect)
			eng_tool_dialect_parse(&d, a.dialect, NULL);
		st.chat = true;
		st.dialect = d;
		if (render_chat(&chat, a.chat, d, &err) < 0 ||
		    eng_tokenizer_encode(&ids, &n_ids, tk, chat.ptr, chat.len, true, &err) < 0)
			goto fail;
	}

	lo.loops = (int)a.loops;
	lo.threads = (int)a.threads;
	lo.backend = a.backend;
	lo.log = ctx ? ctx->log : NULL;
	if (!a.json && isatty(STDERR_FILENO))
		lo.progress = load_progress;
	if (eng_model_load(&m, a.model, &lo, &err) < 0 || eng_session_new(&s, m, &err) < 0)
		goto fail;
	c = eng_model_config(m);
	eng_sampling_init(&sp);
	sp.temperature = a.have_temp ? a.temperature : c->gen_temperature >= 0 ? c->gen_temperature : 0;
	sp.top_p = a.have_top_p ? a.top_p : c->gen_top_p > 0 ? c->gen_top_p : 1.0;
	sp.top_k = (int)(a.have_top_k ? a.top_k : c->gen_top_k > 0 ? c->gen_top_k : 0);
	sp.min_p = a.min_p;
	sp.repetition_penalty = a.rep;
	sp.presence_penalty = a.presence;
	if (eng_sampler_new(&smp, &sp, (uint64_t)a.seed, &err) < 0)
		goto fail;
	eng_gen_opts_init(&go);
	go.max_tokens = (size_t)a.max_tokens;
	go.logprobs = (int)a.logprobs;
	for (i = 0; i < a.n_stop; i++)
		add_stop_id(&stops, &n_stops, a.stop_ids[i]);
	if (!a.ignore_eos) {
		for (k = 0; k < c->n_eos; k++)
			add_stop_id(&stops, &n_stops, c->eos_ids[k]);
		if (tk) {
			const int32_t *e;
			size_t ne = eng_tokenizer_eos_ids(&e, tk);

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
		eng_gen_opts_use_detok(&go, &detok);
		go.stop_strings = a.stop_str;
		go.n_stop_strings = a.n_stop_str;
		go.on_text = stream_text;
	}
	st.json = a.json;
	st.ids = !tk;
	go.on_token = stream_token;
	go.user = &st;
	t0 = pl_now();
	if (eng_session_append(NULL, s, ids, n_ids, &err) < 0)
		goto fail;
	prefill_ms = (pl_now() - t0) * 1000.0;
	if (eng_generate(&res, s, smp, &go, &err) < 0)
		goto fail;
	backend = eng_model_describe(m);
	{
		uint64_t sd = 0, sh = 0;

		eng_session_memory(s, &sd, &sh);
		pl_json_set(backend, "session_device_bytes", json_integer((json_int_t)sd));
		pl_json_set(backend, "session_host_bytes", json_integer((json_int_t)sh));
	}
	if (a.json) {
		print_json(&st, &res, n_ids, prefill_ms, backend);
	} else {
		if (!tk)
			putchar('\n');
		else if (isatty(STDOUT_FILENO) && res.text_len && res.text[res.text_len - 1] != '\n')
			putchar('\n');
		fflush(stdout);
		fprintf(stderr, "plait generate: %zu prompt + %zu generated tokens (%s), prefill %.1f ms, decode %.1f ms\n",
			n_ids, res.n, res.finish == ENG_FINISH_STOP ? "stop" : "length", prefill_ms, res.decode_ms);
		print_backend(backend, s);
	}
	status = CLI_EXIT_OK;
	goto done;
fail:
	status = cli_fail_err(ctx, "generate", &err);
done:
	if (have_detok)
		eng_detok_release(&detok);
	json_decref(backend);
	eng_gen_result_release(&res);
	eng_sampler_free(smp);
	eng_session_free(s);
	eng_model_free(m);
	eng_tokenizer_free(tk);
	free(ids);
	free(stops);
	pl_buf_release(&chat);
	return status;
}
