/* `plait model info` and `plait generate` run as a user would (PLAIT_BIN). */
#include <sys/wait.h>
#include <unistd.h>

#include "tests/engine/test_ckpt.h"
#include "tests/shell.h"

static char *dir;

static void setup(void)
{
	ck c;

	dir = tmpdir("plait-cli");
	ck_build(&c, true);
	ck_write(&c, dir);
	ck_release(&c);
}

static void teardown(void)
{
	tmpdir_remove(dir);
}

TestSuite(generate_cmd, .init = setup, .fini = teardown);

/* Run `plait ARGS`; stdout to out, stderr to errb; returns the exit status. */
static int plait(pl_buf *out, pl_buf *errb, const char *args)
{
	char *ef = path_in(dir, "stderr.txt");
	pl_err err = { 0 };
	int st = test_sh(out, "%s %s 2>%s", test_plait_bin(), args, ef);

	if (errb)
		cr_assert_eq(pl_file_read(errb, ef, 0, &err), 0, "%s", err.msg);
	unlink(ef);
	free(ef);
	return st;
}

Test(generate_cmd, generate_json_matches_the_library)
{
	pl_buf out = PL_BUF_INIT, args = PL_BUF_INIT;
	json_t *j = NULL, *ids, *lp;
	pl_err err = { 0 };
	eng_model *m = load_ok(dir, 0, 1);
	eng_session *s = NULL;
	eng_gen_opts o;
	eng_gen_result r;
	int32_t prompt[] = { 1, 2, 3, 9 };
	size_t i;

	pl_buf_printf(&args, "generate --model %s --prompt-ids 1,2,3,9 --max-tokens 6 --temperature 0 --logprobs 3 "
			     "--threads 2 --ignore-eos --json",
		      dir);
	cr_assert_eq(plait(&out, NULL, args.ptr), 0);
	cr_assert_eq(pl_json_parse(&j, out.ptr, out.len, "output", &err), 0, "%s: %s", err.msg, out.ptr);
	ids = json_object_get(j, "ids");
	cr_assert_eq(json_array_size(ids), 6);
	cr_assert_str_eq(json_string_value(json_object_get(j, "finish_reason")), "length");
	cr_assert(json_is_null(json_object_get(j, "text")), "no tokenizer, no text");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "usage"), "prompt_tokens")), 4);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "usage"), "completion_tokens")), 6);
	cr_assert(json_is_number(json_object_get(json_object_get(j, "timings"), "prefill_ms")));
	cr_assert(json_is_number(json_object_get(json_object_get(j, "timings"), "decode_ms")));
	/* what ran, and the memory the session held */
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "backend"), "backend")), "cpu");
	cr_assert_gt(json_integer_value(json_object_get(json_object_get(j, "backend"), "session_host_bytes")), 0);
	lp = json_object_get(j, "logprobs");
	cr_assert_eq(json_array_size(lp), 6);
	cr_assert_eq(json_array_size(json_array_get(lp, 0)), 3);

	cr_assert_eq(eng_session_new(&s, m, &err), 0);
	cr_assert_eq(eng_session_append(NULL, s, prompt, 4, &err), 0);
	eng_gen_opts_init(&o);
	o.max_tokens = 6;
	cr_assert_eq(eng_generate(&r, s, NULL, &o, &err), 0);
	for (i = 0; i < 6; i++) {
		cr_assert_eq(json_integer_value(json_array_get(ids, i)), r.ids[i]);
		cr_assert_eq(json_integer_value(json_object_get(json_array_get(json_array_get(lp, i), 0), "id")),
			     r.ids[i]);
	}
	eng_gen_result_release(&r);
	eng_session_free(s);
	eng_model_free(m);
	json_decref(j);
	pl_buf_release(&out);
	pl_buf_release(&args);
}

