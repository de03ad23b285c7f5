/* Sessions and generation on a tiny C-written checkpoint: API errors,
 * sampling options, stop ids and strings, streaming, logprobs, fork, and
 * sessions of one model driven from several threads. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "test_ckpt.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

static char *dir;
static eng_model *M;

static void setup(void)
{
	ck c;

	dir = tmpdir("plait-gen");
	ck_build(&c, true);
	ck_write(&c, dir);
	ck_release(&c);
	M = load_ok(dir, 0, 2);
}

static void teardown(void)
{
	eng_model_free(M);
	tmpdir_remove(dir);
}

TestSuite(gen, .init = setup, .fini = teardown);

static eng_session *prompt(void)
{
	static const int32_t ids[] = { 1, 5, 9, 3, 15, 0, 7 };
	eng_session *s = NULL;
	pl_err err = { 0 };

	cr_assert_eq(eng_session_new(&s, M, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(NULL, s, ids, PL_ARRAY_LEN(ids), &err), 0, "%s", err.msg);
	return s;
}

static void gen(eng_gen_result *r, eng_session *s, eng_sampler *smp, const eng_gen_opts *o)
{
	pl_err err = { 0 };

	cr_assert_eq(eng_generate(r, s, smp, o, &err), 0, "%s", err.msg);
}

static eng_sampler *sampler(const eng_sampling *sp, uint64_t seed)
{
	eng_sampler *smp = NULL;
	pl_err err = { 0 };

	cr_assert_eq(eng_sampler_new(&smp, sp, seed, &err), 0, "%s", err.msg);
	return smp;
}

static int on_text_none(void *user, const char *text, size_t len)
{
	(void)user;
	(void)text;
	(void)len;
	return 0;
}

Test(gen, api_errors_are_clear_and_leave_the_session_alone)
{
	eng_session *s = NULL;
	eng_gen_opts o;
	eng_gen_result r;
	pl_err err = { 0 };
	int32_t bad[] = { 3, 16 }, neg = -1;

	cr_assert_eq(eng_session_new(&s, M, &err), 0);
	eng_gen_opts_init(&o);
	o.max_tokens = 4;
	cr_assert_lt(eng_generate(&r, s, NULL, &o, &err), 0);
	cr_assert(strstr(err.msg, "at least one token"), "%s", err.msg);
	cr_assert_null(eng_session_logits(s));
	cr_assert_lt(eng_session_append(NULL, s, bad, 2, &err), 0);
	cr_assert(strstr(err.msg, "token id 16 at index 1 is outside the vocabulary [0, 16)"), "%s", err.msg);
	cr_assert_lt(eng_session_append(NULL, s, &neg, 1, &err), 0);
	cr_assert_eq(eng_session_len(s), 0);
	cr_assert_lt(eng_session_truncate(s, 1, &err), 0);
	cr_assert(strstr(err.msg, "cannot truncate a session of 0 tokens to 1"), "%s", err.msg);
	cr_assert_eq(eng_session_append(NULL, s, bad, 1, &err), 0);
	o.n_stop_strings = 1;
	o.stop_strings = (const char *const[]){ "x" };
	cr_assert_lt(eng_generate(&r, s, NULL, &o, &err), 0);
	cr_assert(strstr(err.msg, "stop strings need a decoder"), "%s", err.msg);
	o.n_stop_strings = 0;
	o.on_text = on_text_none;
	cr_assert_lt(eng_generate(&r, s, NULL, &o, &err), 0);
	cr_assert(strstr(err.msg, "on_text needs a decoder"), "%s", err.msg);
	o.on_text = NULL;
	o.n_stop_strings = 0;
	o.logprobs = 17;
	cr_assert_lt(eng_generate(&r, s, NULL, &o, &err), 0);
	cr_assert(strstr(err.msg, "logprobs 17 out of range"), "%s", err.msg);
	cr_assert_eq(eng_session_len(s), 1);
	eng_session_free(s);
	eng_session_free(NULL);
}

Test(gen, max_position_embeddings_is_a_clear_limit)
{
	eng_session *s = prompt();
	int32_t *many = calloc(600, sizeof(*many));
	pl_err err = { 0 };

	cr_assert_lt(eng_session_append(NULL, s, many, 600, &err), 0);
	cr_assert(strstr(err.msg, "exceed max_position_embeddings 512"), "%s", err.msg);
	cr_assert_eq(eng_session_len(s), 7);
	free(many);
	eng_session_free(s);
}

Test(gen, greedy_is_argmax_and_top_k_1_and_tiny_top_p_agree)
{
	eng_session *s = prompt(), *t = NULL, *u = NULL;
	eng_gen_opts o;
	eng_gen_result a, b, c;
	eng_sampling sp;
	eng_sampler *smp;
	pl_err err = { 0 };
	const float *lg = eng_session_logits(s);
	int32_t best = 0, i;

	for (i = 1; i < 16; i++)
		if (lg[i] > lg[best])
			best = i;
	cr_assert_eq(eng_session_fork(&t, s, &err), 0);
	cr_assert_eq(eng_session_fork(&u, s, &err), 0);
	eng_gen_opts_init(&o);
	o.max_tokens = 12;
	gen(&a, s, NULL, &o);
	cr_assert_eq(a.ids[0], best);
	cr_assert_eq(a.n, 12);
	cr_assert_eq(a.finish, ENG_FINISH_LENGTH);
	cr_assert_eq(eng_session_len(s), 7 + 12);
	eng_sampling_init(&sp);
	sp.temperature = 1.5;
	sp.top_k = 1;
	smp = sampler(&sp, 0);
	gen(&b, t, smp, &o);
	eng_sampler_free(smp);
	sp.top_k = 0;
	sp.top_p = 1e-6;
	smp = sampler(&sp, 0);
	gen(&c, u, smp, &o);
	eng_sampler_free(smp);
	cr_assert_arr_eq(a.ids, b.ids, 12 * sizeof(int32_t));
	cr_assert_arr_eq(a.ids, c.ids, 12 * sizeof(int32_t));
	eng_gen_result_release(&a);
	eng_gen_result_release(&b);
	eng_gen_result_release(&c);
	eng_session_free(s);
	eng_session_free(t);
	eng_session_free(u);
}

static void sample_run(int32_t *out, uint64_t seed, const eng_sampling *sp)
{
	eng_session *s = prompt();
	eng_sampler *smp = sampler(sp, seed);
	eng_gen_opts o;
	eng_gen_result r;

	eng_gen_opts_init(&o);
	o.max_tokens = 24;
	gen(&r, s, smp, &o);
	eng_sampler_free(smp);
	cr_assert_eq(r.n, 24);
	memcpy(out, r.ids, 24 * sizeof(*out));
	eng_gen_result_release(&r);
	eng_session_free(s);
}

Test(gen, seeded_sampling_is_reproducible_and_seed_dependent)
{
	eng_sampling sp;
	int32_t a[24], b[24], c[24];

	eng_sampling_init(&sp);
	sp.temperature = 2.0;
	sample_run(a, 7, &sp);
	sample_run(b, 7, &sp);
	sample_run(c, 8, &sp);
	cr_assert_arr_eq(a, b, sizeof(a));
	cr_assert(memcmp(a, c, sizeof(a)), "seeds 7 and 8 gave the same 24 tokens");
	sp.top_k = 3;
	sp.top_p = 0.9;
	sp.min_p = 0.05;
	sample_run(a, 9, &sp);
	sample_run(b, 9, &sp);
	cr_assert_arr_eq(a, b, sizeof(a));
}

Test(gen, top_k_and_min_p_restrict_the_candidates)
{
	eng_session *s = prompt();
	const float *lg = eng_session_logits(s);
	eng_sampling sp;
	eng_sampler *smp;
	pl_err err = { 0 };
	int32_t order[16], i, j, k;
	float copy[16];

	memcpy(copy, lg, sizeof(copy));
	for (i = 0; i < 16; i++)
		order[i] = i;
	for (i = 0; i < 16; i++)
		for (j = i + 1; j < 16; j++)
			if (copy[order[j]] > copy[order[i]]) {
				k = order[i];
				order[i] = order[j];
				order[j] = k;
			}
	eng_sampling_init(&sp);
	sp.temperature = 5.0;
	sp.top_k = 2;
	smp = sampler(&sp, 3);
	for (i = 0; i < 200; i++) {
		int32_t id = eng_sampler_sample(smp, copy, 16, NULL, 0);

		cr_assert(id == order[0] || id == order[1], "top-k 2 drew %d", id);
	}
	sp.top_k = 0;
	sp.min_p = 1.0; /* only tokens as likely as the best */
	cr_assert_eq(eng_sampler_set_params(smp, &sp, &err), 0, "%s", err.msg);
	for (i = 0; i < 50; i++)
		cr_assert_eq(eng_sampler_sample(smp, copy, 16, NULL, 0), order[0]);
	eng_sampler_free(smp);
	eng_session_free(s);
}

