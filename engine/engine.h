/*
 * engine.h - the PLT inference engine's public interface.
 *
 * Depends on common/ only; knows nothing of tools, sandbox or agent.
 * Prefix: eng_.
 *
 * What it offers: the backends built and what the machine has for them
 * (CPU features, GPUs, the GPU's copy and matrix-product ceilings); model
 * directories found and inspected without loading; loading a checkpoint
 * (safetensors, BF16/F16/F32, shards) for the CPU or the CUDA forward
 * pass; sessions (append, truncate, fork); samplers and
 * the generation loop with stop ids, stop strings and streaming; the
 * tokenizers (SentencePiece and Hugging Face BPE) with a streaming
 * decoder; the LoopCoder-V2 chat template and its tool-call parsers.
 * docs/ENGINE.md describes how each part works.
 */
#ifndef PLAIT_ENGINE_H
#define PLAIT_ENGINE_H

#include "common/common.h"

/* ------------------------------------------------------------ backends */

/* Names of the compute backends compiled into this build, in order of
 * preference ("cuda" first when built, then "cpu"). NULL-terminated. */
const char *const *eng_backends_built(void);
bool eng_backend_is_built(const char *name);
/* Whether the backend named name (built or not) can time its kernels
 * (eng_model_profile): "cuda" can, "cpu" cannot. */
bool eng_backend_has_profile(const char *name);
/* Makes a built backend ready to run: "cpu" always is; "cuda" opens the
 * CUDA module (libplait-cuda.so, found as engine/cuda/module.h says) once
 * per process.  A backend not built fails with PL_EUNSUPPORTED; a module
 * that cannot be opened with an error naming every path tried, the
 * loader's reason and what to do.  Thread-safe. */
int eng_backend_load(const char *name, pl_err *err);

/* ------------------------------------------------------------ CPU */

/* SIMD features that matter to the CPU kernels, as the kernel reports them
 * in /proc/cpuinfo (so they are also enabled by the OS).  Returns a JSON
 * array of names, in a fixed order, of those present. */
json_t *eng_cpu_features(void);

/* ------------------------------------------------------------ GPU */

typedef struct eng_gpu_info {
	char name[128];
	int cc_major, cc_minor; /* compute capability */
	int sm_count;           /* 0 when not known (driver-only probe) */
	uint64_t mem_total;     /* bytes */
	uint64_t mem_free;      /* bytes; 0 when not known */
} eng_gpu_info;

typedef struct eng_gpu_report {
	bool driver_found;    /* libcuda.so.1 could be loaded */
	int driver_version;   /* e.g. 13000 for 13.0; 0 when unknown */
	int runtime_version;  /* the CUDA module's runtime; 0 when not loaded */
	const char *probe;    /* "cuda-runtime" or "driver" */
	const char *module;   /* the CUDA module file used; NULL when none */
	int count;            /* devices found */
	eng_gpu_info devices[16];
	char note[256];       /* why nothing was found, when count == 0 */
	char module_error[PL_ERR_MSG_MAX]; /* CUDA build only: why the CUDA module
					    * could not be opened; "" when it was */
	bool backend_ready;	/* the module offers the CUDA backend (its _v2 table) */
	char backend_note[PL_ERR_MSG_MAX]; /* why not, when the module opened but cannot run models */
} eng_gpu_report;

/* Asks the CUDA runtime (through the CUDA module) when the CUDA backend is
 * built, else, or when the module cannot be opened, the driver (dlopen of
 * libcuda.so.1).  Never fails: what it could not learn is in report->note
 * and report->module_error. */
void eng_gpu_probe(eng_gpu_report *report);

/* The two ceilings of a GPU, measured (a few seconds): device-to-device
 * copy bandwidth (bytes read plus bytes written per second, a buffer of up
 * to 4 GiB copied 10 times) and a bf16 n x n x n matrix product through
 * cuBLASLt (n = 8192, random operands, bf16 output, fp32 accumulation).
 * PL_EUNSUPPORTED without the CUDA backend or a device. */
typedef struct eng_gpu_ceilings {
	char device[128];
	double copy_bytes_per_s;
	uint64_t copy_bytes;
	double gemm_flops_per_s;
	int gemm_n;
	char gemm_by[256]; /* the cuBLASLt library, or why another GEMM ran */
} eng_gpu_ceilings;
int eng_gpu_ceilings_measure(eng_gpu_ceilings *out, int device, pl_err *err);

