/* prof.cu - where a decode step's and a prefill's time goes, by kind of
 * kernel, timed with events (plait bench engine --profile; cuda.h). */
#include "engine/cuda/cuda.h"

#include <stdio.h>
#include <string.h>

namespace ecu
{

static const char *const prof_names[PK_N] = {
	"start",     "params", "norm", "qkv",	   "attention", "o_proj", "gate_up", "down", "h_save", "lm_head", "history",
	"embedding", "norm",   "qkv",	   "gate",	"rope",	  "attention", "o_proj", "gate_up", "swiglu", "down",
	"window",    "history", "final",
};

cudaError_t prof_set(Prof *p, bool on)
{
	cudaError_t e;

	if (on && !p->ev[0])
		for (int i = 0; i < PROF_EVENTS; i++)
			if ((e = cudaEventCreate(&p->ev[i])) != cudaSuccess)
				return e;
	p->on = on;
	p->n = 0;
	if (on) {
		memset(p->ms, 0, sizeof(p->ms));
		p->dec_steps = p->pf_calls = 0;
		p->pf_rows = 0;
	}
	return cudaSuccess;
}

void prof_free(Prof *p)
{
	for (int i = 0; i < PROF_EVENTS; i++)
		if (p->ev[i])
			cudaEventDestroy(p->ev[i]);
	memset(p, 0, sizeof(*p));
}

/* Adds the spans recorded so far and keeps the last event as the next
 * span's start. */
static cudaError_t flush(Prof *p)
{
	cudaError_t e;
	float t;

	if (p->n < 2)
		return cudaSuccess;
	if ((e = cudaEventSynchronize(p->ev[p->n - 1])) != cudaSuccess)
		return e;
	for (int i = 1; i < p->n; i++)
		if (cudaEventElapsedTime(&t, p->ev[i - 1], p->ev[i]) == cudaSuccess)
			p->ms[p->kind[i]] += t;
	cudaEvent_t last = p->ev[p->n - 1];

	p->ev[p->n - 1] = p->ev[0];
	p->ev[0] = last;
	p->kind[0] = PK_START;
	p->n = 1;
	return cudaSuccess;
}

cudaError_t prof_begin(Prof *p, cudaStream_t st)
{
	if (!p->on)
		return cudaSuccess;
	p->n = 0;
	prof_mark(p, st, PK_START);
	return cudaGetLastError();
}

void prof_mark(Prof *p, cudaStream_t st, int kind)
{
	if (!p->on)
		return;
	if (p->n == PROF_EVENTS && flush(p) != cudaSuccess)
		return;
	cudaEventRecord(p->ev[p->n], st);
	p->kind[p->n++] = kind;
}

cudaError_t prof_end(Prof *p)
{
	cudaError_t e;

	if (!p->on)
		return cudaSuccess;
	e = flush(p);
	p->n = 0;
	return e;
}

void prof_json(const Prof *p, char *buf, size_t n, const double *dec_bytes)
{
	size_t k = strlen(buf);
	double tot = 0;
	int i;

#define PUT(...) (k += (size_t)snprintf(buf + k, k < n ? n - k : 0, __VA_ARGS__), k = k < n ? k : n)
	PUT(", \"profile\": {\"decode_steps\": %ld", p->dec_steps);
	if (p->dec_steps) {
		PUT(", \"decode_us_per_step\": {");
		for (i = PK_DEC_PARAMS; i <= PK_DEC_HIST; i++) {
			tot += p->ms[i];
			PUT("%s\"%s\": %.1f", i == PK_DEC_PARAMS ? "" : ", ", prof_names[i],
			    p->ms[i] * 1e3 / (double)p->dec_steps);
		}
		PUT(", \"total\": %.1f}, \"decode_weight_gb_per_s\": {", tot * 1e3 / (double)p->dec_steps);
		for (i = PK_DEC_PARAMS; i <= PK_DEC_HIST; i++)
			if (dec_bytes[i] > 0 && p->ms[i] > 0)
				PUT("%s\"%s\": %.1f", i == PK_DEC_QKV ? "" : ", ", prof_names[i],
				    dec_bytes[i] * (double)p->dec_steps / (p->ms[i] * 1e-3) / 1e9);
		PUT("}");
	}
	PUT(", \"prefill_calls\": %ld, \"prefill_rows\": %.0f", p->pf_calls, p->pf_rows);
	if (p->pf_calls) {
		tot = 0;
		PUT(", \"prefill_ms\": {");
		for (i = PK_PF_EMBED; i <= PK_PF_FINAL; i++) {
			tot += p->ms[i];
			PUT("%s\"%s\": %.2f", i == PK_PF_EMBED ? "" : ", ", prof_names[i], p->ms[i]);
		}
		PUT(", \"total\": %.2f}", tot);
	}
	PUT("}");
#undef PUT
}

} /* namespace ecu */