Test(gen, penalties_change_the_choice)
{
	eng_session *s = prompt();
	const int32_t *hist = eng_session_tokens(s);
	size_t n = eng_session_len(s);
	eng_sampling sp;
	eng_sampler *smp;
	float lg[16];
	int32_t i;

	/* Token 5 is in the prompt, token 6 is not; 5 leads by a little. */
	for (i = 0; i < 16; i++)
		lg[i] = -4.0f;
	lg[5] = 2.0f;
	lg[6] = 1.9f;
	eng_sampling_init(&sp);
	smp = sampler(&sp, 0);
	cr_assert_eq(eng_sampler_sample(smp, lg, 16, hist, n), 5);
	eng_sampler_free(smp);
	sp.repetition_penalty = 1.2;
	smp = sampler(&sp, 0);
	cr_assert_eq(eng_sampler_sample(smp, lg, 16, hist, n), 6);
	cr_assert_eq(eng_sampler_sample(smp, lg, 16, NULL, 0), 5, "no history, no penalty");
	eng_sampler_free(smp);
	sp.repetition_penalty = 1.0;
	sp.presence_penalty = 0.5;
	smp = sampler(&sp, 0);
	cr_assert_eq(eng_sampler_sample(smp, lg, 16, hist, n), 6);
	eng_sampler_free(smp);
	eng_session_free(s);
}