/* ------------------------------------------------------------ models */

/* Find model directories (a directory holding config.json) at `dir` itself
 * and one level below it.  Appends one JSON object per model to `out` (an
 * array): path, architecture, loops, layers, hidden size, weight files and
 * bytes, tokenizer presence, and "problems" (a list of strings) for what
 * would stop it from loading.  A missing `dir` appends nothing. */
int eng_models_scan(json_t *out, const char *dir, pl_err *err);

/* ---- model loading, sessions and generation */

/* Largest loop count accepted from config.json or --loops. */
#define ENG_MAX_LOOPS 16
/* Keys in the local (sliding-window) attention of loops r >= 1: the current
 * position and the 64 before it (plt.md, "Gated mixed attention"). */
#define ENG_LOCAL_WINDOW 65

/* What config.json (and generation_config.json) say about a model. */
typedef struct eng_config {
	int64_t hidden, intermediate, layers, heads, kv_heads, head_dim, vocab;
	int64_t max_pos;  /* max_position_embeddings; 0 when absent */
	double rms_eps, rope_theta;
	bool tie_embeddings;
	int loops;            /* R after any --loops override; 1 for plain Llama */
	int config_loops;     /* R as config.json says (1 without plt_* fields) */
	bool is_plt;          /* config.json has plt_* fields */
	int64_t window_left;  /* plt_window_size[0]; 64 for LoopCoder-V2 */
	double emb_scale;     /* a */
	double hidden_scale;  /* b */
	/* generation_config.json, when present (else eos from config.json) */
	int32_t eos_ids[8];
	int n_eos;
	int64_t bos_id; /* -1 when unknown */
	bool has_gen_defaults;
	double gen_temperature, gen_top_p; /* < 0 when not given; temperature 0
					    * unless do_sample is true */
	int64_t gen_top_k;                 /* < 0 when not given */
} eng_config;

/* Options for eng_model_load; zero-initialise for the defaults. */
typedef struct eng_load_opts {
	int loops;           /* > 0 overrides plt_num_loops (R >= 1); 0 = config */
	int threads;         /* worker threads for the CPU path; 0 = online cores */
	const char *backend; /* "cpu" or NULL (= cpu), or "cuda" when built: bf16
			      * weights on the GPU (docs/ENGINE.md, "The CUDA
			      * backend"); PL_EUNSUPPORTED where no GPU can run it */
	bool portable_kernels; /* plain C kernels even where AVX2 + FMA exist
				* (tests, comparisons) */
	const pl_log *log;
	/* Called now and then while the weights load (bytes done, bytes in
	 * all), from the loading thread; may be NULL. */
	void (*progress)(void *user, uint64_t done, uint64_t total);
	void *progress_user;
} eng_load_opts;

typedef struct eng_model eng_model;

/* Load a model directory: config.json, generation_config.json when present,
 * and model.safetensors or the shards listed by model.safetensors.index.json.
 * Every header field of every weight file is validated; an error names the
 * file and the tensor.  On the CPU, weight matrices stored entirely in
 * BF16 stay BF16 in memory and are widened to fp32 inside the kernels
 * (exactly); F16 and F32 matrices, norms and gate vectors are converted to
 * fp32 at load; all arithmetic is fp32 and the backend owns a thread pool
 * (opts->threads workers).  On CUDA, every matrix becomes bf16 on the GPU
 * (streamed from the map through pinned buffers, opts->progress called as
 * it goes), accumulation is fp32.  Free with eng_model_free. */
int eng_model_load(eng_model **out, const char *dir, const eng_load_opts *opts, pl_err *err);
/* A model of configuration cfg (its loops as given; opts->loops ignored)
 * with random weights drawn from seed by the backend itself (engine/rand.h:
 * the same weights on every backend), for benchmarks: no checkpoint is
 * read.  Matrices are bf16-valued; norms near 1. */
int eng_model_random(eng_model **out, const eng_config *cfg, uint64_t seed, const eng_load_opts *opts, pl_err *err);
void eng_model_free(eng_model *m);
/* A new JSON object saying what runs the model: {"backend", and the
 * backend's own facts: device, kernels chosen, weight/state/workspace
 * bytes}. */
