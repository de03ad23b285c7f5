/* The tokenizer on hand-built SentencePiece protobufs: encodings derived by
 * hand, and every kind of malformed tokenizer file a clear error. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

static pl_buf dir = PL_BUF_INIT;

static void setup(void)
{
	pl_buf_reset(&dir);
	cr_assert_eq(pl_mkdtemp(&dir, "plait-test-tokerr", NULL), 0);
}

static void teardown(void)
{
	pl_rm_rf(dir.ptr, NULL);
	pl_buf_release(&dir);
}

TestSuite(tokenizer_file, .init = setup, .fini = teardown);

/* ---- a protobuf writer */

static void varint(pl_buf *b, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;

		v >>= 7;
		pl_buf_putc(b, (char)(v ? c | 0x80 : c));
	} while (v);
}

static void key(pl_buf *b, unsigned field, unsigned wt)
{
	varint(b, (uint64_t)field << 3 | wt);
}

static void field_bytes(pl_buf *b, unsigned field, const void *d, size_t n)
{
	key(b, field, 2);
	varint(b, n);
	pl_buf_add(b, d, n);
}

static void field_varint(pl_buf *b, unsigned field, uint64_t v)
{
	key(b, field, 0);
	varint(b, v);
}

static void field_float(pl_buf *b, unsigned field, float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	key(b, field, 5);
	for (int i = 0; i < 4; i++)
		pl_buf_putc(b, (char)(u >> (8 * i)));
}

static void piece(pl_buf *model, const char *s, float score, int type)
{
	pl_buf p = PL_BUF_INIT;

	field_bytes(&p, 1, s, strlen(s));
	field_float(&p, 2, score);
	if (type != 1)
		field_varint(&p, 3, (uint64_t)type);
	field_bytes(model, 1, p.ptr, p.len);
	pl_buf_release(&p);
}

static void trainer(pl_buf *model, int model_type, bool byte_fallback)
{
	pl_buf t = PL_BUF_INIT;

	field_varint(&t, 3, (uint64_t)model_type);
	if (byte_fallback)
		field_varint(&t, 35, 1);
	field_bytes(model, 2, t.ptr, t.len);
	pl_buf_release(&t);
}

static void normalizer(pl_buf *model, const char *name, bool remove_extra)
{
	pl_buf n = PL_BUF_INIT;

	field_bytes(&n, 1, name, strlen(name));
	field_varint(&n, 3, 1);
	field_varint(&n, 4, remove_extra);
	field_varint(&n, 5, 1);
	field_bytes(model, 3, n.ptr, n.len);
	pl_buf_release(&n);
}

#define SP "\xE2\x96\x81"

/* 0 <unk>, 1 <s>, 2 </s>, 3 ▁, 4 a, 5 b, 6 ▁a (type given), 7 <x> (user-defined) */
static void small_model(pl_buf *m, int model_type, int a_type)
{
	piece(m, "<unk>", 0, 2);
	piece(m, "<s>", 0, 3);
	piece(m, "</s>", 0, 3);
	piece(m, SP, -1, 1);
	piece(m, "a", -2, 1);
	piece(m, "b", -3, 1);
	piece(m, SP "a", -0.5f, a_type);
	piece(m, "<x>", 0, 4);
	trainer(m, model_type, false);
	normalizer(m, "identity", false);
}

static void write_rel(const char *rel, const void *data, size_t n)
{
	pl_buf p = PL_BUF_INIT;

	pl_path_join(&p, dir.ptr, rel);
	cr_assert_eq(pl_file_write_atomic(p.ptr, data, n, 0644, NULL), 0);
	pl_buf_release(&p);
}

static void write_model(const pl_buf *m)
{
	write_rel("tokenizer.model", m->ptr, m->len);
}

static void write_text(const char *rel, const char *text)
{
	write_rel(rel, text, strlen(text));
}

static eng_tokenizer *load_ok(void)
{
	eng_tokenizer *tk = NULL;
	pl_err err = { 0 };

	cr_assert_eq(eng_tokenizer_load(&tk, dir.ptr, &err), 0, "%s", err.msg);
	return tk;
}

