/* spm.h - private: a SentencePiece model read from its protobuf, and its encoder and decoder. */
#ifndef PLAIT_ENGINE_SPM_H
#define PLAIT_ENGINE_SPM_H

#include "common/common.h"

/* ModelProto.SentencePiece.Type */
enum { SPM_NORMAL = 1, SPM_UNKNOWN = 2, SPM_CONTROL = 3, SPM_USER_DEFINED = 4, SPM_UNUSED = 5, SPM_BYTE = 6 };
/* TrainerSpec.ModelType */
enum { SPM_UNIGRAM = 1, SPM_BPE = 2, SPM_WORD = 3, SPM_CHAR = 4 };

typedef struct spm_piece {
	char *s;
	uint32_t len;
	float score;
	int type;
} spm_piece;

/* Open-addressing map from byte strings to ids. */
typedef struct spm_map {
	int32_t *slots; /* -1 = empty */
	size_t cap;     /* power of two */
} spm_map;

typedef struct spm_model {
	spm_piece *pieces;
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
	spm_map normal;   /* NORMAL, USER_DEFINED, UNUSED pieces */
	spm_map reserved; /* every other type */
	spm_map user;     /* USER_DEFINED pieces only (the prefix matcher) */
	size_t max_user_len;
	size_t max_piece_len;
	bool user_first[256]; /* first bytes of user-defined pieces */
	/* every prefix of a NORMAL/USER_DEFINED/UNUSED piece, and the piece equal
	 * to it (-1 when none): the unigram pass walks it like a trie */
	struct spm_prefix {
		uint64_t hash; /* FNV-1a of the prefix */
		int32_t src;   /* a piece that has this prefix */
		uint32_t len;
		int32_t exact;
	} *prefixes;
	size_t prefix_cap; /* power of two; src -1 = empty slot */
	int32_t byte_ids[256];
	float min_score, max_score; /* over NORMAL pieces (unigram) */
} spm_model;

/* Parses a serialized ModelProto.  `what` names the file in messages. */
int spm_model_parse(spm_model **out, const uint8_t *data, size_t size, const char *what, pl_err *err);
void spm_model_free(spm_model *m);

/* Id of a piece as sentencepiece's PieceToId: reserved pieces first, then
 * normal ones, else unk_id. */
int32_t spm_piece_to_id(const spm_model *m, const char *s, size_t len);
/* -1 when absent (no unk fallback). */
int32_t spm_piece_find(const spm_model *m, const char *s, size_t len);

/* Normalize then encode one text, appending ids to *ids (grown with pl_xrealloc). */
int spm_encode(const spm_model *m, const char *text, size_t len, int32_t **ids, size_t *n, size_t *cap,
	       pl_err *err);

#endif /* PLAIT_ENGINE_SPM_H */
