/* backend_engine.c - the embedded engine in-process.  The conversation is
 * rendered with the model's chat template at each call, but only the text
 * past what the session already holds is encoded and prefilled: the
 * session's K/V is kept between turns.  When the history was rewritten
 * (an elided observation, a rewind) the session is truncated back to the
 * last point both agree on and re-prefilled from there.
 *
 * Those points are checkpoints taken at the end of each generated answer,
 * where the text that follows always begins with a special token
 * (<|im_end|>): the template's text split there encodes to the same ids as
 * the whole, because special tokens are matched first and each stretch
 * between them is encoded on its own (eng_tokenizer_encode with
 * parse_special).  The answer's own tokens stay as sampled. */
#define _GNU_SOURCE
#include "agent/internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/engine.h"

typedef struct cp {
	size_t text, tokens;
} cp;

/* The loaded model: a session's own, or one shared by several. */
struct agent_engine {
	char *dir, *name;
	eng_model *m;
	eng_tokenizer *tk;
	atomic_int sessions;
};

typedef struct eb {
	const agent_settings *s;
	agent_engine *e;
	bool own; /* e is this session's: freed with it */
	eng_session *sess;
	eng_sampler *smp;
	pl_buf cached; /* the text the session's tokens stand for */
	cp *cps;
	size_t ncp, capcp;
	int64_t prefill, reused, generated;
	int32_t stops[24]; /* the tokenizer's and config's eos ids, and <|im_end|> */
	size_t nstops;
} eb;

/* A model directory: the setting itself, or a directory of that name
 * under one of model_dirs. */
static int resolve(char **out, const agent_settings *s, pl_err *err)
{
	char *const *d;
	pl_buf p = PL_BUF_INIT, cfg = PL_BUF_INIT;
	char *e = agent__expand_home(s->model, s->envp);

	pl_path_join(&cfg, e, "config.json");
	if (pl_file_exists(cfg.ptr)) {
		*out = e;
		pl_buf_release(&cfg);
		return 0;
	}
	if (!strchr(s->model, '/')) {
		for (d = s->model_dirs; d && *d; d++) {
			pl_buf_reset(&p);
			pl_buf_reset(&cfg);
			pl_path_join(&p, *d, s->model);
			pl_path_join(&cfg, p.ptr, "config.json");
			if (pl_file_exists(cfg.ptr)) {
				*out = pl_buf_detach(&p, NULL);
				pl_buf_release(&cfg);
				free(e);
				return 0;
			}
		}
	}
	pl_buf_release(&p);
	pl_buf_release(&cfg);
	pl_err_set(err, PL_ENOTFOUND,
		   "model '%s' not found: not a model directory (no config.json) nor a model under model_dirs "
		   "(plait doctor lists what it finds)",
		   s->model);
	free(e);
	return PL_ENOTFOUND;
}

void agent_engine_free(agent_engine *e)
{
	if (!e)
		return;
	eng_tokenizer_free(e->tk);
	eng_model_free(e->m);
	free(e->dir);
	free(e->name);
	free(e);
}

int agent_engine_open(agent_engine **out, const agent_settings *s, pl_err *err)
{
	agent_engine *e = pl_xcalloc(1, sizeof(*e));
	eng_load_opts lo = { 0 };
	const char *slash;
	int rc;

	atomic_init(&e->sessions, 0);
	if ((rc = resolve(&e->dir, s, err)) < 0)
		goto fail;
	slash = strrchr(e->dir, '/');
	e->name = pl_xstrdup(slash && slash[1] ? slash + 1 : e->dir);
	lo.loops = s->loops;
	lo.threads = s->threads;
	if ((rc = eng_model_load(&e->m, e->dir, &lo, err)) < 0)
		goto fail;
	if ((rc = eng_tokenizer_load_for_model(&e->tk, e->dir, eng_model_config(e->m)->vocab, err)) < 0)
		goto fail;
	if (!e->tk) {
		rc = pl_err_set(err, PL_ENOTFOUND, "%s: the engine backend needs the model's tokenizer (tokenizer.model or "
						   "tokenizer.json)",
				e->dir);
		goto fail;
	}
	*out = e;
	return 0;
fail:
	pl_err_prefix(err, "engine backend");
	agent_engine_free(e);
	return rc;
}