static void load_fails(int code, const char *file, const char *msg_part)
{
	eng_tokenizer *tk = (eng_tokenizer *)0x1;
	pl_err err = { 0 };
	int rc = eng_tokenizer_load(&tk, dir.ptr, &err);

	cr_assert_eq(rc, code, "rc %d (%s), want %d", rc, err.msg, code);
	cr_assert_eq(tk, (eng_tokenizer *)0x1, "the out-parameter was touched on failure");
	cr_assert(strstr(err.msg, file), "message '%s' does not name %s", err.msg, file);
	cr_assert(strstr(err.msg, msg_part), "message '%s' lacks '%s'", err.msg, msg_part);
}

static void encode_eq(const eng_tokenizer *tk, const char *text, const int32_t *want, size_t nwant)
{
	int32_t *ids = NULL;
	size_t n = 0;
	pl_err err = { 0 };

	cr_assert_eq(eng_tokenizer_encode(&ids, &n, tk, text, strlen(text), false, &err), 0, "%s", err.msg);
	cr_assert_eq(n, nwant, "'%s': %zu ids, want %zu", text, n, nwant);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(ids[i], want[i], "'%s': id %zu is %d, want %d", text, i, ids[i], want[i]);
	free(ids);
}

/* ---- hand-derived encodings */

Test(tokenizer_file, bpe_merges_by_score)
{
	pl_buf m = PL_BUF_INIT;
	eng_tokenizer *tk;

	small_model(&m, 2, 1);
	write_model(&m);
	tk = load_ok();
	/* "▁a▁b": only ▁+a is a piece -> [▁a, ▁, b] */
	encode_eq(tk, "a b", (const int32_t[]){ 6, 3, 5 }, 3);
	/* unknown characters: one <unk> for a run of them */
	encode_eq(tk, "a zz", (const int32_t[]){ 6, 3, 0 }, 3);
	/* user-defined pieces are never split or merged */
	encode_eq(tk, "a<x>a", (const int32_t[]){ 6, 7, 4 }, 3);
	encode_eq(tk, "", NULL, 0);
	cr_assert_eq(eng_tokenizer_vocab_size(tk), 8);
	cr_assert_eq(eng_tokenizer_bos(tk), 1);
	eng_tokenizer_free(tk);
	pl_buf_release(&m);
}

Test(tokenizer_file, bpe_unused_pieces_are_resegmented)
{
	pl_buf m = PL_BUF_INIT;
	eng_tokenizer *tk;

	small_model(&m, 2, 5); /* ▁a UNUSED: merged, then split back */
	write_model(&m);
	tk = load_ok();
	encode_eq(tk, "a b", (const int32_t[]){ 3, 4, 3, 5 }, 4);
	eng_tokenizer_free(tk);
	pl_buf_release(&m);
}

Test(tokenizer_file, unigram_viterbi_and_unknown_penalty)
{
	pl_buf m = PL_BUF_INIT;
	eng_tokenizer *tk;

	small_model(&m, 1, 1);
	write_model(&m);
	tk = load_ok();
	/* ▁a (-0.5) beats ▁ + a (-3); b alone */
	encode_eq(tk, "ab", (const int32_t[]){ 6, 5 }, 2);
	/* unused pieces are skipped by the Viterbi pass */
	encode_eq(tk, "a<x>z", (const int32_t[]){ 6, 7, 0 }, 3);
	eng_tokenizer_free(tk);
	pl_buf_release(&m);
	m = (pl_buf)PL_BUF_INIT;
	small_model(&m, 1, 5);
	write_model(&m);
	tk = load_ok();
	encode_eq(tk, "ab", (const int32_t[]){ 3, 4, 5 }, 3);
	eng_tokenizer_free(tk);
	pl_buf_release(&m);
}

Test(tokenizer_file, unknown_fields_are_skipped)
{
	pl_buf m = PL_BUF_INIT;
	eng_tokenizer *tk;

	field_varint(&m, 99, 12345);
	key(&m, 98, 1);
	pl_buf_add(&m, "12345678", 8);
	key(&m, 97, 5);
	pl_buf_add(&m, "1234", 4);
	field_bytes(&m, 4, "self-test", 9);
	small_model(&m, 2, 1);
	write_model(&m);
	tk = load_ok();
	encode_eq(tk, "a b", (const int32_t[]){ 6, 3, 5 }, 3);
	eng_tokenizer_free(tk);
	pl_buf_release(&m);
}

