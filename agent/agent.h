/*
 * agent.h - the agent: configuration, model backends (the embedded engine,
 * OpenAI-compatible and Anthropic HTTP), the tool-calling loop,
 * trajectories, and what `plait fix` and `plait chat` are built on.
 *
 * Depends on engine/, tools/, sandbox/ and common/.  Prefix: agent_.
 * docs/AGENT.md describes the loop, the formats and the files; the
 * settings are listed in docs/CONFIGURATION.md.
 *
 * Nothing here prints to stdout or parses argv: the front-ends in cli/
 * turn flags into settings (agent_settings_set) and events into output.
 */
#ifndef PLAIT_AGENT_H
#define PLAIT_AGENT_H

#include <stdatomic.h>

#include "common/common.h"

/* ================================================================ files */

/*
 * Configuration files, merged in this order (later wins, lists are replaced):
 *   built-in defaults
 *   /etc/plait/config.json
 *   $XDG_CONFIG_HOME/plait/config.json (default ~/.config/plait/config.json)
 *   the file given with --config
 * then the environment: PLAIT_MODEL_PATH and PLAIT_DATA_PATH (colon-separated)
 * put their directories first.  Unknown keys are errors (a typo must not be
 * silently ignored).  A leading "~/" is expanded with HOME.  Besides
 * model_dirs and data_dirs a file may hold the agent's settings sections
 * (backend, sampling, limits, tools, loop, context, prompts, prices,
 * paths: agent_settings below); they are checked here and kept in
 * `layers` for agent_settings_load.
 */
typedef struct agent_config {
	char **model_dirs; /* NULL-terminated; searched in order */
	char **data_dirs;  /* NULL-terminated; benchmark datasets */
	char **files;      /* NULL-terminated; config files that were read */
	json_t *layers;    /* [{"source": FILE, "settings": {section: {...}}}], in merge order */
} agent_config;

typedef struct agent_config_opts {
	const char *file;          /* --config FILE, or NULL */
	const char *system_file;   /* NULL = /etc/plait/config.json; "" = none */
	char *const *envp;         /* NULL = the process environment */
} agent_config_opts;

int agent_config_load(agent_config **out, const agent_config_opts *opts, pl_err *err);
void agent_config_free(agent_config *cfg);

/* libcurl's version, TLS backend and whether https is supported:
 * {"libcurl", "tls", "https"}.  libcurl is loaded at first use (see
 * pl_dl_open); NULL with err set when it cannot be. */
json_t *agent_http_info(pl_err *err);
/* Which backend credentials are present in the environment (names only,
 * never values): OPENAI_API_KEY, ANTHROPIC_API_KEY, OPENAI_BASE_URL. */
json_t *agent_credentials_present(char *const *envp);

/* ================================================================ settings */

/*
 * Everything a run of the agent is configured by, each value with where it
 * came from.  Merge order (later wins): built-in defaults, the profile
 * (configs/agent/NAME.json: `plait fix` uses "swebench", `plait chat`
 * "chat"), the agent sections of the configuration files in their order,
 * then the command line (agent_settings_set with the flag as source).
 * Keys are "section.name" ("limits.max_steps"); agent_settings_keys lists
 * them with type, default and meaning.
 */