json_t *agent_engine_stats(const agent_engine *e)
{
	return json_pack("{s:s, s:s, s:i}", "model", e->name, "dir", e->dir, "sessions",
			 atomic_load(&((agent_engine *)e)->sessions));
}

static void eb_close(void *state)
{
	eb *b = state;

	if (!b)
		return;
	eng_session_free(b->sess);
	eng_sampler_free(b->smp);
	if (b->own)
		agent_engine_free(b->e);
	pl_buf_release(&b->cached);
	free(b->cps);
	free(b);
}

static void push_cp(eb *b, size_t text, size_t tokens)
{
	if (b->ncp == b->capcp) {
		b->capcp = b->capcp ? b->capcp * 2 : 16;
		b->cps = pl_xrealloc(b->cps, b->capcp * sizeof(*b->cps));
	}
	b->cps[b->ncp].text = text;
	b->cps[b->ncp].tokens = tokens;
	b->ncp++;
}

static int eb_open(void **state, const agent_settings *s, agent_engine *shared, pl_err *err)
{
	eb *b = pl_xcalloc(1, sizeof(*b));
	eng_sampling sp;
	int rc;

	b->s = s;
	pl_buf_init(&b->cached, 0);
	if (shared) {
		b->e = shared;
	} else {
		if ((rc = agent_engine_open(&b->e, s, err)) < 0)
			goto fail_quiet;
		b->own = true;
	}
	atomic_fetch_add(&b->e->sessions, 1);
	if ((rc = eng_session_new(&b->sess, b->e->m, err)) < 0)
		goto fail;
	{
		const eng_config *c = eng_model_config(b->e->m);
		const int32_t *eos;
		size_t n = eng_tokenizer_eos_ids(&eos, b->e->tk), k;
		int32_t im_end = eng_tokenizer_find(b->e->tk, "<|im_end|>");

		for (k = 0; k < n && b->nstops < 8; k++)
			b->stops[b->nstops++] = eos[k];
		for (k = 0; k < (size_t)c->n_eos && k < 8; k++)
			b->stops[b->nstops++] = c->eos_ids[k];
		/* the template ends every turn with it, whatever the files say */
		if (im_end >= 0)
			b->stops[b->nstops++] = im_end;
	}
	eng_sampling_init(&sp);
	sp.temperature = s->temperature;
	sp.top_p = s->top_p;
	sp.top_k = s->top_k;
	if ((rc = eng_sampler_new(&b->smp, &sp, s->seed >= 0 ? (uint64_t)s->seed : 0, err)) < 0)
		goto fail;
	push_cp(b, 0, 0);
	*state = b;
	return 0;
fail:
	pl_err_prefix(err, "engine backend");
fail_quiet:
	eb_close(b);
	return rc;
}

static const char *eb_model(void *state)
{
	return ((eb *)state)->e->name;
}

static json_t *eb_stats(void *state)
{
	eb *b = state;

	return json_pack("{s:I, s:I, s:I, s:I}", "prefill_tokens", (json_int_t)b->prefill, "reused_tokens",
			 (json_int_t)b->reused, "generated_tokens", (json_int_t)b->generated, "session_tokens",
			 (json_int_t)eng_session_len(b->sess));
}

static int64_t eb_window(void *state)
{
	return eng_model_config(((eb *)state)->e->m)->max_pos;
}

typedef struct gen_ctx {
	const agent__request *rq;
	bool cancelled, late;
} gen_ctx;

static int on_token(void *user, int32_t id, const eng_logprob *top, int n_top)
{
	gen_ctx *g = user;

	(void)id, (void)top, (void)n_top;
	if (g->rq->cancel && atomic_load(g->rq->cancel))
		g->cancelled = true;
	else if (g->rq->deadline > 0 && pl_now() >= g->rq->deadline)
		g->late = true;
	return g->cancelled || g->late;
}

static int on_text(void *user, const char *text, size_t len)
{
	gen_ctx *g = user;

	if (g->rq->on_text)
		g->rq->on_text(g->rq->user, text, len);
	return 0;
}

