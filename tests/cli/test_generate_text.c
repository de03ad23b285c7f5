/* `plait generate` with text, run as a user runs it (PLAIT_BIN): --prompt
 * and --chat through the tokenizer, the streamed text, stop strings, eos
 * ids and the errors; `plait model info` on the tokenizer.  The oracle is
 * python3-sentencepiece (tests/reference/generate_ref.py) on a random
 * checkpoint with a tokenizer trained here by spm_train. */
#define _GNU_SOURCE /* memmem */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/engine/test_ckpt.h"
#include "tests/shell.h"

static char *dir; /* checkpoint + tokenizer */
static char *tmp; /* scratch */
static int64_t n_pieces, n_vocab;

static void setup(void)
{
	const char *root = getenv("PLAIT_ROOT");
	pl_buf cmd = PL_BUF_INIT;
	size_t n;
	int32_t *v;

	cr_assert_not_null(root, "PLAIT_ROOT is not set (run through make test)");
	dir = tmpdir("plait-gentext");
	tmp = tmpdir("plait-gentext-tmp");
	pl_buf_printf(&cmd, "/usr/bin/python3 '%s/tests/reference/generate_ref.py' setup '%s'", root, dir);
	cr_assert_eq(test_sh(NULL, "%s", cmd.ptr), 0, "the reference failed: %s", cmd.ptr);
	pl_buf_release(&cmd);
	{
		char *p = path_in(dir, "tok.json");
		json_t *j = NULL;
		pl_err err = { 0 };

		cr_assert_eq(pl_json_load_file(&j, p, &err), 0, "%s", err.msg);
		n_pieces = json_integer_value(json_object_get(j, "pieces"));
		n_vocab = json_integer_value(json_object_get(j, "vocab"));
		json_decref(j);
		free(p);
	}
	v = read_ids(dir, "tok.json", "eos", &n);
	cr_assert_eq(n, 2);
	cr_assert_eq(v[0], n_pieces + 1);
	free(v);
}

static void teardown(void)
{
	tmpdir_remove(dir);
	tmpdir_remove(tmp);
}

TestSuite(gen_text, .init = setup, .fini = teardown, .timeout = 240);

typedef test_run run_out;

/* Runs `plait ARGS...` (NULL-terminated, no shell); stdout and stderr are
 * captured whole; plait must exit normally. */
static run_out plait_v(const char *const *args)
{
	run_out r = test_plait_argv(args, NULL);

	cr_assert_lt(r.status, 128, "plait was killed (status %d): %s", r.status, r.err.ptr);
	return r;
}

#define PLAIT(...) plait_v((const char *const[]){ __VA_ARGS__, NULL })

static void run_release(run_out *r)
{
	test_run_release(r);
}

/* The JSON object a successful --json run printed. */
static json_t *run_json(run_out *r)
{
	json_t *j = NULL;
	pl_err err = { 0 };

	cr_assert_eq(r->status, 0, "plait failed (%d): %s", r->status, r->err.ptr);
	cr_assert_eq(pl_json_parse(&j, r->out.ptr, r->out.len, "output", &err), 0, "%s: %s", err.msg, r->out.ptr);
	run_release(r);
	return j;
}

static void write_tmp(const char *name, const char *text)
{
	ck_write_file(tmp, name, text, strlen(text));
}

/* python3-sentencepiece's ids of texts (added tokens parsed first). */
static json_t *ref_encode(const char *const *texts, size_t n)
{
	const char *root = getenv("PLAIT_ROOT");
	json_t *req = json_object(), *arr = json_array(), *out = NULL, *ids;
	pl_buf b = PL_BUF_INIT, cmd = PL_BUF_INIT;
	pl_err err = { 0 };
	char *in = path_in(tmp, "enc_in.json"), *outp = path_in(tmp, "enc_out.json");
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_string(texts[i]));
	pl_json_set(req, "texts", arr);
	pl_json_dump(&b, req, false);
	cr_assert_eq(pl_file_write_atomic(in, b.ptr, b.len, 0644, &err), 0, "%s", err.msg);
	pl_buf_printf(&cmd, "/usr/bin/python3 '%s/tests/reference/generate_ref.py' encode '%s' '%s' '%s'", root, dir, in,
		      outp);
	cr_assert_eq(test_sh(NULL, "%s", cmd.ptr), 0, "the reference failed: %s", cmd.ptr);
	cr_assert_eq(pl_json_load_file(&out, outp, &err), 0, "%s", err.msg);
	ids = json_incref(json_object_get(out, "ids"));
	cr_assert(json_is_array(ids) && json_array_size(ids) == n);
	json_decref(out);
	json_decref(req);
	pl_buf_release(&b);
	pl_buf_release(&cmd);
	free(in);
	free(outp);
	return ids;
}