typedef struct agent_settings {
	/* backend */
	char *backend;         /* "engine", "openai", "anthropic" */
	char *model;           /* engine: a model directory, or a name under model_dirs */
	char *api_base;        /* "" = the backend's default (or OPENAI_BASE_URL) */
	char *api_model;       /* the "model" field sent over HTTP */
	char *api_key_env;     /* "" = OPENAI_API_KEY / ANTHROPIC_API_KEY */
	double timeout;        /* seconds without a byte from the server */
	double connect_timeout;
	int max_retries;
	double retry_base, retry_max; /* backoff: base x 2^attempt, jittered, at most max */
	bool stream;
	int threads, loops;    /* engine: worker threads (0 = cores), PLT loops (0 = config) */
	int64_t context_window; /* tokens the model takes; 0 = the engine model's, else 131072 */
	/* sampling */
	double temperature, top_p;
	int top_k;
	int64_t max_tokens;    /* per model call */
	int64_t seed;          /* < 0: none */
	/* limits */
	int max_steps;
	int64_t max_total_tokens; /* input + output over the run; 0 = none */
	double max_seconds;       /* 0 = none */
	double max_cost;          /* USD; 0 = none */
	int max_format_errors;    /* consecutive malformed calls that end a run */
	int max_calls_per_answer; /* calls run from one answer; the rest are answered "not run" */
	/* tools */
	char *tool_format;     /* "native", "json", "xml", "text" */
	char **tools;          /* enabled tools, NULL-terminated */
	double command_timeout; /* bash's timeout when the model gives none */
	int64_t max_observation; /* characters kept of an observation (head and tail) */
	char *sandbox_profile;
	bool allow_empty_submit; /* false: the first submit of an empty patch is refused */
	char *approval;        /* chat: "ask", "auto-edit", "full-auto", "read-only" */
	/* loop */
	char *on_no_tool_call; /* "finish" or "nudge" */
	/* context */
	int64_t context_budget; /* tokens; 0 = the context window minus max_tokens */
	double context_high, context_low;
	int keep_first, keep_last; /* steps whose observations are never elided */
	/* prompts: names in prompts/ or paths; "" = none */
	char *prompt_system, *prompt_task, *prompt_nudge, *prompt_format_error, *prompt_tools;
	/* prices: {"MODEL": {"input": USD, "output": USD, "cached_input": USD}} per million tokens */
	json_t *prices;
	/* paths */
	char *runs_dir, *sessions_dir;
	/* the config's model_dirs (borrowed from agent_config for the engine) */
	char **model_dirs;

	json_t *values;  /* {"section.name": value} in table order */
	json_t *sources; /* {"section.name": "where it came from"} */
	char *const *envp;
} agent_settings;

typedef struct agent_settings_opts {
	const char *profile;        /* a name in configs/agent/ or a path; NULL = none */
	const agent_config *config; /* its layers are applied; may be NULL */
	char *const *envp;          /* NULL = the process environment */
} agent_settings_opts;

int agent_settings_load(agent_settings **out, const agent_settings_opts *opts, pl_err *err);
void agent_settings_free(agent_settings *s);
/* Sets one key from text ("250", "0.7", "true", "a,b,c" for a list, JSON for
 * an object), checked as the table says; source says where it came from
 * ("--max-steps").  The message names the source and the key. */
int agent_settings_set(agent_settings *s, const char *key, const char *text, const char *source, pl_err *err);
/* Checks what only makes sense together (an engine backend needs a model;
 * the named prompts exist; the tools exist; the sandbox profile loads)
 * after the last set. */
int agent_settings_check(agent_settings *s, pl_err *err);
/* {"key": value} or, with sources, {"key": {"value", "source"}}; new
 * reference.  Credentials in backend.api_base (user:token@) show as ***. */
json_t *agent_settings_json(const agent_settings *s, bool with_sources);
/* [{"key", "type", "default", "description"}] of every setting; new reference. */
json_t *agent_settings_keys(void);

/* ================================================================ usage */

typedef struct agent_usage {
	int64_t input;   /* prompt tokens, summed over calls */
	int64_t output;  /* generated tokens */
	int64_t cached;  /* of input: served from a cache (engine: K/V kept between turns) */
	int64_t calls;   /* model calls */
	double cost;     /* USD, when cost_known */
	bool cost_known; /* false when a call's model has no price in `prices` */
} agent_usage;

void agent_usage_add(agent_usage *sum, const agent_usage *u);
/* {"input", "output", "cached", "calls", "cost" (null when unknown)}. */
json_t *agent_usage_json(const agent_usage *u);

/* ================================================================ the loop */

typedef enum agent_exit {
	AGENT_EXIT_NONE = 0,
	AGENT_EXIT_SUBMITTED,     /* the model called submit */
	AGENT_EXIT_ANSWERED,      /* it answered without a tool call (loop.on_no_tool_call "finish") */
	AGENT_EXIT_STEP_LIMIT,
	AGENT_EXIT_TOKEN_LIMIT,
	AGENT_EXIT_TIME_LIMIT,
	AGENT_EXIT_COST_LIMIT,
	AGENT_EXIT_FORMAT_ERRORS, /* limits.max_format_errors malformed calls in a row */
	AGENT_EXIT_MODEL_ERROR,   /* the backend failed after its retries */
	AGENT_EXIT_CANCELLED,
	AGENT_EXIT_TOOL_ERROR     /* a tool failed where the model can do nothing about it (submit) */
} agent_exit;

/* "submitted", "answered", "step_limit", ... */
const char *agent_exit_name(agent_exit e);