Test(generate_cmd, generate_stop_id_and_streamed_ids)
{
	pl_buf out = PL_BUF_INIT, args = PL_BUF_INIT, out2 = PL_BUF_INIT;
	json_t *j = NULL;
	pl_err err = { 0 };
	int64_t first;

	pl_buf_printf(&args, "generate --model %s --prompt-ids 4,5 --max-tokens 5 --temperature 0 --ignore-eos --json",
		      dir);
	cr_assert_eq(plait(&out, NULL, args.ptr), 0);
	cr_assert_eq(pl_json_parse(&j, out.ptr, out.len, "output", &err), 0, "%s", err.msg);
	first = json_integer_value(json_array_get(json_object_get(j, "ids"), 0));
	json_decref(j);
	pl_buf_reset(&args);
	pl_buf_printf(&args, "generate --model %s --prompt-ids 4,5 --max-tokens 5 --temperature 0 --stop-id %lld",
		      dir, (long long)first);
	cr_assert_eq(plait(&out2, NULL, args.ptr), 0);
	cr_assert_str_eq(out2.ptr, "\n", "generation should stop at once, got '%s'", out2.ptr);
	pl_buf_release(&out);
	pl_buf_release(&out2);
	pl_buf_release(&args);
}

Test(generate_cmd, model_info_text_and_json)
{
	pl_buf out = PL_BUF_INIT, args = PL_BUF_INIT;
	json_t *j = NULL;
	pl_err err = { 0 };

	pl_buf_printf(&args, "model info %s --json", dir);
	cr_assert_eq(plait(&out, NULL, args.ptr), 0);
	cr_assert_eq(pl_json_parse(&j, out.ptr, out.len, "output", &err), 0, "%s", err.msg);
	cr_assert_eq(json_integer_value(json_object_get(j, "parameters")), 256 + 24 + 320 + 64 + 16 + 2 + 8);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "config"), "loops")), 2);
	/* 1 layer x (k + v) x 4 values x 2 bytes */
	cr_assert_eq(json_integer_value(json_object_get(j, "kv_bytes_per_token_bf16")), 16);
	cr_assert(json_is_false(json_object_get(json_object_get(j, "files"), "tokenizer.model")));
	json_decref(j);
	pl_buf_reset(&out);
	pl_buf_reset(&args);
	pl_buf_printf(&args, "model info %s", dir);
	cr_assert_eq(plait(&out, NULL, args.ptr), 0);
	cr_assert(strstr(out.ptr, "PLT, 2 loops"), "%s", out.ptr);
	pl_buf_release(&out);
	pl_buf_release(&args);
}

typedef struct bad {
	const char *args; /* %s = the model dir, when present */
	int status;
	const char *needle;
} bad;

Test(generate_cmd, bad_arguments_are_clear_errors)
{
	static const bad cases[] = {
		{ "generate --prompt-ids 1", 2, "--model DIR is needed" },
		{ "generate --model %s", 2, "a prompt is needed: --prompt, --prompt-ids or --chat" },
		{ "generate --model %s --prompt-ids 1,x", 2, "--prompt-ids: item 2 of the id list ('x') is not a token id" },
		{ "generate --model %s --prompt-ids 1,,2", 2, "--prompt-ids: item 2 of the id list is empty" },
		{ "generate --model %s --prompt-ids 1,", 2, "ends with a comma" },
		{ "generate --model %s --prompt-ids 1 --temperature -1", 2, "--temperature '-1'" },
		{ "generate --model %s --prompt-ids 1 --top-p 0", 2, "--top-p '0'" },
		{ "generate --model %s --prompt-ids 1 --loops 0", 2, "--loops '0'" },
		{ "generate --model %s --prompt-ids 1 --frobnicate 3", 2, "unknown option '--frobnicate'" },
		{ "generate --model %s --prompt-ids 1 --max-tokens", 2, "--max-tokens needs a value" },
		{ "generate --model %s --prompt-ids 99", 1, "token id 99 at index 0 is outside the vocabulary" },
		{ "generate --model %s --prompt-ids 1 --backend tpu", 1, "backend 'tpu'" },
		{ "generate --model %s/nowhere --prompt-ids 1", 1, "config.json" },
		{ "model info", 2, "a model directory is needed" },
		{ "model info %s/nowhere", 1, "config.json" },
		{ "model frob", 2, "unknown subcommand 'frob'" },
	};
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(cases); i++) {
		pl_buf out = PL_BUF_INIT, e = PL_BUF_INIT, args = PL_BUF_INIT;

		pl_buf_printf(&args, cases[i].args, dir);
		cr_assert_eq(plait(&out, &e, args.ptr), cases[i].status, "'%s': stderr %s", args.ptr, e.ptr);
		cr_assert(strstr(e.ptr, cases[i].needle), "'%s': stderr '%s' lacks '%s'", args.ptr, e.ptr,
			  cases[i].needle);
		pl_buf_release(&out);
		pl_buf_release(&e);
		pl_buf_release(&args);
	}
}