/* python3-sentencepiece's text that each run of ids adds after the prompt
 * ids (an empty prompt: the decoding of the run alone). */
static json_t *ref_decode(const json_t *prompt, const json_t *runs)
{
	const char *root = getenv("PLAIT_ROOT");
	json_t *req = json_object(), *out = NULL, *texts;
	pl_buf b = PL_BUF_INIT, cmd = PL_BUF_INIT;
	pl_err err = { 0 };
	char *in = path_in(tmp, "dec_in.json"), *outp = path_in(tmp, "dec_out.json");

	pl_json_set(req, "prompt", json_deep_copy(prompt));
	pl_json_set(req, "runs", json_deep_copy(runs));
	pl_json_dump(&b, req, false);
	cr_assert_eq(pl_file_write_atomic(in, b.ptr, b.len, 0644, &err), 0, "%s", err.msg);
	pl_buf_printf(&cmd, "/usr/bin/python3 '%s/tests/reference/generate_ref.py' decode '%s' '%s' '%s'", root, dir, in,
		      outp);
	cr_assert_eq(test_sh(NULL, "%s", cmd.ptr), 0, "the reference failed: %s", cmd.ptr);
	out = json_load_file(outp, JSON_ALLOW_NUL, NULL);
	cr_assert_not_null(out);
	texts = json_incref(json_object_get(out, "texts"));
	cr_assert(json_is_array(texts));
	json_decref(out);
	json_decref(req);
	pl_buf_release(&b);
	pl_buf_release(&cmd);
	free(in);
	free(outp);
	return texts;
}

static char *ids_arg(const json_t *ids)
{
	pl_buf b = PL_BUF_INIT;
	size_t i;
	json_t *v;

	json_array_foreach(ids, i, v)
		pl_buf_printf(&b, i ? ",%lld" : "%lld", (long long)json_integer_value(v));
	return pl_buf_detach(&b, NULL);
}

static const char *jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	cr_assert(json_is_string(v), "'%s' is not a string", key);
	return json_string_value(v);
}

static int64_t usage(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(o, "usage"), key));
}

/* Two --json results came from the same prompt ids: the same generated
 * ids, log-probabilities, text and prompt length. */
static void same_generation(const json_t *a, const json_t *b, const char *what)
{
	cr_assert(json_equal(json_object_get(a, "ids"), json_object_get(b, "ids")), "%s: ids differ", what);
	cr_assert(json_equal(json_object_get(a, "logprobs"), json_object_get(b, "logprobs")), "%s: logprobs differ",
		  what);
	cr_assert_str_eq(jstr(a, "text"), jstr(b, "text"), "%s", what);
	cr_assert_eq(usage(a, "prompt_tokens"), usage(b, "prompt_tokens"), "%s", what);
}

static const char *const prompts[] = {
	"def foo(x):\n    return x * 2\n",
	"naïve café 日本語 😀 привет",
	"   leading  and\t\ttabs   ",
	"<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
	"x",
	"<tool_call>{\"name\": \"f\"}</tool_call> 0x1F\n\n",
};

Test(gen_text, prompt_text_gives_the_sentencepiece_ids)
{
	json_t *want = ref_encode(prompts, PL_ARRAY_LEN(prompts));
	size_t i;

	/* the chat tokens are parsed as added tokens, not spelled out */
	cr_assert_eq(json_integer_value(json_array_get(json_array_get(want, 3), 0)), n_pieces);
	for (i = 0; i < PL_ARRAY_LEN(prompts); i++) {
		const json_t *ids = json_array_get(want, i);
		char *arg = ids_arg(ids);
		run_out r1 = PLAIT("generate", "--model", dir, "--prompt", prompts[i], "--max-tokens", "6", "--temperature",
				   "0", "--ignore-eos", "--logprobs", "3", "--threads", "1", "--json");
		json_t *a = run_json(&r1);
		run_out r2 = PLAIT("generate", "--model", dir, "--prompt-ids", arg, "--max-tokens", "6", "--temperature",
				   "0", "--ignore-eos", "--logprobs", "3", "--threads", "1", "--json");
		json_t *b = run_json(&r2);

		cr_assert_eq(usage(a, "prompt_tokens"), (int64_t)json_array_size(ids), "prompt %zu: %lld tokens, want %zu",
			     i, (long long)usage(a, "prompt_tokens"), json_array_size(ids));
		cr_assert_eq(json_array_size(json_object_get(a, "ids")), 6);
		same_generation(a, b, prompts[i]);
		json_decref(a);
		json_decref(b);
		free(arg);
	}
	json_decref(want);
}

