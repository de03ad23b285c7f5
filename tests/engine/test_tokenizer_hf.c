/* tokenizer.json (byte-level and metaspace BPE) against the algorithms
 * written out in tests/reference/tokenizer_hf_ref.py, and its errors. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "tests/shell.h"

static pl_buf work = PL_BUF_INIT;

static void setup(void)
{
	pl_buf_reset(&work);
	cr_assert_eq(pl_mkdtemp(&work, "plait-test-hftok", NULL), 0);
}

static void teardown(void)
{
	pl_rm_rf(work.ptr, NULL);
	pl_buf_release(&work);
}

TestSuite(tokenizer_hf, .init = setup, .fini = teardown, .timeout = 120);

static json_t *reference(void)
{
	const char *src = getenv("PLAIT_ROOT");
	pl_buf cmd = PL_BUF_INIT, path = PL_BUF_INIT;
	pl_err err = { 0 };
	json_t *root = NULL;

	cr_assert_not_null(src, "PLAIT_ROOT is not set (run through make test)");
	pl_buf_printf(&cmd, "/usr/bin/python3 '%s/tests/reference/tokenizer_hf_ref.py' '%s'", src, work.ptr);
	cr_assert_eq(test_sh(NULL, "%s", cmd.ptr), 0, "the reference failed: %s", cmd.ptr);
	pl_path_join(&path, work.ptr, "expected.json");
	cr_assert_eq(pl_json_load_file(&root, path.ptr, &err), 0, "%s", err.msg);
	pl_buf_release(&cmd);
	pl_buf_release(&path);
	return root;
}

static void expect_ids(const json_t *want, const int32_t *ids, size_t n, const char *model, const char *what,
		       size_t ti, const char *text)
{
	size_t i;

	for (i = 0; i < n && i < json_array_size(want); i++)
		if (json_integer_value(json_array_get(want, i)) != ids[i])
			break;
	cr_expect(i == n && n == json_array_size(want),
		  "%s %s text %zu \"%s\": first difference at %zu (got %zu ids, want %zu): got %d want %lld", model,
		  what, ti, text, i, n, json_array_size(want), i < n ? ids[i] : -1,
		  i < json_array_size(want) ? (long long)json_integer_value(json_array_get(want, i)) : -1LL);
}

static void decode_all(pl_buf *out, const eng_tokenizer *tk, const int32_t *ids, size_t n, bool streaming)
{
	pl_err err = { 0 };
	eng_detok d;

	if (!streaming) {
		cr_assert_eq(eng_tokenizer_decode(out, tk, ids, n, &err), 0, "%s", err.msg);
		return;
	}
	eng_detok_init(&d, tk);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(eng_detok_push(out, &d, ids[i], &err), 0);
	eng_detok_flush(out, &d);
	eng_detok_release(&d);
}

static void check(const char *model)
{
	json_t *root = reference(), *m = json_object_get(json_object_get(root, "models"), model), *v;
	const char *dir = json_string_value(json_object_get(m, "dir"));
	eng_tokenizer *tk = NULL;
	pl_err err = { 0 };
	size_t i, n;

	cr_assert_eq(eng_tokenizer_load(&tk, dir, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_tokenizer_vocab_size(tk), (size_t)json_integer_value(json_object_get(m, "size")));
	cr_assert_eq(eng_tokenizer_find(tk, "<|im_end|>"), (int32_t)eng_tokenizer_vocab_size(tk) - 1);
	cr_assert(eng_tokenizer_is_special(tk, eng_tokenizer_find(tk, "<|im_start|>")));
	json_array_foreach(json_object_get(root, "texts"), i, v) {
		const char *text = json_string_value(v);
		size_t len = strlen(text);
		int32_t *ids = NULL;
		pl_buf dec = PL_BUF_INIT, stream = PL_BUF_INIT;
		bool has_unk = false;

		cr_assert_eq(eng_tokenizer_encode(&ids, &n, tk, text, len, false, &err), 0, "%s", err.msg);
		expect_ids(json_array_get(json_object_get(m, "plain"), i), ids, n, model, "plain", i, text);
		decode_all(&dec, tk, ids, n, false);
		decode_all(&stream, tk, ids, n, true);
		cr_expect_str_eq(stream.ptr, dec.ptr, "%s streaming decode of text %zu", model, i);
		for (size_t k = 0; k < n; k++)
			has_unk = has_unk || ids[k] == eng_tokenizer_find(tk, "<unk>");
		/* byte-level and byte fallback lose nothing; a metaspace decoder
		 * drops the first space of text that began with one */
		if (!has_unk && (strcmp(model, "metaspace") || text[0] != ' '))
			cr_expect_str_eq(dec.ptr, text, "%s round trip of text %zu", model, i);
		free(ids);

		cr_assert_eq(eng_tokenizer_encode(&ids, &n, tk, text, len, true, &err), 0, "%s", err.msg);
		expect_ids(json_array_get(json_object_get(m, "special"), i), ids, n, model, "special", i, text);
		if (!strcmp(model, "bytelevel")) {
			pl_buf_reset(&dec);
			decode_all(&dec, tk, ids, n, false);
			cr_expect_str_eq(dec.ptr, text, "%s round trip with added tokens, text %zu", model, i);
		}
		free(ids);
		pl_buf_release(&dec);
		pl_buf_release(&stream);
	}
	eng_tokenizer_free(tk);
	json_decref(root);
}

