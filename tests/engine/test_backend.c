/* The backend seam (engine/backend.h) used directly, on every backend that
 * can run a model: segments of several sessions in one forward batch give
 * exactly what each session gets alone through the public API, and the
 * state operations (truncate, fork) keep what they promise.  This is what
 * batching sessions together will be built on. */
#include "engine/internal.h"
#include "test_ckpt.h"

#include <criterion/parameterized.h>

static char *dir;

static void setup(void)
{
	ck c;

	dir = tmpdir("plait-backend");
	ck_build(&c, true); /* R = 2, vocab 16 */
	ck_write(&c, dir);
	ck_release(&c);
}

static void teardown(void)
{
	tmpdir_remove(dir);
}

static struct criterion_test_params backend_params(void)
{
	static int idx[16];
	size_t n = 0;

	while (eng__backends()[n]) {
		PL_ASSERT(n < PL_ARRAY_LEN(idx));
		idx[n] = (int)n;
		n++;
	}
	return cr_make_param_array(int, idx, n);
}

static eng_model *load_on(int backend)
{
	const char *name = eng__backends()[backend]->name;
	eng_load_opts lo = { 0 };
	eng_model *m = NULL;
	pl_err err = { 0 };
	int rc;

	lo.threads = 2;
	lo.backend = name;
	rc = eng_model_load(&m, dir, &lo, &err);
	if (rc == PL_EUNSUPPORTED && strcmp(name, "cpu"))
		cr_skip_test("backend %s cannot run here: %s", name, err.msg);
	cr_assert_eq(rc, 0, "%s: %s", name, err.msg);
	return m;
}

/* The logits a session gets for prompt then one decode token, through the
 * public API: all prompt rows, then the decode row. */
