/* hf.h - private: a Hugging Face tokenizer.json BPE model (byte-level or
 * metaspace), its encoder and its per-token decoder. */
#ifndef PLAIT_ENGINE_HF_H
#define PLAIT_ENGINE_HF_H

#include "common/common.h"

/* Unicode classes of the GPT-2 split pattern (hf_unicode.c, generated). */
bool eng__hf_is_letter(uint32_t c);
bool eng__hf_is_number(uint32_t c);
bool eng__hf_is_space(uint32_t c);

typedef struct eng__hf_model eng__hf_model;

typedef struct eng__hf_added {
	const char *content; /* borrowed from the model */
	int32_t id;
	bool special;
} eng__hf_added;

/* Loads tokenizer.json; `path` names the file in messages. */
int eng__hf_model_load(eng__hf_model **out, const char *path, pl_err *err);
void eng__hf_model_free(eng__hf_model *m);
/* One past the largest id of the model's vocabulary and added tokens. */
size_t eng__hf_model_size(const eng__hf_model *m);
/* The token string of id, NULL for a gap. */
const char *eng__hf_model_token(const eng__hf_model *m, int32_t id);
int32_t eng__hf_model_find(const eng__hf_model *m, const char *s, size_t len);
/* The added_tokens of the file (borrowed). */
const eng__hf_added *eng__hf_model_added(const eng__hf_model *m, size_t *n);
/* Encodes text that holds no added token; at_start says whether it begins
 * the whole input (the metaspace "first" scheme). */
int eng__hf_encode(const eng__hf_model *m, const char *text, size_t len, bool at_start, int32_t **ids,
		   size_t *n, size_t *cap, pl_err *err);
/* The bytes id stands for after the decoder (byte-level map, metaspace
 * mark, byte fallback); *strip_lead says the decoder drops one leading
 * space of the whole text. */
void eng__hf_token_bytes(const eng__hf_model *m, int32_t id, pl_buf *out, bool *strip_lead);

#endif /* PLAIT_ENGINE_HF_H */
