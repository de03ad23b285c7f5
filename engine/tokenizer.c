/* tokenizer.c - the model's tokenizer: tokenizer.model (SentencePiece) plus
 * the added and special tokens of tokenizer_config.json and the eos ids of
 * generation_config.json; encoding, decoding and streaming decoding. */
#include "engine/engine.h"
#include "engine/hf.h"
#include "engine/spm.h"

#include <stdlib.h>
#include <string.h>

/* Largest token id accepted from a JSON file: bounds the id table. */
#define MAX_TOKEN_ID (1 << 24)

typedef struct added_tok {
	char *content;
	size_t len;
	int32_t id;
	bool special;
} added_tok;

struct eng_tokenizer {
	eng__spm_model *spm; /* tokenizer.model, or */
	eng__hf_model *hf;   /* tokenizer.json */
	size_t vocab;       /* one past the largest id */
	added_tok *added;   /* sorted by decreasing length: the longest match wins */
	size_t nadded;
	int32_t *added_idx; /* per id: index into added, or -1 */
	int32_t bos;
	int32_t *eos;
	size_t neos;
	bool add_bos, add_eos;
};

void eng_tokenizer_free(eng_tokenizer *tk)
{
	if (!tk)
		return;
	eng__spm_model_free(tk->spm);
	eng__hf_model_free(tk->hf);
	for (size_t i = 0; i < tk->nadded; i++)
		free(tk->added[i].content);
	free(tk->added);
	free(tk->added_idx);
	free(tk->eos);
	free(tk);
}

static int cmp_added(const void *a, const void *b)
{
	const added_tok *x = a, *y = b;

	if (x->len != y->len)
		return x->len > y->len ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int parse_id(int32_t *out, const char *s, const char *what, pl_err *err)
{
	int64_t v;

	if (pl_parse_i64(&v, s, 0, MAX_TOKEN_ID - 1, NULL) < 0)
		return pl_err_set(err, PL_EFORMAT, "%s: added_tokens_decoder key '%s' is not a token id (0 to %d)",
				  what, s, MAX_TOKEN_ID - 1);
	*out = (int32_t)v;
	return 0;
}

static int load_added(eng_tokenizer *tk, const json_t *dec, const char *what, pl_err *err)
{
	const char *key;
	json_t *v;
	int rc;

	if (!json_is_object(dec))
		return pl_err_set(err, PL_EFORMAT, "%s: 'added_tokens_decoder' must be an object", what);
	tk->added = pl_xrealloc(tk->added, (tk->nadded + json_object_size(dec) + 1) * sizeof(*tk->added));
	json_object_foreach((json_t *)dec, key, v) {
		added_tok a = { 0 };
		const char *content;
		bool special = false, dup = false;
		char ctx[160];

		snprintf(ctx, sizeof(ctx), "%s: added_tokens_decoder['%.40s']", what, key);
		if ((rc = parse_id(&a.id, key, what, err)) < 0)
			return rc;
		if ((rc = pl_json_get_str(&content, v, "content", ctx, err)) < 0 ||
		    (rc = pl_json_opt_bool(&special, v, "special", ctx, err)) < 0)
			return rc;
		if (!*content)
			return pl_err_set(err, PL_EFORMAT, "%s: 'content' is empty", ctx);
		for (size_t j = 0; j < tk->nadded; j++) {
			if (strcmp(tk->added[j].content, content))
				continue;
			if (tk->added[j].id != a.id)
				return pl_err_set(err, PL_EFORMAT, "%s: added token '%s' has two ids (%d and %d)", what,
						  content, tk->added[j].id, a.id);
			dup = true; /* tokenizer.json listed it already */
		}
		if (dup)
			continue;
		a.content = pl_xstrdup(content);
		a.len = strlen(content);
		a.special = special;
		tk->added[tk->nadded++] = a;
	}
	return 0;
}

/* bos_token / eos_token: a string, an object with "content", or null. */
static int token_string(const char **out, const json_t *cfg, const char *key, const char *what, pl_err *err)
{
	const json_t *v = json_object_get(cfg, key);
	char ctx[128];

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		*out = json_string_value(v);
		return 0;
	}
	snprintf(ctx, sizeof(ctx), "%s: '%s'", what, key);
	if (json_is_object(v))
		return pl_json_get_str(out, v, "content", ctx, err);
	return pl_err_set(err, PL_EFORMAT, "%s: '%s' must be a string or an object with 'content'", what, key);
}