typedef enum agent_event_type {
	AGENT_EV_START,      /* the run or turn began: {repo, model, backend, trajectory} */
	AGENT_EV_STEP,       /* a model call begins: {step} */
	AGENT_EV_TEXT,       /* a piece of the model's text as it streams (text, len) */
	AGENT_EV_RETRY,      /* {attempt, delay, reason, discard_text: the text this attempt streamed is not the answer} */
	AGENT_EV_ASSISTANT,  /* the model's message: {step, content, tool_calls, usage, cost} */
	AGENT_EV_TOOL_START, /* {step, id, name, arguments} */
	AGENT_EV_TOOL_END,   /* {step, id, name, ok, exit_code, files, text, diff?, seconds} */
	AGENT_EV_FORMAT_ERROR, /* {step, error} */
	AGENT_EV_ELIDED,     /* {messages: [indices]} */
	AGENT_EV_WARNING,    /* {message} */
	AGENT_EV_END         /* {exit_reason, message, submitted, patch, usage, steps, elapsed} */
} agent_event_type;

typedef struct agent_event {
	agent_event_type type;
	int step;
	const char *text; /* AGENT_EV_TEXT only */
	size_t len;
	const json_t *data; /* every event: {"type": NAME, ...} as listed above; borrowed */
} agent_event;

typedef void (*agent_event_fn)(void *user, const agent_event *ev);

/* Asked before a tool call that needs approval (settings tools.approval):
 * return true to run it; false with a reason in why (may stay empty)
 * refuses it, and the model is told so. */
typedef bool (*agent_approve_fn)(void *user, const char *tool, const json_t *args, pl_buf *why);

typedef struct agent_session agent_session;

/*
 * A model loaded once for several sessions of the engine backend (the
 * workers of `plait bench swe infer`): its weights, thread pool and
 * tokenizer, from the settings' backend.model, loops and threads.  A
 * session opened with agent_session_opts.engine uses it instead of loading
 * a copy of its own; it still has its own K/V (an eng_session) and sampler.
 * Sessions on different threads may share it: their forward passes take
 * turns (docs/ENGINE.md).  It must outlive its sessions.
 */
typedef struct agent_engine agent_engine;

int agent_engine_open(agent_engine **out, const agent_settings *s, pl_err *err);
void agent_engine_free(agent_engine *e);
/* {"model": its name, "dir", "sessions": sessions opened on it so far};
 * new reference.  Safe while sessions run. */
json_t *agent_engine_stats(const agent_engine *e);

typedef struct agent_session_opts {
	const char *repo;       /* the repository (or directory) the tools work on */
	const char *base;       /* commit patches are taken against; NULL = HEAD */
	const char *kind;       /* "fix" or "chat": recorded in the trajectory */
	const char *traj_path;  /* where the trajectory goes; NULL = traj_dir/ID.jsonl */
	const char *traj_dir;   /* when traj_path is NULL; NULL too = no trajectory */
	agent_event_fn on_event;
	agent_approve_fn approve; /* NULL: everything the approval mode allows runs */
	void *user;
	const atomic_int *cancel; /* set non-zero (a signal handler may) to cancel */
	bool checkpoints;       /* keep a patch per turn and per edit (/undo, /rewind) */
	bool diffs;             /* AGENT_EV_TOOL_END carries an edit's diff (the editor's data.diff) */
	/* backend "engine": the loaded model to use (borrowed; its model
	 * replaces backend.model); NULL = the session loads its own */
	agent_engine *engine;
	const pl_log *log;
} agent_session_opts;

/* Opens the tools on the repository, the backend (a model is loaded
 * here), and the trajectory (its first record).  The settings are
 * borrowed and must outlive the session. */
int agent_session_new(agent_session **out, const agent_settings *s, const agent_session_opts *o, pl_err *err);
/* Reopens a session from its trajectory (a chat session file): the
 * conversation, usage and checkpoints as they were; new records are
 * appended to the same file.  The repository's files are left as they are.
 * Refused (PL_EINVAL) unless o->repo is the repository the session was
 * recorded on; records that are not as plait writes them are left out,
 * with one AGENT_EV_WARNING. */
int agent_session_resume(agent_session **out, const agent_settings *s, const agent_session_opts *o,
			 const char *traj_path, pl_err *err);
void agent_session_free(agent_session *s);

typedef struct agent_result {
	agent_exit exit;
	pl_buf message;   /* why it ended, in words (the limit, the model's error) */
	pl_buf patch;     /* submitted, or for other endings the changes at the end */
	pl_buf answer;    /* the model's last text */
	bool submitted;
	int steps;        /* model calls of this run */
	agent_usage usage; /* this run's */
	double elapsed;   /* seconds */
	double overhead_ms_mean, overhead_ms_max; /* the agent's own time per step */
} agent_result;

