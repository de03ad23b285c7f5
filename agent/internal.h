/*
 * internal.h - what agent/'s source files share; never included outside
 * agent/.  Cross-file helpers carry the internal prefix agent__.
 *
 * Layers, bottom to top (no file calls a file above it; `make check`
 * enforces it):
 *   util.c                  environment, data directories, ids, time stamps
 *   prompt.c                prompts/ files and their {{placeholders}}
 *   settings.c              the settings table, profiles, provenance
 *   http.c, sse.c           libcurl POST with retries; server-sent events
 *   backend_openai.c, backend_anthropic.c, backend_engine.c, backends.c
 *   conv.c                  the conversation: messages, views, elision
 *   traj.c, traj_read.c     trajectories written as the run goes, and read back
 *   session.c               the loop, checkpoints, chat operations
 */
#ifndef PLAIT_AGENT_INTERNAL_H
#define PLAIT_AGENT_INTERNAL_H

#include "agent/agent.h"

/* ---------------------------------------------------------------- util.c */

/* The value of NAME in envp (NULL = the process environment), or NULL. */
const char *agent__env_get(char *const *envp, const char *name);
/* "~/x" with HOME from envp; a new string. */
char *agent__expand_home(const char *p, char *const *envp);
/* Appends to dirs one directory per line where plait's data of kind sub
 * ("prompts", "configs/agent") may live, in search order: $PLAIT_ROOT/sub,
 * PREFIX/share/plait/<last part of sub> (AGENT_DATA_DIR, where make
 * install puts them), /etc/plait/<last part>.  Never beside the running
 * program: a plait binary inside a work directory would read prompts and
 * settings (a sandbox profile's path among them) that sandboxed code
 * could have written there, as the sandbox's own profiles are not. */
void agent__data_dirs(pl_buf *dirs, const char *sub, char *const *envp);
/* Finds NAME.EXT in the data directories of kind sub (a NAME holding '/'
 * or ending in .EXT is a path used as is).  path gets the file. */
int agent__data_find(pl_buf *path, const char *sub, const char *name, const char *ext, const char *what,
		     char *const *envp, pl_err *err);
/* A fresh id "YYYYMMDD-HHMMSS-xxxxxx" (local time, random hex). */
void agent__new_id(char out[32]);
/* Wall-clock time as ISO 8601 UTC with milliseconds. */
void agent__iso_time(char out[40]);
/* Sleeps up to `seconds`, waking early when *cancel becomes non-zero;
 * returns PL_ECANCELED then. */
int agent__sleep(double seconds, const atomic_int *cancel);
/* Cuts text to at most max bytes, head and tail at UTF-8 character
 * boundaries, joined by a line saying how much was cut.  Returns true
 * when it cut. */
bool agent__cut_middle(pl_buf *out, const char *s, size_t n, size_t max);

/* A token count a server reported: a non-negative integer, else 0 (a
 * count of -5 or 1.5 is not one). */
int64_t agent__count(const json_t *v);

/* url as it may be shown or recorded: credentials in it
 * (scheme://user:token@host) and a query or fragment replaced by "***". */
void agent__url_safe(pl_buf *out, const char *url);

/* Text as a JSON string, invalid UTF-8 bytes replaced by U+FFFD. */
json_t *agent__json_text(const char *p, size_t n);
/* Bytes as a JSON string when they are UTF-8, else {"encoding": "base64",
 * "data"} (a patch of Latin-1 files). */
json_t *agent__json_bytes(const char *p, size_t n);
/* The bytes of either form, appended to out. */
void agent__bytes_from_json(pl_buf *out, const json_t *v);

/* ---------------------------------------------------------------- prompt.c */

/* Named values for a template: NULL-terminated pairs. */
typedef struct agent__var {
	const char *name;
	const char *value;
} agent__var;

/* Renders text with {{name}} replaced by the variable's value.  A
 * placeholder no variable names is an error naming `what` (the file) and
 * the placeholder; a variable the text does not use is fine. */
int agent__template(pl_buf *out, const char *text, const agent__var *vars, const char *what, pl_err *err);
/* Loads a prompt by name (prompts/NAME.txt in the data directories) or
 * path; path_out (may be NULL) gets where it came from. */
int agent__prompt_load(pl_buf *text, pl_buf *path_out, const char *name, char *const *envp, pl_err *err);

/* ---------------------------------------------------------------- settings.c */