static int resolve_token(int32_t *out, const eng_tokenizer *tk, const char *s, const char *key, const char *what,
			 pl_err *err)
{
	int32_t id = eng_tokenizer_find(tk, s);

	if (id < 0)
		return pl_err_set(err, PL_EFORMAT, "%s: %s '%s' is not in the vocabulary", what, key, s);
	*out = id;
	return 0;
}

static void add_eos(eng_tokenizer *tk, int32_t id)
{
	for (size_t i = 0; i < tk->neos; i++)
		if (tk->eos[i] == id)
			return;
	tk->eos = pl_xrealloc(tk->eos, (tk->neos + 1) * sizeof(*tk->eos));
	tk->eos[tk->neos++] = id;
}

static int json_token_id(int32_t *out, const json_t *v, const eng_tokenizer *tk, const char *key, const char *what,
			 pl_err *err)
{
	json_int_t x;

	if (!json_is_integer(v))
		return pl_err_set(err, PL_EFORMAT, "%s: '%s' must hold integer token ids", what, key);
	x = json_integer_value(v);
	if (x < 0 || (size_t)x >= tk->vocab)
		return pl_err_set(err, PL_EFORMAT, "%s: '%s' id %lld is outside the vocabulary (size %zu)", what,
				  key, (long long)x, tk->vocab);
	*out = (int32_t)x;
	return 0;
}

static int load_generation_config(eng_tokenizer *tk, bool *bos_set, const char *path, pl_err *err)
{
	json_t *cfg = NULL, *v;
	int32_t id = -1;
	int rc = 0;

	if (!pl_file_exists(path))
		return 0;
	if ((rc = pl_json_load_file(&cfg, path, err)) < 0)
		return rc;
	if (!json_is_object(cfg)) {
		rc = pl_err_set(err, PL_EFORMAT, "%s: expected an object", path);
		goto done;
	}
	v = json_object_get(cfg, "eos_token_id");
	if (json_is_array(v)) {
		size_t i;
		json_t *x;

		json_array_foreach(v, i, x) {
			if ((rc = json_token_id(&id, x, tk, "eos_token_id", path, err)) < 0)
				goto done;
			add_eos(tk, id);
		}
	} else if (v && !json_is_null(v)) {
		if ((rc = json_token_id(&id, v, tk, "eos_token_id", path, err)) < 0)
			goto done;
		add_eos(tk, id);
	}
	v = json_object_get(cfg, "bos_token_id");
	if (v && !json_is_null(v) && !*bos_set) {
		if ((rc = json_token_id(&tk->bos, v, tk, "bos_token_id", path, err)) < 0)
			goto done;
		*bos_set = true;
	}
done:
	json_decref(cfg);
	return rc;
}