void agent_result_init(agent_result *r);
void agent_result_release(agent_result *r);
/* {exit_reason, message, submitted, patch, patch_encoding, usage, steps,
 * elapsed, trajectory, id, model, overhead_ms_per_step}: patch is a string
 * when it is UTF-8 (patch_encoding "utf-8"), else {"encoding": "base64",
 * "data"} (patch_encoding "base64"). */
json_t *agent_result_json(const agent_result *r, const agent_session *s);

/*
 * Sends a user message and runs the loop until it ends: model call, tool
 * calls parsed and run, observations appended, until submit, an answer
 * without a tool call (loop.on_no_tool_call "finish"), or a limit.  The
 * first message of a session goes through prompts.task ({{issue}},
 * {{repo}}) when one is set.  Returns 0 with res filled for every ending
 * (res->exit says which); a negative code only when the session cannot
 * go on (the first message cannot be made).  A trajectory that cannot be
written is said once (an AGENT_EV_WARNING) and the run goes on without it.
 */
int agent_session_run(agent_result *res, agent_session *s, const char *text, pl_err *err);

/* The conversation (canonical messages), borrowed. */
json_t *agent_session_messages(const agent_session *s);
/* Every user turn so far: [{"turn", "text", "message"}] (new reference). */
json_t *agent_session_turns(const agent_session *s);
const agent_usage *agent_session_usage(const agent_session *s);
const char *agent_session_id(const agent_session *s);
const char *agent_session_traj_path(const agent_session *s);
/* "backend:model", borrowed. */
const char *agent_session_model(const agent_session *s);
/* Counters of the backend (engine: prefill_tokens, reused_tokens), new or NULL. */
json_t *agent_session_backend_stats(const agent_session *s);

/* Chat operations (agent_session_opts.checkpoints must be set):
 * undo takes back the last change a tool made (repeat to go further back)
 * and says what in msg; rewind goes back to before user turn `turn`
 * (1-based): the changes of those turns and the conversation.  Both put
 * back only the files those changes changed, and only while each is as
 * the change left it: otherwise PL_EEXISTS names the file and nothing
 * changes (HEAD, the index and other files are never touched).  reset
 * clears the conversation (files stay); diff appends the patch of every
 * change since the base. */
int agent_session_undo(agent_session *s, pl_buf *msg, pl_err *err);
int agent_session_rewind(agent_session *s, int turn, pl_err *err);
int agent_session_reset(agent_session *s, pl_err *err);
int agent_session_diff(agent_session *s, pl_buf *out, pl_err *err);
/* Switches the model: api_model over HTTP, the model directory or name for
 * the engine (which is loaded here, for this session alone even when it
 * shared an agent_engine).  It sets that key in the session's
 * settings (source "/model"), which the caller lent and must not share
 * with another session meanwhile. */
int agent_session_set_model(agent_session *s, const char *model, pl_err *err);

/* ================================================================ trajectories */

/* Reads a trajectory file: *out is an array of its records.  A last line
 * that a killed run left unfinished is dropped and *complete (may be NULL)
 * says whether the file has its "end" record.  Another line that cannot
 * be read costs that record only: *skipped (may be NULL) gets
 * [{line, error}] for each.  A first line that is not a start record
 * makes the file unreadable (an error). */
int agent_traj_load(json_t **out, bool *complete, json_t **skipped, const char *path, pl_err *err);
/* One trajectory in numbers: {id, kind, repo, model, started, exit_reason
 * (null while unfinished), submitted, steps, tool_calls, format_errors,
 * usage, elapsed, complete}. */
json_t *agent_traj_summary(const json_t *records);
/* Sums every trajectory (*.jsonl) in dir: {runs, complete, exit_reasons
 * {name: n}, submitted, steps, tool_calls, usage, cost_unknown_runs,
 * elapsed, files: [summaries]}.  Unreadable files, and unreadable lines
 * of the others, are listed in "errors". */
int agent_traj_stats(json_t **out, const char *dir, pl_err *err);
/* Chat sessions saved in dir for repo (NULL = any), newest first:
 * [{id, path, repo, started, turns, first}]; a file that cannot be read
 * is listed whatever its repository, as {id (its name), path, error}. */
int agent_sessions_list(json_t **out, const char *dir, const char *repo, pl_err *err);

#endif /* PLAIT_AGENT_H */