Test(gen, stop_ids_end_generation_without_emitting)
{
	eng_session *s = prompt(), *t = NULL;
	eng_gen_opts o;
	eng_gen_result a, b;
	pl_err err = { 0 };
	int32_t stop;

	cr_assert_eq(eng_session_fork(&t, s, &err), 0);
	eng_gen_opts_init(&o);
	o.max_tokens = 10;
	gen(&a, s, NULL, &o);
	stop = a.ids[3];
	o.stop_ids = &stop;
	o.n_stop_ids = 1;
	gen(&b, t, NULL, &o);
	cr_assert_eq(b.finish, ENG_FINISH_STOP);
	cr_assert_leq(b.n, 3);
	cr_assert_neq(b.n > 0 ? b.ids[b.n - 1] : -1, stop);
	cr_assert_eq(eng_session_len(t), 7 + b.n);
	eng_gen_result_release(&a);
	eng_gen_result_release(&b);
	eng_session_free(s);
	eng_session_free(t);
}

/* Decodes id i to the letter 'a' + i. */
static int letters(pl_buf *out, void *user, int32_t id, pl_err *err)
{
	(void)user;
	(void)err;
	pl_buf_putc(out, (char)('a' + id));
	return 0;
}

typedef struct stream {
	int32_t ids[64];
	int n;
	int stop_after;
	float lp0;
} stream;

static int on_token(void *user, int32_t id, const eng_logprob *top, int n_top)
{
	stream *st = user;

	st->ids[st->n++] = id;
	if (n_top)
		st->lp0 = top[0].logprob;
	return st->stop_after && st->n >= st->stop_after;
}