int eng_tokenizer_load(eng_tokenizer **out, const char *model_dir, pl_err *err)
{
	eng_tokenizer *tk = pl_xcalloc(1, sizeof(*tk));
	pl_buf path = PL_BUF_INIT;
	pl_map map = { 0 };
	json_t *cfg = NULL;
	const char *bos_s = NULL, *eos_s = NULL;
	bool bos_set = false;
	int32_t eos_id = -1;
	int rc = 0;

	pl_path_join(&path, model_dir, "tokenizer.model");
	if (pl_file_exists(path.ptr)) {
		if ((rc = pl_map_open(&map, path.ptr, err)) < 0)
			goto done;
		if ((rc = eng__spm_model_parse(&tk->spm, map.data, map.size, path.ptr, err)) < 0)
			goto done;
		tk->vocab = tk->spm->n;
	} else {
		const eng__hf_added *ha;
		size_t nha;

		pl_buf_reset(&path);
		pl_path_join(&path, model_dir, "tokenizer.json");
		if (!pl_file_exists(path.ptr)) {
			rc = pl_err_set(err, PL_ENOTFOUND,
					"%s: no tokenizer.model (SentencePiece) or tokenizer.json in the model directory",
					model_dir);
			goto done;
		}
		if ((rc = eng__hf_model_load(&tk->hf, path.ptr, err)) < 0)
			goto done;
		tk->vocab = eng__hf_model_size(tk->hf);
		ha = eng__hf_model_added(tk->hf, &nha);
		tk->added = pl_xcalloc(nha + 1, sizeof(*tk->added));
		for (size_t i = 0; i < nha; i++)
			tk->added[tk->nadded++] = (added_tok){ pl_xstrdup(ha[i].content), strlen(ha[i].content), ha[i].id,
							       ha[i].special };
	}

	pl_buf_reset(&path);
	pl_path_join(&path, model_dir, "tokenizer_config.json");
	if (pl_file_exists(path.ptr)) {
		const json_t *dec;

		if ((rc = pl_json_load_file(&cfg, path.ptr, err)) < 0)
			goto done;
		if (!json_is_object(cfg)) {
			rc = pl_err_set(err, PL_EFORMAT, "%s: expected an object", path.ptr);
			goto done;
		}
		if ((dec = json_object_get(cfg, "added_tokens_decoder")) &&
		    (rc = load_added(tk, dec, path.ptr, err)) < 0)
			goto done;
		if ((rc = pl_json_opt_bool(&tk->add_bos, cfg, "add_bos_token", path.ptr, err)) < 0 ||
		    (rc = pl_json_opt_bool(&tk->add_eos, cfg, "add_eos_token", path.ptr, err)) < 0 ||
		    (rc = token_string(&bos_s, cfg, "bos_token", path.ptr, err)) < 0 ||
		    (rc = token_string(&eos_s, cfg, "eos_token", path.ptr, err)) < 0)
			goto done;
	}
	if (tk->nadded)
		qsort(tk->added, tk->nadded, sizeof(*tk->added), cmp_added);
	for (size_t i = 0; i < tk->nadded; i++)
		if ((size_t)tk->added[i].id >= tk->vocab)
			tk->vocab = (size_t)tk->added[i].id + 1;
	tk->added_idx = pl_xmalloc(tk->vocab * sizeof(*tk->added_idx));
	for (size_t i = 0; i < tk->vocab; i++)
		tk->added_idx[i] = -1;
	for (size_t i = 0; i < tk->nadded; i++)
		tk->added_idx[tk->added[i].id] = (int32_t)i;

	tk->bos = -1;
	if (bos_s) {
		if ((rc = resolve_token(&tk->bos, tk, bos_s, "bos_token", path.ptr, err)) < 0)
			goto done;
		bos_set = true;
	}
	if (eos_s) {
		if ((rc = resolve_token(&eos_id, tk, eos_s, "eos_token", path.ptr, err)) < 0)
			goto done;
	}
	pl_buf_reset(&path);
	pl_path_join(&path, model_dir, "generation_config.json");
	if ((rc = load_generation_config(tk, &bos_set, path.ptr, err)) < 0)
		goto done;
	if (eos_id >= 0)
		add_eos(tk, eos_id);
	if (!bos_set && tk->spm)
		tk->bos = tk->spm->bos_id;
	if (!tk->neos && tk->spm && tk->spm->eos_id >= 0)
		add_eos(tk, tk->spm->eos_id);
	if (tk->add_bos && tk->bos < 0) {
		rc = pl_err_set(err, PL_EFORMAT, "%s/tokenizer_config.json: add_bos_token is true but there is no bos token",
				model_dir);
		goto done;
	}
	if (tk->add_eos && !tk->neos) {
		rc = pl_err_set(err, PL_EFORMAT, "%s/tokenizer_config.json: add_eos_token is true but there is no eos token",
				model_dir);
		goto done;
	}
	*out = tk;
	tk = NULL;
done:
	json_decref(cfg);
	pl_map_close(&map);
	pl_buf_release(&path);
	eng_tokenizer_free(tk);
	return rc;
}

size_t eng_tokenizer_vocab_size(const eng_tokenizer *tk)
{
	return tk->vocab;
}

int32_t eng_tokenizer_bos(const eng_tokenizer *tk)
{
	return tk->bos;
}

size_t eng_tokenizer_eos_ids(const int32_t **ids_out, const eng_tokenizer *tk)
{
	*ids_out = tk->eos;
	return tk->neos;
}

bool eng_tokenizer_is_eos(const eng_tokenizer *tk, int32_t id)
{
	for (size_t i = 0; i < tk->neos; i++)
		if (tk->eos[i] == id)
			return true;
	return false;
}

const char *eng_tokenizer_piece(const eng_tokenizer *tk, int32_t id)
{
	if (id < 0 || (size_t)id >= tk->vocab)
		return NULL;
	if (tk->added_idx[id] >= 0)
		return tk->added[tk->added_idx[id]].content;
	if (tk->hf)
		return eng__hf_model_token(tk->hf, id);
	if ((size_t)id < tk->spm->n)
		return tk->spm->pieces[id].s;
	return NULL;
}