json_t *eng_model_describe(const eng_model *m);
/* From now on (on) time every kernel the backend runs, by kind, until
 * turned off: eng_model_describe's "profile" then gives each kind's time
 * per decode step and in prefill (CUDA; decode runs its kernels one by
 * one instead of as a graph while on).  PL_EUNSUPPORTED on a backend
 * without one (the CPU's). */
int eng_model_profile(eng_model *m, bool on, pl_err *err);
const eng_config *eng_model_config(const eng_model *m);
/* Parameters as stored in the weight files (tied lm_head counted once). */
uint64_t eng_model_params(const eng_model *m);
/* Bytes of the weight tensors as stored. */
uint64_t eng_model_file_bytes(const eng_model *m);
/* Bytes of per-token session state on the CPU path: eng_state_bytes'
 * cpu_per_token for the loaded configuration (--loops included). */
uint64_t eng_model_kv_bytes_per_token(const eng_model *m);
/* Read and validate config.json (+ generation_config.json) alone. */
int eng_config_load(eng_config *out, const char *dir, pl_err *err);

/* Per-token state a model of configuration c needs: the one place these
 * sizes are computed. */
typedef struct eng_state_bytes {
	uint64_t kv0_bf16;      /* loop-0 K and V of every layer at 2 bytes per
				 * value, as a GPU keeps them */
	uint64_t cpu_per_token; /* what a CPU session keeps per token: fp32 K/V of
				 * every loop (the later loops' history makes
				 * truncation exact), the saved hidden states of
				 * the loop boundaries, and the token id */
	uint64_t ring_bf16;     /* one later loop's 65-position window over all
				 * layers at 2 bytes per value: fixed, not per token */
} eng_state_bytes;
void eng_config_state_bytes(eng_state_bytes *out, const eng_config *c);

/* What a model directory holds, read without loading its weights. */
typedef struct eng_model_info {
	eng_config cfg;
	size_t n_tensors;
	uint64_t params;       /* elements of every stored tensor */
	uint64_t weight_bytes; /* bytes of every stored tensor */
	char **files;          /* weight files, as named in the directory */
	size_t n_files;
	eng_state_bytes state;
} eng_model_info;

/* Reads config.json (+ generation_config.json) and validates the header of
 * every weight file (model.safetensors, or the shards its index lists),
 * as eng_model_load would, without reading the weights: cheap enough to
 * run over every model a machine holds.  An error names the directory and
 * the file.  Release *out with eng_model_info_release. */
int eng_model_inspect(eng_model_info *out, const char *dir, pl_err *err);
void eng_model_info_release(eng_model_info *info);

/*
 * A session: one sequence's state (loop-0 K/V of every position, a
 * 65-position ring per later loop and layer, the saved h^{r-1} of each loop
 * boundary), its tokens and the logits after its last token.  Truncation
 * restores the rings from a per-position history of the later loops' K/V
 * and saved hidden states that the session keeps (exact, no recompute): in
 * its own memory on the CPU, in pinned host memory beside the GPU's loop-0
 * K/V and fixed windows on CUDA.  Sampling is not the
 * session's: an eng_sampler holds the parameters and the random state, and
 * eng_generate drives a session with a sampler.
 * A session borrows its model, which must outlive it.  One thread at a time
 * per session; sessions of one model may be used from different threads,
 * but their forward passes take turns (a backend's scratch serves every
 * session of the model, under its lock); the
 * public API does not yet put the rows of several sessions into one pass
 * (the backend seam can: docs/ENGINE.md, "Backends").
 */
typedef struct eng_session eng_session;

int eng_session_new(eng_session **out, eng_model *m, pl_err *err);
void eng_session_free(eng_session *s);
/* The model the session was made for (borrowed). */
eng_model *eng_session_model(const eng_session *s);
/* Tokens in the session. */
size_t eng_session_len(const eng_session *s);
const int32_t *eng_session_tokens(const eng_session *s);
/* Longest prefill chunk in tokens (default 64); n >= 1. */
void eng_session_set_chunk(eng_session *s, size_t n);
/* Append tokens: one token runs the decode form (all loops in one pass),
 * more run the full-sequence form in chunks.  When all_logits is non-NULL
 * it receives n x vocab logits (row i predicts the token after ids[i]);
 * the last row is also kept as eng_session_logits.  Ids must be in
 * [0, vocab).  On failure the session is unchanged. */
