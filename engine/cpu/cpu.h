/* cpu.h - private to the CPU backend (engine/cpu/): its weights, its
 * sessions' state, its thread pool and scratch, and the kernels.  The core
 * reaches it only through eng__cpu_backend (backend.h). */
#ifndef PLAIT_ENGINE_CPU_H
#define PLAIT_ENGINE_CPU_H

#include "engine/backend.h"

#include <pthread.h>

/* ---------------------------------------------------------- thread pool */

typedef void (*eng__pool_fn)(void *ctx, size_t begin, size_t end, int worker);

typedef struct eng__pool {
	pthread_t *threads;
	int n; /* workers including the caller */
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_done;
	uint64_t gen;
	int pending;
	bool stop;
	eng__pool_fn fn;
	void *ctx;
	size_t total, grain;
	size_t next;
} eng__pool;

int eng__pool_init(eng__pool *p, int n, pl_err *err);
void eng__pool_release(eng__pool *p);
/* Run fn over [0, total) split in pieces of grain items; blocks until done. */
void eng__pool_run(eng__pool *p, eng__pool_fn fn, void *ctx, size_t total, size_t grain);

/* ---------------------------------------------------------- weights */

/* A weight matrix [rows, K]: BF16 as stored (converted to fp32 inside the
 * kernels, exactly) when every part of it is BF16 in the checkpoint, else
 * fp32 converted at load. */
typedef struct eng__wmat {
	void *p;
	bool bf16;
} eng__wmat;

typedef struct eng__cpu_layer {
	float *ln1, *ln2;	/* [hidden] */
	eng__wmat wqkv;		/* [(heads + 2 kv_heads) * head_dim, hidden] */
	eng__wmat wo;		/* [hidden, heads * head_dim] */
	eng__wmat wgu;		/* [2 * intermediate, hidden]: gate rows then up rows */
	eng__wmat wdown;	/* [hidden, intermediate] */
	float *gate_w, *gate_b; /* [heads, hidden], [heads]; NULL without a gate */
	float *gate_norm;	/* [hidden] */
} eng__cpu_layer;

/* Scratch for one forward batch of up to max_rows rows. */
typedef struct eng__cpu_scratch {
	size_t max_rows;
	float *x, *n, *qkv, *att, *gu, *act, *gnorm, *gate, *tmp;
	float *rope_cs; /* per row: cos then sin, head_dim / 2 each */
	float *scores;	/* per worker: scores_cap floats */
	size_t scores_cap;
	int n_workers;
} eng__cpu_scratch;

/* The CPU backend of one model. */
typedef struct eng__cpu {
	eng__backend base;
	eng__wmat embed;   /* [vocab, hidden] */
	float *norm;	   /* [hidden] */
	eng__wmat lm_head; /* [vocab, hidden]; the embedding's when tied */
	eng__cpu_layer *layer;
	float *rope_inv_freq; /* [head_dim / 2] */
	eng__pool pool;
	eng__cpu_scratch sc;
	/* Held by prepare and forward: the scratch and the pool are shared
	 * by every session of the model, so their passes take turns. */
	pthread_mutex_t run;
	bool portable; /* the plain C kernels */
} eng__cpu;

/* One session's state, fp32. */
typedef struct eng__cpu_state {
	eng__bstate base;
	size_t cap;    /* positions with room */
	float **kv0;   /* [layers] -> [cap][2][kv_dim]: loop-0 K/V, post-RoPE */
	float *ring;   /* [loops-1][layers][65][2][kv_dim]: slot = position % 65 */
	float **hist;  /* [(loops-1) * layers] -> [cap][2][kv_dim]: for truncate */
	float **hsave; /* [loops-1] -> [cap][hidden]: h^r_t for r < R-1 */
	float *logits; /* after the last token, [vocab] */
} eng__cpu_state;

/* ---------------------------------------------------------- forward */

/* Grows the scratch for rows rows and contexts of ctx positions. */
int eng__cpu_scratch_reserve(eng__cpu *c, size_t rows, size_t ctx, pl_err *err);
void eng__cpu_scratch_release(eng__cpu_scratch *sc);
/* Runs the batch (backend.h, forward); the caller holds c->run and has
 * reserved the scratch and the states. */
void eng__cpu_forward(eng__cpu *c, const eng__seg *seg, int nseg);

/* y[M x N] (+)= x[M x K] . W[N x K]^T, across the pool. */
void eng__mm(eng__cpu *c, float *y, const float *x, eng__wmat w, size_t M, size_t N, size_t K,
	     bool accumulate);
/* Row r of w (K values) as fp32. */
void eng__wmat_row(float *dst, eng__wmat w, size_t r, size_t K);

/* Vector helpers (AVX2 + FMA when the CPU has them). */
float eng__vdot(const float *a, const float *b, size_t n, bool portable);
void eng__vaxpy(float *y, float a, const float *x, size_t n, bool portable);

#endif
