/*
 * engine.h - the PLT inference engine's public interface.
 *
 * Depends on common/ only; knows nothing of tools, sandbox or agent.
 * Prefix: eng_.
 *
 * This first part is what the engine can tell about the machine and the
 * model directories it is pointed at; loading, sessions and generation are
 * added by the engine issues.
 */
#ifndef PLAIT_ENGINE_H
#define PLAIT_ENGINE_H

#include "common/common.h"

/* ------------------------------------------------------------ backends */

/* Names of the compute backends compiled into this build, in order of
 * preference ("cuda" first when built, then "cpu"). NULL-terminated. */
const char *const *eng_backends_built(void);
bool eng_backend_is_built(const char *name);

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
	int runtime_version;  /* CUDA runtime linked in; 0 when not built */
	const char *probe;    /* "cuda-runtime" or "driver" */
	int count;            /* devices found */
	eng_gpu_info devices[16];
	char note[256];       /* why nothing was found, when count == 0 */
} eng_gpu_report;

/* Asks the CUDA runtime when the CUDA backend is built, else the driver
 * (dlopen of libcuda.so.1).  Never fails: what it could not learn is in
 * report->note. */
void eng_gpu_probe(eng_gpu_report *report);

/* ------------------------------------------------------------ models */

/* Find model directories (a directory holding config.json) at `dir` itself
 * and one level below it.  Appends one JSON object per model to `out` (an
 * array): path, architecture, loops, layers, hidden size, weight files and
 * bytes, tokenizer presence, and "problems" (a list of strings) for what
 * would stop it from loading.  A missing `dir` appends nothing. */
int eng_models_scan(json_t *out, const char *dir, pl_err *err);

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

/* Encodes len bytes of text; *ids_out is malloc'ed (never NULL on success,
 * *n_out may be 0).  With parse_special, the added tokens of
 * tokenizer_config.json found in the text (longest first, leftmost) become
 * their ids and each stretch of text between them is encoded by
 * SentencePiece on its own (with its own dummy prefix), as Hugging Face's
 * slow tokenizers do; without it the whole text goes to SentencePiece.
 * Adds no bos/eos. */
int eng_tokenizer_encode(const eng_tokenizer *tk, const char *text, size_t len, bool parse_special,
			 int32_t **ids_out, size_t *n_out, pl_err *err);
/* A prompt: parse_special, with bos/eos added as tokenizer_config's
 * add_bos_token / add_eos_token say (both false for LoopCoder-V2). */
int eng_tokenizer_encode_prompt(const eng_tokenizer *tk, const char *text, size_t len, int32_t **ids_out,
				size_t *n_out, pl_err *err);

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
 * text that
 * continues a prompt.  The struct is the caller's; release it after use. */
typedef struct eng_detok {
	const eng_tokenizer *tk;
	pl_buf pending; /* bytes of an incomplete UTF-8 character */
	bool at_start;  /* the next piece's leading U+2581 is a dummy prefix */
} eng_detok;
void eng_detok_init(eng_detok *d, const eng_tokenizer *tk);
void eng_detok_init_continue(eng_detok *d, const eng_tokenizer *tk);
/* Fails only for a negative id (PL_EINVAL). */
int eng_detok_push(eng_detok *d, int32_t id, pl_buf *out, pl_err *err);
/* Ends the text: pending bytes of an incomplete character become U+FFFD. */
void eng_detok_flush(eng_detok *d, pl_buf *out);
void eng_detok_release(eng_detok *d);
/* Appends the text of ids to out (eng_detok over all of them, flushed);
 * equals sentencepiece's decode for ids of the SentencePiece model. */
int eng_tokenizer_decode(const eng_tokenizer *tk, const int32_t *ids, size_t n, pl_buf *out, pl_err *err);

size_t eng_tokenizer_vocab_size(const eng_tokenizer *tk);
/* -1 when none. */
int32_t eng_tokenizer_bos(const eng_tokenizer *tk);
/* The ids that end generation: generation_config's eos_token_id, then
 * tokenizer_config's eos_token, else the model's </s>.  Borrowed. */
const int32_t *eng_tokenizer_eos_ids(const eng_tokenizer *tk, size_t *n);
bool eng_tokenizer_is_eos(const eng_tokenizer *tk, int32_t id);
/* Added tokens marked special, and SentencePiece control pieces. */
bool eng_tokenizer_is_special(const eng_tokenizer *tk, int32_t id);
/* The piece (or added token content) of id; NULL when out of range or
 * when no piece has that id.  Borrowed. */
const char *eng_tokenizer_piece(const eng_tokenizer *tk, int32_t id);
/* The id of a piece or added token; -1 when absent. */
int32_t eng_tokenizer_find(const eng_tokenizer *tk, const char *piece);
/* A new JSON object of facts: type, model_type, pieces, vocab_size,
 * added_tokens, byte_fallback, normalizer, bos, eos, add_bos_token. */
json_t *eng_tokenizer_describe(const eng_tokenizer *tk);

/* `plait tokenize`: encode text or decode ids with a model's tokenizer. */
extern const pl_cmd eng_tokenizer_commands[];

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