Test(gen_text, streamed_text_is_the_decoding_of_the_ids)
{
	const char *prompt = "int main(void) {\n\treturn 0;";
	json_t *pids = ref_encode(&prompt, 1), *runs = json_array(), *texts, *results = json_array();
	size_t i;
	json_t *v;

	for (i = 0; i < 4; i++) {
		char seed[16];
		run_out r1, r2;
		json_t *j;

		snprintf(seed, sizeof(seed), "%zu", i + 1);
		r1 = PLAIT("generate", "--model", dir, "--prompt", prompt, "--max-tokens", "24", "--temperature", "1",
			   "--seed", seed, "--ignore-eos", "--threads", "1");
		cr_assert_eq(r1.status, 0, "%s", r1.err.ptr);
		r2 = PLAIT("generate", "--model", dir, "--prompt", prompt, "--max-tokens", "24", "--temperature", "1",
			   "--seed", seed, "--ignore-eos", "--threads", "1", "--json");
		j = run_json(&r2);
		cr_assert_str_eq(jstr(j, "finish_reason"), "length");
		cr_assert_eq(usage(j, "completion_tokens"), 24);
		/* stdout is exactly the text (no newline added off a terminal) */
		cr_assert_eq(r1.out.len, json_string_length(json_object_get(j, "text")), "seed %s", seed);
		cr_assert_eq(memcmp(r1.out.ptr, jstr(j, "text"), r1.out.len), 0, "seed %s: streamed '%s', text '%s'", seed,
			     r1.out.ptr, jstr(j, "text"));
		cr_assert(strstr(r1.err.ptr, "24 generated tokens (length)"), "%s", r1.err.ptr);
		json_array_append(runs, json_object_get(j, "ids"));
		json_array_append_new(results, j);
		run_release(&r1);
	}
	texts = ref_decode(json_array_get(pids, 0), runs);
	json_array_foreach(results, i, v) {
		const json_t *want = json_array_get(texts, i);

		cr_assert_eq(json_string_length(json_object_get(v, "text")), json_string_length(want), "run %zu", i);
		cr_assert_eq(memcmp(jstr(v, "text"), json_string_value(want), json_string_length(want)), 0,
			     "run %zu: '%s', sentencepiece '%s'", i, jstr(v, "text"), json_string_value(want));
	}
	json_decref(texts);
	json_decref(runs);
	json_decref(results);
	json_decref(pids);
}

Test(gen_text, eos_ids_of_the_generation_config_end_generation)
{
	const char *prompt = "for i in range(10):";
	int64_t eos1 = n_pieces + 1, eos2 = n_pieces + 2;
	bool found = false;
	int seed;

	/* find a sampled run that meets an eos id, then check that without
	 * --ignore-eos it ends right there, the eos id neither returned nor
	 * decoded */
	for (seed = 1; seed <= 40 && !found; seed++) {
		char s[16];
		run_out r;
		json_t *j, *ids, *j2, *ids2;
		size_t i, at = 0;

		snprintf(s, sizeof(s), "%d", seed);
		r = PLAIT("generate", "--model", dir, "--prompt", prompt, "--max-tokens", "40", "--temperature", "1.5",
			  "--seed", s, "--ignore-eos", "--threads", "1", "--json");
		j = run_json(&r);
		ids = json_object_get(j, "ids");
		for (i = 0; i < json_array_size(ids) && !found; i++) {
			int64_t id = json_integer_value(json_array_get(ids, i));

			if (id == eos1 || id == eos2) {
				found = true;
				at = i;
			}
		}
		if (found) {
			r = PLAIT("generate", "--model", dir, "--prompt", prompt, "--max-tokens", "40", "--temperature",
				  "1.5", "--seed", s, "--threads", "1", "--json");
			j2 = run_json(&r);
			ids2 = json_object_get(j2, "ids");
			cr_assert_str_eq(jstr(j2, "finish_reason"), "stop");
			cr_assert_eq(json_array_size(ids2), at, "seed %d: %zu ids, eos at %zu", seed,
				     json_array_size(ids2), at);
			for (i = 0; i < at; i++)
				cr_assert_eq(json_integer_value(json_array_get(ids2, i)),
					     json_integer_value(json_array_get(ids, i)));
			json_decref(j2);
		}
		json_decref(j);
	}
	cr_assert(found, "no sampled run met an eos id in 40 seeds");
}