int eng_session_append(float *all_logits, eng_session *s, const int32_t *ids, size_t n, pl_err *err);
/* Logits after the last token (vocab values); NULL when empty. */
const float *eng_session_logits(const eng_session *s);
/* Cut the session back to its first len tokens, restoring the rings, the
 * saved hidden states and the logits at that point.  len <= current length;
 * len == 0 empties it. */
int eng_session_truncate(eng_session *s, size_t len, pl_err *err);
/* A deep copy (state, tokens, logits). */
int eng_session_fork(eng_session **out, const eng_session *s, pl_err *err);
/* Room for `positions` tokens without running anything: the session
 * allocates on its backend what that many tokens need (K/V, windows, the
 * truncation history), so that appends up to that length allocate
 * nothing.  What is held stays. */
int eng_session_reserve(eng_session *s, size_t positions, pl_err *err);
/* Decode one loop at a time, each loop its own pass over the weights (how
 * the vendor's serving code runs PLT), instead of all loops of a token in
 * one pass: the same results, for comparisons only. */
void eng_session_set_sequential_loops(eng_session *s, bool on);
/* Bytes the session's state holds on its backend's device (K/V, windows,
 * saved states, logits; 0 on the CPU) and in host memory. */
void eng_session_memory(const eng_session *s, uint64_t *device_bytes, uint64_t *host_bytes);

/* ---- sampling */

typedef struct eng_sampling {
	double temperature;        /* <= 0: greedy */
	int top_k;                 /* 0: off */
	double top_p;              /* 1 (or <= 0): off */
	double min_p;              /* 0: off */
	double repetition_penalty; /* 1 (or <= 0): off; applied over the token history */
	double presence_penalty;   /* 0: off; subtracted once per distinct id seen */
} eng_sampling;

/* Sampling defaults: greedy, everything off. */
void eng_sampling_init(eng_sampling *s);

/*
 * A sampler: sampling parameters and a random state of its own
 * (xoshiro256** seeded through splitmix64: the same seed and the same
 * logits give the same ids).  It knows no session: the history penalties
 * read the token history the caller passes.  One thread at a time per
 * sampler.
 */
typedef struct eng_sampler eng_sampler;

/* params NULL = eng_sampling_init's defaults.  Fails with PL_EINVAL naming
 * the field for a NaN or infinite value, a negative top_k, a top_p above 1
 * or a min_p outside [0, 1]. */
int eng_sampler_new(eng_sampler **out, const eng_sampling *params, uint64_t seed, pl_err *err);
/* A copy with the same parameters and the same random state: both then draw
 * the same ids from the same logits. */
int eng_sampler_fork(eng_sampler **out, const eng_sampler *s, pl_err *err);
void eng_sampler_free(eng_sampler *s);
/* Restart the random state from seed. */
void eng_sampler_seed(eng_sampler *s, uint64_t seed);
/* New parameters (checked as eng_sampler_new does; on failure the old ones
 * stay); the random state goes on. */
int eng_sampler_set_params(eng_sampler *s, const eng_sampling *params, pl_err *err);
const eng_sampling *eng_sampler_params(const eng_sampler *s);
/* Pick one id from logits (vocab values), advancing the random state when
 * the temperature is above 0.  In order: the repetition penalty (divide
 * positive, multiply negative logits of ids in history) and the presence
 * penalty over the n_history ids of history (may be NULL when 0), then
 * greedy argmax, or temperature, top-k, top-p, min-p and a draw. */
int32_t eng_sampler_sample(eng_sampler *s, const float *logits, int64_t vocab, const int32_t *history,
			   size_t n_history);

typedef struct eng_logprob {
	int32_t id;
	float logprob; /* natural log of the softmax at temperature 1 */
} eng_logprob;

/* Top-k log-probabilities of logits (temperature 1), best first (ties: the
 * lower id first); k <= vocab.  k <= 0 writes nothing. */
void eng_logprobs_top(eng_logprob *out, const float *logits, int64_t vocab, int k);

/* ---- generation */

typedef struct eng_detok eng_detok; /* the streaming decoder, below */

/* Called after each generated token; return non-zero to stop (finish
 * reason "stop"). */
typedef int (*eng_token_fn)(void *user, int32_t id, const eng_logprob *top, int n_top);
/* A streaming decoder: appends to out the text that id completes.  Called
 * once per generated id, in order, so a decoder keeps its own state (an
 * incomplete character); eng_detok is one (eng_gen_opts_use_detok). */