Test(tokenizer_file, decode_ids_beyond_the_vocabulary)
{
	pl_buf m = PL_BUF_INIT, out = PL_BUF_INIT;
	eng_tokenizer *tk;
	pl_err err = { 0 };
	eng_detok d;

	small_model(&m, 2, 1);
	write_model(&m);
	tk = load_ok();
	/* the embedding may be larger than the vocabulary: those ids are nothing */
	cr_assert_eq(eng_tokenizer_decode(&out, tk, (const int32_t[]){ 6, 76799, 3, 5, 8 }, 5, &err), 0);
	cr_assert_str_eq(out.ptr, "a b");
	cr_assert_eq(eng_tokenizer_decode(&out, tk, (const int32_t[]){ 6, -1 }, 2, &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "token id -1 is negative");
	eng_detok_init_continue(&d, tk);
	pl_buf_reset(&out);
	cr_assert_eq(eng_detok_push(&out, &d, 6, &err), 0);
	cr_assert_str_eq(out.ptr, " a"); /* continuing text keeps its space */
	eng_detok_release(&d);
	eng_tokenizer_free(tk);
	pl_buf_release(&m);
	pl_buf_release(&out);
}

/* ---- malformed tokenizer.model */

Test(tokenizer_file, missing_model)
{
	load_fails(PL_ENOTFOUND, dir.ptr, "no tokenizer.model");
}

Test(tokenizer_file, empty_file)
{
	write_text("tokenizer.model", "");
	load_fails(PL_EFORMAT, "tokenizer.model", "no pieces");
}

Test(tokenizer_file, truncated_at_every_byte)
{
	pl_buf m = PL_BUF_INIT;
	int failed = 0;

	small_model(&m, 2, 1);
	for (size_t n = 1; n < m.len; n++) {
		eng_tokenizer *tk = NULL;
		pl_err err = { 0 };

		write_rel("tokenizer.model", m.ptr, n);
		if (eng_tokenizer_load(&tk, dir.ptr, &err) < 0) {
			cr_assert(strstr(err.msg, "tokenizer.model"), "message '%s' does not name the file", err.msg);
			failed++;
		} else {
			eng_tokenizer_free(tk); /* cut at a field boundary: a smaller valid model */
		}
	}
	cr_assert_gt(failed, (int)m.len / 2);
	/* cut inside the first piece's string */
	write_rel("tokenizer.model", m.ptr, 5);
	load_fails(PL_EFORMAT, "tokenizer.model", "length-delimited field runs past the end");
	pl_buf_release(&m);
}

Test(tokenizer_file, bad_varint)
{
	write_text("tokenizer.model", "\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff");
	load_fails(PL_EFORMAT, "tokenizer.model", "bad varint (longer than 10 bytes)");
	write_text("tokenizer.model", "\x0a\x85");
	load_fails(PL_EFORMAT, "tokenizer.model", "truncated varint");
}

Test(tokenizer_file, wrong_wire_types)
{
	pl_buf m = PL_BUF_INIT, p = PL_BUF_INIT;

	field_varint(&m, 1, 3);
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "field 'pieces' has wire type 0, expected 2");

	pl_buf_reset(&m);
	field_bytes(&p, 1, "a", 1);
	field_varint(&p, 2, 7);
	field_bytes(&m, 1, p.ptr, p.len);
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "ModelProto.pieces at byte 6: field 'score' has wire type 0, expected 5");

	pl_buf_reset(&m);
	key(&m, 1, 3);
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "field 'pieces' has wire type 3, expected 2");

	pl_buf_reset(&m);
	key(&m, 50, 3); /* an unknown field as a group */
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "unsupported wire type 3");

	pl_buf_reset(&m);
	key(&m, 50, 7);
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "unsupported wire type 7");

	pl_buf_reset(&m);
	key(&m, 50, 1);
	pl_buf_add(&m, "123", 3);
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "truncated fixed64");

	pl_buf_reset(&m);
	small_model(&m, 2, 1);
	pl_buf_reset(&p);
	field_bytes(&p, 3, "bpe", 3);
	field_bytes(&m, 2, p.ptr, p.len);
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "field 'model_type' has wire type 2, expected 0");

	pl_buf_reset(&m);
	pl_buf_add(&m, "\x00\x01", 2); /* field number 0 */
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "bad field number");
	pl_buf_release(&m);
	pl_buf_release(&p);
}