/* The first UTF-8 character boundary at or after i. */
static size_t char_start(const char *s, size_t len, size_t i)
{
	while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
		i++;
	return i;
}

/* The bytes of text[k..] up to the end of the next UTF-8 character. */
static size_t char_end(const char *s, size_t len, size_t k)
{
	return char_start(s, len, k + 1);
}

static bool json_prefix(const json_t *str, const char *t, size_t len)
{
	return json_string_length(str) <= len && !memcmp(json_string_value(str), t, json_string_length(str));
}

Test(gen_text, stop_strings_cut_the_text_where_they_start)
{
	const char *prompt = "# comment\nvalue = ";
	json_t *pids = ref_encode(&prompt, 1), *runs = json_array(), *texts;
	run_out r = PLAIT("generate", "--model", dir, "--prompt", prompt, "--max-tokens", "32", "--temperature", "1",
			  "--seed", "7", "--ignore-eos", "--threads", "1", "--json");
	json_t *full = run_json(&r), *cut, *ids = json_object_get(full, "ids"), *ids2;
	const char *t = jstr(full, "text");
	size_t len = json_string_length(json_object_get(full, "text")), n = json_array_size(ids), k = 0, e = 0, j, i;
	size_t at = 0;
	char *stop = NULL;

	/* the text of each prefix of the ids, from sentencepiece */
	for (j = 0; j <= n; j++) {
		json_t *part = json_array();

		for (i = 0; i < j; i++)
			json_array_append(part, json_array_get(ids, i));
		json_array_append_new(runs, part);
	}
	texts = ref_decode(json_array_get(pids, 0), runs);
	/* a stop string of two characters around a token boundary, where it
	 * first occurs: its first character comes out before the token that
	 * completes it, and must be held back */
	for (j = n / 3; j + 1 < n && !stop; j++) {
		const json_t *a = json_array_get(texts, j), *b = json_array_get(texts, j + 1);
		size_t bl = json_string_length(a);

		if (!bl || !json_prefix(a, t, len) || !json_prefix(b, t, len))
			continue;
		for (k = bl - 1; k > 0 && ((unsigned char)t[k] & 0xC0) == 0x80; k--)
			;
		e = char_end(t, len, bl);
		if (e > json_string_length(b) || memmem(t + k, e - k, "\0", 1) || memmem(t + k, e - k, "\xEF\xBF\xBD", 3) ||
		    memmem(t, len, t + k, e - k) != t + k)
			continue;
		stop = pl_xstrndup(t + k, e - k);
		at = j + 1;
	}
	cr_assert_not_null(stop, "seed 7 gave no usable stop string in '%s'", t);

	r = PLAIT("generate", "--model", dir, "--prompt", prompt, "--max-tokens", "32", "--temperature", "1", "--seed",
		  "7", "--ignore-eos", "--threads", "1", "--stop", "never \x01 seen", "--stop", stop, "--json");
	cut = run_json(&r);
	cr_assert_str_eq(jstr(cut, "finish_reason"), "stop");
	cr_assert_eq(json_string_length(json_object_get(cut, "text")), k, "text '%s', stop '%s' at %zu",
		     jstr(cut, "text"), stop, k);
	cr_assert_eq(memcmp(jstr(cut, "text"), t, k), 0);
	/* the same tokens, up to the one that completed the stop string */
	ids2 = json_object_get(cut, "ids");
	cr_assert_eq(json_array_size(ids2), at, "%zu ids, the stop string is complete after %zu",
		     json_array_size(ids2), at);
	for (i = 0; i < at; i++)
		cr_assert_eq(json_integer_value(json_array_get(ids2, i)), json_integer_value(json_array_get(ids, i)));

	/* what streams is the cut text: nothing of the stop string leaks */
	r = PLAIT("generate", "--model", dir, "--prompt", prompt, "--max-tokens", "32", "--temperature", "1", "--seed",
		  "7", "--ignore-eos", "--threads", "1", "--stop", stop);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert_eq(r.out.len, k, "streamed '%s'", r.out.ptr);
	cr_assert_eq(memcmp(r.out.ptr, t, k), 0);
	cr_assert(strstr(r.err.ptr, "(stop)"), "%s", r.err.ptr);
	run_release(&r);
	json_decref(texts);
	json_decref(runs);
	json_decref(cut);
	json_decref(full);
	json_decref(pids);
	free(stop);
}