Test(generate_cmd, help_is_printed)
{
	pl_buf out = PL_BUF_INIT;

	cr_assert_eq(plait(&out, NULL, "generate --help"), 0);
	cr_assert(strstr(out.ptr, "--prompt-ids"));
	pl_buf_reset(&out);
	cr_assert_eq(plait(&out, NULL, "model --help"), 0);
	cr_assert(strstr(out.ptr, "plait model info DIR"));
	pl_buf_release(&out);
}

/* `plait bench engine` on the CPU with the tiny shape: every figure of the
 * GPU benchmark is there (the GPU run is scripts/gpu-run.sh's), and the
 * family's usage errors read as the other commands'. */
Test(generate_cmd, bench_engine_on_the_cpu)
{
	pl_buf out = PL_BUF_INIT, errb = PL_BUF_INIT;
	json_t *j = NULL, *r;
	pl_err err = { 0 };
	const char *run;

	cr_assert_eq(plait(&out, NULL,
			   "bench engine --backend cpu --shape tiny --prompt 70 --context 70 --tokens 4 --kv-context 300 "
			   "--json"),
		     0);
	cr_assert_eq(pl_json_parse(&j, out.ptr, out.len, "output", &err), 0, "%s: %s", err.msg, out.ptr);
	cr_assert_str_eq(json_string_value(json_object_get(j, "backend")), "cpu");
	for (run = "r1"; run; run = strcmp(run, "r1") ? NULL : "r2") {
		r = json_object_get(json_object_get(j, "runs"), run);
		cr_assert_gt(json_real_value(json_object_get(r, "decode_ms_per_token")), 0, "%s", run);
		cr_assert_gt(json_real_value(json_object_get(r, "prefill_tokens_per_s")), 0, "%s", run);
		cr_assert_gt(json_integer_value(json_object_get(r, "state_host_bytes")), 0, "%s", run);
		cr_assert(json_object_get(r, "kernels"), "%s: the model's own kernels", run);
	}
	cr_assert_gt(json_real_value(json_object_get(json_object_get(json_object_get(j, "runs"), "r2"),
						     "sequential_decode_ms_per_token")),
		     0);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "device"), "backend")), "cpu");
	json_decref(j);
	pl_buf_reset(&out);
	cr_assert_eq(plait(&out, &errb, "bench engine --shape huge"), 2);
	cr_assert(strstr(errb.ptr, "--shape 'huge': known shapes: loopcoder-v2, tiny"), "%s", errb.ptr);
	pl_buf_reset(&errb);
	cr_assert_eq(plait(&out, &errb, "bench engine --backend cpu --shape tiny --prompt 8 --context 8 --tokens 2 --profile"), 1);
	cr_assert(strstr(errb.ptr, "the cpu backend has no kernel profile"), "%s", errb.ptr);
	pl_buf_reset(&errb);
	pl_buf_reset(&out);
	cr_assert_eq(plait(&out, &errb, "bench nosuch"), 2);
	cr_assert(strstr(errb.ptr, "unknown subcommand 'nosuch' (known: swe, engine)"), "%s", errb.ptr);
	pl_buf_release(&out);
	pl_buf_release(&errb);
}