int32_t eng_tokenizer_find(const eng_tokenizer *tk, const char *piece)
{
	size_t len = strlen(piece);

	for (size_t i = 0; i < tk->nadded; i++)
		if (tk->added[i].len == len && !memcmp(tk->added[i].content, piece, len))
			return tk->added[i].id;
	return tk->hf ? eng__hf_model_find(tk->hf, piece, len) : eng__spm_piece_find(tk->spm, piece, len);
}

bool eng_tokenizer_is_special(const eng_tokenizer *tk, int32_t id)
{
	if (id < 0 || (size_t)id >= tk->vocab)
		return false;
	if (tk->added_idx[id] >= 0)
		return tk->added[tk->added_idx[id]].special;
	return tk->spm && (size_t)id < tk->spm->n && tk->spm->pieces[id].type == ENG__SPM_CONTROL;
}

/* ---------------------------------------------------------------- encode */

/* The longest added token at text[0..n), or NULL. */
static const added_tok *match_added(const eng_tokenizer *tk, const char *text, size_t n)
{
	for (size_t i = 0; i < tk->nadded; i++) {
		const added_tok *a = &tk->added[i];

		if (a->len <= n && a->content[0] == text[0] && !memcmp(a->content, text, a->len))
			return a;
	}
	return NULL;
}

static void append_id(int32_t **ids, size_t *n, size_t *cap, int32_t id)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		*ids = pl_xrealloc(*ids, *cap * sizeof(**ids));
	}
	(*ids)[(*n)++] = id;
}

static int encode_text(const eng_tokenizer *tk, const char *text, size_t len, bool at_start, int32_t **ids,
		       size_t *n, size_t *cap, pl_err *err)
{
	if (tk->hf)
		return eng__hf_encode(tk->hf, text, len, at_start, ids, n, cap, err);
	return eng__spm_encode(tk->spm, text, len, ids, n, cap, err);
}

static int encode_into(const eng_tokenizer *tk, const char *text, size_t len, bool parse_special, int32_t **ids,
		       size_t *n, size_t *cap, pl_err *err)
{
	size_t seg = 0, i = 0;
	int rc;

	if (!parse_special || !tk->nadded)
		return encode_text(tk, text, len, true, ids, n, cap, err);
	/* Split on added tokens first; each piece of text between them is
	 * encoded on its own, as Hugging Face's slow (legacy) tokenizers do. */
	while (i < len) {
		const added_tok *a = match_added(tk, text + i, len - i);

		if (!a) {
			i++;
			continue;
		}
		if (i > seg && (rc = encode_text(tk, text + seg, i - seg, seg == 0, ids, n, cap, err)) < 0)
			return rc;
		append_id(ids, n, cap, a->id);
		i += a->len;
		seg = i;
	}
	if (len > seg)
		return encode_text(tk, text + seg, len - seg, seg == 0, ids, n, cap, err);
	return 0;
}

int eng_tokenizer_encode(int32_t **ids_out, size_t *n_out, const eng_tokenizer *tk, const char *text,
			 size_t len, bool parse_special, pl_err *err)
{
	int32_t *ids = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if ((rc = encode_into(tk, text, len, parse_special, &ids, &n, &cap, err)) < 0) {
		free(ids);
		return rc;
	}
	if (!ids)
		ids = pl_xmalloc(sizeof(*ids));
	*ids_out = ids;
	*n_out = n;
	return 0;
}

int eng_tokenizer_encode_prompt(int32_t **ids_out, size_t *n_out, const eng_tokenizer *tk, const char *text,
				size_t len, pl_err *err)
{
	int32_t *ids = NULL;
	size_t n = 0, cap = 0;
	int rc;

	if (tk->add_bos)
		append_id(&ids, &n, &cap, tk->bos);
	if ((rc = encode_into(tk, text, len, true, &ids, &n, &cap, err)) < 0) {
		free(ids);
		return rc;
	}
	if (tk->add_eos)
		append_id(&ids, &n, &cap, tk->eos[0]);
	if (!ids)
		ids = pl_xmalloc(sizeof(*ids));
	*ids_out = ids;
	*n_out = n;
	return 0;
}

/* ---------------------------------------------------------------- decode */

