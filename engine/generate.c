/* generate.c - the generation loop over a session and a sampler: sample,
 * append, stream, stop on ids, strings or length.  Session and sampler do
 * not know each other; this file is where they meet. */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

void eng_gen_opts_init(eng_gen_opts *o)
{
	memset(o, 0, sizeof(*o));
}

void eng_gen_result_release(eng_gen_result *res)
{
	free(res->ids);
	free(res->logprobs);
	memset(res, 0, sizeof(*res));
}

static bool is_stop_id(const eng_gen_opts *o, int32_t id)
{
	size_t i;

	for (i = 0; i < o->n_stop_ids; i++)
		if (o->stop_ids[i] == id)
			return true;
	return false;
}

/* The argmax of logits: what a NULL sampler picks. */
static int32_t greedy(const float *logits, int64_t V)
{
	int64_t i;
	int32_t best = 0;

	for (i = 1; i < V; i++)
		if (logits[i] > logits[best])
			best = (int32_t)i;
	return best;
}

int eng_generate(eng_gen_result *res, eng_session *s, eng_sampler *smp, const eng_gen_opts *o, pl_err *err)
{
	const eng_config *c = eng_model_config(eng_session_model(s));
	eng_gen_result r;
	eng_logprob *top = NULL;
	pl_buf text = PL_BUF_INIT;
	size_t cap = 0, i;
	double t0 = pl_now();
	int rc = 0, k = o->logprobs;

	memset(&r, 0, sizeof(r));
	if (!eng_session_logits(s))
		return pl_err_set(err, PL_EINVAL, "generation needs a session holding at least one token");
	if (k < 0 || k > c->vocab || k > 1000)
		return pl_err_set(err, PL_EINVAL, "logprobs %d out of range 0..%lld", k,
				  (long long)(c->vocab < 1000 ? c->vocab : 1000));
	if (o->n_stop_strings && !o->decode)
		return pl_err_set(err, PL_EINVAL, "stop strings need a decode function (a tokenizer)");
	if (o->max_tokens == 0 && c->max_pos <= 0)
		return pl_err_set(err, PL_EINVAL, "max_tokens is needed when the model has no max_position_embeddings");
	r.n_logprobs = k;
	if (k)
		top = pl_xmalloc((size_t)k * sizeof(*top));
	r.finish = ENG_FINISH_LENGTH;
	for (;;) {
		const float *logits = eng_session_logits(s);
		int32_t id;

		if (o->max_tokens && r.n >= o->max_tokens)
			break;
		if (c->max_pos > 0 && eng_session_len(s) >= (size_t)c->max_pos)
			break;
		id = smp ? eng_sampler_sample(smp, logits, c->vocab, eng_session_tokens(s), eng_session_len(s))
			 : greedy(logits, c->vocab);
		if (k)
			eng_logprobs_top(top, logits, c->vocab, k);
		if (is_stop_id(o, id)) {
			r.finish = ENG_FINISH_STOP;
			break;
		}
		if (r.n == cap) {
			cap = cap ? cap * 2 : 64;
			r.ids = pl_xrealloc(r.ids, cap * sizeof(*r.ids));
			if (k)
				r.logprobs = pl_xrealloc(r.logprobs, cap * (size_t)k * sizeof(*r.logprobs));
		}
		r.ids[r.n] = id;
		if (k)
			memcpy(r.logprobs + r.n * (size_t)k, top, (size_t)k * sizeof(*top));
		r.n++;
		if ((rc = eng_session_append(s, &id, 1, NULL, err)) < 0)
			goto fail;
		if (o->on_token && o->on_token(o->user, id, top, k)) {
			r.finish = ENG_FINISH_STOP;
			break;
		}
		if (o->n_stop_strings) {
			pl_buf_reset(&text);
			if ((rc = o->decode(o->decode_user, r.ids, r.n, &text, err)) < 0)
				goto fail;
			for (i = 0; i < o->n_stop_strings; i++)
				if (o->stop_strings[i][0] && strstr(text.ptr, o->stop_strings[i]))
					break;
			if (i < o->n_stop_strings) {
				r.finish = ENG_FINISH_STOP;
				break;
			}
		}
	}
	r.decode_ms = (pl_now() - t0) * 1000.0;
	free(top);
	pl_buf_release(&text);
	*res = r;
	return 0;
fail:
	free(top);
	pl_buf_release(&text);
	eng_gen_result_release(&r);
	return rc;
}