typedef int (*eng_decode_fn)(pl_buf *out, void *user, int32_t id, pl_err *err);
/* At the end of generation: appends what the decoder still holds. */
typedef void (*eng_decode_end_fn)(pl_buf *out, void *user);
/* Text of the output that is final: no stop string will cut it (len > 0;
 * the bytes are valid during the call only).  Return non-zero to stop
 * (finish reason "stop"). */
typedef int (*eng_text_fn)(void *user, const char *text, size_t len);

typedef struct eng_gen_opts {
	size_t max_tokens;      /* 0: stop only on a stop id or string */
	const int32_t *stop_ids; /* a generated stop id ends generation; it is
				  * neither returned nor appended to the session */
	size_t n_stop_ids;
	int logprobs; /* top-K log-probabilities per generated token (0: none) */
	eng_token_fn on_token;
	/* With a decoder the result holds the text of the generated ids, stop
	 * strings can end generation and on_text streams the text. */
	eng_decode_fn decode;
	eng_decode_end_fn decode_end; /* may be NULL */
	void *decode_user;
	/* The first stop string to occur in the text ends generation after the
	 * token that completed it (that token is kept: returned and appended);
	 * the text ends where the stop string starts.  Empty strings are
	 * ignored.  Found incrementally: each new piece of text is searched
	 * only where an occurrence can end in it. */
	const char *const *stop_strings;
	size_t n_stop_strings;
	/* Streams the text: the end that could be the start of a stop string
	 * is held back until the next bytes settle it, so that the pieces
	 * passed add up to the final text exactly. */
	eng_text_fn on_text;
	void *user; /* for on_token and on_text */
} eng_gen_opts;

/* No limits, no stops, no callbacks, no decoder. */
void eng_gen_opts_init(eng_gen_opts *o);
/* Decode with d, a streaming decoder the caller initialised and releases
 * (eng_detok_init for text that starts with the output, such as a chat's
 * answer; eng_detok_init_continue for the continuation of a prompt). */
void eng_gen_opts_use_detok(eng_gen_opts *o, eng_detok *d);

typedef enum eng_finish { ENG_FINISH_LENGTH = 0, ENG_FINISH_STOP = 1 } eng_finish;

typedef struct eng_gen_result {
	int32_t *ids;          /* generated ids (n) */
	size_t n;
	eng_logprob *logprobs; /* n x n_logprobs, best first; NULL without */
	int n_logprobs;
	eng_finish finish;
	char *text;            /* with a decoder: the text of ids (cut before a
				* stop string), NUL-terminated; else NULL */
	size_t text_len;
	double decode_ms;
} eng_gen_result;

/* Generate from the session's current end (it must hold at least one
 * token), drawing each id with smp from the session's logits and token
 * history (smp NULL: greedy, no penalties).  Each kept token is appended to
 * the session.  Fills res; release it with eng_gen_result_release. */
int eng_generate(eng_gen_result *res, eng_session *s, eng_sampler *smp, const eng_gen_opts *o, pl_err *err);
void eng_gen_result_release(eng_gen_result *res);

/* ---- tokenizer and chat template */

/*
 * A model's tokenizer: tokenizer.model (SentencePiece, BPE or unigram, read
 * from its protobuf) or tokenizer.json (Hugging Face BPE, byte-level or
 * metaspace), with the added tokens of tokenizer_config.json.  SentencePiece
 * encoding equals the sentencepiece library's (0.1.97).  Immutable once
 * loaded: one tokenizer may be used from several threads at once.
 */
typedef struct eng_tokenizer eng_tokenizer;

/* Loads tokenizer.model from model_dir or, when there is none,
 * tokenizer.json; then tokenizer_config.json (added_tokens_decoder,
 * add_bos_token, add_eos_token, bos_token, eos_token) and
 * generation_config.json (eos_token_id, an id or a list, and bos_token_id)
 * when present.  Every malformed file is an error naming it.
 * SentencePiece: model_type unigram or bpe, byte fallback or not, any
 * normalizer rule (identity, or a precompiled character map such as
 * nmt_nfkc), no denormalizer, no treat_whitespace_as_suffix.
 * tokenizer.json: a BPE model (byte_fallback, fuse_unk, ignore_merges),
 * the Prepend/Replace normalizers, a ByteLevel (GPT-2 split) or Metaspace
 * pre-tokenizer or none, and the ByteLevel, Metaspace or
 * Replace/ByteFallback/Fuse/Strip decoders.  Anything else fails with
 * PL_EUNSUPPORTED; no tokenizer file at all with PL_ENOTFOUND.  The
 * vocabulary size is one past the largest id of the model or the added
 * tokens. */