Test(tokenizer_hf, byte_level_bpe)
{
	check("bytelevel");
}

Test(tokenizer_hf, llama_style_metaspace_with_byte_fallback)
{
	check("llama");
}

Test(tokenizer_hf, metaspace_pre_tokenizer_first_scheme)
{
	check("metaspace");
}

Test(tokenizer_hf, streaming_holds_split_characters)
{
	json_t *root = reference();
	const char *dir = json_string_value(json_object_get(json_object_get(json_object_get(root, "models"), "bytelevel"), "dir"));
	eng_tokenizer *tk = NULL;
	int32_t *ids = NULL;
	size_t n;
	pl_buf out = PL_BUF_INIT;
	pl_err err = { 0 };
	eng_detok d;

	cr_assert_eq(eng_tokenizer_load(&tk, dir, &err), 0, "%s", err.msg);
	/* 🦀 is not in the corpus: four byte tokens, text only after the last */
	cr_assert_eq(eng_tokenizer_encode(&ids, &n, tk, "\xF0\x9F\xA6\x80", 4, false, &err), 0);
	cr_assert_eq(n, 4);
	eng_detok_init(&d, tk);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(eng_detok_push(&out, &d, ids[i], &err), 0);
		cr_assert_eq(out.len, 0, "text before the character was complete");
	}
	cr_assert_eq(eng_detok_push(&out, &d, ids[3], &err), 0);
	cr_assert_str_eq(out.ptr, "\xF0\x9F\xA6\x80");
	/* an unfinished character at the end becomes U+FFFD per byte */
	pl_buf_reset(&out);
	cr_assert_eq(eng_detok_push(&out, &d, ids[0], &err), 0);
	cr_assert_eq(eng_detok_push(&out, &d, ids[1], &err), 0);
	eng_detok_flush(&out, &d);
	cr_assert_str_eq(out.ptr, "\xEF\xBF\xBD\xEF\xBF\xBD");
	eng_detok_release(&d);
	free(ids);
	pl_buf_release(&out);
	eng_tokenizer_free(tk);
	json_decref(root);
}

/* ---- malformed tokenizer.json */

static void write_json(const char *text)
{
	pl_buf p = PL_BUF_INIT;

	pl_path_join(&p, work.ptr, "tokenizer.json");
	cr_assert_eq(pl_file_write_atomic(p.ptr, text, strlen(text), 0644, NULL), 0);
	pl_buf_release(&p);
}

#define VOCAB "\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2, \"<unk>\": 3}"

