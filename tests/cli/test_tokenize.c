/* `plait tokenize`, run as a user runs it (PLAIT_BIN), on a model trained by
 * tests/reference/tokenizer_ref.py, against python3-sentencepiece's ids. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "engine/engine.h"
#include "tests/shell.h"

static pl_buf work = PL_BUF_INIT;

static void setup(void)
{
	pl_buf_reset(&work);
	cr_assert_eq(pl_mkdtemp(&work, "plait-test-tokcli", NULL), 0);
}

static void teardown(void)
{
	pl_rm_rf(work.ptr, NULL);
	pl_buf_release(&work);
}

TestSuite(tokenize_cmd, .init = setup, .fini = teardown, .timeout = 120);

static test_run run(const char *args)
{
	return test_plait(work.ptr, NULL, args);
}

static void done(test_run *r)
{
	test_run_release(r);
}

/* The ids of expected.json as "1,2,3\n". */
static void ids_line(pl_buf *b, const json_t *a)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		pl_buf_printf(b, i ? ",%lld" : "%lld", (long long)json_integer_value(v));
	pl_buf_putc(b, '\n');
}

static json_t *reference(const char **dir)
{
	const char *src = getenv("PLAIT_ROOT");
	pl_buf cmd = PL_BUF_INIT, path = PL_BUF_INIT;
	json_t *root;

	cr_assert_not_null(src);
	pl_buf_printf(&cmd, "/usr/bin/python3 '%s/tests/reference/tokenizer_ref.py' '%s' bpe_bf", src, work.ptr);
	cr_assert_eq(test_sh(NULL, "%s", cmd.ptr), 0, "%s", cmd.ptr);
	pl_path_join(&path, work.ptr, "expected.json");
	root = json_load_file(path.ptr, JSON_ALLOW_NUL, NULL);
	cr_assert_not_null(root);
	*dir = json_string_value(json_object_get(json_object_get(json_object_get(root, "models"), "bpe_bf"), "dir"));
	pl_buf_release(&cmd);
	pl_buf_release(&path);
	return root;
}

Test(tokenize_cmd, ids_match_sentencepiece)
{
	const char *dir;
	json_t *root = reference(&dir), *m = json_object_get(json_object_get(root, "models"), "bpe_bf");
	/* text 18: "<|im_start|>user\nhi<|im_end|>\n", written to a file and read from stdin */
	const char *text = json_string_value(json_array_get(json_object_get(root, "texts"), 18));
	pl_buf args = PL_BUF_INIT, want = PL_BUF_INIT, file = PL_BUF_INIT;
	test_run r;

	cr_assert_str_eq(text, "<|im_start|>user\nhi<|im_end|>\n");
	pl_path_join(&file, work.ptr, "in.txt");
	cr_assert_eq(pl_file_write_atomic(file.ptr, text, strlen(text), 0644, NULL), 0);
	pl_buf_printf(&args, "tokenize --model '%s' --ids - <'%s'", dir, file.ptr);
	r = run(args.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	ids_line(&want, json_array_get(json_object_get(m, "special"), 18));
	cr_assert_str_eq(r.out.ptr, want.ptr);
	done(&r);

	pl_buf_reset(&args);
	pl_buf_reset(&want);
	pl_buf_printf(&args, "tokenize --model '%s' --ids --no-special - <'%s'", dir, file.ptr);
	r = run(args.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	ids_line(&want, json_array_get(json_object_get(m, "plain"), 18));
	cr_assert_str_eq(r.out.ptr, want.ptr);
	done(&r);

	/* one token per line: id, tab, piece with control characters escaped */
	pl_buf_reset(&args);
	pl_buf_printf(&args, "tokenize --model '%s' 'hello world'", dir);
	r = run(args.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert(strstr(r.out.ptr, "\t\xE2\x96\x81"), "%s", r.out.ptr);
	cr_assert_eq(r.out.ptr[r.out.len - 1], '\n');
	done(&r);

	/* and back */
	pl_buf_reset(&args);
	pl_buf_printf(&args, "tokenize --model '%s' --decode ", dir);
	pl_buf_reset(&want);
	ids_line(&want, json_array_get(json_object_get(m, "special"), 18));
	pl_buf_setlen(&want, want.len - 1);
	pl_buf_add(&args, want.ptr, want.len);
	r = run(args.ptr);
	cr_assert_eq(r.status, 0, "%s", r.err.ptr);
	cr_assert_str_eq(r.out.ptr, "<|im_start|>user\nhi<|im_end|>\n\n");
	done(&r);
	pl_buf_release(&args);
	pl_buf_release(&want);
	pl_buf_release(&file);
	json_decref(root);
}

Test(tokenize_cmd, help_and_usage_errors)
{
	test_run r = run("tokenize --help");

	cr_assert_eq(r.status, 0);
	cr_assert(pl_str_starts_with(r.out.ptr, "usage: plait tokenize --model DIR"));
	done(&r);
	r = run("help");
	cr_assert(strstr(r.out.ptr, "tokenize"), "%s", r.out.ptr);
	done(&r);
	r = run("tokenize hello");
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err.ptr, "plait tokenize: --model DIR is required"), "%s", r.err.ptr);
	done(&r);
	r = run("tokenize --model /nonexistent");
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err.ptr, "give either TEXT (or -) or --decode IDS"), "%s", r.err.ptr);
	done(&r);
	r = run("tokenize --model /nonexistent --bogus x");
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err.ptr, "unknown option '--bogus'"), "%s", r.err.ptr);
	done(&r);
	r = run("tokenize --model");
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err.ptr, "--model needs a value"), "%s", r.err.ptr);
	done(&r);
	r = run("tokenize --model /nonexistent a b");
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err.ptr, "more than one TEXT given"), "%s", r.err.ptr);
	done(&r);
	r = run("tokenize --model /nonexistent --decode 1,-2");
	cr_assert_eq(r.status, 2);
	cr_assert(strstr(r.err.ptr, "--decode: item 2 of the id list ('-2') is not a token id"), "%s", r.err.ptr);
	done(&r);
}

Test(tokenize_cmd, bad_model_directory)
{
	pl_buf args = PL_BUF_INIT, p = PL_BUF_INIT;
	test_run r;

	pl_buf_printf(&args, "tokenize --model '%s' x", work.ptr);
	r = run(args.ptr);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err.ptr, "no tokenizer.model (SentencePiece) or tokenizer.json"), "%s", r.err.ptr);
	done(&r);
	pl_path_join(&p, work.ptr, "tokenizer.model");
	cr_assert_eq(pl_file_write_atomic(p.ptr, "\x0a\x85", 2, 0644, NULL), 0);
	r = run(args.ptr);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.err.ptr, "tokenizer.model: malformed protobuf in ModelProto at byte 2: truncated varint"), "%s",
		  r.err.ptr);
	done(&r);
	pl_buf_release(&args);
	pl_buf_release(&p);
}