int eng_tokenizer_load(eng_tokenizer **out, const char *model_dir, pl_err *err);
void eng_tokenizer_free(eng_tokenizer *tk);

/* A model directory's tokenizer when it has one: *out = NULL (and 0) when
 * it holds neither tokenizer.model nor tokenizer.json; else the tokenizer
 * eng_tokenizer_load gives, which must also fit in an embedding of
 * embedding_rows rows (eng_tokenizer_check_vocab; <= 0 skips the check). */
int eng_tokenizer_load_for_model(eng_tokenizer **out, const char *model_dir, int64_t embedding_rows, pl_err *err);

/* Encodes len bytes of text; *ids_out is malloc'ed (never NULL on success,
 * *n_out may be 0).  With parse_special, the added tokens of
 * tokenizer_config.json found in the text (longest first, leftmost) become
 * their ids and each stretch of text between them is encoded by
 * SentencePiece on its own (with its own dummy prefix), as Hugging Face's
 * slow tokenizers do; without it the whole text goes to SentencePiece.
 * Adds no bos/eos. */
int eng_tokenizer_encode(int32_t **ids_out, size_t *n_out, const eng_tokenizer *tk, const char *text,
			 size_t len, bool parse_special, pl_err *err);
/* A prompt: parse_special, with bos/eos added as tokenizer_config's
 * add_bos_token / add_eos_token say (both false for LoopCoder-V2). */
int eng_tokenizer_encode_prompt(int32_t **ids_out, size_t *n_out, const eng_tokenizer *tk, const char *text,
				size_t len, pl_err *err);

/* Streaming decoder: push ids one at a time, each call appends the text
 * that became complete.  Byte-fallback pieces are held until their UTF-8
 * character is complete; an incomplete or invalid sequence becomes U+FFFD
 * per byte when a non-byte piece or eng_detok_flush ends it (as
 * sentencepiece does).  The ids are split at the added tokens of
 * tokenizer_config.json that are text (beyond the SentencePiece model, or
 * normal or user-defined pieces of it): those decode to their content, and
 * each run of ids between them decodes exactly as sentencepiece decodes
 * it, its dummy prefix (leading U+2581) dropped; so control pieces decode
 * to nothing and the unknown piece to " \u2047 ", and text encoded with
 * parse_special decodes back to itself.  Ids >= the vocabulary size decode
 * to nothing.  eng_detok_init_continue starts in the middle of a run, for
 * text that continues a prompt (a leading U+2581 is then a space).  The
 * struct is the caller's; release it after use. */
struct eng_detok {
	const eng_tokenizer *tk;
	pl_buf pending; /* bytes of an incomplete UTF-8 character */
	bool at_start;  /* the next piece's leading U+2581 is a dummy prefix */
};
void eng_detok_init(eng_detok *d, const eng_tokenizer *tk);
void eng_detok_init_continue(eng_detok *d, const eng_tokenizer *tk);
/* Fails only for a negative id (PL_EINVAL). */
int eng_detok_push(pl_buf *out, eng_detok *d, int32_t id, pl_err *err);
/* Ends the text: pending bytes of an incomplete character become U+FFFD. */
void eng_detok_flush(pl_buf *out, eng_detok *d);
void eng_detok_release(eng_detok *d);
/* Appends the text of ids to out (eng_detok over all of them, flushed);
 * equals sentencepiece's decode for ids of the SentencePiece model. */
int eng_tokenizer_decode(pl_buf *out, const eng_tokenizer *tk, const int32_t *ids, size_t n, pl_err *err);

size_t eng_tokenizer_vocab_size(const eng_tokenizer *tk);
/* -1 when none. */
int32_t eng_tokenizer_bos(const eng_tokenizer *tk);
/* The ids that end generation: generation_config's eos_token_id, then
 * tokenizer_config's eos_token, else the model's </s>.  Returns how many;
 * *ids_out is borrowed. */