/* True for the sections a configuration file may hold besides model_dirs
 * and data_dirs ("backend", "limits", ...). */
bool agent__settings_is_section(const char *name);
/* "backend, sampling, ..." for messages. */
const char *agent__settings_sections(void);
/* Checks one section of a configuration file (what: the file). */
int agent__settings_check_section(const char *section, const json_t *v, const char *what, pl_err *err);

/* ---------------------------------------------------------------- http.c */

typedef struct agent__http_req {
	const char *url;
	const char *const *headers; /* "Name: value", NULL-terminated */
	const char *body;
	size_t body_len;
	double connect_timeout; /* seconds */
	double stall_timeout;   /* seconds without a byte from the server */
	double deadline;        /* pl_now() value past which the request is abandoned; 0 = none */
	const atomic_int *cancel;
	/* Called with the body as it arrives when the status is 2xx (else the
	 * body is kept in resp->body); a negative code with err set aborts the
	 * transfer, and agent__http_post returns that code and message
	 * (PL_EIO, an error event in the stream, is retried). */
	int (*on_body)(void *user, const char *data, size_t n, pl_err *err);
	void *user;
} agent__http_req;

typedef struct agent__http_resp {
	long status;         /* 0 when no response came */
	pl_buf body;         /* the body, when not handed to on_body */
	double retry_after;  /* seconds the server asked to wait; < 0 when it did not */
	bool cancelled;      /* *cancel became non-zero */
	bool deadline_hit;   /* the deadline passed */
	bool stalled;        /* stall_timeout passed without a byte */
	bool transport;      /* no complete response: connection refused, reset, dropped */
	bool streamed;       /* the 2xx body was an event stream handed to on_body */
	double wait_s;       /* seconds in the transfer, minus those in on_body */
	char content_type[96]; /* the response's, "" when it had none */
} agent__http_resp;

void agent__http_resp_init(agent__http_resp *r);
void agent__http_resp_release(agent__http_resp *r);
/* One POST.  Returns 0 when a response came (any status), else a negative
 * code with err saying why (and resp's flags set): PL_ECANCELED,
 * PL_ETIMEOUT (deadline or stall), PL_EIO (transport), or on_body's. */
int agent__http_post(agent__http_resp *resp, const agent__http_req *req, pl_err *err);
/* Retry-After: delta seconds or an HTTP date; < 0 when unparseable. */
double agent__retry_after_parse(const char *value, double now_epoch);

/* ---------------------------------------------------------------- sse.c */

/* Server-sent events (the WHATWG rules the model servers follow): lines
 * ending in LF, CRLF or CR; "event:" and "data:" fields (several data
 * lines joined by LF); ":" comments; an event dispatched at a blank line. */
typedef int (*agent__sse_fn)(void *user, const char *event, const char *data, size_t n, pl_err *err);
/* The longest line and the largest event taken: no model's answer comes
 * near it, and a server that never ends one cannot make plait grow
 * without bound (PL_EFORMAT past it). */
#define AGENT__SSE_MAX ((size_t)16 << 20)
/* The most one attempt's answer may hold, text and tool calls (names,
 * ids, arguments) together: events under AGENT__SSE_MAX each can still
 * add up without end.  No model's answer comes near it; past it the
 * attempt fails with PL_EFORMAT, not retried. */
#define AGENT__ANSWER_MAX ((size_t)16 << 20)
/* The error for an answer past AGENT__ANSWER_MAX. */
int agent__answer_too_big(pl_err *err);
/* An error the server reported inside a stream ({"type", "code",
 * "message"}, or a bare string): PL_EIO (retried) when a retry may help
 * (overloaded, an API or server error, a rate limit: Anthropic's
 * overloaded_error, api_error, rate_limit_error, OpenAI's server_error,
 * rate_limit_exceeded, a code of 429 or 5xx), else PL_EINVAL, final; err
 * gets the server's message and type. */
int agent__stream_error(const json_t *e, pl_err *err);
typedef struct agent__sse {
	pl_buf line, event, data;
	bool has_data, cr;
	agent__sse_fn fn;
	void *user;
} agent__sse;
void agent__sse_init(agent__sse *s, agent__sse_fn fn, void *user);
void agent__sse_release(agent__sse *s);
/* Feeds bytes; returns the first non-zero value of fn, or PL_EFORMAT for
 * a line or event over AGENT__SSE_MAX. */
int agent__sse_feed(agent__sse *s, const char *p, size_t n, pl_err *err);

