/* module.h - the seam between the engine and its CUDA module (internal to
 * engine/; included by the .cu side and the C side alike).
 *
 * The CUDA code and the static CUDA runtime live in one shared object,
 * libplait-cuda.so, that the engine opens with dlopen the first time a
 * command needs CUDA.  Linked into plait, cudart_static's constructors
 * (runtime start, fatbinary registration) and atexit handlers ran at every
 * invocation, `plait --version` included: a third of the program's start.
 *
 * The module exports one symbol per ABI version, each a function that
 * returns a table of function pointers (ggml's backend tables are the
 * model): ENG_CUDA_MODULE_SYMBOL (_v1, the GPU probe) and
 * ENG_CUDA_MODULE_SYMBOL_V2 (the backend).  The "_vN" in the name is the ABI: a change that breaks the table
 * gets a new symbol, so an old module and a new plait refuse each other by
 * name instead of calling through a wrong layout.  Within one ABI, entries
 * are only appended, and `size` tells the engine which ones a module has.
 * Nothing in the table may use plait's other libraries: the module cannot
 * see the program's symbols (plait exports none).
 */
#ifndef PLAIT_ENGINE_CUDA_MODULE_H
#define PLAIT_ENGINE_CUDA_MODULE_H

#include "engine/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ENG_CUDA_MODULE_SYMBOL "eng_cuda_module_v1"
#define ENG_CUDA_MODULE_FILE "libplait-cuda.so"

typedef struct eng_cuda_ops {
	unsigned abi;  /* 1 */
	unsigned size; /* sizeof(eng_cuda_ops) as the module was built */
	/* Fills report from the CUDA runtime (devices, runtime and driver
	 * versions); returns 0, or a CUDA error number with a message in
	 * report->note. */
	int (*runtime_probe)(eng_gpu_report *report);
} eng_cuda_ops;

typedef const eng_cuda_ops *(*eng_cuda_module_fn)(void);

/*
 * ABI version 2: the CUDA backend's table (issue #13).  The module exports
 * ENG_CUDA_MODULE_SYMBOL_V2 beside _v1 (which plait doctor's probe keeps
 * using); the engine opens _v2 with the same abi and size checks, and a C
 * adapter in the engine (cuda_backend.c: pl_err, logging, the sampler's
 * draw) makes it the "cuda" entry of engine/backend.h's list: each
 * function below is the module side of the eng__backend_ops entry of the
 * same name.  The types are plain C, because the module cannot call
 * plait's libraries: errors are written straight into the caller's pl_err
 * (a plain struct: code, message), tensors are pointers into the mapped
 * checkpoint, states are the module's own handles.
 *
 * Threads: every function may be called from any thread; the module
 * serialises what a model shares (its stream, scratch and graphs) under
 * the model's lock.  One thread at a time per state.
 */
#define ENG_CUDA_MODULE_SYMBOL_V2 "eng_cuda_module_v2"

typedef enum eng_cuda_dtype { ENG_CUDA_F32 = 0, ENG_CUDA_F16 = 1, ENG_CUDA_BF16 = 2 } eng_cuda_dtype;

/* A tensor as stored in the checkpoint's map (little-endian), row-major. */
typedef struct eng_cuda_tensor {
	const void *data;
	eng_cuda_dtype dtype;
	int64_t rows, cols; /* cols 0 for a vector */
} eng_cuda_tensor;

typedef struct eng_cuda_layer {
	eng_cuda_tensor ln1, ln2, q, k, v, o, gate, up, down;
	eng_cuda_tensor gate_w, gate_b, gate_norm; /* data NULL without a gate */
} eng_cuda_layer;

/* What upload needs: the configuration (loops after any --loops) and every
 * tensor; lm_head.data == embed.data when tied.  With random set, no
 * tensor is read: the weights are drawn on the device from seed (the same
 * generator as the CPU backend's, engine/rand.h), for benchmarks. */
typedef struct eng_cuda_model_desc {
	const eng_config *cfg;
	eng_cuda_tensor embed, norm, lm_head;
	const eng_cuda_layer *layer; /* cfg->layers; NULL with random */
	int device;		     /* CUDA device ordinal */
	int random;
	uint64_t seed;
	/* Called now and then while the weights stream to the device. */
	void (*progress)(void *user, uint64_t bytes_done, uint64_t bytes_total);
	void *progress_user;
} eng_cuda_model_desc;

/* eng__seg (engine/backend.h) with the module's state handle. */
typedef struct eng_cuda_seg {
	void *state;
	int loop;
	size_t start, count;
	const int32_t *ids; /* host */
	float *logits;	    /* host; NULL: none */
	int keep_last;
} eng_cuda_seg;

/* eng_sampling, and the uniform number in [0, 1) the engine drew from the
 * eng_sampler for this token (temperature > 0 only), so that a seed draws
 * alike on every backend. */
typedef struct eng_cuda_sampling {
	eng_sampling params;
	double draw;
} eng_cuda_sampling;

