/*
 * backend.h - private: the table of functions a compute backend offers the
 * engine's core, after ggml's backend interface (ggml_backend_i): the core
 * (model.c, session.c, generate.c) owns what every backend shares (the
 * configuration, the tokens, the PLT schedule of prefill and decode) and
 * calls a backend only through this table; a backend owns its weights,
 * its sessions' state and its working memory.
 *
 * The core checks a checkpoint (every tensor's name and shape against
 * config.json) and hands the backend the tensors as mapped (upload).  A
 * session's state on the backend (eng__bstate) holds, per position, what
 * plt.md's "Per-sequence state" lists: loop-0 K/V of every position, each
 * later loop's 65-key window, the saved h^{r} of the loop boundaries, and
 * the logits after the last token.  How it is laid out is the backend's.
 *
 * The core runs the schedule (plt.md): the decode form is one batch of R
 * one-row segments (all loops of a token in one pass); the full-sequence
 * form is, chunk by chunk, one segment per loop in loop order.  A batch
 * may hold segments of several sessions: each segment names its state.
 *
 * Contract of every backend:
 *   - upload may convert the weights to any precision; the CPU backend's
 *     arithmetic is fp32 and it is the oracle the others are tested
 *     against (tests/engine/test_parity.c runs every backend built).
 *   - After prepare(b, rows, ctx) succeeds, forward of batches of at most
 *     rows rows over positions below ctx does not fail for lack of memory:
 *     the core prepares before it writes any state, so that a failed
 *     append leaves the session as it was.
 *   - A failed forward may leave the state's window caches overwritten;
 *     the core then calls state_truncate(st, len) with the session's
 *     length, which restores them.
 *   - Several threads may call forward and prepare of one backend at once
 *     with different states: the backend serialises what it shares (the
 *     CPU backend's scratch and thread pool take turns under its lock).
 *     One thread at a time per state.
 *
 * The CUDA backend ("cuda", cuda_backend.c) is a C adapter (pl_err,
 * logging, the sampler's draw) over the CUDA module's version-2 table,
 * eng_cuda_ops_v2 in cuda/module.h, whose functions mirror these one for
 * one in plain C types (the module cannot call plait's libraries).  Its
 * upload streams the mapped tensors to the device through pinned buffers,
 * converting to bf16; a machine without a GPU (or without the module)
 * fails upload with PL_EUNSUPPORTED (PL_ENOTFOUND for a missing module),
 * which the tests report as a skip.
 *
 * Sampling on a device: sample receives the sampler; a device backend
 * reads its parameters (eng_sampler_params) and draws the token's one
 * uniform number on the host (eng__sampler_draw, only when the
 * temperature is above 0, as eng_sampler_sample does), so that the same
 * seed gives the same draws on every backend; the rest runs on the device
 * and only the id comes back.  Logits cross to the host only when asked
 * for (logits is called lazily by eng_session_logits); log-probabilities
 * through logprobs, top-k only.
 *
 * What is still to come slots in without changing the core:
 *   - Sessions batched together: forward already takes segments of
 *     several states; a scheduler in the core (continuous batching) only
 *     has to put the decode rows of several sessions in one call.  Scratch
 *     is per backend and sized by prepare, so it serves any mix.
 *   - Paged K/V and forked prefixes: the state's layout is the backend's
 *     own; state_fork(out, st, len) may share the pages of positions below
 *     len copy-on-write instead of copying them, and state_truncate may
 *     give back the pages past len.
 */
#ifndef PLAIT_ENGINE_BACKEND_H
#define PLAIT_ENGINE_BACKEND_H

#include "engine/engine.h"
#include "engine/safetensors.h"

typedef struct eng__backend_ops eng__backend_ops;

/* A model's weights and resources on one backend.  A backend embeds this
 * as the first member of its own struct. */
typedef struct eng__backend {
	const eng__backend_ops *ops;
	const eng_config *cfg; /* the model's (loops after any --loops) */
} eng__backend;

/* One session's state on a backend; embedded first in the backend's own. */
typedef struct eng__bstate {
	eng__backend *b;
} eng__bstate;

/* The tensors of one decoder layer as found in the checkpoint, shapes
 * checked against the configuration. */
typedef struct eng__layer_tensors {
	const eng__st_tensor *ln1, *ln2;	/* [hidden] */
	const eng__st_tensor *q, *k, *v, *o;	/* [heads*hd, H], [kv*hd, H] x 2, [H, heads*hd] */
	const eng__st_tensor *gate, *up, *down; /* [I, H] x 2, [H, I] */
	/* The PLT gate: [heads, H], [heads], [H]; NULL when the checkpoint
	 * has none (then no loop r >= 1 runs). */
	const eng__st_tensor *gate_w, *gate_b, *gate_norm;
} eng__layer_tensors;