Test(tokenizer_hf, bad_files)
{
	static const struct {
		const char *json, *msg;
		int code;
	} cases[] = {
		{ "{\"model\": ", "invalid JSON", PL_EFORMAT },
		{ "{\"version\": \"1.0\"}", "expected an object with a 'model' object", PL_EFORMAT },
		{ "{\"model\": {\"type\": \"WordPiece\"}}", "model type 'WordPiece' is not supported", PL_EUNSUPPORTED },
		{ "{\"model\": {\"type\": \"BPE\", \"vocab\": []}}", "'vocab' object and a 'merges' array", PL_EFORMAT },
		{ "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}, \"merges\": []}}", "vocab entry 'a' is not an integer",
		  PL_EFORMAT },
		{ "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -4}, \"merges\": []}}", "has id -4", PL_EFORMAT },
		{ "{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}}", "the vocabulary is empty", PL_EFORMAT },
		{ "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}}", "id 0 is both",
		  PL_EFORMAT },
		{ "{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [\"a c\"]}}", "merge 0: 'c' is not in the vocabulary",
		  PL_EFORMAT },
		{ "{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [\"ab\"]}}", "not two tokens separated by a space",
		  PL_EFORMAT },
		{ "{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [[\"a\"]]}}", "merge 0 is neither", PL_EFORMAT },
		{ "{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [], \"unk_token\": \"<u>\"}}",
		  "unk_token '<u>' is not in the vocabulary", PL_EFORMAT },
		{ "{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [], \"dropout\": 0.1}}", "dropout is not supported",
		  PL_EUNSUPPORTED },
		{ "{\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": [], \"continuing_subword_prefix\": \"##\"}}",
		  "continuing_subword_prefix", PL_EUNSUPPORTED },
		{ "{\"normalizer\": {\"type\": \"NFKC\"}, \"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": []}}",
		  "normalizer 'NFKC' is not supported", PL_EUNSUPPORTED },
		{ "{\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": []}}",
		  "pre_tokenizer 'Whitespace' is not supported", PL_EUNSUPPORTED },
		{ "{\"decoder\": {\"type\": \"WordPiece\"}, \"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": []}}",
		  "decoder 'WordPiece' is not supported", PL_EUNSUPPORTED },
		{ "{\"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"_\", \"prepend_scheme\": \"sometimes\"}, "
		  "\"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": []}}",
		  "unknown Metaspace prepend_scheme 'sometimes'", PL_EFORMAT },
		{ "{\"added_tokens\": [{\"content\": \"<x>\"}], \"model\": {\"type\": \"BPE\", " VOCAB ", \"merges\": []}}",
		  "added_tokens[0] needs an integer 'id'", PL_EFORMAT },
	};

	for (size_t i = 0; i < PL_ARRAY_LEN(cases); i++) {
		eng_tokenizer *tk = NULL;
		pl_err err = { 0 };
		int rc;

		write_json(cases[i].json);
		rc = eng_tokenizer_load(&tk, work.ptr, &err);
		cr_assert_eq(rc, cases[i].code, "case %zu: rc %d (%s)", i, rc, err.msg);
		cr_assert_null(tk);
		cr_assert(strstr(err.msg, "tokenizer.json"), "case %zu: '%s' does not name the file", i, err.msg);
		cr_assert(strstr(err.msg, cases[i].msg), "case %zu: '%s' lacks '%s'", i, err.msg, cases[i].msg);
	}
}

Test(tokenizer_hf, unknown_character_without_unk_token)
{
	eng_tokenizer *tk = NULL;
	int32_t *ids = NULL;
	size_t n;
	pl_err err = { 0 };

	write_json("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\"]}}");
	cr_assert_eq(eng_tokenizer_load(&tk, work.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_tokenizer_encode(&ids, &n, tk, "abab", 4, false, &err), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(ids[0], 2);
	cr_assert_eq(ids[1], 2);
	free(ids);
	cr_assert_eq(eng_tokenizer_encode(&ids, &n, tk, "abc", 3, false, &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "tokenizer.json: 'c' is not in the vocabulary and there is no unk_token");
	eng_tokenizer_free(tk);
}

Test(tokenizer_hf, unicode_tables_are_reproducible)
{
	const char *src = getenv("PLAIT_ROOT");
	pl_buf cmd = PL_BUF_INIT, gen = PL_BUF_INIT, a = PL_BUF_INIT, b = PL_BUF_INIT, committed = PL_BUF_INIT;

	cr_assert_not_null(src);
	pl_path_join(&gen, work.ptr, "hf_unicode.c");
	pl_buf_printf(&cmd, "/usr/bin/python3 '%s/tests/reference/tokenizer_unicode_tables.py' '%s'", src, gen.ptr);
	cr_assert_eq(test_sh(NULL, "%s", cmd.ptr), 0, "%s", cmd.ptr);
	pl_path_join(&committed, src, "engine/hf_unicode.c");
	cr_assert_eq(pl_file_read(&a, gen.ptr, 0, NULL), 0);
	cr_assert_eq(pl_file_read(&b, committed.ptr, 0, NULL), 0);
	cr_assert(a.len == b.len && !memcmp(a.ptr, b.ptr, a.len),
		  "engine/hf_unicode.c differs from what tests/reference/tokenizer_unicode_tables.py writes");
	pl_buf_release(&cmd);
	pl_buf_release(&gen);
	pl_buf_release(&a);
	pl_buf_release(&b);
	pl_buf_release(&committed);
}