static const char kReplacement[] = "\xEF\xBF\xBD";

void eng_detok_init(eng_detok *d, const eng_tokenizer *tk)
{
	d->tk = tk;
	pl_buf_init(&d->pending, 8);
	d->at_start = true;
}

void eng_detok_init_continue(eng_detok *d, const eng_tokenizer *tk)
{
	eng_detok_init(d, tk);
	d->at_start = false;
}

void eng_detok_release(eng_detok *d)
{
	pl_buf_release(&d->pending);
}

/* Emits the complete characters of the pending bytes; with `all`, the
 * incomplete rest too, each byte as U+FFFD (sentencepiece's rule for a run
 * of byte pieces). */
static void drain(eng_detok *d, pl_buf *out, bool all)
{
	const uint8_t *p = (const uint8_t *)d->pending.ptr;
	size_t n = d->pending.len, i = 0;

	while (i < n) {
		uint8_t c = p[i];
		size_t need = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
		size_t k;

		if (n - i < need && !all)
			break;
		k = eng__spm_utf8_valid_len(p + i, n - i);
		if (k) {
			pl_buf_add(out, p + i, k);
			i += k;
		} else {
			pl_buf_add(out, kReplacement, 3);
			i++;
		}
	}
	memmove(d->pending.ptr, d->pending.ptr + i, n - i);
	pl_buf_setlen(&d->pending, n - i);
}

void eng_detok_flush(pl_buf *out, eng_detok *d)
{
	drain(d, out, true);
}

/* tokenizer.json: the decoder's bytes of each token, through the same
 * UTF-8 assembly; added tokens as their content. */
static int push_hf(eng_detok *d, int32_t id, pl_buf *out)
{
	const eng_tokenizer *tk = d->tk;
	pl_buf bytes = PL_BUF_INIT;
	bool strip = false;

	if (tk->added_idx[id] >= 0) {
		const added_tok *a = &tk->added[tk->added_idx[id]];

		pl_buf_add(&bytes, a->content, a->len);
	} else {
		eng__hf_token_bytes(tk->hf, id, &bytes, &strip);
	}
	if (bytes.len) {
		size_t skip = d->at_start && strip && bytes.ptr[0] == ' ';

		pl_buf_add(&d->pending, bytes.ptr + skip, bytes.len - skip);
		d->at_start = false;
	}
	drain(d, out, false);
	pl_buf_release(&bytes);
	return 0;
}

int eng_detok_push(pl_buf *out, eng_detok *d, int32_t id, pl_err *err)
{
	const eng_tokenizer *tk = d->tk;
	const eng__spm_model *m = tk->spm;
	const eng__spm_piece *p;
	const char *s;
	size_t n;
	bool consumed;

	if (id < 0)
		return pl_err_set(err, PL_EINVAL, "token id %d is negative", id);
	if ((size_t)id >= tk->vocab)
		return 0; /* padding rows of a larger embedding decode to nothing */
	if (tk->hf)
		return push_hf(d, id, out);
	if (tk->added_idx[id] >= 0 && ((size_t)id >= m->n || m->pieces[id].type == ENG__SPM_NORMAL ||
				       m->pieces[id].type == ENG__SPM_USER_DEFINED)) {
		const added_tok *a = &tk->added[tk->added_idx[id]];

		drain(d, out, true);
		pl_buf_add(out, a->content, a->len);
		/* the text after an added token was encoded on its own, with
		 * its own dummy prefix (encode_into) */
		d->at_start = true;
		return 0;
	}
	if ((size_t)id >= m->n)
		return 0;
	p = &m->pieces[id];
	if (p->type == ENG__SPM_CONTROL)
		return 0;
	if (p->type == ENG__SPM_BYTE) {
		static const char hex[] = "0123456789ABCDEF";
		char b = (char)((strchr(hex, p->s[3]) - hex) * 16 + (strchr(hex, p->s[4]) - hex));

		pl_buf_putc(&d->pending, b);
		drain(d, out, false);
		d->at_start = false;
		return 0;
	}
	drain(d, out, true);
	if (p->type == ENG__SPM_UNKNOWN) {
		pl_buf_puts(out, m->unk_surface);
		d->at_start = false;
		return 0;
	}
	s = p->s;
	n = p->len;
	/* sentencepiece drops the dummy prefix: the leading U+2581 of the first
	 * piece that has text; when extra whitespace was removed at encoding,
	 * pieces that were only that mark do not end the leading stretch */
	consumed = false;
	if (d->at_start && (m->add_dummy_prefix || m->remove_extra_ws) && n >= 3 && !memcmp(s, "\xE2\x96\x81", 3)) {
		s += 3;
		n -= 3;
		consumed = !m->remove_extra_ws;
	}
	if (n || consumed)
		d->at_start = false;
	for (size_t i = 0; i < n; i++) {
		if (i + 3 <= n && !memcmp(s + i, "\xE2\x96\x81", 3)) {
			pl_buf_putc(out, ' ');
			i += 2;
		} else {
			pl_buf_putc(out, s[i]);
		}
	}
	return 0;
}