/* ---------------------------------------------------------------- backends */

/* What the loop hands a backend for one model call. */
typedef struct agent__request {
	const json_t *messages; /* the conversation in the backend's view (conv.c) */
	const pl_buf *const *wire; /* per message, the backend's cached serialisation, or NULL */
	const json_t *tools;    /* [{type: function, function: {name, description, parameters}}] or NULL */
	int dialect;            /* engine: eng_tool_dialect for the template */
	const agent_settings *settings;
	double deadline;        /* pl_now() value; 0 = none */
	const atomic_int *cancel;
	/* streaming: text as the model writes it */
	void (*on_text)(void *user, const char *text, size_t n);
	/* a failed attempt that will be retried after delay seconds */
	void (*on_retry)(void *user, int attempt, double delay, const char *why);
	void *user;
} agent__request;

/* What a backend hands back. */
typedef struct agent__reply {
	pl_buf text;        /* the assistant's text, exactly as written */
	json_t *calls;      /* native calls: [{id, name, arguments (the JSON text as sent)}] */
	char finish[32];    /* "stop", "tool_calls", "length", ... as the backend said */
	agent_usage usage;  /* this call's tokens (the attempt that answered) */
	agent_usage retried; /* tokens the failed attempts reported: billed too */
	double wait_s;      /* seconds waiting for the model (network or forward passes) */
	int retries;        /* attempts that failed and were retried */
} agent__reply;

void agent__reply_init(agent__reply *r);
void agent__reply_release(agent__reply *r);

typedef struct agent__backend_ops {
	const char *name;
	bool http; /* speaks a wire format with native tool calls */
	/* shared: a loaded model the backend may use (the engine's; the HTTP
	 * backends ignore it), or NULL */
	int (*open)(void **state, const agent_settings *s, agent_engine *shared, pl_err *err);
	/* Serialises one message of the backend's view for the request body
	 * (cached by the conversation); NULL when the backend does not. */
	void (*wire)(pl_buf *out, const json_t *msg);
	int (*chat)(agent__reply *out, void *state, const agent__request *req, pl_err *err);
	/* The model's name for prices and trajectories; borrowed. */
	const char *(*model_name)(void *state);
	/* Counters the backend keeps (engine: prefill and reused tokens), a new
	 * object, or NULL. */
	json_t *(*stats)(void *state);
	/* Tokens the model takes (0 = unknown: backend.context_window or 131072). */
	int64_t (*context_window)(void *state);
	void (*close)(void *state);
} agent__backend_ops;

extern const agent__backend_ops agent__backend_openai;
extern const agent__backend_ops agent__backend_anthropic;
extern const agent__backend_ops agent__backend_engine;
/* By name ("engine", "openai", "anthropic"); NULL when unknown. */
const agent__backend_ops *agent__backend_find(const char *name);

/* Shared by the HTTP backends: POST with retries on 429, 5xx, dropped
 * connections and stalls, exponential backoff with jitter, Retry-After
 * honoured.  reset() is called before each attempt (a stream parser
 * starts over).  Non-2xx bodies end up in err. */
typedef struct agent__http_call {
	agent__http_req req;
	const agent__request *rq;
	const agent_settings *settings;
	void (*reset)(void *user);
	/* After a 2xx: 0 when the answer is whole; PL_EIO (err set) when a
	 * stream ended before its end marker (a dropped connection the server
	 * closed cleanly), which is retried. */
	int (*check)(void *user, pl_err *err);
	void *reset_user;
	int retries;  /* out */
	double wait_s; /* out */
	long status;  /* out: the last status */
	bool streamed; /* out: the answer came as an event stream (else it is in body) */
	pl_buf body;  /* out: the body when not streamed */
	char content_type[96]; /* out: its content type */
} agent__http_call;
/* Sets c up for a POST of body to url with headers, under the settings'
 * timeouts and the request's deadline and cancel flag; with on_body, the
 * answer is an event stream handed to on_body, reset and check running
 * around each try (all with user).  The outputs start empty. */
void agent__http_call_init(agent__http_call *c, const char *url, const char *const *headers, const pl_buf *body,
			   const agent__request *rq, const agent_settings *s,
			   int (*on_body)(void *user, const char *data, size_t n, pl_err *err), void (*reset)(void *user),
			   int (*check)(void *user, pl_err *err), void *user);