Test(tokenizer_file, bad_pieces)
{
	pl_buf m = PL_BUF_INIT;

	piece(&m, "a", 0, 1);
	trainer(&m, 2, false);
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "no unknown piece");

	pl_buf_reset(&m);
	piece(&m, "<unk>", 0, 2);
	piece(&m, "a", 0, 1);
	piece(&m, "a", 0, 1);
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "piece 2 'a' is defined twice");

	pl_buf_reset(&m);
	piece(&m, "<unk>", 0, 2);
	piece(&m, "<unk2>", 0, 2);
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "more than one unknown piece");

	pl_buf_reset(&m);
	piece(&m, "<unk>", 0, 9);
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "unknown piece type");

	pl_buf_reset(&m);
	piece(&m, "<unk>", 0, 2);
	field_bytes(&m, 1, "", 0); /* a piece with no string */
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "piece 1 is empty");

	pl_buf_reset(&m);
	piece(&m, "<unk>", 0, 2);
	piece(&m, "<0x00>", 0, 6);
	trainer(&m, 2, true);
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "byte_fallback is true but byte piece <0x01> is missing");

	pl_buf_reset(&m);
	piece(&m, "<unk>", 0, 2);
	piece(&m, "<0x00>", 0, 6);
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "byte piece '<0x00>' found although byte_fallback is false");

	pl_buf_reset(&m);
	piece(&m, "<unk>", 0, 2);
	piece(&m, "<0xZZ>", 0, 6);
	trainer(&m, 2, true);
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "is not <0xNN>");
	pl_buf_release(&m);
}

Test(tokenizer_file, unsupported_models)
{
	pl_buf m = PL_BUF_INIT, n = PL_BUF_INIT;

	piece(&m, "<unk>", 0, 2);
	trainer(&m, 3, false);
	write_model(&m);
	load_fails(PL_EUNSUPPORTED, "tokenizer.model", "model_type 3 is not supported");

	pl_buf_reset(&m);
	piece(&m, "<unk>", 0, 2);
	field_bytes(&n, 1, "nmt_nfkc", 8);
	field_bytes(&n, 2, "\x04\x00\x00\x00....", 8);
	field_bytes(&m, 5, n.ptr, n.len); /* as a denormalizer */
	write_model(&m);
	load_fails(PL_EUNSUPPORTED, "tokenizer.model", "a denormalizer");
	pl_buf_release(&m);
	pl_buf_release(&n);
}

static void charsmap_model(pl_buf *m, const void *charsmap, size_t n)
{
	pl_buf ns = PL_BUF_INIT;

	small_model(m, 2, 1);
	field_bytes(&ns, 1, "nmt_nfkc", 8);
	field_bytes(&ns, 2, charsmap, n);
	field_bytes(m, 3, ns.ptr, ns.len); /* a later normalizer_spec merges over the first */
	pl_buf_release(&ns);
}

Test(tokenizer_file, bad_charsmaps)
{
	pl_buf m = PL_BUF_INIT;

	charsmap_model(&m, "\x04\x00", 2);
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "precompiled_charsmap is shorter than its header");
	pl_buf_reset(&m);
	charsmap_model(&m, "\x0c\x00\x00\x00" "abcd", 8);
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "precompiled_charsmap trie size 12 does not fit its 8 bytes");
	pl_buf_reset(&m);
	charsmap_model(&m, "\x06\x00\x00\x00" "abcdef", 10);
	write_model(&m);
	load_fails(PL_EFORMAT, "tokenizer.model", "trie size 6");
	pl_buf_release(&m);
}