Test(gen, stop_strings_streaming_and_logprobs)
{
	eng_session *s = prompt(), *t = NULL, *u = NULL;
	eng_gen_opts o;
	eng_gen_result a, b, c;
	pl_err err = { 0 };
	stream st = { .n = 0 };
	char stop[3];
	size_t i;
	int j;

	cr_assert_eq(eng_session_fork(&t, s, &err), 0);
	cr_assert_eq(eng_session_fork(&u, s, &err), 0);
	eng_gen_opts_init(&o);
	o.max_tokens = 10;
	o.logprobs = 4;
	o.on_token = on_token;
	o.user = &st;
	gen(&a, s, NULL, &o);
	cr_assert_eq(st.n, 10);
	cr_assert_arr_eq(st.ids, a.ids, 10 * sizeof(int32_t));
	cr_assert_eq(a.n_logprobs, 4);
	for (i = 0; i < a.n; i++) {
		const eng_logprob *lp = a.logprobs + i * 4;
		double sum = 0;

		cr_assert_eq(lp[0].id, a.ids[i], "greedy picks the best logprob");
		for (j = 0; j < 4; j++) {
			cr_assert_leq(lp[j].logprob, 0.0f);
			if (j)
				cr_assert_geq(lp[j - 1].logprob, lp[j].logprob);
			sum += exp(lp[j].logprob);
		}
		cr_assert_leq(sum, 1.0 + 1e-6);
	}
	/* the text of tokens 4 and 5 as a stop string */
	stop[0] = (char)('a' + a.ids[4]);
	stop[1] = (char)('a' + a.ids[5]);
	stop[2] = 0;
	o.logprobs = 0;
	o.on_token = NULL;
	o.decode = letters;
	o.stop_strings = (const char *const[]){ "", stop };
	o.n_stop_strings = 2;
	gen(&b, t, NULL, &o);
	cr_assert_eq(b.finish, ENG_FINISH_STOP);
	cr_assert_leq(b.n, 6);
	/* a streaming callback can stop generation */
	o.n_stop_strings = 0;
	o.on_token = on_token;
	st.n = 0;
	st.stop_after = 2;
	gen(&c, u, NULL, &o);
	cr_assert_eq(c.n, 2);
	cr_assert_eq(c.finish, ENG_FINISH_STOP);
	eng_gen_result_release(&a);
	eng_gen_result_release(&b);
	eng_gen_result_release(&c);
	eng_session_free(s);
	eng_session_free(t);
	eng_session_free(u);
}

Test(gen, fork_is_independent_and_truncate_to_zero_empties)
{
	eng_session *s = prompt(), *t = NULL;
	pl_err err = { 0 };
	float before[16];
	int32_t x = 4;

	memcpy(before, eng_session_logits(s), sizeof(before));
	cr_assert_eq(eng_session_fork(&t, s, &err), 0);
	cr_assert_eq(eng_session_append(NULL, t, &x, 1, &err), 0);
	cr_assert_eq(eng_session_len(s), 7);
	cr_assert_eq(eng_session_len(t), 8);
	cr_assert_arr_eq(eng_session_logits(s), before, sizeof(before));
	cr_assert_eq(eng_session_truncate(t, 7, &err), 0);
	cr_assert_lt(rel_err_f32(eng_session_logits(t), before, 16), 1e-5);
	cr_assert_eq(eng_session_truncate(t, 0, &err), 0);
	cr_assert_eq(eng_session_len(t), 0);
	cr_assert_null(eng_session_logits(t));
	eng_session_free(s);
	eng_session_free(t);
}

Test(gen, logprobs_top_matches_a_direct_log_softmax)
{
	float lg[5] = { 1.0f, 3.0f, -2.0f, 3.0f, 0.5f };
	eng_logprob top[3];
	double lse = 0;
	int i;

	for (i = 0; i < 5; i++)
		lse += exp(lg[i]);
	lse = log(lse);
	eng_logprobs_top(top, lg, 5, 3);
	cr_assert_eq(top[0].id, 1); /* ties: lower id first */
	cr_assert_eq(top[1].id, 3);
	cr_assert_eq(top[2].id, 0);
	cr_assert_float_eq(top[0].logprob, 3.0 - lse, 1e-6);
	cr_assert_float_eq(top[2].logprob, 1.0 - lse, 1e-6);
}