/* A checkpoint as the core found and checked it; the tensors stay mapped
 * for the duration of upload only.  With random set there are no tensors
 * (all NULL): the backend draws the weights of eng_model_random from seed
 * with engine/rand.h, the same on every backend. */
typedef struct eng__checkpoint {
	const eng_config *cfg;
	const eng__st_tensor *embed, *norm, *lm_head; /* lm_head == embed when tied */
	const eng__layer_tensors *layer;	      /* cfg->layers */
	bool random;
	uint64_t seed;
} eng__checkpoint;

typedef struct eng__backend_opts {
	int threads;	       /* CPU worker threads; 0 = online cores */
	bool portable_kernels; /* CPU: the plain C kernels */
	const pl_log *log;
	/* eng_load_opts.progress: bytes of weights moved so far (may be NULL) */
	void (*progress)(void *user, uint64_t done, uint64_t total);
	void *progress_user;
} eng__backend_opts;

/* Rows of one loop at consecutive positions of one session. */
typedef struct eng__seg {
	eng__bstate *st;
	int loop;
	size_t start, count; /* positions start..start+count-1 */
	const int32_t *ids;  /* count ids */
	/* Loop R-1 only (NULL / false for the others): */
	float *logits;	/* count x vocab logits of the rows, in host memory */
	bool keep_last; /* the last row's logits become the state's logits */
} eng__seg;

struct eng__backend_ops {
	const char *name;
	/* Takes the weights (converted and placed as the backend keeps them). */
	int (*upload)(eng__backend **out, const eng__checkpoint *ck, const eng__backend_opts *o, pl_err *err);
	void (*free)(eng__backend *b);

	/* A session's state: empty (no position), logits not set. */
	int (*state_new)(eng__bstate **out, eng__backend *b, pl_err *err);
	void (*state_free)(eng__bstate *st);
	/* Room for positions 0..positions-1; what is held stays. */
	int (*state_reserve)(eng__bstate *st, size_t positions, pl_err *err);
	/* The state now describes positions 0..len-1 only: the window caches
	 * of the later loops hold those positions' K/V again, as if nothing
	 * past len had run.  The logits are not restored (the core re-runs the
	 * last token). */
	void (*state_truncate)(eng__bstate *st, size_t len);
	/* A state equal to st for positions 0..len-1, windows and logits
	 * included. */
	int (*state_fork)(eng__bstate **out, const eng__bstate *st, size_t len, pl_err *err);

	/* Working memory for batches of up to rows rows at positions < ctx. */
	int (*prepare)(eng__backend *b, size_t rows, size_t ctx, pl_err *err);
	/* Runs the batch through every layer: stores loop-0 K/V, the later
	 * loops' K/V, the saved h^r of loops below R-1, and the logits the
	 * segments ask for.  Segments of one state must come in schedule
	 * order (loop 0 of a position before the later loops of it); in the
	 * decode form (one-row segments) they are all at one position (the
	 * CUDA backend refuses more: its attention reads the keys of earlier
	 * positions before the batch's own are written). */
	int (*forward)(eng__backend *b, const eng__seg *seg, int nseg, pl_err *err);
	/* The logits after the state's last token (vocab values, host
	 * memory), as the last segment with keep_last left them. */
	const float *(*logits)(eng__bstate *st);
	/* One id drawn from the state's logits with smp and the token history
	 * (smp NULL: the argmax, no penalties). */
	int (*sample)(int32_t *id_out, eng__bstate *st, eng_sampler *smp, const int32_t *history,
		      size_t n_history, pl_err *err);
	/* The top k (1..vocab) log-probabilities of the state's logits, as
	 * eng_logprobs_top computes them. */
	int (*logprobs)(eng_logprob *out, eng__bstate *st, int k, pl_err *err);
	/* Bytes the state holds on the backend's device and in host memory. */
	void (*state_memory)(const eng__bstate *st, uint64_t *device, uint64_t *host);
	/* A new JSON object saying what runs: device, kernels, memory. */
	json_t *(*describe)(eng__backend *b);
	/* Optional: time what runs by kind of kernel from now on (on) or stop
	 * (describe reports the figures); NULL where the backend has none. */
	int (*profile)(eng__backend *b, bool on, pl_err *err);
};

/* One uniform number in [0, 1) from the sampler's random state, as
 * eng_sampler_sample draws it when the temperature is above 0 (sampler.c):
 * a device backend's share of the sampler. */
double eng__sampler_draw(eng_sampler *s);

/* The backends of this build that can run a model, NULL-terminated:
 * "cuda" (when built) and "cpu". */
const eng__backend_ops *const *eng__backends(void);
/* The backend named name among them; NULL when none. */
const eng__backend_ops *eng__backend_find(const char *name);

/* The CPU backend (engine/cpu/). */
extern const eng__backend_ops eng__cpu_backend;
/* The CUDA backend (cuda_backend.c over engine/cuda/), CUDA builds only. */
extern const eng__backend_ops eng__cuda_backend;

#endif