static void alone(float *prompt_lg, float *step_lg, eng_model *m, const int32_t *ids, size_t n, int32_t next)
{
	eng_session *s = NULL;
	pl_err err = { 0 };

	cr_assert_eq(eng_session_new(&s, m, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(prompt_lg, s, ids, n, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(step_lg, s, &next, 1, &err), 0, "%s", err.msg);
	eng_session_free(s);
}

TestSuite(backend, .init = setup, .fini = teardown);

ParameterizedTestParameters(backend, two_sessions_in_one_batch_equal_each_alone)
{
	return backend_params();
}

ParameterizedTest(int *backend, backend, two_sessions_in_one_batch_equal_each_alone)
{
	static const int32_t p1[] = { 1, 5, 9, 3, 15, 0, 7 }, p2[] = { 2, 2, 8, 14, 6, 1, 0, 11, 4, 13, 12 };
	const int32_t n1 = PL_ARRAY_LEN(p1), n2 = PL_ARRAY_LEN(p2), x1 = 4, x2 = 10;
	eng_model *m = load_on(*backend);
	const eng__backend_ops *ops = m->b->ops;
	const eng_config *c = eng_model_config(m);
	eng__bstate *a = NULL, *b = NULL;
	eng__seg seg[4];
	pl_err err = { 0 };
	float la[7 * 16], lb[11 * 16], sa[16], sb[16]; /* alone */
	float ga[7 * 16], gb[11 * 16], ta[16], tb[16]; /* together */
	int r;

	cr_assert_eq(c->loops, 2);
	alone(la, sa, m, p1, (size_t)n1, x1);
	alone(lb, sb, m, p2, (size_t)n2, x2);
	cr_assert_eq(ops->state_new(&a, m->b, &err), 0, "%s", err.msg);
	cr_assert_eq(ops->state_new(&b, m->b, &err), 0, "%s", err.msg);
	cr_assert_eq(ops->state_reserve(a, (size_t)n1 + 1, &err), 0, "%s", err.msg);
	cr_assert_eq(ops->state_reserve(b, (size_t)n2 + 1, &err), 0, "%s", err.msg);
	cr_assert_eq(ops->prepare(m->b, (size_t)(n1 + n2), (size_t)n2 + 1, &err), 0, "%s", err.msg);
	/* the full-sequence form of both prompts: loop 0 of both, then loop 1
	 * of both, each a batch of two segments of different lengths */
	for (r = 0; r < 2; r++) {
		memset(seg, 0, sizeof(seg));
		seg[0] = (eng__seg){ a, r, 0, (size_t)n1, p1, r == 1 ? ga : NULL, r == 1 };
		seg[1] = (eng__seg){ b, r, 0, (size_t)n2, p2, r == 1 ? gb : NULL, r == 1 };
		cr_assert_eq(ops->forward(m->b, seg, 2, &err), 0, "%s", err.msg);
	}
	cr_assert_arr_eq(ga, la, sizeof(la), "session 1's prompt logits differ when batched");
	cr_assert_arr_eq(gb, lb, sizeof(lb), "session 2's prompt logits differ when batched");
	/* the decode form of both: 2 x R one-row segments in one batch */
	seg[0] = (eng__seg){ a, 0, (size_t)n1, 1, &x1, NULL, false };
	seg[1] = (eng__seg){ b, 0, (size_t)n2, 1, &x2, NULL, false };
	seg[2] = (eng__seg){ a, 1, (size_t)n1, 1, &x1, ta, true };
	seg[3] = (eng__seg){ b, 1, (size_t)n2, 1, &x2, tb, true };
	cr_assert_eq(ops->forward(m->b, seg, 4, &err), 0, "%s", err.msg);
	cr_assert_arr_eq(ta, sa, sizeof(sa), "session 1's decode logits differ when batched");
	cr_assert_arr_eq(tb, sb, sizeof(sb), "session 2's decode logits differ when batched");
	cr_assert_arr_eq(ops->logits(a), sa, sizeof(sa), "keep_last keeps the last row");
	cr_assert_arr_eq(ops->logits(b), sb, sizeof(sb));
	ops->state_free(a);
	ops->state_free(b);
	eng_model_free(m);
}

ParameterizedTestParameters(backend, fork_and_truncate_restore_the_windows)
{
	return backend_params();
}

ParameterizedTest(int *backend, backend, fork_and_truncate_restore_the_windows)
{
	/* 150 positions: more than two 65-key windows.  A fork at 100 and a
	 * state that ran to 150 then was cut back to 100 must continue exactly
	 * as the original did from 100 (the windows of positions 35..99 came
	 * back from the history). */
	enum { N = 150, CUT = 100 };
	eng_model *m = load_on(*backend);
	const eng__backend_ops *ops = m->b->ops;
	eng__bstate *a = NULL, *f = NULL;
	eng__seg seg[2];
	pl_err err = { 0 };
	int32_t ids[N];
	float want[(N - CUT) * 16], got[(N - CUT) * 16], fork_got[(N - CUT) * 16];
	int r, i;

	for (i = 0; i < N; i++)
		ids[i] = (i * 7 + 3) % 16;
	cr_assert_eq(ops->state_new(&a, m->b, &err), 0, "%s", err.msg);
	cr_assert_eq(ops->state_reserve(a, N, &err), 0, "%s", err.msg);
	cr_assert_eq(ops->prepare(m->b, N, N, &err), 0, "%s", err.msg);
	/* 0..99, fork, then 100..149 */
	for (r = 0; r < 2; r++) {
		seg[0] = (eng__seg){ a, r, 0, CUT, ids, NULL, r == 1 };
		cr_assert_eq(ops->forward(m->b, seg, 1, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(ops->state_fork(&f, a, CUT, &err), 0, "%s", err.msg);
	for (r = 0; r < 2; r++) {
		seg[0] = (eng__seg){ a, r, CUT, N - CUT, ids + CUT, r == 1 ? want : NULL, r == 1 };
		cr_assert_eq(ops->forward(m->b, seg, 1, &err), 0, "%s", err.msg);
	}
	/* the fork continues as the original did */
	for (r = 0; r < 2; r++) {
		seg[0] = (eng__seg){ f, r, CUT, N - CUT, ids + CUT, r == 1 ? fork_got : NULL, r == 1 };
		cr_assert_eq(ops->forward(m->b, seg, 1, &err), 0, "%s", err.msg);
	}
	cr_assert_arr_eq(fork_got, want, sizeof(want));
	/* the original, cut back to 100, does too */
	ops->state_truncate(a, CUT);
	for (r = 0; r < 2; r++) {
		seg[0] = (eng__seg){ a, r, CUT, N - CUT, ids + CUT, r == 1 ? got : NULL, r == 1 };
		cr_assert_eq(ops->forward(m->b, seg, 1, &err), 0, "%s", err.msg);
	}
	cr_assert_arr_eq(got, want, sizeof(want));
	ops->state_free(a);
	ops->state_free(f);
	eng_model_free(m);
}

/* eng_model_random (the benchmark's models) on the CPU: a seed gives the
 * same weights every time, the description says what runs, and the
 * sequential decode (loop after loop, for comparisons) computes what the
 * batched one does. */
Test(backend, random_model_sequential_loops_and_description)
{
	eng_config c;
	eng_load_opts lo = { 0 };
	eng_model *m = NULL, *m2 = NULL;
	eng_session *s = NULL, *t = NULL, *u = NULL;
	pl_err err = { 0 };
	int32_t ids[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, nx = 11;
	float a[12 * 40], b[12 * 40], x[40], y[40];
	uint64_t dev, host;
	json_t *d;

	memset(&c, 0, sizeof(c));
	c.hidden = 16;
	c.intermediate = 24;
	c.layers = 2;
	c.heads = 4;
	c.kv_heads = 2;
	c.head_dim = 4;
	c.vocab = 40;
	c.rms_eps = 1e-5;
	c.rope_theta = 10000;
	c.emb_scale = 0.707;
	c.hidden_scale = 0.053;
	c.loops = c.config_loops = 2;
	c.is_plt = true;
	c.window_left = 64;
	lo.threads = 1;
	cr_assert_eq(eng_model_random(&m, &c, 5, &lo, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_model_random(&m2, &c, 5, &lo, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_new(&s, m, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_new(&t, m2, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(a, s, ids, 10, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(b, t, ids, 10, &err), 0, "%s", err.msg);
	cr_assert_arr_eq(a, b, 10 * 40 * sizeof(float), "the same seed must give the same weights");
	/* batched and sequential decode of the next token */
	cr_assert_eq(eng_session_fork(&u, s, &err), 0, "%s", err.msg);
	eng_session_set_sequential_loops(u, true);
	cr_assert_eq(eng_session_append(x, s, &nx, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(eng_session_append(y, u, &nx, 1, &err), 0, "%s", err.msg);
	cr_assert_lt(rel_err_f32(y, x, 40), 1e-5, "sequential loops differ from batched: %g", rel_err_f32(y, x, 40));
	eng_session_memory(s, &dev, &host);
	cr_assert_eq(dev, 0);
	cr_assert_gt(host, 11 * 2 * 2 * 2 * 8 * sizeof(float));
	d = eng_model_describe(m);
	cr_assert_str_eq(json_string_value(json_object_get(d, "backend")), "cpu");
	cr_assert_eq(json_integer_value(json_object_get(d, "loops")), 2);
	json_decref(d);
	eng_session_free(u);
	u = NULL;
	{
		eng_model *bad = NULL;

		c.head_dim = 3;
		cr_assert_eq(eng_model_random(&bad, &c, 5, &lo, &err), PL_EINVAL);
		cr_assert_null(bad);
		cr_assert(strstr(err.msg, "not a valid"), "%s", err.msg);
	}
	eng_session_free(s);
	eng_session_free(t);
	eng_model_free(m);
	eng_model_free(m2);
}