Test(tokenizer_file, garbage_charsmap_trie_never_reads_out_of_bounds)
{
	uint8_t blob[4 + 32 * 4 + 16];
	uint64_t seed = 0x9E3779B97F4A7C15ULL;
	pl_buf m = PL_BUF_INIT;

	for (int it = 0; it < 50; it++) {
		eng_tokenizer *tk;
		int32_t *ids = NULL;
		size_t n = 0;
		pl_err err = { 0 };

		blob[0] = 32 * 4;
		blob[1] = blob[2] = blob[3] = 0;
		for (size_t i = 4; i < sizeof(blob); i++) {
			seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
			blob[i] = (uint8_t)seed;
		}
		pl_buf_reset(&m);
		charsmap_model(&m, blob, sizeof(blob));
		write_model(&m);
		tk = load_ok();
		cr_assert_eq(eng_tokenizer_encode(&ids, &n, tk, "a b\xff\x01zz<x>", 10, false, &err), 0, "%s",
			     err.msg);
		cr_assert_gt(n, 0);
		free(ids);
		eng_tokenizer_free(tk);
	}
	pl_buf_release(&m);
}

/* ---- tokenizer_config.json and generation_config.json */

static void with_model(void)
{
	pl_buf m = PL_BUF_INIT;

	small_model(&m, 2, 1);
	write_model(&m);
	pl_buf_release(&m);
}

Test(tokenizer_file, config_added_tokens_and_eos)
{
	eng_tokenizer *tk;
	const int32_t *eos;
	size_t n;
	int32_t *ids;
	pl_err err = { 0 };

	with_model();
	write_text("tokenizer_config.json",
		   "{\"add_bos_token\": true, \"bos_token\": {\"content\": \"<s>\"}, \"eos_token\": \"<|im_end|>\","
		   "\"added_tokens_decoder\": {\"20\": {\"content\": \"<|im_start|>\", \"special\": true},"
		   "\"21\": {\"content\": \"<|im_end|>\", \"special\": true}}}");
	tk = load_ok();
	cr_assert_eq(eng_tokenizer_vocab_size(tk), 22);
	cr_assert_null(eng_tokenizer_piece(tk, 15)); /* a gap: no piece */
	n = eng_tokenizer_eos_ids(&eos, tk);
	cr_assert_eq(n, 1);
	cr_assert_eq(eos[0], 21);
	cr_assert_eq(eng_tokenizer_encode_prompt(&ids, &n, tk, "<|im_start|>a<|im_end|>", 23, &err), 0);
	cr_assert_eq(n, 4);
	cr_assert_eq(ids[0], 1); /* add_bos_token */
	cr_assert_eq(ids[1], 20);
	cr_assert_eq(ids[2], 6);
	cr_assert_eq(ids[3], 21);
	free(ids);
	eng_tokenizer_free(tk);
}

Test(tokenizer_file, bad_tokenizer_config)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{ "{\"added_tokens_decoder\": ", "invalid JSON" },
		{ "[1]", "expected an object" },
		{ "{\"added_tokens_decoder\": []}", "'added_tokens_decoder' must be an object" },
		{ "{\"added_tokens_decoder\": {\"abc\": {\"content\": \"x\"}}}", "key 'abc' is not a token id" },
		{ "{\"added_tokens_decoder\": {\"-3\": {\"content\": \"x\"}}}", "key '-3' is not a token id" },
		{ "{\"added_tokens_decoder\": {\"99999999999\": {\"content\": \"x\"}}}", "is not a token id" },
		{ "{\"added_tokens_decoder\": {\"9\": {\"special\": true}}}", "content" },
		{ "{\"added_tokens_decoder\": {\"9\": {\"content\": 5}}}", "content" },
		{ "{\"added_tokens_decoder\": {\"9\": {\"content\": \"\"}}}", "'content' is empty" },
		{ "{\"added_tokens_decoder\": {\"9\": \"<x>\"}}", "added_tokens_decoder['9']" },
		{ "{\"added_tokens_decoder\": {\"9\": {\"content\": \"<y>\"}, \"10\": {\"content\": \"<y>\"}}}",
		  "added token '<y>' has two ids" },
		{ "{\"add_bos_token\": \"yes\"}", "add_bos_token" },
		{ "{\"bos_token\": \"<nope>\"}", "bos_token '<nope>' is not in the vocabulary" },
		{ "{\"eos_token\": 7}", "'eos_token' must be a string or an object" },
		{ "{\"eos_token\": {\"text\": \"x\"}}", "content" },
	};

	with_model();
	for (size_t i = 0; i < PL_ARRAY_LEN(cases); i++) {
		write_text("tokenizer_config.json", cases[i].json);
		load_fails(PL_EFORMAT, "tokenizer_config.json", cases[i].msg);
	}
}