/* The device's two ceilings, measured: a device-to-device copy (bytes read
 * plus bytes written per second) and a large bf16 matrix product through
 * cuBLASLt (bf16 in and out, fp32 accumulation, random operands). */
typedef struct eng_cuda_ceilings {
	double copy_bytes_per_s;
	uint64_t copy_bytes; /* size of the buffer copied */
	double gemm_flops_per_s;
	int gemm_n; /* n x n x n */
	char device[128];
	char gemm_by[256]; /* the cuBLASLt file, or why plait's own GEMM ran instead */
} eng_cuda_ceilings;

typedef struct eng_cuda_ops_v2 {
	unsigned abi;  /* 2 */
	unsigned size; /* sizeof(eng_cuda_ops_v2) as the module was built */
	int (*runtime_probe)(eng_gpu_report *report);
	int (*upload)(void **model_out, const eng_cuda_model_desc *desc, pl_err *err);
	void (*model_free)(void *model);
	/* Device memory the model's weights, live states and workspace hold. */
	void (*memory)(void *model, uint64_t *weights, uint64_t *states, uint64_t *workspace);
	/* A JSON object (text, NUL-terminated, truncated to n) saying what
	 * runs: the device, the kernels chosen, memory. */
	void (*describe)(void *model, char *buf, size_t n);
	int (*state_new)(void **out, void *model, pl_err *err);
	void (*state_free)(void *state);
	int (*state_reserve)(void *state, size_t positions, pl_err *err);
	/* Cannot fail by contract (backend.h); a device error here is kept in
	 * the state and returned by its next forward. */
	void (*state_truncate)(void *state, size_t len);
	int (*state_fork)(void **out, const void *state, size_t len, pl_err *err);
	/* Bytes the state holds on the device and in (pinned) host memory. */
	void (*state_memory)(const void *state, uint64_t *device, uint64_t *host);
	int (*prepare)(void *model, size_t rows, size_t ctx, pl_err *err);
	int (*forward)(void *model, const eng_cuda_seg *seg, int nseg, pl_err *err);
	/* The state's last logits copied to host memory (vocab floats). */
	int (*logits)(float *out, void *state, pl_err *err);
	/* history: the session's tokens, for the penalties (host); the module
	 * reads them from its own copy on the device when it holds them. */
	int (*sample)(int32_t *id_out, void *state, const eng_cuda_sampling *sp, const int32_t *history,
		      size_t n_history, pl_err *err);
	/* Top-k log-probabilities of the state's logits (temperature 1), best
	 * first, ties to the lower id: eng_logprobs_top on the device. */
	int (*logprobs)(eng_logprob *out, void *state, int k, pl_err *err);
	int (*ceilings)(eng_cuda_ceilings *out, int device, pl_err *err);
	/* Every kernel against a CPU reference on random inputs (llm.c's
	 * habit): one line per check in report; PL_EINTERNAL when one fails. */
	int (*selftest)(char *report, size_t n, int device, pl_err *err);
	/* Times every kernel of the decode steps and prefills that follow
	 * (on) by kind, into describe's "profile"; decode then runs without
	 * its graph.  Off drops nothing already counted.  0 or a CUDA error
	 * number. */
	int (*profile)(void *model, int on);
} eng_cuda_ops_v2;

typedef const eng_cuda_ops_v2 *(*eng_cuda_module_v2_fn)(void);

/* The module's exports: the probe table (engine/cuda/probe.cu) and the
 * backend table (engine/cuda/backend.cu). */
const eng_cuda_ops *eng_cuda_module_v1(void);
const eng_cuda_ops_v2 *eng_cuda_module_v2(void);

/* Opens the module at `path` (no search) and returns its table in *out.
 * The error quotes the loader's reason (dlerror) or says which symbol or
 * ABI is wrong.  A module opened is never closed. */
int eng__cuda_module_open(const eng_cuda_ops **out, const char *path, pl_err *err);

/* Finds and opens the module once per process (thread-safe): the file
 * named by PLAIT_CUDA_MODULE when set (nothing else is tried then), else,
 * in the directory D of the running program (/proc/self/exe),
 * D/lib/libplait-cuda.so (build tree: build/plait), D/../lib/libplait-cuda.so
 * (test and bench programs under build/), D/../lib/plait/libplait-cuda.so
 * (installed: PREFIX/bin/plait).  *path_out (may be NULL) is the file
 * loaded, valid for the process.  The error lists every path tried with
 * the loader's reason, and what to do. */
int eng__cuda_module_load(const eng_cuda_ops **out, const char **path_out, pl_err *err);
/* The backend table of the module eng__cuda_module_load opened: its error
 * when that fails, PL_EUNSUPPORTED when the module has no _v2 table this
 * plait can use (an older module). */
int eng__cuda_module_load_v2(const eng_cuda_ops_v2 **out, pl_err *err);

#ifdef __cplusplus
}
#endif

#endif