Test(gen, logprobs_top_of_zero_reads_nothing_before_out)
{
	/* out starts right after an inaccessible page: reading out[-1], as
	 * k = 0 once did, faults */
	long page = sysconf(_SC_PAGESIZE);
	char *m = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	float lg[5] = { 1.0f, 3.0f, -2.0f, 3.0f, 0.5f };
	eng_logprob *out;

	cr_assert_neq(m, MAP_FAILED);
	cr_assert_eq(mprotect(m, (size_t)page, PROT_NONE), 0);
	out = (eng_logprob *)(void *)(m + page);
	out[0].id = -7;
	eng_logprobs_top(out, lg, 5, 0);
	cr_assert_eq(out[0].id, -7, "k = 0 writes nothing");
	eng_logprobs_top(out, lg, 5, 1);
	cr_assert_eq(out[0].id, 1);
	cr_assert_eq(munmap(m, (size_t)page * 2), 0);
}

Test(gen, thread_count_does_not_change_the_logits)
{
	/* Work is split over output rows only, so every value is computed the
	 * same way whatever the number of workers. */
	eng_model *one = load_ok(dir, 0, 1), *three = load_ok(dir, 0, 3);
	eng_session *a = NULL, *b = NULL;
	pl_err err = { 0 };
	int32_t ids[40];
	float la[40 * 16], lb[40 * 16];
	int i;

	for (i = 0; i < 40; i++)
		ids[i] = (i * 7) % 16;
	cr_assert_eq(eng_session_new(&a, one, &err), 0);
	cr_assert_eq(eng_session_new(&b, three, &err), 0);
	cr_assert_eq(eng_session_append(la, a, ids, 40, &err), 0);
	cr_assert_eq(eng_session_append(lb, b, ids, 40, &err), 0);
	cr_assert_arr_eq(la, lb, sizeof(la));
	eng_session_free(a);
	eng_session_free(b);
	eng_model_free(one);
	eng_model_free(three);
}

/* One thread's share of sessions_of_one_model_run_from_several_threads. */
typedef struct par_job {
	int32_t ids[48];
	float logits[48 * 16];
	int32_t gen[24];
	int rc;
} par_job;

static void *par_run(void *arg)
{
	par_job *j = arg;
	eng_session *s = NULL;
	pl_err err = { 0 };
	int k;

	j->rc = -1;
	if (eng_session_new(&s, M, &err) < 0)
		return NULL;
	eng_session_set_chunk(s, 5); /* many passes, to interleave */
	if (eng_session_append(j->logits, s, j->ids, PL_ARRAY_LEN(j->ids), &err) < 0)
		goto done;
	/* then token by token, greedy */
	for (k = 0; k < (int)PL_ARRAY_LEN(j->gen); k++) {
		const float *lg = eng_session_logits(s);
		int32_t best = 0, v;

		for (v = 1; v < 16; v++)
			if (lg[v] > lg[best])
				best = v;
		j->gen[k] = best;
		if (eng_session_append(NULL, s, &best, 1, &err) < 0)
			goto done;
	}
	j->rc = 0;
done:
	eng_session_free(s);
	return NULL;
}

Test(gen, sessions_of_one_model_run_from_several_threads, .timeout = 60)
{
	/* Their passes share the model's scratch; the model's lock makes them
	 * take turns, so each gets exactly what it gets alone. */
	enum { N = 4 };
	static par_job alone[N], together[N];
	pthread_t th[N];
	int i, k;

	for (i = 0; i < N; i++)
		for (k = 0; k < 48; k++)
			alone[i].ids[k] = together[i].ids[k] = (int32_t)((k * (i + 3) + i) % 16);
	for (i = 0; i < N; i++) {
		par_run(&alone[i]);
		cr_assert_eq(alone[i].rc, 0);
	}
	for (i = 0; i < N; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, par_run, &together[i]), 0);
	for (i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < N; i++) {
		cr_assert_eq(together[i].rc, 0);
		cr_assert_arr_eq(together[i].logits, alone[i].logits, sizeof(alone[i].logits), "session %d", i);
		cr_assert_arr_eq(together[i].gen, alone[i].gen, sizeof(alone[i].gen), "session %d", i);
	}
}

