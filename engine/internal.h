/* internal.h - private declarations shared by the engine's source files
 * (not a public header: nothing outside engine/ includes it). */
#ifndef PLAIT_ENGINE_INTERNAL_H
#define PLAIT_ENGINE_INTERNAL_H

#include "engine/engine.h"

#include <pthread.h>

/* ---------------------------------------------------------- safetensors */

typedef enum eng__st_dtype { ENG__ST_F32 = 0, ENG__ST_F16 = 1, ENG__ST_BF16 = 2 } eng__st_dtype;

typedef struct eng__st_tensor {
	char *name;
	eng__st_dtype dtype;
	int ndim;
	int64_t shape[8];
	uint64_t numel;
	const uint8_t *data; /* inside the file's map */
	uint64_t nbytes;
	int file; /* index into eng__st_set.files */
} eng__st_tensor;

/* Every tensor of one checkpoint (one or several files), name-sorted. */
typedef struct eng__st_set {
	pl_map *maps;
	char **files; /* file names, for messages */
	size_t n_files;
	eng__st_tensor *t;
	size_t n;
} eng__st_set;

/* Open and validate one file, appending its tensors to set. */
int eng__st_set_add_file(eng__st_set *set, const char *path, const char *display, pl_err *err);
/* Load model.safetensors, or the shards listed by model.safetensors.index.json. */
int eng__st_set_open_dir(eng__st_set *set, const char *dir, pl_err *err);
void eng__st_set_release(eng__st_set *set);
const eng__st_tensor *eng__st_set_find(const eng__st_set *set, const char *name);
/* Elements first..first+count-1 of t converted to fp32 into dst. */
void eng__st_to_f32(float *dst, const eng__st_tensor *t, uint64_t first, uint64_t count);

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

/* ---------------------------------------------------------- model */

/* A weight matrix [rows, K]: BF16 as stored (converted to fp32 inside the
 * kernels, exactly) when every part of it is BF16 in the checkpoint, else
 * fp32 converted at load. */
typedef struct eng__wmat {
	void *p;
	bool bf16;
} eng__wmat;

typedef struct eng__layer {
	float *ln1, *ln2;       /* [hidden] */
	eng__wmat wqkv;		/* [(heads + 2 kv_heads) * head_dim, hidden] */
	eng__wmat wo;		/* [hidden, heads * head_dim] */
	eng__wmat wgu;		/* [2 * intermediate, hidden]: gate rows then up rows */
	eng__wmat wdown;	/* [hidden, intermediate] */
	float *gate_w, *gate_b; /* [heads, hidden], [heads]; NULL when R == 1 */
	float *gate_norm;       /* [hidden] */
} eng__layer;

/* Scratch for one forward batch of up to max_rows rows. */
typedef struct eng__scratch {
	size_t max_rows;
	float *x, *n, *qkv, *att, *gu, *act, *gnorm, *gate, *tmp;
	float *rope_cs; /* per row: cos then sin, head_dim / 2 each */
	float *scores; /* per worker: max_ctx floats, grown on demand */
	size_t scores_cap;
	int n_workers;
} eng__scratch;

struct eng_model {
	eng_config cfg;
	char *dir;
	eng__wmat embed; /* [vocab, hidden] */
	float *norm;    /* [hidden] */
	eng__wmat lm_head; /* [vocab, hidden]; the embedding's when tied */
	eng__layer *layer;
	float *rope_inv_freq; /* [head_dim / 2] */
	uint64_t params, file_bytes;
	eng__pool pool;
	eng__scratch sc;
	/* Held for a forward pass: the scratch and the pool are the model's,
	 * so the passes of its sessions take turns. */
	pthread_mutex_t run;
	const pl_log *log;
	bool portable; /* eng_load_opts.portable_kernels */
};

/* ---------------------------------------------------------- session */

struct eng_session {
	eng_model *m;
	size_t len, cap;  /* tokens held; positions with state allocated */
	int32_t *tokens;
	float **kv0;      /* [layers] -> [cap][2][kv_dim]: loop-0 K/V, post-RoPE */
	float *ring;      /* [loops-1][layers][65][2][kv_dim]: slot = position % 65 */
	float **hist;     /* [(loops-1) * layers] -> [cap][2][kv_dim]: for truncate */
	float **hsave;    /* [loops-1] -> [cap][hidden]: h^r_t for r < R-1 */
	float *logits;    /* after the last token, [vocab] */
	bool have_logits;
	size_t chunk;
};

/* One forward batch: seg[i] covers loop seg[i].loop at positions
 * start..start+count-1; rows are laid out segment after segment. */
typedef struct eng__fwd_seg {
	int loop;
	size_t start, count;
	const int32_t *ids;   /* count ids */
} eng__fwd_seg;

/* Run the layers over the batch; store loop-0 K/V, ring/history K/V, saved
 * hidden states.  Logits of rows of loop R-1 go to logits (count x vocab of
 * that segment, all rows) when non-NULL, else only the last row's to
 * last_logits. */
void eng__fwd_batch(eng_session *s, const eng__fwd_seg *seg, int nseg, float *logits, float *last_logits);
int eng__scratch_reserve(eng_model *m, size_t rows, size_t ctx, pl_err *err);

/* y[M x N] (+)= x[M x K] . W[N x K]^T, across the pool. */
void eng__mm(eng_model *m, float *y, const float *x, eng__wmat w, size_t M, size_t N, size_t K,
	     bool accumulate);
/* Row r of w (K values) as fp32. */
void eng__wmat_row(float *dst, eng__wmat w, size_t r, size_t K);

/* Vector helpers (AVX2 + FMA when the CPU has them). */
float eng__vdot(const float *a, const float *b, size_t n, bool portable);
void eng__vaxpy(float *y, float a, const float *x, size_t n, bool portable);

#endif