size_t eng_tokenizer_eos_ids(const int32_t **ids_out, const eng_tokenizer *tk);
bool eng_tokenizer_is_eos(const eng_tokenizer *tk, int32_t id);
/* Added tokens marked special, and SentencePiece control pieces. */
bool eng_tokenizer_is_special(const eng_tokenizer *tk, int32_t id);
/* The piece (or added token content) of id; NULL when out of range or
 * when no piece has that id.  Borrowed. */
const char *eng_tokenizer_piece(const eng_tokenizer *tk, int32_t id);
/* The id of a piece or added token; -1 when absent. */
int32_t eng_tokenizer_find(const eng_tokenizer *tk, const char *piece);
/* 0 when every id of the tokenizer has a row in an embedding of
 * embedding_rows rows (config.json vocab_size; it may be larger, as
 * LoopCoder-V2 pads it to 76800), else PL_EFORMAT naming the tokenizer
 * file, its largest id and the embedding's rows. */
int eng_tokenizer_check_vocab(const eng_tokenizer *tk, int64_t embedding_rows, pl_err *err);
/* A new JSON object of facts: type, model_type, pieces, vocab_size,
 * added_tokens, byte_fallback, normalizer, bos, eos, add_bos_token. */
json_t *eng_tokenizer_describe(const eng_tokenizer *tk);

/* -- chat template (LoopCoder-V2 / IQuest: ChatML, Qwen3-style turns) */

/* How tool calls are written: JSON inside <tool_call></tool_call> (Hermes,
 * the template's own), or the XML form
 * <tool_call>\n<function=NAME>\n<parameter=KEY>\nVALUE\n</parameter>\n</function>\n</tool_call>
 * (Qwen3-Coder). */
typedef enum eng_tool_dialect { ENG_TOOLS_JSON, ENG_TOOLS_XML } eng_tool_dialect;
/* "json" (or "hermes") and "xml" (or "qwen3_coder"). */
int eng_tool_dialect_parse(eng_tool_dialect *out, const char *name, pl_err *err);
const char *eng_tool_dialect_name(eng_tool_dialect d);

typedef struct eng_chat_opts {
	eng_tool_dialect dialect;
	bool add_generation_prompt; /* end with "<|im_start|>assistant\n" */
	const char *default_system; /* NULL = "You are LoopCoder, a helpful assistant developed by IQuest.";
				     * "" = no system turn when there is no system message and no tools */
} eng_chat_opts;

/*
 * Appends the prompt for messages, an OpenAI-style array of {role, content,
 * tool_calls?, tool_call_id?, name?} (content a string, null, or an array of
 * {"type": "text", "text"} parts; tool_calls [{function: {name, arguments}}]
 * with arguments an object or a JSON string), and tools, an array of
 * {type: "function", function: {name, description, parameters}} or NULL.
 * The template: a system turn (the first message when it is a system
 * message, else the default), with tools followed by the "# Tools" block
 * listing each tool as JSON (", " / ": " separators, as `tojson`); user and
 * later system turns as "<|im_start|>ROLE\nCONTENT<|im_end|>\n"; assistant
 * turns with their tool calls in the chosen dialect; consecutive tool
 * results as <tool_response> blocks of one user turn.  opts may be NULL
 * (JSON dialect, generation prompt, default system).  On error (a message
 * naming the bad message index and field) out is left as it was.
 */
int eng_chat_render(pl_buf *out, const json_t *messages, const json_t *tools, const eng_chat_opts *opts,
		    pl_err *err);

/*
 * Parses the tool calls in generated assistant text: *calls_out is a new
 * JSON array of {"name", "arguments" (an object)}, and the text outside
 * the calls, trimmed, is appended to content_out.  JSON dialect: each
 * <tool_call>...</tool_call> holds {"name", "arguments"} (arguments an
 * object or a JSON string holding one).  XML dialect: each
 * <tool_call><function=...>...</function></tool_call> or bare
 * <function=...>...</function> block; parameter values are strings (one
 * newline on each side removed).  Text with no call gives an empty array.
 * Malformed calls (bad JSON, missing name, unclosed tags, stray text inside
 * a block) fail with PL_EFORMAT and a message naming the call; nothing is
 * returned then.
 */
int eng_chat_parse_tool_calls(json_t **calls_out, pl_buf *content_out, const char *text, eng_tool_dialect dialect,
			      pl_err *err);

#endif /* PLAIT_ENGINE_H */