Test(gen, sampler_fork_seed_and_bad_parameters)
{
	eng_session *s = prompt();
	const float *lg = eng_session_logits(s);
	eng_sampler *a = NULL, *b = NULL;
	eng_sampling sp;
	pl_err err = { 0 };
	int32_t x[32], y[32];
	int i;

	eng_sampling_init(&sp);
	sp.temperature = 3.0;
	a = sampler(&sp, 5);
	for (i = 0; i < 5; i++)
		eng_sampler_sample(a, lg, 16, NULL, 0);
	/* a fork draws what its parent draws from the same logits */
	cr_assert_eq(eng_sampler_fork(&b, a, &err), 0, "%s", err.msg);
	cr_assert_float_eq(eng_sampler_params(b)->temperature, 3.0, 1e-12);
	for (i = 0; i < 32; i++) {
		x[i] = eng_sampler_sample(a, lg, 16, NULL, 0);
		y[i] = eng_sampler_sample(b, lg, 16, NULL, 0);
	}
	cr_assert_arr_eq(x, y, sizeof(x));
	/* seeding again replays the same draws */
	eng_sampler_seed(a, 11);
	eng_sampler_seed(b, 11);
	for (i = 0; i < 32; i++)
		cr_assert_eq(eng_sampler_sample(a, lg, 16, NULL, 0), eng_sampler_sample(b, lg, 16, NULL, 0));
	/* parameters are checked, and a refused change keeps the old ones */
	sp.top_p = 1.5;
	cr_assert_eq(eng_sampler_set_params(a, &sp, &err), PL_EINVAL);
	cr_assert(strstr(err.msg, "top_p 1.5 is outside (0, 1]"), "%s", err.msg);
	cr_assert_float_eq(eng_sampler_params(a)->top_p, 1.0, 1e-12);
	eng_sampling_init(&sp);
	sp.top_k = -1;
	cr_assert_eq(eng_sampler_new(&b, &sp, 0, &err), PL_EINVAL);
	cr_assert(strstr(err.msg, "top_k -1 is negative"), "%s", err.msg);
	eng_sampling_init(&sp);
	sp.temperature = NAN;
	cr_assert_eq(eng_sampler_set_params(a, &sp, &err), PL_EINVAL);
	cr_assert(strstr(err.msg, "temperature"), "%s", err.msg);
	eng_sampling_init(&sp);
	sp.min_p = 2;
	cr_assert_eq(eng_sampler_set_params(a, &sp, &err), PL_EINVAL);
	cr_assert(strstr(err.msg, "min_p 2 is outside [0, 1]"), "%s", err.msg);
	eng_sampler_free(a);
	eng_sampler_free(b);
	eng_sampler_free(NULL);
	eng_session_free(s);
}

/* ---- stop strings and streamed text, over a scripted decoder: the i-th
 * generated id decodes to pieces[i] whatever it is, so each test chooses
 * exactly how the text arrives. */

typedef struct script {
	const char *const *pieces;
	size_t n_pieces;
	const char *end;  /* what decode_end appends; NULL: nothing */
	size_t calls;     /* decode calls, one id each */
	pl_buf streamed;  /* what on_text passed, in order */
	size_t stop_after_texts; /* on_text asks to stop at this call (0: never) */
	size_t texts;
} script;

static int script_decode(pl_buf *out, void *user, int32_t id, pl_err *err)
{
	script *sc = user;

	(void)err;
	cr_assert(id >= 0 && id < 16);
	if (sc->calls < sc->n_pieces)
		pl_buf_puts(out, sc->pieces[sc->calls]);
	sc->calls++;
	return 0;
}

static void script_end(pl_buf *out, void *user)
{
	script *sc = user;

	if (sc->end)
		pl_buf_puts(out, sc->end);
}

