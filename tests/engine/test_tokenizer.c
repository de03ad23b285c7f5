/* The SentencePiece tokenizer against Debian's python3-sentencepiece on
 * models trained here with spm_train (tests/reference/tokenizer_ref.py). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "tests/shell.h"

static pl_buf work = PL_BUF_INIT;

static void setup(void)
{
	pl_buf_reset(&work);
	cr_assert_eq(pl_mkdtemp(&work, "plait-test-tok", NULL), 0);
}

static void teardown(void)
{
	pl_rm_rf(work.ptr, NULL);
	pl_buf_release(&work);
}

/* Runs the reference for one model; returns its entry of expected.json. */
static json_t *reference(json_t **root, const char *model)
{
	const char *src = getenv("PLAIT_ROOT");
	pl_buf cmd = PL_BUF_INIT, path = PL_BUF_INIT;
	json_t *m;

	cr_assert_not_null(src, "PLAIT_ROOT is not set (run through make test)");
	pl_buf_printf(&cmd, "/usr/bin/python3 '%s/tests/reference/tokenizer_ref.py' '%s' '%s'", src, work.ptr,
		      model);
	cr_assert_eq(test_sh(NULL, "%s", cmd.ptr), 0, "the reference failed: %s", cmd.ptr);
	pl_path_join(&path, work.ptr, "expected.json");
	/* decodes of random byte pieces may hold NUL bytes */
	*root = json_load_file(path.ptr, JSON_ALLOW_NUL, NULL);
	cr_assert_not_null(*root, "cannot read %s", path.ptr);
	m = json_object_get(json_object_get(*root, "models"), model);
	cr_assert_not_null(m);
	pl_buf_release(&cmd);
	pl_buf_release(&path);
	return m;
}

static void expect_ids(const json_t *want, const int32_t *ids, size_t n, const char *model, const char *what,
		       size_t ti, const char *text)
{
	size_t i;

	cr_assert(json_is_array(want));
	for (i = 0; i < n && i < json_array_size(want); i++)
		if (json_integer_value(json_array_get(want, i)) != ids[i])
			break;
	cr_expect(i == n && n == json_array_size(want),
		  "%s %s text %zu \"%s\": first difference at %zu (got %zu ids, want %zu): got %d want %lld", model,
		  what, ti, text, i, n, json_array_size(want), i < n ? ids[i] : -1,
		  i < json_array_size(want) ? (long long)json_integer_value(json_array_get(want, i)) : -1LL);
}

static void to_ids(const json_t *a, int32_t **ids, size_t *n)
{
	*n = json_array_size(a);
	*ids = pl_xmalloc((*n + 1) * sizeof(**ids));
	for (size_t i = 0; i < *n; i++)
		(*ids)[i] = (int32_t)json_integer_value(json_array_get(a, i));
}