#define TOOLS                                                                                                 \
	"[{\"type\": \"function\", \"function\": {\"name\": \"ls\", \"description\": \"List files.\", "          \
	"\"parameters\": {\"type\": \"object\", \"properties\": {\"path\": {\"type\": \"string\"}}, "             \
	"\"required\": [\"path\"]}}}]"

/* The chat file rendered by the library's template (tested against the
 * template's text in test_chat.c), encoded by sentencepiece. */
static json_t *chat_ids(const char *messages, const char *tools, eng_tool_dialect d)
{
	json_t *m = json_loads(messages, 0, NULL), *t = tools ? json_loads(tools, 0, NULL) : NULL, *ids;
	eng_chat_opts o = { d, true, NULL };
	pl_buf text = PL_BUF_INIT;
	pl_err err = { 0 };
	const char *p;

	cr_assert_not_null(m);
	cr_assert_eq(eng_chat_render(&text, m, t, &o, &err), 0, "%s", err.msg);
	p = text.ptr;
	ids = ref_encode(&p, 1);
	json_decref(m);
	json_decref(t);
	pl_buf_release(&text);
	return ids;
}

/* --chat --json carries the turn as a message: the library's parse of the
 * text in the chat's dialect, or the text whole with the parse's error. */
static void check_message(const json_t *a, const char *dialect, const char *what)
{
	const json_t *msg = json_object_get(a, "message");
	eng_tool_dialect d = ENG_TOOLS_JSON;
	json_t *calls = NULL;
	pl_buf content = PL_BUF_INIT;
	pl_err err = { 0 };

	cr_assert(json_is_object(msg), "%s: no message", what);
	cr_assert_str_eq(json_string_value(json_object_get(msg, "role")), "assistant", "%s", what);
	if (dialect)
		cr_assert_eq(eng_tool_dialect_parse(&d, dialect, NULL), 0);
	if (eng_chat_parse_tool_calls(&calls, &content, jstr(a, "text"), d, &err) == 0) {
		cr_assert_str_eq(json_string_value(json_object_get(msg, "content")), content.ptr, "%s", what);
		cr_assert(json_equal(json_object_get(msg, "tool_calls"), calls), "%s", what);
		cr_assert_null(json_object_get(msg, "tool_call_error"), "%s", what);
		json_decref(calls);
	} else {
		cr_assert_str_eq(json_string_value(json_object_get(msg, "content")), jstr(a, "text"), "%s", what);
		cr_assert_str_eq(json_string_value(json_object_get(msg, "tool_call_error")), err.msg, "%s", what);
	}
	pl_buf_release(&content);
}