int eng_tokenizer_decode(pl_buf *out, const eng_tokenizer *tk, const int32_t *ids, size_t n, pl_err *err)
{
	eng_detok d;
	int rc = 0;

	eng_detok_init(&d, tk);
	for (size_t i = 0; i < n; i++)
		if ((rc = eng_detok_push(out, &d, ids[i], err)) < 0)
			break;
	if (rc == 0)
		eng_detok_flush(out, &d);
	eng_detok_release(&d);
	return rc;
}

int eng_tokenizer_check_vocab(const eng_tokenizer *tk, int64_t embedding_rows, pl_err *err)
{
	uint64_t rows = embedding_rows > 0 ? (uint64_t)embedding_rows : 0;

	if ((uint64_t)tk->vocab <= rows)
		return 0;
	return pl_err_set(err, PL_EFORMAT,
			  "the tokenizer (%s%s) has ids up to %zu but the embedding has only %lld rows "
			  "(config.json vocab_size): its last %zu ids would have no embedding",
			  tk->spm ? "tokenizer.model" : "tokenizer.json", tk->nadded ? " and its added tokens" : "",
			  tk->vocab - 1, (long long)rows, (size_t)(tk->vocab - rows));
}

int eng_tokenizer_load_for_model(eng_tokenizer **out, const char *model_dir, int64_t embedding_rows, pl_err *err)
{
	pl_buf p = PL_BUF_INIT, q = PL_BUF_INIT;
	eng_tokenizer *tk = NULL;
	bool any;
	int rc;

	*out = NULL;
	pl_path_join(&p, model_dir, "tokenizer.model");
	pl_path_join(&q, model_dir, "tokenizer.json");
	any = pl_file_exists(p.ptr) || pl_file_exists(q.ptr);
	pl_buf_release(&p);
	pl_buf_release(&q);
	if (!any)
		return 0;
	if ((rc = eng_tokenizer_load(&tk, model_dir, err)) < 0)
		return rc;
	if (embedding_rows > 0 && (rc = eng_tokenizer_check_vocab(tk, embedding_rows, err)) < 0) {
		pl_err_prefix(err, "%s", model_dir);
		eng_tokenizer_free(tk);
		return rc;
	}
	*out = tk;
	return 0;
}

/* Facts for `plait model info` and doctor. */
json_t *eng_tokenizer_describe(const eng_tokenizer *tk)
{
	json_t *o = json_object(), *eos = json_array();

	if (tk->spm) {
		pl_json_set(o, "type", json_string("sentencepiece"));
		pl_json_set(o, "model_type",
			    json_string(tk->spm->model_type == ENG__SPM_BPE ? "bpe" : "unigram"));
		pl_json_set(o, "pieces", json_integer((json_int_t)tk->spm->n));
		pl_json_set(o, "byte_fallback", json_boolean(tk->spm->byte_fallback));
		pl_json_set(o, "normalizer", json_string(tk->spm->norm_name));
	} else {
		pl_json_set(o, "type", json_string("tokenizer.json"));
		pl_json_set(o, "model_type", json_string("bpe"));
		pl_json_set(o, "pieces", json_integer((json_int_t)eng__hf_model_size(tk->hf)));
	}
	pl_json_set(o, "vocab_size", json_integer((json_int_t)tk->vocab));
	pl_json_set(o, "added_tokens", json_integer((json_int_t)tk->nadded));
	pl_json_set(o, "bos", json_integer(tk->bos));
	for (size_t i = 0; i < tk->neos; i++)
		json_array_append_new(eos, json_integer(tk->eos[i]));
	pl_json_set(o, "eos", eos);
	pl_json_set(o, "add_bos_token", json_boolean(tk->add_bos));
	return o;
}
