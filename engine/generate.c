/* generate.c - the generation loop over a session and a sampler: sample,
 * append, decode, stream, stop on ids, strings or length.  Session and
 * sampler do not know each other; this file is where they meet.
 *
 * The text is decoded one id at a time (a streaming decoder), and stop
 * strings are searched only in the bytes a new occurrence can touch
 * (stop.c): a generation costs time linear in its length.  Text that could
 * be the start of a stop string is held back from on_text until the next
 * bytes show it is not, so that what streamed always equals the final
 * text. */
#include "engine/internal.h"
#include "engine/stop.h"

#include <stdlib.h>
#include <string.h>

static int detok_decode(pl_buf *out, void *user, int32_t id, pl_err *err)
{
	return eng_detok_push(out, user, id, err);
}

static void detok_end(pl_buf *out, void *user)
{
	eng_detok_flush(out, user);
}

void eng_gen_opts_init(eng_gen_opts *o)
{
	memset(o, 0, sizeof(*o));
}

void eng_gen_opts_use_detok(eng_gen_opts *o, eng_detok *d)
{
	o->decode = detok_decode;
	o->decode_end = detok_end;
	o->decode_user = d;
}

void eng_gen_result_release(eng_gen_result *res)
{
	free(res->ids);
	free(res->logprobs);
	free(res->text);
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

/* The decoded text, what of it is final (passed to on_text), and the stop
 * strings. */
typedef struct textstate {
	const eng_gen_opts *o;
	pl_buf text;
	size_t emitted;
	eng__stops stops;
	bool stopped; /* a stop string was found; the text ends before it */
	bool halt;    /* on_text asked to stop */
} textstate;

static void emit(textstate *t, size_t upto)
{
	if (upto <= t->emitted)
		return;
	if (t->o->on_text && t->o->on_text(t->o->user, t->text.ptr + t->emitted, upto - t->emitted))
		t->halt = true;
	t->emitted = upto;
}

/* The text grew from old bytes: cut it at a stop string that is now
 * complete, then pass on what is final. */
static void text_grew(textstate *t, size_t old, bool at_end)
{
	size_t at = eng__stops_find(&t->stops, t->text.ptr, old, t->text.len);

	if (at != SIZE_MAX) {
		pl_buf_setlen(&t->text, at);
		t->stopped = true;
		at_end = true;
	}
	emit(t, at_end ? t->text.len
		       : t->text.len - eng__stops_partial(&t->stops, t->text.ptr, t->emitted, t->text.len));
}

int eng_generate(eng_gen_result *res, eng_session *s, eng_sampler *smp, const eng_gen_opts *o, pl_err *err)
{
	const eng_config *c = eng_model_config(eng_session_model(s));
	eng_gen_result r;
	eng_logprob *top = NULL;
	textstate t = { 0 };
	size_t cap = 0;
	double t0 = pl_now();
	int rc = 0, k = o->logprobs;

	memset(&r, 0, sizeof(r));
	if (!eng_session_logits(s))
		return pl_err_set(err, PL_EINVAL, "generation needs a session holding at least one token");
	if (k < 0 || k > c->vocab || k > 1000)
		return pl_err_set(err, PL_EINVAL, "logprobs %d out of range 0..%lld", k,
				  (long long)(c->vocab < 1000 ? c->vocab : 1000));
	if ((o->n_stop_strings || o->on_text) && !o->decode)
		return pl_err_set(err, PL_EINVAL, "%s need%s a decoder (eng_gen_opts_use_detok)",
				  o->n_stop_strings ? "stop strings" : "on_text", o->n_stop_strings ? "" : "s");
	if (o->max_tokens == 0 && c->max_pos <= 0)
		return pl_err_set(err, PL_EINVAL, "max_tokens is needed when the model has no max_position_embeddings");
	t.o = o;
	pl_buf_init(&t.text, 0);
	eng__stops_init(&t.stops, o->stop_strings, o->n_stop_strings);
	r.n_logprobs = k;
	if (k)
		top = pl_xmalloc((size_t)k * sizeof(*top));
	r.finish = ENG_FINISH_LENGTH;
	for (;;) {
		bool halt = false;
		int32_t id;

		if (o->max_tokens && r.n >= o->max_tokens)
			break;
		if (c->max_pos > 0 && eng_session_len(s) >= (size_t)c->max_pos)
			break;
		if ((rc = eng__session_sample(&id, s, smp, err)) < 0)
			goto fail;
		if (k && (rc = eng__session_logprobs(top, s, k, err)) < 0)
			goto fail;
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
		if ((rc = eng_session_append(NULL, s, &id, 1, err)) < 0)
			goto fail;
		if (o->on_token && o->on_token(o->user, id, top, k))
			halt = true;
		if (o->decode) {
			size_t old = t.text.len;

			if ((rc = o->decode(&t.text, o->decode_user, id, err)) < 0)
				goto fail;
			text_grew(&t, old, false);
		}
		if (halt || t.stopped || t.halt) {
			r.finish = ENG_FINISH_STOP;
			break;
		}
	}
	if (o->decode && !t.stopped) {
		/* what the decoder still holds (an incomplete character), which
		 * may complete a stop string, then all of the text */
		size_t old = t.text.len;

		if (o->decode_end)
			o->decode_end(&t.text, o->decode_user);
		text_grew(&t, old, true);
		if (t.stopped)
			r.finish = ENG_FINISH_STOP;
	}
	if (o->decode) {
		r.text = pl_buf_detach(&t.text, &r.text_len);
	}
	r.decode_ms = (pl_now() - t0) * 1000.0;
	free(top);
	eng__stops_release(&t.stops);
	*res = r;
	return 0;
fail:
	free(top);
	pl_buf_release(&t.text);
	eng__stops_release(&t.stops);
	eng_gen_result_release(&r);
	return rc;
}