static void check_chat(const char *file, const json_t *want, const char *dialect, const char *what)
{
	char *arg = ids_arg(want);
	char *path = path_in(tmp, file);
	run_out r1 = dialect ? PLAIT("generate", "--model", dir, "--chat", path, "--tool-dialect", dialect, "--max-tokens",
				     "8", "--temperature", "0", "--ignore-eos", "--logprobs", "2", "--threads", "1", "--json")
			     : PLAIT("generate", "--model", dir, "--chat", path, "--max-tokens", "8", "--temperature", "0",
				     "--ignore-eos", "--logprobs", "2", "--threads", "1", "--json");
	json_t *a = run_json(&r1);
	run_out r2 = PLAIT("generate", "--model", dir, "--prompt-ids", arg, "--max-tokens", "8", "--temperature", "0",
			   "--ignore-eos", "--logprobs", "2", "--threads", "1", "--json");
	json_t *b = run_json(&r2), *runs = json_array(), *empty = json_array(), *texts;

	cr_assert_eq(usage(a, "prompt_tokens"), (int64_t)json_array_size(want), "%s", what);
	cr_assert(json_equal(json_object_get(a, "ids"), json_object_get(b, "ids")), "%s: ids differ", what);
	cr_assert(json_equal(json_object_get(a, "logprobs"), json_object_get(b, "logprobs")), "%s", what);
	/* the answer is a text of its own: sentencepiece's decode of its ids */
	json_array_append(runs, json_object_get(a, "ids"));
	texts = ref_decode(empty, runs);
	cr_assert_eq(json_string_length(json_object_get(a, "text")), json_string_length(json_array_get(texts, 0)), "%s",
		     what);
	cr_assert_eq(memcmp(jstr(a, "text"), json_string_value(json_array_get(texts, 0)),
			    json_string_length(json_array_get(texts, 0))),
		     0, "%s", what);
	check_message(a, dialect, what);
	json_decref(texts);
	json_decref(runs);
	json_decref(empty);
	json_decref(a);
	json_decref(b);
	free(arg);
	free(path);
}

Test(gen_text, chat_file_with_tools_in_both_dialects)
{
	const char *msgs1 = "[{\"role\": \"user\", \"content\": \"List the files in src/.\"}]";
	const char *msgs2 =
		"[{\"role\": \"system\", \"content\": \"Be brief.\"},"
		"{\"role\": \"user\", \"content\": \"What is in src?\"},"
		"{\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"type\": \"function\", "
		"\"function\": {\"name\": \"ls\", \"arguments\": \"{\\\"path\\\": \\\"src\\\"}\"}}]},"
		"{\"role\": \"tool\", \"tool_call_id\": \"c1\", \"content\": \"main.c\\nutil.c\"}]";
	json_t *w1 = chat_ids(msgs1, TOOLS, ENG_TOOLS_JSON), *w2 = chat_ids(msgs2, TOOLS, ENG_TOOLS_XML),
	       *w2j = chat_ids(msgs2, TOOLS, ENG_TOOLS_JSON);
	pl_buf f = PL_BUF_INIT;

	/* an OpenAI request body: other keys are ignored */
	pl_buf_printf(&f, "{\"model\": \"loopcoder\", \"temperature\": 0.3, \"messages\": %s, \"tools\": %s}", msgs1,
		      TOOLS);
	write_tmp("chat1.json", f.ptr);
	check_chat("chat1.json", json_array_get(w1, 0), NULL, "chat1");
	cr_assert_eq(json_integer_value(json_array_get(json_array_get(w1, 0), 0)), n_pieces, "starts with <|im_start|>");

	/* the XML dialect writes the assistant's call differently */
	cr_assert_not(json_equal(json_array_get(w2, 0), json_array_get(w2j, 0)));
	pl_buf_reset(&f);
	pl_buf_printf(&f, "{\"messages\": %s, \"tools\": %s}", msgs2, TOOLS);
	write_tmp("chat2.json", f.ptr);
	check_chat("chat2.json", json_array_get(w2, 0), "xml", "chat2 xml");
	check_chat("chat2.json", json_array_get(w2j, 0), "json", "chat2 json");

	/* a bare array of messages, no tools */
	json_decref(w1);
	w1 = chat_ids(msgs1, NULL, ENG_TOOLS_JSON);
	write_tmp("chat3.json", msgs1);
	check_chat("chat3.json", json_array_get(w1, 0), NULL, "chat3");
	json_decref(w1);
	json_decref(w2);
	json_decref(w2j);
	pl_buf_release(&f);
}

typedef struct bad {
	const char *const *args;
	int status;
	const char *needle1, *needle2;
} bad;

static void expect_fail(const char *const *args, int status, const char *n1, const char *n2)
{
	run_out r = plait_v(args);

	cr_assert_eq(r.status, status, "%s %s: status %d, stderr %s", args[0], args[1], r.status, r.err.ptr);
	cr_assert(strstr(r.err.ptr, n1), "stderr '%s' lacks '%s'", r.err.ptr, n1);
	if (n2)
		cr_assert(strstr(r.err.ptr, n2), "stderr '%s' lacks '%s'", r.err.ptr, n2);
	cr_assert_eq(r.out.len, 0, "a failure printed to stdout: %s", r.out.ptr);
	run_release(&r);
}

