/* internal.h - private: the core's model and session (model.c,
 * session.c), over a backend (backend.h).  Nothing outside engine/
 * includes it. */
#ifndef PLAIT_ENGINE_INTERNAL_H
#define PLAIT_ENGINE_INTERNAL_H

#include "engine/backend.h"

struct eng_model {
	eng_config cfg;
	char *dir;
	uint64_t params, file_bytes;
	const pl_log *log;
	eng__backend *b; /* the weights and working memory, on its backend */
};

struct eng_session {
	eng_model *m;
	eng__bstate *st; /* K/V, windows, saved states, logits: the backend's */
	size_t len, cap; /* tokens held; room for tokens */
	int32_t *tokens;
	bool have_logits;
	bool sequential; /* decode loop after loop (comparisons only) */
	size_t chunk;
};

/* One id drawn from the session's logits (it must hold a token) with smp
 * and the session's tokens as the history; smp NULL: the argmax. */
int eng__session_sample(int32_t *id_out, eng_session *s, eng_sampler *smp, pl_err *err);
/* The top k log-probabilities of the session's logits (it must hold a
 * token), computed where the logits are. */
int eng__session_logprobs(eng_logprob *out, eng_session *s, int k, pl_err *err);

#endif
