/* cuda_backend.c - the "cuda" entry of backend.h's list: a C adapter over
 * the CUDA module's version-2 table (cuda/module.h), which mirrors
 * eng__backend_ops in plain C types.  What the module cannot do itself is
 * here: finding it (cuda_module.c), the checkpoint's tensors as plain
 * structs, the progress of the upload, the sampler's draw (so that a seed
 * draws alike on every backend), logits copied to the host on demand, and
 * the description as JSON.
 *
 * Compiled in every build (plain C over the module's table); only CUDA
 * builds list it among the backends (backends.c). */
#include "engine/backend.h"
#include "engine/cuda/module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cuda_backend {
	eng__backend base;
	const eng_cuda_ops_v2 *ops;
	void *h;
	const pl_log *log;
} cuda_backend;

typedef struct cuda_state {
	eng__bstate base;
	void *h;
	float *host_logits; /* for eng_session_logits, filled on demand */
} cuda_state;

static const eng_cuda_ops_v2 *ops_of(const eng__backend *b)
{
	return ((const cuda_backend *)b)->ops;
}

static eng_cuda_tensor tensor(const eng__st_tensor *t)
{
	eng_cuda_tensor c;

	memset(&c, 0, sizeof(c));
	if (!t)
		return c;
	c.data = t->data;
	c.dtype = t->dtype == ENG__ST_BF16 ? ENG_CUDA_BF16 : t->dtype == ENG__ST_F16 ? ENG_CUDA_F16 : ENG_CUDA_F32;
	c.rows = t->shape[0];
	c.cols = t->ndim == 2 ? t->shape[1] : 0;
	return c;
}

typedef struct upload_progress {
	const eng__backend_opts *o;
	int last_pct;
} upload_progress;

static void on_progress(void *user, uint64_t done, uint64_t total)
{
	upload_progress *p = user;
	int pct = total ? (int)(done * 100 / total) : 100;

	if (p->o->progress) {
		p->o->progress(p->o->progress_user, done, total);
		return;
	}
	/* no callback: a line per quarter, at info level */
	if (pct / 25 > p->last_pct / 25 || (pct == 100 && p->last_pct < 100))
		pl_log_info(p->o->log, "cuda: weights %.2f of %.2f GB on the device (%d%%)", (double)done / 1e9,
			    (double)total / 1e9, pct);
	p->last_pct = pct;
}

static int cu_upload(eng__backend **out, const eng__checkpoint *ck, const eng__backend_opts *o, pl_err *err)
{
	const eng_config *c = ck->cfg;
	const eng_cuda_ops_v2 *ops;
	eng_cuda_model_desc d;
	eng_cuda_layer *layers = NULL;
	upload_progress up = { o, -1 };
	cuda_backend *b;
	int64_t i;
	int rc;

	if ((rc = eng__cuda_module_load_v2(&ops, err)) < 0)
		return rc;
	memset(&d, 0, sizeof(d));
	d.cfg = c;
	d.device = 0;
	d.progress = on_progress;
	d.progress_user = &up;
	if (ck->random) {
		d.random = 1;
		d.seed = ck->seed;
	} else {
		d.embed = tensor(ck->embed);
		d.norm = tensor(ck->norm);
		d.lm_head = tensor(ck->lm_head);
		layers = pl_xcalloc((size_t)c->layers, sizeof(*layers));
		for (i = 0; i < c->layers; i++) {
			const eng__layer_tensors *t = &ck->layer[i];
			eng_cuda_layer *l = &layers[i];

			l->ln1 = tensor(t->ln1);
			l->ln2 = tensor(t->ln2);
			l->q = tensor(t->q);
			l->k = tensor(t->k);
			l->v = tensor(t->v);
			l->o = tensor(t->o);
			l->gate = tensor(t->gate);
			l->up = tensor(t->up);
			l->down = tensor(t->down);
			l->gate_w = tensor(t->gate_w);
			l->gate_b = tensor(t->gate_b);
			l->gate_norm = tensor(t->gate_norm);
		}
		d.layer = layers;
	}
	b = pl_xcalloc(1, sizeof(*b));
	b->base.ops = &eng__cuda_backend;
	b->base.cfg = c;
	b->ops = ops;
	b->log = o->log;
	rc = ops->upload(&b->h, &d, err);
	free(layers);
	if (rc < 0) {
		free(b);
		return rc;
	}
	*out = &b->base;
	return 0;
}

static void cu_free(eng__backend *b)
{
	if (!b)
		return;
	ops_of(b)->model_free(((cuda_backend *)b)->h);
	free(b);
}

static int cu_state_new(eng__bstate **out, eng__backend *b, pl_err *err)
{
	cuda_state *s = pl_xcalloc(1, sizeof(*s));
	int rc;

	s->base.b = b;
	if ((rc = ops_of(b)->state_new(&s->h, ((cuda_backend *)b)->h, err)) < 0) {
		free(s);
		return rc;
	}
	*out = &s->base;
	return 0;
}

static void cu_state_free(eng__bstate *st)
{
	cuda_state *s = (cuda_state *)st;

	if (!s)
		return;
	ops_of(st->b)->state_free(s->h);
	free(s->host_logits);
	free(s);
}

static int cu_state_reserve(eng__bstate *st, size_t positions, pl_err *err)
{
	return ops_of(st->b)->state_reserve(((cuda_state *)st)->h, positions, err);
}

static void cu_state_truncate(eng__bstate *st, size_t len)
{
	ops_of(st->b)->state_truncate(((cuda_state *)st)->h, len);
}