static void check_model(const char *model, bool round_trips)
{
	json_t *root = NULL, *m = reference(&root, model);
	json_t *texts = json_object_get(root, "texts");
	const char *dir = json_string_value(json_object_get(m, "dir"));
	size_t npieces = (size_t)json_integer_value(json_object_get(m, "pieces"));
	eng_tokenizer *tk = NULL;
	pl_err err = { 0 };
	size_t i, n, neos;
	const int32_t *eos;
	json_t *v;

	cr_assert_eq(eng_tokenizer_load(&tk, dir, &err), 0, "%s", err.msg);
	/* vocabulary: the model's pieces, then three added tokens at n+10.. */
	cr_assert_eq(eng_tokenizer_vocab_size(tk), npieces + 13);
	json_array_foreach(json_object_get(m, "pieces_list"), i, v) {
		cr_assert_str_eq(eng_tokenizer_piece(tk, (int32_t)i), json_string_value(v));
		cr_assert_eq(eng_tokenizer_find(tk, json_string_value(v)), (int32_t)i);
	}
	cr_assert_null(eng_tokenizer_piece(tk, (int32_t)npieces));
	cr_assert_null(eng_tokenizer_piece(tk, -1));
	cr_assert_str_eq(eng_tokenizer_piece(tk, (int32_t)npieces + 10), "<|im_start|>");
	cr_assert_eq(eng_tokenizer_find(tk, "<|im_end|>"), (int32_t)npieces + 11);
	cr_assert_eq(eng_tokenizer_find(tk, "no such piece"), -1);
	cr_assert_eq(eng_tokenizer_bos(tk), 1);
	neos = eng_tokenizer_eos_ids(&eos, tk);
	cr_assert_eq(neos, 3);
	cr_assert_eq(eos[0], 2);
	cr_assert_eq(eos[1], (int32_t)npieces + 11);
	cr_assert_eq(eos[2], (int32_t)npieces + 12);
	cr_assert(eng_tokenizer_is_eos(tk, 2));
	cr_assert_not(eng_tokenizer_is_eos(tk, 1));
	cr_assert(eng_tokenizer_is_special(tk, (int32_t)npieces + 10));

	json_array_foreach(texts, i, v) {
		const char *text = json_string_value(v);
		size_t len = json_string_length(v);
		int32_t *ids = NULL;
		pl_buf dec = PL_BUF_INIT, stream = PL_BUF_INIT;
		eng_detok d;

		/* plain: the whole text through SentencePiece */
		cr_assert_eq(eng_tokenizer_encode(&ids, &n, tk, text, len, false, &err), 0, "%s", err.msg);
		expect_ids(json_array_get(json_object_get(m, "plain"), i), ids, n, model, "plain", i, text);
		cr_assert_eq(eng_tokenizer_decode(&dec, tk, ids, n, &err), 0, "%s", err.msg);
		cr_expect_str_eq(dec.ptr, json_string_value(json_array_get(json_object_get(m, "decoded"), i)),
				 "%s decode of text %zu", model, i);
		eng_detok_init(&d, tk);
		for (size_t k = 0; k < n; k++)
			cr_assert_eq(eng_detok_push(&stream, &d, ids[k], &err), 0);
		eng_detok_flush(&stream, &d);
		eng_detok_release(&d);
		cr_expect_str_eq(stream.ptr, dec.ptr, "%s streaming decode of text %zu", model, i);
		/* a literal U+2581 decodes to a space: not a round trip */
		if (round_trips && !strstr(text, "\xE2\x96\x81"))
			cr_expect(dec.len == len && !memcmp(dec.ptr, text, len), "%s round trip of text %zu: \"%s\"",
				  model, i, dec.ptr);
		free(ids);

		/* added tokens first, the text between them on its own */
		cr_assert_eq(eng_tokenizer_encode(&ids, &n, tk, text, len, true, &err), 0, "%s", err.msg);
		expect_ids(json_array_get(json_object_get(m, "special"), i), ids, n, model, "special", i, text);
		if (round_trips && !strstr(text, "<s>") && !strstr(text, "</s>") && !strstr(text, "\xE2\x96\x81")) {
			pl_buf_reset(&dec);
			cr_assert_eq(eng_tokenizer_decode(&dec, tk, ids, n, &err), 0);
			cr_expect(dec.len == len && !memcmp(dec.ptr, text, len),
				  "%s round trip with added tokens, text %zu: \"%s\"", model, i, dec.ptr);
		}
		free(ids);
		pl_buf_release(&dec);
		pl_buf_release(&stream);
	}

	/* bytes that are not UTF-8 */
	json_array_foreach(json_object_get(root, "byte_texts"), i, v) {
		const char *hex = json_string_value(v);
		size_t blen = strlen(hex) / 2;
		char *bytes = pl_xmalloc(blen + 1);
		int32_t *ids = NULL;

		for (size_t k = 0; k < blen; k++) {
			unsigned x;

			cr_assert_eq(sscanf(hex + 2 * k, "%2x", &x), 1);
			bytes[k] = (char)x;
		}
		bytes[blen] = '\0';
		cr_assert_eq(eng_tokenizer_encode(&ids, &n, tk, bytes, blen, false, &err), 0, "%s", err.msg);
		expect_ids(json_array_get(json_object_get(m, "byte_plain"), i), ids, n, model, "bytes", i, hex);
		free(ids);
		free(bytes);
	}

	/* random id sequences, byte pieces split and misordered */
	json_array_foreach(json_object_get(m, "rand_ids"), i, v) {
		int32_t *ids;
		pl_buf dec = PL_BUF_INIT;

		to_ids(v, &ids, &n);
		json_t *want = json_array_get(json_object_get(m, "rand_text"), i);

		cr_assert_eq(eng_tokenizer_decode(&dec, tk, ids, n, &err), 0);
		cr_expect(dec.len == json_string_length(want) && !memcmp(dec.ptr, json_string_value(want), dec.len),
			  "%s decode of random sequence %zu: got \"%s\" want \"%s\"", model, i, dec.ptr,
			  json_string_value(want));
		free(ids);
		pl_buf_release(&dec);
	}
	eng_tokenizer_free(tk);
	json_decref(root);
}

TestSuite(tokenizer_spm, .init = setup, .fini = teardown, .timeout = 120);

Test(tokenizer_spm, bpe_byte_fallback_matches_sentencepiece)
{
	check_model("bpe_bf", true);
}

Test(tokenizer_spm, bpe_unk_remove_extra_whitespace_matches_sentencepiece)
{
	check_model("bpe", false);
}

Test(tokenizer_spm, unigram_byte_fallback_matches_sentencepiece)
{
	check_model("uni_bf", true);
}

Test(tokenizer_spm, unigram_unk_no_dummy_prefix_matches_sentencepiece)
{
	check_model("uni", false);
}

Test(tokenizer_spm, bpe_nmt_nfkc_charsmap_matches_sentencepiece)
{
	check_model("bpe_nfkc", false);
}

Test(tokenizer_spm, unigram_nfkc_cf_charsmap_matches_sentencepiece)
{
	check_model("uni_nfkc_cf", false);
}