Test(tokenizer_file, add_bos_without_bos)
{
	pl_buf m = PL_BUF_INIT;

	piece(&m, "<unk>", 0, 2);
	piece(&m, "a", 0, 1);
	write_model(&m);
	write_text("tokenizer_config.json", "{\"add_bos_token\": true}");
	load_fails(PL_EFORMAT, "tokenizer_config.json", "add_bos_token is true but there is no bos token");
	pl_buf_release(&m);
}

Test(tokenizer_file, bad_generation_config)
{
	static const struct {
		const char *json, *msg;
	} cases[] = {
		{ "{", "invalid JSON" },
		{ "3", "invalid JSON" },
		{ "[1]", "expected an object" },
		{ "{\"eos_token_id\": [2, 80000]}", "'eos_token_id' id 80000 is outside the vocabulary (size 8)" },
		{ "{\"eos_token_id\": \"2\"}", "'eos_token_id' must hold integer token ids" },
		{ "{\"eos_token_id\": [-1]}", "outside the vocabulary" },
		{ "{\"bos_token_id\": 8}", "'bos_token_id' id 8 is outside" },
	};

	with_model();
	for (size_t i = 0; i < PL_ARRAY_LEN(cases); i++) {
		write_text("generation_config.json", cases[i].json);
		load_fails(PL_EFORMAT, "generation_config.json", cases[i].msg);
	}
}

Test(tokenizer_file, generation_config_eos_list_and_single)
{
	eng_tokenizer *tk;
	const int32_t *eos;
	size_t n;

	with_model();
	write_text("generation_config.json", "{\"eos_token_id\": 2, \"bos_token_id\": 1}");
	tk = load_ok();
	n = eng_tokenizer_eos_ids(&eos, tk);
	cr_assert_eq(n, 1);
	cr_assert_eq(eos[0], 2);
	eng_tokenizer_free(tk);
	write_text("generation_config.json", "{\"eos_token_id\": [2, 5, 2]}");
	tk = load_ok();
	n = eng_tokenizer_eos_ids(&eos, tk);
	cr_assert_eq(n, 2);
	cr_assert_eq(eos[1], 5);
	eng_tokenizer_free(tk);
}

Test(tokenizer_file, random_corruptions_fail_cleanly)
{
	pl_buf m = PL_BUF_INIT, c = PL_BUF_INIT;
	uint64_t seed = 88172645463325252ULL;
	int failed = 0;

	small_model(&m, 2, 1);
	for (int it = 0; it < 400; it++) {
		eng_tokenizer *tk = NULL;
		pl_err err = { 0 };
		int flips;

		pl_buf_reset(&c);
		pl_buf_add(&c, m.ptr, m.len);
		/* xorshift: the same corruptions every run */
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		flips = 1 + (int)(seed % 3);
		for (int f = 0; f < flips; f++) {
			seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
			c.ptr[seed % c.len] = (char)(seed >> 32);
		}
		write_rel("tokenizer.model", c.ptr, c.len);
		if (eng_tokenizer_load(&tk, dir.ptr, &err) < 0) {
			cr_assert(strstr(err.msg, "tokenizer.model"), "message '%s' does not name the file", err.msg);
			failed++;
		} else {
			int32_t *ids = NULL;
			size_t n = 0;
			pl_buf out = PL_BUF_INIT;

			cr_assert_eq(eng_tokenizer_encode(&ids, &n, tk, "a b <x> zz", 10, true, &err), 0,
				     "%s", err.msg);
			cr_assert_eq(eng_tokenizer_decode(&out, tk, ids, n, &err), 0, "%s", err.msg);
			free(ids);
			pl_buf_release(&out);
			eng_tokenizer_free(tk);
		}
	}
	cr_assert_gt(failed, 0);
	pl_buf_release(&m);
	pl_buf_release(&c);
}
