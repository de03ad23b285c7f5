/* spm.h - private: a SentencePiece model read from its protobuf, and its encoder and decoder. */
#ifndef PLAIT_ENGINE_SPM_H
#define PLAIT_ENGINE_SPM_H

#include "common/common.h"

/* ModelProto.SentencePiece.Type */
enum {
	ENG__SPM_NORMAL = 1,
	ENG__SPM_UNKNOWN = 2,
	ENG__SPM_CONTROL = 3,
	ENG__SPM_USER_DEFINED = 4,
	ENG__SPM_UNUSED = 5,
	ENG__SPM_BYTE = 6
};
/* TrainerSpec.ModelType */
enum { ENG__SPM_UNIGRAM = 1, ENG__SPM_BPE = 2, ENG__SPM_WORD = 3, ENG__SPM_CHAR = 4 };

typedef struct eng__spm_piece {
	char *s;
	uint32_t len;
	float score;
	int type;
} eng__spm_piece;

/* Open-addressing map from byte strings to ids. */
typedef struct eng__spm_map {
	int32_t *slots; /* -1 = empty */
	size_t cap;     /* power of two */
} eng__spm_map;

typedef struct eng__spm_model {
	eng__spm_piece *pieces;
	size_t n;
	int model_type;
	bool byte_fallback;
	int32_t unk_id, bos_id, eos_id, pad_id; /* resolved ids, -1 when absent */
	char *unk_surface;
	/* normalizer_spec */
	char *norm_name;
	bool add_dummy_prefix, remove_extra_ws, escape_ws;
	uint32_t *trie; /* precompiled_charsmap: Darts-clone units, NULL for identity */
	size_t trie_n;
	char *norm_blob; /* replacement strings, NUL-terminated */
	size_t norm_blob_len;
	/* lookups, as sentencepiece's model_interface builds them */
	eng__spm_map normal;   /* NORMAL, USER_DEFINED, UNUSED pieces */
	eng__spm_map reserved; /* every other type */
	eng__spm_map user;     /* USER_DEFINED pieces only (the prefix matcher) */
	size_t max_user_len;
	size_t max_piece_len;
	bool user_first[256]; /* first bytes of user-defined pieces */
	/* every prefix of a NORMAL/USER_DEFINED/UNUSED piece, and the piece equal
	 * to it (-1 when none): the unigram pass walks it like a trie */
	struct eng__spm_prefix {
		uint64_t hash; /* FNV-1a of the prefix */
		int32_t src;   /* a piece that has this prefix */
		uint32_t len;
		int32_t exact;
	} * prefixes;
	size_t prefix_cap; /* power of two; src -1 = empty slot */
	int32_t byte_ids[256];
	float min_score, max_score; /* over NORMAL pieces (unigram) */
} eng__spm_model;

/* Parses a serialized ModelProto.  `what` names the file in messages. */
int eng__spm_model_parse(eng__spm_model **out, const uint8_t *data, size_t size, const char *what,
			 pl_err *err);
void eng__spm_model_free(eng__spm_model *m);

/* Id of a piece as sentencepiece's PieceToId: reserved pieces first, then
 * normal ones, else unk_id. */
int32_t eng__spm_piece_to_id(const eng__spm_model *m, const char *s, size_t len);
/* -1 when absent (no unk fallback). */
int32_t eng__spm_piece_find(const eng__spm_model *m, const char *s, size_t len);

/* The length of the UTF-8 character at s (n bytes available) as
 * sentencepiece's DecodeUTF8 reads it; 0 when the bytes are not valid
 * UTF-8. */
size_t eng__spm_utf8_valid_len(const uint8_t *s, size_t n);

/* Normalize then encode one text, appending ids to *ids (grown with pl_xrealloc). */
int eng__spm_encode(const eng__spm_model *m, const char *text, size_t len, int32_t **ids, size_t *n,
		    size_t *cap, pl_err *err);

#endif /* PLAIT_ENGINE_SPM_H */