static int script_text(void *user, const char *text, size_t len)
{
	script *sc = user;

	cr_assert_gt(len, 0, "on_text is never called with nothing");
	pl_buf_add(&sc->streamed, text, len);
	return sc->stop_after_texts && ++sc->texts >= sc->stop_after_texts;
}

/* Generates greedily from a fresh prompt with the scripted decoder and the
 * stop strings; checks that what streamed is the final text. */
static void scripted(eng_gen_result *r, script *sc, const char *const *stops, size_t n_stops, size_t max_tokens)
{
	eng_session *s = prompt();
	eng_gen_opts o;

	pl_buf_init(&sc->streamed, 0);
	eng_gen_opts_init(&o);
	o.max_tokens = max_tokens;
	o.decode = script_decode;
	o.decode_end = script_end;
	o.decode_user = sc;
	o.on_text = script_text;
	o.user = sc;
	o.stop_strings = stops;
	o.n_stop_strings = n_stops;
	gen(r, s, NULL, &o);
	cr_assert_not_null(r->text);
	cr_assert_eq(strlen(r->text), r->text_len);
	cr_assert_eq(sc->streamed.len, r->text_len, "streamed '%s', text '%s'", sc->streamed.ptr, r->text);
	cr_assert_eq(memcmp(sc->streamed.ptr, r->text, r->text_len), 0);
	cr_assert_eq(sc->calls, r->n, "every kept id is decoded once");
	cr_assert_eq(eng_session_len(s), 7 + r->n, "the ids returned are the ids appended");
	eng_session_free(s);
}

static void script_release(script *sc)
{
	pl_buf_release(&sc->streamed);
}

#define SCRIPT(...) (const char *const[]){ __VA_ARGS__ }, PL_ARRAY_LEN(((const char *const[]){ __VA_ARGS__ }))

Test(gen, stop_string_split_across_tokens)
{
	script sc = { SCRIPT("ab", "c<", "/s", "top>x", "y"), NULL, 0, PL_BUF_INIT, 0, 0 };
	const char *const stops[] = { "</stop>" };
	eng_gen_result r;

	scripted(&r, &sc, stops, 1, 10);
	cr_assert_eq(r.finish, ENG_FINISH_STOP);
	cr_assert_eq(r.n, 4, "the token that completed the stop string is the last one kept");
	cr_assert_str_eq(r.text, "abc");
	eng_gen_result_release(&r);
	script_release(&sc);
}

Test(gen, stop_string_split_across_a_multibyte_character)
{
	/* "€" is E2 82 AC: its bytes arrive in two pieces, the stop string
	 * starts with it */
	script a = { SCRIPT("x", "\xE2\x82", "\xAC", "1", "2"), NULL, 0, PL_BUF_INIT, 0, 0 };
	script b = { SCRIPT("x", "\xE2\x82", "\xAC", "1", "2"), NULL, 0, PL_BUF_INIT, 0, 0 };
	const char *const stop1[] = { "\xE2\x82\xAC" "1" }, *const stop2[] = { "\xE2\x82\xAC" "2" };
	eng_gen_result r;

	scripted(&r, &a, stop1, 1, 10);
	cr_assert_eq(r.finish, ENG_FINISH_STOP);
	cr_assert_eq(r.n, 4);
	cr_assert_str_eq(r.text, "x");
	eng_gen_result_release(&r);
	/* "€1" is no stop: it streams once "1" shows that "€" did not start
	 * "€2"; generation ends at the length limit with the whole text */
	scripted(&r, &b, stop2, 1, 4);
	cr_assert_eq(r.finish, ENG_FINISH_LENGTH);
	cr_assert_str_eq(r.text, "x\xE2\x82\xAC" "1");
	eng_gen_result_release(&r);
	script_release(&a);
	script_release(&b);
}

Test(gen, stop_string_at_the_first_token)
{
	script sc = { SCRIPT("STOP now", "more"), NULL, 0, PL_BUF_INIT, 0, 0 };
	const char *const stops[] = { "STOP" };
	eng_gen_result r;

	scripted(&r, &sc, stops, 1, 10);
	cr_assert_eq(r.finish, ENG_FINISH_STOP);
	cr_assert_eq(r.n, 1);
	cr_assert_eq(r.text_len, 0);
	cr_assert_eq(sc.streamed.len, 0, "nothing streamed");
	eng_gen_result_release(&r);
	script_release(&sc);
}