static int cu_state_fork(eng__bstate **out, const eng__bstate *st, size_t len, pl_err *err)
{
	cuda_state *f = pl_xcalloc(1, sizeof(*f));
	int rc;

	f->base.b = st->b;
	if ((rc = ops_of(st->b)->state_fork(&f->h, ((const cuda_state *)st)->h, len, err)) < 0) {
		free(f);
		return rc;
	}
	*out = &f->base;
	return 0;
}

static int cu_prepare(eng__backend *b, size_t rows, size_t ctx, pl_err *err)
{
	return ops_of(b)->prepare(((cuda_backend *)b)->h, rows, ctx, err);
}

static int cu_forward(eng__backend *b, const eng__seg *seg, int nseg, pl_err *err)
{
	eng_cuda_seg one[ENG_MAX_LOOPS], *cs = one;
	int i, rc;

	memset(one, 0, sizeof(one));
	if (nseg > ENG_MAX_LOOPS)
		cs = pl_xcalloc((size_t)nseg, sizeof(*cs));
	for (i = 0; i < nseg; i++) {
		cs[i].state = ((cuda_state *)seg[i].st)->h;
		cs[i].loop = seg[i].loop;
		cs[i].start = seg[i].start;
		cs[i].count = seg[i].count;
		cs[i].ids = seg[i].ids;
		cs[i].logits = seg[i].logits;
		cs[i].keep_last = seg[i].keep_last;
	}
	rc = ops_of(b)->forward(((cuda_backend *)b)->h, cs, nseg, err);
	if (cs != one)
		free(cs);
	return rc;
}

static const float *cu_logits(eng__bstate *st)
{
	cuda_state *s = (cuda_state *)st;
	pl_err err = { 0 };

	if (!s->host_logits)
		s->host_logits = pl_xmalloc((size_t)st->b->cfg->vocab * sizeof(float));
	if (ops_of(st->b)->logits(s->host_logits, s->h, &err) < 0) {
		pl_log_error(((cuda_backend *)st->b)->log, "cuda: %s", err.msg);
		return NULL;
	}
	return s->host_logits;
}

static int cu_sample(int32_t *id_out, eng__bstate *st, eng_sampler *smp, const int32_t *history, size_t n_history,
		     pl_err *err)
{
	eng_cuda_sampling sp;

	memset(&sp, 0, sizeof(sp));
	if (smp) {
		sp.params = *eng_sampler_params(smp);
		/* the one draw of this token, on the host: the same numbers as
		 * the CPU backend's for the same seed */
		if (sp.params.temperature > 0)
			sp.draw = eng__sampler_draw(smp);
	} else {
		eng_sampling_init(&sp.params);
	}
	return ops_of(st->b)->sample(id_out, ((cuda_state *)st)->h, &sp, history, n_history, err);
}

static int cu_logprobs(eng_logprob *out, eng__bstate *st, int k, pl_err *err)
{
	return ops_of(st->b)->logprobs(out, ((cuda_state *)st)->h, k, err);
}

static void cu_state_memory(const eng__bstate *st, uint64_t *device, uint64_t *host)
{
	ops_of(st->b)->state_memory(((const cuda_state *)st)->h, device, host);
}

static json_t *cu_describe(eng__backend *b)
{
	char buf[8192];
	json_t *j;

	ops_of(b)->describe(((cuda_backend *)b)->h, buf, sizeof(buf));
	j = json_loads(buf, 0, NULL);
	if (!j)
		j = json_pack("{s:s}", "raw", buf);
	pl_json_set(j, "backend", json_string("cuda"));
	return j;
}

static int cu_profile(eng__backend *b, bool on, pl_err *err)
{
	int e = ops_of(b)->profile(((cuda_backend *)b)->h, on);

	if (e)
		return pl_err_set(err, PL_EINTERNAL, "turning the kernel profile %s: CUDA error %d", on ? "on" : "off", e);
	return 0;
}

const eng__backend_ops eng__cuda_backend = {
	.name = "cuda",
	.upload = cu_upload,
	.free = cu_free,
	.state_new = cu_state_new,
	.state_free = cu_state_free,
	.state_reserve = cu_state_reserve,
	.state_truncate = cu_state_truncate,
	.state_fork = cu_state_fork,
	.prepare = cu_prepare,
	.forward = cu_forward,
	.logits = cu_logits,
	.sample = cu_sample,
	.logprobs = cu_logprobs,
	.state_memory = cu_state_memory,
	.describe = cu_describe,
	.profile = cu_profile,
};

int eng_gpu_ceilings_measure(eng_gpu_ceilings *out, int device, pl_err *err)
{
#ifdef PLAIT_HAVE_CUDA
	const eng_cuda_ops_v2 *ops;
	eng_cuda_ceilings c;
	int rc;

	if ((rc = eng__cuda_module_load_v2(&ops, err)) < 0 || (rc = ops->ceilings(&c, device, err)) < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	snprintf(out->device, sizeof(out->device), "%s", c.device);
	out->copy_bytes_per_s = c.copy_bytes_per_s;
	out->copy_bytes = c.copy_bytes;
	out->gemm_flops_per_s = c.gemm_flops_per_s;
	out->gemm_n = c.gemm_n;
	snprintf(out->gemm_by, sizeof(out->gemm_by), "%s", c.gemm_by);
	return 0;
#else
	(void)out;
	(void)device;
	return pl_err_set(err, PL_EUNSUPPORTED, "this plait has no CUDA backend (built without nvcc)");
#endif
}