#define FAILS(status, n1, n2, ...) expect_fail((const char *const[]){ __VA_ARGS__, NULL }, status, n1, n2)

/* A directory with the checkpoint's files linked in, without a tokenizer. */
static char *no_tokenizer_dir(void)
{
	char *d = path_in(tmp, "notok"), *src, *dst;
	const char *files[] = { "config.json", "model.safetensors" };
	size_t i;

	cr_assert_eq(mkdir(d, 0755), 0);
	for (i = 0; i < 2; i++) {
		src = path_in(dir, files[i]);
		dst = path_in(d, files[i]);
		cr_assert_eq(symlink(src, dst), 0);
		free(src);
		free(dst);
	}
	return d;
}

Test(gen_text, missing_tokenizer_is_a_clear_error)
{
	char *d = no_tokenizer_dir(), *chat = path_in(tmp, "c.json");
	run_out r;
	json_t *j;

	write_tmp("c.json", "[{\"role\": \"user\", \"content\": \"hi\"}]");
	FAILS(1, "--prompt needs the model's tokenizer", "has no tokenizer.model or tokenizer.json", "generate",
	      "--model", d, "--prompt", "hello");
	FAILS(1, "--chat needs the model's tokenizer", d, "generate", "--model", d, "--chat", chat);
	FAILS(1, "--stop needs the model's tokenizer", NULL, "generate", "--model", d, "--prompt-ids", "1,2", "--stop",
	      "x");
	/* ids work without one; there is no text then */
	r = PLAIT("generate", "--model", d, "--prompt-ids", "5,6,7", "--max-tokens", "3", "--temperature", "0",
		  "--ignore-eos", "--json");
	j = run_json(&r);
	cr_assert(json_is_null(json_object_get(j, "text")));
	cr_assert_eq(json_array_size(json_object_get(j, "ids")), 3);
	json_decref(j);
	r = PLAIT("model", "info", d, "--json");
	j = run_json(&r);
	cr_assert(json_is_null(json_object_get(j, "tokenizer")));
	json_decref(j);
	r = PLAIT("model", "info", d);
	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out.ptr, "tokenizer   none"), "%s", r.out.ptr);
	run_release(&r);
	free(d);
	free(chat);
}

/* The tokenizer of the main fixture beside the tiny C checkpoint of
 * test_ckpt.h (an embedding of 16 rows), or a broken tokenizer.model. */
static char *small_model_dir(const char *name, bool broken)
{
	char *d = path_in(tmp, name);
	const char *files[] = { "tokenizer.model", "tokenizer_config.json", "generation_config.json" };
	ck c;
	size_t i;

	cr_assert_eq(mkdir(d, 0755), 0);
	ck_build(&c, true);
	ck_write(&c, d);
	ck_release(&c);
	for (i = 0; i < PL_ARRAY_LEN(files); i++) {
		char *src = path_in(dir, files[i]);
		pl_buf b = PL_BUF_INIT;

		cr_assert_eq(pl_file_read(&b, src, 0, NULL), 0);
		if (broken && i == 0)
			pl_buf_setlen(&b, b.len / 3);
		ck_write_file(d, files[i], b.ptr, b.len);
		pl_buf_release(&b);
		free(src);
	}
	return d;
}

Test(gen_text, tokenizer_larger_than_the_embedding_is_a_clear_error)
{
	char *d = small_model_dir("small", false), *d2 = small_model_dir("broken", true);

	FAILS(1, "the tokenizer (tokenizer.model and its added tokens) has ids up to 402",
	      "the embedding has only 16 rows (config.json vocab_size)", "generate", "--model", d, "--prompt", "hi");
	FAILS(1, "has ids up to 402", d, "generate", "--model", d, "--prompt-ids", "1");
	FAILS(1, "has ids up to 402", d, "model", "info", d);
	/* a tokenizer that is there must load, even for ids */
	FAILS(1, "tokenizer.model", NULL, "generate", "--model", d2, "--prompt-ids", "1");
	FAILS(1, "tokenizer.model", NULL, "model", "info", d2);
	free(d);
	free(d2);
}