int agent__http_call_run(agent__http_call *c, pl_err *err);
/* The whole answer c got is not JSON: an error saying what it is instead
 * (its content type and first bytes: a proxy's login page, say). */
int agent__http_not_json(const agent__http_call *c, pl_err *err);
void agent__http_call_release(agent__http_call *c);

/* ---------------------------------------------------------------- conv.c */

/* One message of the conversation: the canonical form (OpenAI-style with
 * plait's fields) and what is derived from it, rebuilt when it changes. */
typedef struct agent__msg {
	json_t *msg;     /* canonical */
	json_t *view;    /* the backend's view of it (format applied), or NULL */
	pl_buf wire;     /* the backend's serialisation of view; empty = not made */
	int turn;        /* user turn it belongs to (0 = the system prompt) */
	int step;        /* model call that made it or answers it; 0 = none */
	bool observation; /* a tool result or a message standing for one */
	bool elided;
	size_t bytes;    /* of its text (content, raw text, call arguments) */
} agent__msg;

typedef struct agent__conv {
	agent__msg *v;
	size_t n, cap;
	size_t bytes;        /* of every message's content */
	size_t bytes_at_report; /* bytes when the backend last reported prompt tokens */
	int64_t reported;    /* prompt tokens the backend last reported; 0 = none */
	json_t *array;       /* the canonical messages, in order (shared with v[i].msg) */
} agent__conv;

void agent__conv_release(agent__conv *c);
/* Appends a message (reference stolen). */
agent__msg *agent__conv_push(agent__conv *c, json_t *msg, int turn, int step, bool observation);
/* Records the prompt size the backend reported for the conversation as
 * it is now (input + output tokens of the last call). */
void agent__conv_report(agent__conv *c, int64_t tokens);
/* Drops messages from index n on. */
void agent__conv_truncate(agent__conv *c, size_t n);
/* Replaces a message's content (elision); its view and wire are remade. */
void agent__conv_set_content(agent__conv *c, size_t i, const char *text);
/* Estimated prompt tokens (the last report plus bytes / 4 since). */
int64_t agent__conv_tokens(const agent__conv *c);

/* How tool calls travel (settings "tools.format"). */
typedef enum agent__format {
	AGENT__FMT_NATIVE, /* the backend's own: wire tool calls, or the engine's template */
	AGENT__FMT_JSON,   /* <tool_call>{"name", "arguments"}</tool_call> in the text */
	AGENT__FMT_XML,    /* <tool_call><function=...><parameter=...> in the text */
	AGENT__FMT_TEXT    /* OpenHands: bare <function=...>, results as user turns */
} agent__format;
int agent__format_parse(agent__format *out, const char *name, pl_err *err);
/* True when calls come back as wire tool calls (native over HTTP), false
 * when they are parsed from the text. */
bool agent__format_structured(agent__format f, const agent__backend_ops *b);
/* Builds the backend's view of message m (json and wire), when missing. */
void agent__conv_view(agent__conv *c, size_t i, agent__format f, const agent__backend_ops *b);
/* The views of every message as a new array. */
json_t *agent__conv_views(agent__conv *c, agent__format f, const agent__backend_ops *b, const pl_buf ***wire_out);

/* Context management: when the estimate passes high x budget, the oldest
 * observations outside the first keep_first and last keep_last steps are
 * replaced by a short elision until it is under low x budget.  Returns the
 * indices elided (a new array; empty when none). */
json_t *agent__conv_manage(agent__conv *c, int64_t budget, double high, double low, int keep_first,
			   int keep_last);

/* ---------------------------------------------------------------- traj.c */

/* A trajectory: JSON Lines appended as the run goes, one record per write,
 * so a killed run leaves every record it finished (see docs/AGENT.md). */
typedef struct agent__traj {
	int fd;
	char *path;
	size_t records;
	off_t size;  /* bytes of whole records in the file */
	bool failed; /* a write failed: nothing more is written */
} agent__traj;

int agent__traj_open(agent__traj *t, const char *path, bool append, pl_err *err);
/* Appends {"type": type, "time": ..., ...fields}; fields is stolen.  The
 * first failed write returns its error, after cutting the file back to
 * its last whole record; from then on records are dropped and 0 returned:
 * the caller says so once and the run goes on. */
int agent__traj_write(agent__traj *t, const char *type, json_t *fields, pl_err *err);
void agent__traj_close(agent__traj *t);

#endif /* PLAIT_AGENT_INTERNAL_H */