static int eb_chat(agent__reply *out, void *state, const agent__request *rq, pl_err *err)
{
	eb *b = state;
	const agent_settings *s = b->s;
	const eng_config *cfg = eng_model_config(b->e->m);
	eng_chat_opts co = { 0 };
	pl_buf text = PL_BUF_INIT;
	int32_t *ids = NULL;
	size_t n = 0, i, best = 0;
	eng_gen_opts go;
	eng_gen_result res;
	eng_detok dt;
	gen_ctx g = { rq, false, false };
	double t0;
	int64_t room;
	int rc;

	memset(&res, 0, sizeof(res));
	co.dialect = (eng_tool_dialect)rq->dialect;
	co.add_generation_prompt = true;
	if ((rc = eng_chat_render(&text, rq->messages, rq->tools, &co, err)) < 0)
		goto done;
	/* the longest checkpoint whose text still begins the conversation */
	for (i = 0; i < b->ncp; i++)
		if (b->cps[i].text <= text.len && b->cps[i].text <= b->cached.len &&
		    !memcmp(text.ptr, b->cached.ptr, b->cps[i].text))
			best = i;
	if (eng_session_len(b->sess) > b->cps[best].tokens &&
	    (rc = eng_session_truncate(b->sess, b->cps[best].tokens, err)) < 0)
		goto done;
	b->ncp = best + 1;
	pl_buf_setlen(&b->cached, b->cps[best].text);
	if ((rc = eng_tokenizer_encode(&ids, &n, b->e->tk, text.ptr + b->cps[best].text, text.len - b->cps[best].text, true,
				       err)) < 0)
		goto done;
	if (cfg->max_pos > 0 && (int64_t)(eng_session_len(b->sess) + n) >= cfg->max_pos) {
		rc = pl_err_set(err, PL_ELIMIT,
				"the conversation (%zu tokens) does not fit the model's context of %lld tokens; lower "
				"context.budget",
				eng_session_len(b->sess) + n, (long long)cfg->max_pos);
		goto done;
	}
	t0 = pl_now();
	if (n && (rc = eng_session_append(NULL, b->sess, ids, n, err)) < 0)
		goto done;
	out->wait_s += pl_now() - t0;
	pl_buf_add(&b->cached, text.ptr + b->cps[best].text, text.len - b->cps[best].text);
	out->usage.input = (int64_t)eng_session_len(b->sess);
	out->usage.cached = (int64_t)b->cps[best].tokens;
	b->prefill += (int64_t)n;
	b->reused += (int64_t)b->cps[best].tokens;

	eng_gen_opts_init(&go);
	room = cfg->max_pos > 0 ? cfg->max_pos - (int64_t)eng_session_len(b->sess) : s->max_tokens;
	go.max_tokens = (size_t)(s->max_tokens < room ? s->max_tokens : room);
	go.stop_ids = b->stops;
	go.n_stop_ids = b->nstops;
	go.on_token = on_token;
	go.on_text = on_text;
	go.user = &g;
	eng_detok_init(&dt, b->e->tk);
	eng_gen_opts_use_detok(&go, &dt);
	t0 = pl_now();
	rc = eng_generate(&res, b->sess, b->smp, &go, err);
	out->wait_s += pl_now() - t0;
	eng_detok_release(&dt);
	if (rc < 0)
		goto done;
	if (res.text)
		pl_buf_add(&out->text, res.text, res.text_len);
	out->usage.output = (int64_t)res.n;
	b->generated += (int64_t)res.n;
	/* the session now holds the answer's tokens: a checkpoint at its end */
	pl_buf_add(&b->cached, res.text ? res.text : "", res.text ? res.text_len : 0);
	push_cp(b, b->cached.len, eng_session_len(b->sess));
	snprintf(out->finish, sizeof(out->finish), "%s", res.finish == ENG_FINISH_STOP ? "stop" : "length");
	if (g.cancelled)
		rc = pl_err_set(err, PL_ECANCELED, "cancelled");
	else if (g.late)
		rc = pl_err_set(err, PL_ETIMEOUT, "the run's time limit passed while the model was writing");
done:
	eng_gen_result_release(&res);
	free(ids);
	pl_buf_release(&text);
	return rc;
}

const agent__backend_ops agent__backend_engine = {
	"engine", false, eb_open, NULL, eb_chat, eb_model, eb_stats, eb_window, eb_close,
};