Test(gen_text, bad_chat_files_and_prompt_options)
{
	static const struct {
		const char *file, *text, *n1, *n2;
	} chats[] = {
		{ "notjson.json", "{\"messages\": [", "notjson.json", NULL },
		{ "scalar.json", "42", "scalar.json", "'[' or '{' expected" },
		{ "nomsgs.json", "{\"msgs\": []}", "nomsgs.json: no \"messages\"", NULL },
		{ "msgsnum.json", "{\"messages\": 3}", "msgsnum.json", "messages: expected an array" },
		{ "empty.json", "[]", "empty.json: the chat has no messages", NULL },
		{ "role.json", "[{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"robot\", \"content\": \"y\"}]",
		  "role.json", "messages[1]: unknown role 'robot'" },
		{ "tools.json", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"tools\": 5}", "tools.json",
		  "tools: expected an array" },
		{ "content.json", "[{\"role\": \"user\", \"content\": 5}]", "content.json",
		  "messages[0]: 'content' must be" },
	};
	char *missing = path_in(tmp, "missing.json"), *ok = path_in(tmp, "ok.json");
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(chats); i++) {
		char *p = path_in(tmp, chats[i].file);

		write_tmp(chats[i].file, chats[i].text);
		FAILS(1, chats[i].n1, chats[i].n2, "generate", "--model", dir, "--chat", p);
		free(p);
	}
	FAILS(1, "missing.json", NULL, "generate", "--model", dir, "--chat", missing);
	write_tmp("ok.json", "[{\"role\": \"user\", \"content\": \"x\"}]");
	FAILS(2, "--tool-dialect 'yaml'", "unknown tool-call dialect", "generate", "--model", dir, "--chat", ok,
	      "--tool-dialect", "yaml");
	FAILS(2, "--tool-dialect applies to --chat only", NULL, "generate", "--model", dir, "--prompt", "x",
	      "--tool-dialect", "xml");
	FAILS(2, "--prompt: the text gives no tokens", NULL, "generate", "--model", dir, "--prompt", "");
	FAILS(2, "give only one of --prompt, --prompt-ids and --chat", NULL, "generate", "--model", dir, "--prompt",
	      "x", "--prompt-ids", "1");
	FAILS(2, "give only one of", NULL, "generate", "--model", dir, "--chat", ok, "--prompt", "x");
	FAILS(2, "a prompt is needed: --prompt, --prompt-ids or --chat", NULL, "generate", "--model", dir);
	FAILS(2, "--stop '': a stop string must not be empty", NULL, "generate", "--model", dir, "--prompt", "x",
	      "--stop", "");
	FAILS(2, "--prompt needs a value", NULL, "generate", "--model", dir, "--prompt");
	free(missing);
	free(ok);
}

Test(gen_text, model_info_describes_the_tokenizer)
{
	run_out r = PLAIT("model", "info", dir, "--json");
	json_t *j = run_json(&r), *t = json_object_get(j, "tokenizer"), *eos;
	char want[160];

	cr_assert(json_is_object(t));
	cr_assert_str_eq(jstr(t, "type"), "sentencepiece");
	cr_assert_str_eq(jstr(t, "model_type"), "bpe");
	cr_assert_eq(json_integer_value(json_object_get(t, "pieces")), n_pieces);
	cr_assert_eq(json_integer_value(json_object_get(t, "vocab_size")), n_vocab);
	cr_assert(json_is_true(json_object_get(t, "byte_fallback")));
	eos = json_object_get(t, "eos");
	cr_assert_eq(json_array_size(eos), 2);
	cr_assert_eq(json_integer_value(json_array_get(eos, 0)), n_pieces + 1);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "config"), "vocab_size")), n_vocab + 13);
	json_decref(j);
	r = PLAIT("model", "info", dir);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	snprintf(want, sizeof(want), "tokenizer   sentencepiece bpe, %lld pieces, %lld ids with", (long long)n_pieces,
		 (long long)n_vocab);
	cr_assert(strstr(r.out.ptr, want), "'%s' lacks '%s'", r.out.ptr, want);
	snprintf(want, sizeof(want), "eos %lld,%lld", (long long)n_pieces + 1, (long long)n_pieces + 2);
	cr_assert(strstr(r.out.ptr, want), "'%s' lacks '%s'", r.out.ptr, want);
	run_release(&r);
}