Test(gen, several_stop_strings_the_earliest_wins)
{
	/* both complete with the same token: the text ends at the one that
	 * starts first */
	script a = { SCRIPT("abcd", "ef", "gh"), NULL, 0, PL_BUF_INIT, 0, 0 };
	/* the short one completes first, inside the long one's start */
	script b = { SCRIPT("abcde", "fg"), NULL, 0, PL_BUF_INIT, 0, 0 };
	/* an empty stop string never matches */
	script c = { SCRIPT("abc", "zz", "q"), NULL, 0, PL_BUF_INIT, 0, 0 };
	const char *const s1[] = { "zz", "de", "cdef" }, *const s2[] = { "bcdefg", "de" }, *const s3[] = { "", "zz" };
	eng_gen_result r;

	scripted(&r, &a, s1, 3, 10);
	cr_assert_eq(r.finish, ENG_FINISH_STOP);
	cr_assert_eq(r.n, 2);
	cr_assert_str_eq(r.text, "ab");
	eng_gen_result_release(&r);
	scripted(&r, &b, s2, 2, 10);
	cr_assert_eq(r.n, 1);
	cr_assert_str_eq(r.text, "abc");
	eng_gen_result_release(&r);
	scripted(&r, &c, s3, 2, 10);
	cr_assert_eq(r.n, 2);
	cr_assert_str_eq(r.text, "abc");
	eng_gen_result_release(&r);
	script_release(&a);
	script_release(&b);
	script_release(&c);
}

Test(gen, stop_string_completed_by_what_the_decoder_holds_at_the_end)
{
	script sc = { SCRIPT("a", "b"), "\xEF\xBF\xBD", 0, PL_BUF_INIT, 0, 0 };
	const char *const stops[] = { "b\xEF\xBF\xBD" };
	eng_gen_result r;

	scripted(&r, &sc, stops, 1, 2);
	cr_assert_eq(r.finish, ENG_FINISH_STOP);
	cr_assert_eq(r.n, 2);
	cr_assert_str_eq(r.text, "a");
	eng_gen_result_release(&r);
	script_release(&sc);
}

Test(gen, on_text_can_stop_generation)
{
	script sc = { SCRIPT("a", "b", "c", "d"), NULL, 0, PL_BUF_INIT, 2, 0 };
	eng_gen_result r;

	scripted(&r, &sc, NULL, 0, 10);
	cr_assert_eq(r.finish, ENG_FINISH_STOP);
	cr_assert_eq(r.n, 2);
	cr_assert_str_eq(r.text, "ab");
	eng_gen_result_release(&r);
	script_release(&sc);
}

/* letters, counting the ids it is asked to decode */
static int count_letters(pl_buf *out, void *user, int32_t id, pl_err *err)
{
	(*(size_t *)user)++;
	return letters(out, NULL, id, err);
}

Test(gen, a_long_generation_decodes_each_id_once)
{
	/* 500 tokens with stop strings that never occur: the decoder is asked
	 * for each id once (decoding the whole output again at each token, as
	 * this loop once did, asks for n(n+1)/2 = 125250 ids) */
	eng_session *s = prompt();
	const char *const stops[] = { "never", "\x01" };
	size_t decoded = 0;
	eng_gen_opts o;
	eng_gen_result r;
	size_t i;

	eng_gen_opts_init(&o);
	o.max_tokens = 500;
	o.decode = count_letters;
	o.decode_user = &decoded;
	o.stop_strings = stops;
	o.n_stop_strings = 2;
	gen(&r, s, NULL, &o);
	cr_assert_eq(r.n, 500);
	cr_assert_eq(decoded, 500);
	cr_assert_eq(r.text_len, 500);
	for (i = 0; i < r.n; i++)
		cr_assert_eq(r.text[i], 'a' + r.ids[i]);
	eng_gen_result_release(&r);
	eng_session_free(s);
}
