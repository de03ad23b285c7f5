/* session.c - the agent loop: a model call, its tool calls parsed,
 * checked and run, observations appended, until submit, an answer, or a
 * limit; the trajectory written as it goes; checkpoints and the chat
 * operations (undo, rewind, reset, model switch); resuming a session
 * from its trajectory. */
#define _GNU_SOURCE
#include "agent/internal.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "tools/tools.h"

struct agent_session {
	const agent_settings *s;
	agent_session_opts o;
	char *repo, *kind, *base;
	char id[32];
	tools_ctx *tools;
	const agent__backend_ops *b;
	void *bstate;
	char *model_label;
	agent__format fmt;
	eng_tool_dialect dialect;
	json_t *tools_json; /* OpenAI-style, the enabled tools */
	json_t *schemas;    /* name -> parsed schema */
	agent__conv conv;
	agent__traj traj;
	pl_buf system, task, nudge, format_error;
	char *task_what, *format_error_what, *nudge_what;
	int turn, step;
	agent_usage usage;
	json_t *checkpoints; /* [{turn, index}]: where each turn starts in the conversation */
	json_t *edits;       /* [{label, turn, before, after}]: snapshots around each change, newest last */
	bool snapshots;      /* checkpoints on, and the repository takes snapshots */
	char base_hex[41];
};

/* ---------------------------------------------------------------- helpers */

static void emit(agent_session *s, agent_event_type type, int step, json_t *data, const char *text, size_t len)
{
	static const char *const names[] = { "start", "step",  "text",         "retry",  "assistant", "tool_start",
					     "tool_end", "format_error", "elided", "warning", "end" };
	agent_event ev;

	if (!s->o.on_event) {
		json_decref(data);
		return;
	}
	if (!data)
		data = json_object();
	json_object_set_new(data, "type", json_string(names[type]));
	ev.type = type;
	ev.step = step;
	ev.text = text;
	ev.len = len;
	ev.data = data;
	s->o.on_event(s->o.user, &ev);
	json_decref(data);
}

/* Writes a record.  A trajectory that cannot be written (a full disk) is
 * said once, and the run goes on without it: losing the run's result for
 * its record would be worse. */
static int traj(agent_session *s, const char *type, json_t *fields, pl_err *err)
{
	pl_err e = { 0 };
	char m[PL_ERR_MSG_MAX + 96];

	(void)err;
	if (agent__traj_write(&s->traj, type, fields, &e) == 0)
		return 0;
	snprintf(m, sizeof(m), "%s: the run goes on without its trajectory", e.msg);
	if (s->o.on_event)
		emit(s, AGENT_EV_WARNING, s->step, json_pack("{s:s}", "message", m), NULL, 0);
	else
		pl_log_warn(s->o.log, "%s", m);
	return 0;
}

static bool cancelled(const agent_session *s)
{
	return s->o.cancel && atomic_load(s->o.cancel);
}

/* Appends a message to the conversation and the trajectory. */
static int push(agent_session *s, json_t *msg, int step, bool observation, pl_err *err)
{
	size_t index = s->conv.n;

	agent__conv_push(&s->conv, msg, s->turn, step, observation);
	return traj(s, "message",
		    json_pack("{s:I, s:i, s:i, s:b, s:O}", "index", (json_int_t)index, "turn", s->turn, "step", step,
			      "observation", observation, "message", msg),
		    err);
}

static bool is_edit_tool(const char *name)
{
	return !strcmp(name, "create") || !strcmp(name, "str_replace") || !strcmp(name, "insert") ||
	       !strcmp(name, "undo_edit");
}

static bool changes_files(const char *name)
{
	return is_edit_tool(name) || !strcmp(name, "bash");
}

/* The current patch against the base, through the tools' diff. */
static int current_patch(agent_session *s, pl_buf *out, pl_err *err)
{
	tools_obs obs;
	const json_t *p;
	int rc;
	json_t *none = json_object();

	tools_obs_init(&obs);
	rc = tools_call(&obs, s->tools, "diff", none, err);
	json_decref(none);
	if (rc == 0 && obs.is_error)
		rc = pl_err_set(err, PL_EINVAL, "%s", obs.text.ptr);
	if (rc < 0) {
		tools_obs_release(&obs);
		return rc;
	}
	p = json_object_get(obs.data, "patch");
	if (json_is_string(p))
		pl_buf_add(out, json_string_value(p), json_string_length(p));
	tools_obs_release(&obs);
	return 0;
}

static void price(agent_session *s, agent_usage *u)
{
	const json_t *p = json_object_get(s->s->prices, s->b->model_name(s->bstate));
	double in, out, cin;

	if (!json_is_object(p)) {
		u->cost_known = false;
		u->cost = 0;
		return;
	}
	in = json_number_value(json_object_get(p, "input"));
	out = json_number_value(json_object_get(p, "output"));
	cin = json_object_get(p, "cached_input") ? json_number_value(json_object_get(p, "cached_input")) : in;
	u->cost = ((double)(u->input - u->cached) * in + (double)u->cached * cin + (double)u->output * out) / 1e6;
	u->cost_known = true;
}

/* ---------------------------------------------------------------- tools */

/* The tools the model is offered, OpenAI-style. */
static void build_tools(agent_session *s)
{
	bool ro = !strcmp(s->s->approval, "read-only");
	size_t i;

	s->tools_json = json_array();
	s->schemas = json_object();
	for (i = 0; s->s->tools[i]; i++) {
		const tools_def *d = tools_find(s->s->tools[i]);

		if (!d || (ro && changes_files(d->name)))
			continue;
		pl_json_set(s->schemas, d->name, tools_def_schema(d));
		json_array_append_new(s->tools_json,
				      json_pack("{s:s, s:{s:s, s:s, s:O}}", "type", "function", "function", "name",
						d->name, "description", d->description, "parameters",
						json_object_get(s->schemas, d->name)));
	}
}

/* The tools described for a model that writes its calls in the text. */
static void describe_tools(pl_buf *out, const json_t *tools, agent__format fmt)
{
	size_t i, k;
	json_t *t;

	json_array_foreach(tools, i, t) {
		const json_t *f = json_object_get(t, "function"), *params = json_object_get(f, "parameters");
		const json_t *props = json_object_get(params, "properties"), *req = json_object_get(params, "required");
		const char *name = json_string_value(json_object_get(f, "name")), *pn;
		json_t *p;

		if (fmt != AGENT__FMT_TEXT) {
			if (i)
				pl_buf_putc(out, '\n');
			pl_json_dump(out, t, false);
			continue;
		}
		pl_buf_printf(out, "%s---- BEGIN FUNCTION #%zu: %s ----\nDescription: %s\nParameters:\n", i ? "\n" : "",
			      i + 1, name, json_string_value(json_object_get(f, "description")));
		k = 0;
		json_object_foreach((json_t *)props, pn, p) {
			bool required = false;
			size_t j;
			json_t *r;

			json_array_foreach(req, j, r)
				if (!strcmp(json_string_value(r), pn))
					required = true;
			pl_buf_printf(out, "  (%zu) %s (%s, %s)", ++k, pn,
				      json_string_value(json_object_get(p, "type")) ?: "any",
				      required ? "required" : "optional");
			if (json_is_string(json_object_get(p, "description")))
				pl_buf_printf(out, ": %s", json_string_value(json_object_get(p, "description")));
			if (json_is_array(json_object_get(p, "enum"))) {
				pl_buf_puts(out, ". Allowed values: ");
				pl_json_dump(out, json_object_get(p, "enum"), false);
			}
			pl_buf_putc(out, '\n');
		}
		if (!k)
			pl_buf_puts(out, "  none\n");
		pl_buf_printf(out, "---- END FUNCTION #%zu ----\n", i + 1);
	}
}

/* Values a text format wrote as strings, turned into the type the schema
 * asks for when they parse as one ("5" for an integer, "[1, 9]" for an
 * array). */
static void coerce(json_t *args, const json_t *schema)
{
	const json_t *props = json_object_get(schema, "properties");
	const char *k;
	json_t *v;

	json_object_foreach(args, k, v) {
		const char *type = json_string_value(json_object_get(json_object_get(props, k), "type"));
		json_t *parsed = NULL;

		if (!type || !json_is_string(v) || !strcmp(type, "string"))
			continue;
		if (pl_json_parse(&parsed, json_string_value(v), json_string_length(v), k, NULL) < 0)
			continue;
		if ((!strcmp(type, "integer") && json_is_integer(parsed)) ||
		    (!strcmp(type, "number") && json_is_number(parsed)) ||
		    (!strcmp(type, "boolean") && json_is_boolean(parsed)) ||
		    (!strcmp(type, "array") && json_is_array(parsed)) || (!strcmp(type, "object") && json_is_object(parsed)))
			json_object_set(args, k, parsed);
		json_decref(parsed);
	}
}

/* ---------------------------------------------------------------- open */

static int load_prompt(pl_buf *text, char **what, const char *name, char *const *envp, pl_err *err)
{
	pl_buf path = PL_BUF_INIT;
	int rc;

	if (!*name)
		return 0;
	if ((rc = agent__prompt_load(text, &path, name, envp, err)) < 0)
		return rc;
	*what = pl_buf_detach(&path, NULL);
	return 0;
}

static int build_system(agent_session *s, pl_buf *out, pl_err *err)
{
	pl_buf text = PL_BUF_INIT, tools_text = PL_BUF_INIT, desc = PL_BUF_INIT;
	char *what = NULL, *twhat = NULL;
	agent__var vars[] = { { "repo", s->repo }, { NULL, NULL } };
	int rc = 0;

	if ((rc = load_prompt(&text, &what, s->s->prompt_system, s->s->envp, err)) < 0)
		goto done;
	if (what && (rc = agent__template(out, text.ptr, vars, what, err)) < 0)
		goto done;
	/* calls written in the text, over a backend that does not render the
	 * tools itself: describe them in the system prompt */
	if (!agent__format_structured(s->fmt, s->b) && (s->b->http || s->fmt == AGENT__FMT_TEXT)) {
		const char *name = *s->s->prompt_tools ? s->s->prompt_tools :
				   s->fmt == AGENT__FMT_TEXT ? "tools_text" :
				   s->fmt == AGENT__FMT_XML ? "tools_xml" : "tools_json";
		agent__var tv[] = { { "tools", NULL }, { "repo", s->repo }, { NULL, NULL } };

		if ((rc = load_prompt(&tools_text, &twhat, name, s->s->envp, err)) < 0)
			goto done;
		describe_tools(&desc, s->tools_json, s->fmt);
		tv[0].value = desc.ptr;
		if (out->len)
			pl_buf_puts(out, "\n\n");
		if ((rc = agent__template(out, tools_text.ptr, tv, twhat, err)) < 0)
			goto done;
	}
done:
	free(what);
	free(twhat);
	pl_buf_release(&text);
	pl_buf_release(&tools_text);
	pl_buf_release(&desc);
	return rc;
}

static void session_free_parts(agent_session *s)
{
	if (s->b && s->bstate)
		s->b->close(s->bstate);
	tools_ctx_free(s->tools);
	agent__traj_close(&s->traj);
	agent__conv_release(&s->conv);
	json_decref(s->tools_json);
	json_decref(s->schemas);
	json_decref(s->checkpoints);
	json_decref(s->edits);
	pl_buf_release(&s->system);
	pl_buf_release(&s->task);
	pl_buf_release(&s->nudge);
	pl_buf_release(&s->format_error);
	free(s->task_what);
	free(s->nudge_what);
	free(s->format_error_what);
	free(s->model_label);
	free(s->repo);
	free(s->kind);
	free(s->base);
	free(s);
}

static void set_label(agent_session *s)
{
	pl_buf b = PL_BUF_INIT;

	pl_buf_printf(&b, "%s:%s", s->b->name, s->b->model_name(s->bstate));
	free(s->model_label);
	s->model_label = pl_buf_detach(&b, NULL);
}

/* Everything but the trajectory and the first messages. */
static int open_parts(agent_session **out, const agent_settings *st, const agent_session_opts *o, pl_err *err)
{
	agent_session *s = pl_xcalloc(1, sizeof(*s));
	tools_ctx_opts to = { 0 };
	char real[PATH_MAX];
	int rc;

	s->s = st;
	s->o = *o;
	s->traj.fd = -1;
	s->checkpoints = json_array();
	s->edits = json_array();
	if (!o->repo || !realpath(o->repo, real)) {
		rc = pl_err_sys(err, PL_ENOTFOUND, "repository '%s'", o->repo ? o->repo : "(none)");
		goto fail;
	}
	s->repo = pl_xstrdup(real);
	s->kind = pl_xstrdup(o->kind ? o->kind : "fix");
	s->base = o->base ? pl_xstrdup(o->base) : NULL;
	s->o.repo = s->repo;
	s->o.kind = s->kind;
	s->o.base = s->base;
	s->o.traj_path = NULL;
	s->o.traj_dir = NULL;
	agent__new_id(s->id);
	if ((rc = agent__format_parse(&s->fmt, st->tool_format, err)) < 0)
		goto fail;
	s->dialect = s->fmt == AGENT__FMT_JSON || s->fmt == AGENT__FMT_NATIVE ? ENG_TOOLS_JSON : ENG_TOOLS_XML;
	if (!(s->b = agent__backend_find(st->backend))) {
		rc = pl_err_set(err, PL_EUNSUPPORTED, "backend '%s' is not available in this build", st->backend);
		goto fail;
	}
	to.base = o->base;
	to.max_output = (size_t)st->max_observation;
	to.sandbox_profile = st->sandbox_profile;
	to.allow_empty_submit = st->allow_empty_submit;
	to.log = o->log;
	to.cancel = o->cancel; /* Ctrl-C kills a running command, stops a search */
	if ((rc = tools_ctx_new(&s->tools, s->repo, &to, err)) < 0)
		goto fail;
	build_tools(s);
	if ((rc = build_system(s, &s->system, err)) < 0 ||
	    (rc = load_prompt(&s->task, &s->task_what, st->prompt_task, st->envp, err)) < 0 ||
	    (rc = load_prompt(&s->nudge, &s->nudge_what, st->prompt_nudge, st->envp, err)) < 0 ||
	    (rc = load_prompt(&s->format_error, &s->format_error_what, st->prompt_format_error, st->envp, err)) < 0)
		goto fail;
	{
		/* a template with an unknown placeholder fails now, not at step 40 */
		agent__var tv[] = { { "issue", "" }, { "repo", "" }, { NULL, NULL } };
		agent__var ev[] = { { "error", "" }, { NULL, NULL } };
		pl_buf t = PL_BUF_INIT;

		if ((s->task_what && (rc = agent__template(&t, s->task.ptr, tv, s->task_what, err)) < 0) ||
		    (s->format_error_what &&
		     (rc = agent__template(&t, s->format_error.ptr, ev, s->format_error_what, err)) < 0) ||
		    (s->nudge_what && (rc = agent__template(&t, s->nudge.ptr, NULL, s->nudge_what, err)) < 0)) {
			pl_buf_release(&t);
			goto fail;
		}
		pl_buf_release(&t);
	}
	if ((rc = s->b->open(&s->bstate, st, o->engine, err)) < 0) {
		s->bstate = NULL;
		goto fail;
	}
	set_label(s);
	/* the base every kind of run records (a plain directory has none) */
	snprintf(s->base_hex, sizeof(s->base_hex), "%s", tools_ctx_base(s->tools));
	if (o->checkpoints) {
		char tree[41];

		/* a plain directory has no checkpoints; the chat says so when asked */
		s->snapshots = tools_git_snapshot(tree, s->repo, NULL) == 0;
	}
	*out = s;
	return 0;
fail:
	session_free_parts(s);
	return rc;
}

static json_t *start_record(agent_session *s)
{
	json_t *names = json_array(), *t;
	size_t i;

	json_array_foreach(s->tools_json, i, t)
		json_array_append(names, json_object_get(json_object_get(t, "function"), "name"));
	return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:s, s:s, s:o, s:o, s:s}", "format", "plait-trajectory/1", "id",
			 s->id, "kind", s->kind, "repo", s->repo, "base", s->base_hex[0] ? s->base_hex : s->base,
			 "backend", s->b->name, "model", s->b->model_name(s->bstate), "tool_format", s->s->tool_format,
			 "tools", names, "settings", agent_settings_json(s->s, false), "plait", PLAIT_VERSION);
}

int agent_session_new(agent_session **out, const agent_settings *st, const agent_session_opts *o, pl_err *err)
{
	agent_session *s = NULL;
	int rc;

	if ((rc = open_parts(&s, st, o, err)) < 0)
		return rc;
	if (o->traj_path || o->traj_dir) {
		pl_buf p = PL_BUF_INIT;

		if (o->traj_path) {
			pl_buf_puts(&p, o->traj_path);
		} else {
			char *d = agent__expand_home(o->traj_dir, st->envp);

			pl_buf_printf(&p, "%s/%s.jsonl", d, s->id);
			free(d);
		}
		rc = agent__traj_open(&s->traj, p.ptr, false, err);
		pl_buf_release(&p);
		if (rc < 0)
			goto fail;
		s->o.traj_path = s->traj.path;
	}
	if ((rc = traj(s, "start", start_record(s), err)) < 0)
		goto fail;
	if (s->system.len && (rc = push(s, json_pack("{s:s, s:s%}", "role", "system", "content", s->system.ptr,
						     s->system.len),
					0, false, err)) < 0)
		goto fail;
	*out = s;
	return 0;
fail:
	session_free_parts(s);
	return rc;
}

void agent_session_free(agent_session *s)
{
	if (s)
		session_free_parts(s);
}

/* ---------------------------------------------------------------- the loop */

typedef struct run {
	agent_session *s;
	agent_result *res;
	double t0, deadline;
	int steps;
	int bad_in_a_row;
	double overhead_sum;
	int overhead_n;
	double approval_s; /* seconds spent waiting for a person, this step */
	bool text_shown;   /* this attempt has streamed text (a retry discards it) */
	pl_buf fatal;      /* a tool failed where the model can do nothing (submit): the run ends */
} run;

static void on_text(void *user, const char *t, size_t n)
{
	run *r = user;

	r->text_shown = true;
	emit(r->s, AGENT_EV_TEXT, r->s->step, json_pack("{s:s%}", "text", t, n), t, n);
}

static void on_retry(void *user, int attempt, double delay, const char *why)
{
	run *r = user;
	/* the text this attempt streamed is not part of the answer: whoever
	 * showed it is told to take it back */
	bool discard = r->text_shown;

	r->text_shown = false;
	traj(r->s, "retry",
	     json_pack("{s:i, s:i, s:f, s:s, s:b}", "step", r->s->step, "attempt", attempt, "delay", delay, "reason", why,
		       "discard_text", discard),
	     NULL);
	emit(r->s, AGENT_EV_RETRY, r->s->step,
	     json_pack("{s:i, s:i, s:f, s:s, s:b}", "step", r->s->step, "attempt", attempt, "delay", delay, "reason", why,
		       "discard_text", discard),
	     NULL, 0);
}

static bool over_time(const run *r)
{
	return r->deadline > 0 && pl_now() >= r->deadline;
}

/* One malformed-call observation answering call `id`. */
static int answer_call(agent_session *s, const char *id, const char *name, const char *text, bool is_error,
		       pl_err *err)
{
	json_t *m = json_pack("{s:s, s:s, s:s, s:o, s:b}", "role", "tool", "tool_call_id", id, "name", name ? name : "",
			      "content", agent__json_text(text, strlen(text)), "is_error", is_error);

	return push(s, m, s->step, true, err);
}

static void format_error_text(agent_session *s, pl_buf *out, const char *error)
{
	agent__var v[] = { { "error", error }, { NULL, NULL } };

	if (!s->format_error_what || agent__template(out, s->format_error.ptr, v, s->format_error_what, NULL) < 0)
		pl_buf_puts(out, error);
}

/* The tool calls of a reply, canonical: [{id, type, function: {name,
 * arguments (text)}}]; a text that cannot be parsed leaves *calls NULL
 * and the reason in why. */
static void calls_of(agent_session *s, const agent__reply *rp, json_t **calls, pl_buf *content, pl_buf *why)
{
	json_t *list = json_array(), *c;
	size_t i;

	*calls = NULL;
	if (agent__format_structured(s->fmt, s->b)) {
		pl_buf_add(content, rp->text.ptr, rp->text.len);
		json_array_foreach(rp->calls, i, c) {
			const char *id = json_string_value(json_object_get(c, "id"));
			char gen[48];

			if (!id || !*id) {
				snprintf(gen, sizeof(gen), "call_%d_%zu", s->step, i + 1);
				id = gen;
			}
			json_array_append_new(list, json_pack("{s:s, s:s, s:{s:O, s:O}}", "id", id, "type", "function",
							      "function", "name", json_object_get(c, "name"), "arguments",
							      json_object_get(c, "arguments")));
		}
	} else {
		json_t *parsed = NULL;
		pl_err e = { 0 };

		if (eng_chat_parse_tool_calls(&parsed, content, rp->text.ptr, s->dialect, &e) < 0) {
			pl_buf_puts(why, e.msg);
			pl_buf_reset(content);
			pl_buf_add(content, rp->text.ptr, rp->text.len);
			json_decref(list);
			return;
		}
		json_array_foreach(parsed, i, c) {
			pl_buf a = PL_BUF_INIT;
			char id[48];

			snprintf(id, sizeof(id), "call_%d_%zu", s->step, i + 1);
			pl_json_dump(&a, json_object_get(c, "arguments"), false);
			json_array_append_new(list, json_pack("{s:s, s:s, s:{s:O, s:s%}}", "id", id, "type", "function",
							      "function", "name", json_object_get(c, "name"), "arguments",
							      a.ptr, a.len));
			pl_buf_release(&a);
		}
		json_decref(parsed);
	}
	*calls = list;
}

/* Runs one well-formed call and appends its observation.  *finished is
 * set by submit. */
static int run_call(run *r, const char *id, const char *name, json_t *args, bool *finished, pl_err *err)
{
	agent_session *s = r->s;
	const agent_settings *st = s->s;
	tools_obs obs;
	pl_buf shown = PL_BUF_INIT, why = PL_BUF_INIT;
	const char *path = json_string_value(json_object_get(args, "path"));
	const json_t *diff;
	char before[41] = "", after[41];
	bool refused = false;
	double t0, secs = 0;
	json_t *ev, *rec;
	int rc = 0;

	tools_obs_init(&obs);
	emit(s, AGENT_EV_TOOL_START, s->step,
	     json_pack("{s:i, s:s, s:s, s:O}", "step", s->step, "id", id, "name", name, "arguments", args), NULL, 0);
	/* approval */
	if (changes_files(name)) {
		const char *mode = st->approval;
		bool ask = !strcmp(mode, "ask") || (!strcmp(mode, "auto-edit") && !strcmp(name, "bash"));

		if (!strcmp(mode, "read-only")) {
			refused = true;
			pl_buf_puts(&why, "this session is read-only: files cannot be changed and commands cannot run");
		} else if (ask && s->o.approve) {
			double a0 = pl_now();

			refused = !s->o.approve(s->o.user, name, args, &why);
			r->approval_s += pl_now() - a0;
		}
	}
	if (refused) {
		pl_buf_printf(&obs.text, "error: the user did not allow this %s%s%s", !strcmp(name, "bash") ? "command" : "edit",
			      why.len ? ": " : ".", why.ptr);
		obs.is_error = true;
		goto observed;
	}
	if (!strcmp(name, "bash")) {
		/* the run's default timeout, and never past the run's deadline */
		double t = json_is_integer(json_object_get(args, "timeout")) ?
				   (double)json_integer_value(json_object_get(args, "timeout")) :
				   st->command_timeout;

		if (r->deadline > 0 && t > r->deadline - pl_now())
			t = r->deadline - pl_now();
		/* bounded as a double before the conversion: the schema caps
		 * what a model sends, this keeps any other value defined */
		if (!(t >= 1))
			t = 1;
		if (t > 86400)
			t = 86400;
		json_object_set_new(args, "timeout", json_integer((json_int_t)ceil(t)));
	}
	/* the files as they are right before the call (a person may have
	 * changed some since the last one): what /undo goes back to */
	if (s->snapshots && changes_files(name) && tools_git_snapshot(before, s->repo, NULL) < 0)
		before[0] = '\0';
	t0 = pl_now();
	rc = tools_call(&obs, s->tools, name, args, err);
	secs = pl_now() - t0;
	/* submit takes no arguments: when it fails (no commit to take the
	 * patch against, a broken repository) no retry by the model helps */
	if (rc < 0 && !strcmp(name, "submit"))
		pl_buf_printf(&r->fatal, "submit failed: %s", err && err->msg[0] ? err->msg : "the tool failed");
	if (rc < 0 && !obs.text.len)
		pl_buf_printf(&obs.text, "error: %s", err && err->msg[0] ? err->msg : "the tool failed");
	if (rc < 0)
		obs.is_error = true;
	rc = 0;
	pl_err_clear(err);
	if (before[0] && is_edit_tool(name) && !obs.is_error && path && json_string_length(json_object_get(obs.data, "diff")) &&
	    tools_git_snapshot(after, s->repo, NULL) == 0 && !strcmp(before, after)) {
		/* the editor changed the file, the snapshot did not: git ignores
		 * it, and /undo cannot take this back */
		pl_buf m = PL_BUF_INIT;

		pl_buf_printf(&m, "'%s' is ignored by git, outside the snapshots: /undo and /rewind cannot take this %s back",
			      path, name);
		traj(s, "warning", json_pack("{s:i, s:s}", "step", s->step, "message", m.ptr), NULL);
		emit(s, AGENT_EV_WARNING, s->step, json_pack("{s:s}", "message", m.ptr), NULL, 0);
		pl_buf_release(&m);
		before[0] = '\0';
	}
	if (before[0] && tools_git_snapshot(after, s->repo, NULL) == 0 && strcmp(before, after)) {
		pl_buf label = PL_BUF_INIT;
		json_t *e;

		if (!strcmp(name, "bash"))
			pl_buf_printf(&label, "bash: %.60s", json_string_value(json_object_get(args, "command")) ?: "");
		else
			pl_buf_printf(&label, "%s %s", name, path ? path : "");
		e = json_pack("{s:s, s:i, s:s, s:s}", "label", label.ptr, "turn", s->turn, "before", before, "after", after);
		json_array_append(s->edits, e);
		traj(s, "edit_checkpoint", e, NULL);
		pl_buf_release(&label);
	}
observed:
	obs.truncated |= agent__cut_middle(&shown, obs.text.ptr, obs.text.len, (size_t)st->max_observation);
	rec = json_pack("{s:i, s:s, s:s, s:O, s:b, s:b, s:i, s:b, s:O, s:f}", "step", s->step, "id", id, "name", name,
			"arguments", args, "ok", !obs.is_error, "refused", refused, "exit_code", obs.exit_code, "truncated",
			obs.truncated, "files", obs.files, "seconds", secs);
	/* the edit's diff, as the editor made it: nothing is read here, so a
	 * path the tool refused (a FIFO, a device, a file outside) is never
	 * opened */
	diff = json_object_get(obs.data, "diff");
	if (s->o.diffs && !obs.is_error && json_is_string(diff))
		json_object_set(rec, "diff", (json_t *)diff);
	if ((rc = traj(s, "tool", json_deep_copy(rec), err)) < 0) {
		json_decref(rec);
		goto done;
	}
	ev = rec;
	json_object_set_new(ev, "text", agent__json_text(shown.ptr, shown.len));
	emit(s, AGENT_EV_TOOL_END, s->step, ev, NULL, 0);
	if ((rc = answer_call(s, id, name, shown.ptr, obs.is_error, err)) < 0)
		goto done;
	if (obs.finished) {
		const json_t *p = json_object_get(obs.data, "patch");

		*finished = true;
		r->res->submitted = true;
		pl_buf_reset(&r->res->patch);
		if (json_is_string(p))
			pl_buf_add(&r->res->patch, json_string_value(p), json_string_length(p));
	}
done:
	tools_obs_release(&obs);
	pl_buf_release(&shown);
	pl_buf_release(&why);
	return rc;
}

static int finish(run *r, agent_exit e, const char *msg, pl_err *err)
{
	agent_session *s = r->s;
	agent_result *res = r->res;
	json_t *rec;
	int rc;

	res->exit = e;
	if (msg) {
		pl_buf_reset(&res->message);
		pl_buf_puts(&res->message, msg);
	}
	pl_buf_release(&r->fatal); /* msg may have been it: copied above */
	if (!res->submitted && strcmp(s->kind, "chat")) {
		/* what the run changed, submitted or not (SWE-agent's autosubmission) */
		pl_buf_reset(&res->patch);
		if (current_patch(s, &res->patch, NULL) < 0)
			pl_buf_reset(&res->patch);
	}
	res->elapsed = pl_now() - r->t0;
	res->overhead_ms_mean = r->overhead_n ? r->overhead_sum / r->overhead_n : 0;
	rec = json_pack("{s:s, s:s, s:b, s:o, s:o, s:i, s:f, s:f, s:f}", "exit_reason", agent_exit_name(e), "message",
			res->message.ptr, "submitted", res->submitted, "patch",
			agent__json_bytes(res->patch.ptr, res->patch.len), "usage", agent_usage_json(&res->usage), "steps",
			res->steps, "elapsed", res->elapsed, "overhead_ms_mean", res->overhead_ms_mean, "overhead_ms_max",
			res->overhead_ms_max);
	rc = traj(s, "end", json_deep_copy(rec), err);
	emit(s, AGENT_EV_END, s->step, rec, NULL, 0);
	return rc;
}

static int first_message(agent_session *s, const char *text, pl_err *err)
{
	pl_buf m = PL_BUF_INIT;
	agent__var v[] = { { "issue", text }, { "repo", s->repo }, { NULL, NULL } };
	int rc;

	s->turn++;
	if (s->turn == 1 && s->task_what) {
		if ((rc = agent__template(&m, s->task.ptr, v, s->task_what, err)) < 0)
			goto done;
	} else {
		pl_buf_puts(&m, text);
	}
	if (s->snapshots) {
		json_t *cp = json_pack("{s:i, s:I}", "turn", s->turn, "index", (json_int_t)s->conv.n);

		json_array_append(s->checkpoints, cp);
		if ((rc = traj(s, "checkpoint", cp, err)) < 0)
			goto done;
	}
	rc = push(s, json_pack("{s:s, s:o}", "role", "user", "content", agent__json_text(m.ptr, m.len)), 0, false, err);
done:
	pl_buf_release(&m);
	return rc;
}

int agent_session_run(agent_result *res, agent_session *s, const char *text, pl_err *err)
{
	const agent_settings *st = s->s;
	run r = { 0 };
	int rc;

	pl_buf_init(&r.fatal, 0);
	r.s = s;
	r.res = res;
	r.t0 = pl_now();
	if (st->max_seconds > 0)
		r.deadline = r.t0 + st->max_seconds;
	res->exit = AGENT_EXIT_NONE;
	if ((rc = first_message(s, text, err)) < 0)
		return rc;
	emit(s, AGENT_EV_START, 0,
	     json_pack("{s:s, s:s, s:s, s:s?, s:i}", "repo", s->repo, "model", s->model_label, "id", s->id, "trajectory",
		       s->traj.path, "turn", s->turn),
	     NULL, 0);
	for (;;) {
		agent__reply rp;
		agent__request rq;
		json_t *views, *calls = NULL, *msg, *elided, *c;
		const pl_buf **wire = NULL;
		pl_buf content = PL_BUF_INIT, why = PL_BUF_INIT;
		double t_step = pl_now(), wait = 0, tools_s = 0;
		int64_t budget, window, prompt_tokens, answer_input;
		bool finished = false, any_good = false, bad = false;
		size_t i;

		r.approval_s = 0;
		r.text_shown = false;
		if (cancelled(s))
			return finish(&r, AGENT_EXIT_CANCELLED, "cancelled by the user", err);
		if (r.steps >= st->max_steps) {
			char m[96];

			snprintf(m, sizeof(m), "the step limit (%d model calls) was reached", st->max_steps);
			return finish(&r, AGENT_EXIT_STEP_LIMIT, m, err);
		}
		if (over_time(&r))
			return finish(&r, AGENT_EXIT_TIME_LIMIT, "the time limit was reached", err);
		/* context management */
		window = st->context_window > 0 ? st->context_window :
			 s->b->context_window && s->b->context_window(s->bstate) > 0 ? s->b->context_window(s->bstate) :
										    131072;
		budget = st->context_budget > 0 ? st->context_budget : window - st->max_tokens;
		if (budget < 1024)
			budget = 1024;
		elided = agent__conv_manage(&s->conv, budget, st->context_high, st->context_low, st->keep_first,
					    st->keep_last);
		if (json_array_size(elided)) {
			json_t *list = json_array(), *x;

			json_array_foreach(elided, i, x)
				json_array_append_new(list,
						      json_pack("{s:O, s:O}", "index", x, "content",
								json_object_get(s->conv.v[json_integer_value(x)].msg, "content")));
			traj(s, "elide", json_pack("{s:o}", "messages", list), NULL);
			emit(s, AGENT_EV_ELIDED, s->step, json_pack("{s:O}", "messages", elided), NULL, 0);
		}
		json_decref(elided);

		s->step++;
		r.steps++;
		res->steps++;
		emit(s, AGENT_EV_STEP, s->step, json_pack("{s:i}", "step", s->step), NULL, 0);
		views = agent__conv_views(&s->conv, s->fmt, s->b, &wire);
		memset(&rq, 0, sizeof(rq));
		rq.messages = views;
		rq.wire = wire;
		rq.tools = agent__format_structured(s->fmt, s->b) || (!s->b->http && s->fmt != AGENT__FMT_TEXT) ?
				   s->tools_json : NULL;
		rq.dialect = s->dialect;
		rq.settings = st;
		rq.deadline = r.deadline;
		rq.cancel = s->o.cancel;
		rq.on_text = on_text;
		rq.on_retry = on_retry;
		rq.user = &r;
		agent__reply_init(&rp);
		rc = s->b->chat(&rp, s->bstate, &rq, err);
		json_decref(views);
		free(wire);
		wait = rp.wait_s;
		if (rc < 0) {
			agent_exit e = rc == PL_ECANCELED ? AGENT_EXIT_CANCELLED :
				       rc == PL_ETIMEOUT && over_time(&r) ? AGENT_EXIT_TIME_LIMIT : AGENT_EXIT_MODEL_ERROR;
			pl_buf m = PL_BUF_INIT;

			pl_buf_puts(&m, e == AGENT_EXIT_CANCELLED ? "cancelled by the user" : err ? err->msg : "model error");
			if (e == AGENT_EXIT_CANCELLED && rp.text.len) {
				/* keep what was said, marked */
				pl_buf_puts(&rp.text, "\n[interrupted by the user]");
				push(s, json_pack("{s:s, s:o}", "role", "assistant", "content",
						  agent__json_text(rp.text.ptr, rp.text.len)),
				     s->step, false, NULL);
			}
			{
				/* what the failed attempts reported is billed */
				agent_usage spent = rp.usage;

				spent.input += rp.retried.input;
				spent.output += rp.retried.output;
				spent.cached += rp.retried.cached;
				if (spent.input || spent.output) {
					spent.calls = 1;
					price(s, &spent);
					agent_usage_add(&res->usage, &spent);
					agent_usage_add(&s->usage, &spent);
				}
			}
			traj(s, "model_error",
			     json_pack("{s:i, s:s, s:i}", "step", s->step, "error", m.ptr, "retries", rp.retries), NULL);
			pl_err_clear(err);
			rc = finish(&r, e, m.ptr, err);
			pl_buf_release(&m);
			agent__reply_release(&rp);
			return rc;
		}
		/* the answer's prompt size, for the context estimate, before the
		 * failed attempts' tokens join the bill */
		answer_input = rp.usage.input;
		prompt_tokens = rp.usage.input + rp.usage.output;
		rp.usage.input += rp.retried.input;
		rp.usage.output += rp.retried.output;
		rp.usage.cached += rp.retried.cached;
		rp.usage.calls = 1;
		price(s, &rp.usage);
		agent_usage_add(&res->usage, &rp.usage);
		agent_usage_add(&s->usage, &rp.usage);

		calls_of(s, &rp, &calls, &content, &why);
		msg = json_pack("{s:s, s:o}", "role", "assistant", "content", agent__json_text(content.ptr, content.len));
		if (calls && json_array_size(calls))
			json_object_set(msg, "tool_calls", calls);
		if (!agent__format_structured(s->fmt, s->b))
			json_object_set_new(msg, "raw", agent__json_text(rp.text.ptr, rp.text.len));
		pl_buf_reset(&res->answer);
		pl_buf_add(&res->answer, content.ptr, content.len);
		if ((rc = push(s, msg, s->step, false, err)) < 0)
			goto step_fail;
		if (answer_input > 0) /* a server that reports nothing leaves the byte estimate */
			agent__conv_report(&s->conv, prompt_tokens);
		emit(s, AGENT_EV_ASSISTANT, s->step,
		     json_pack("{s:i, s:O, s:O?, s:o, s:s}", "step", s->step, "content", json_object_get(msg, "content"),
			       "tool_calls", calls, "usage",
			       agent_usage_json(&rp.usage), "finish", rp.finish),
		     NULL, 0);

		if (!calls) {
			/* the text could not be parsed */
			pl_buf t = PL_BUF_INIT;

			if (!strcmp(rp.finish, "length"))
				pl_buf_printf(&why, " (the reply was cut at sampling.max_tokens, %lld tokens)",
					      (long long)st->max_tokens);
			format_error_text(s, &t, why.ptr);
			traj(s, "format_error", json_pack("{s:i, s:s}", "step", s->step, "error", why.ptr), NULL);
			emit(s, AGENT_EV_FORMAT_ERROR, s->step, json_pack("{s:i, s:s}", "step", s->step, "error", why.ptr),
			     NULL, 0);
			rc = push(s, json_pack("{s:s, s:o}", "role", "user", "content", agent__json_text(t.ptr, t.len)),
				  s->step, true, err);
			pl_buf_release(&t);
			bad = true;
		} else if (!json_array_size(calls)) {
			if (!strcmp(rp.finish, "length")) {
				pl_buf t = PL_BUF_INIT;

				pl_buf_printf(&why, "the reply was cut at sampling.max_tokens (%lld tokens) before it ended",
					      (long long)st->max_tokens);
				format_error_text(s, &t, why.ptr);
				traj(s, "format_error", json_pack("{s:i, s:s}", "step", s->step, "error", why.ptr), NULL);
				emit(s, AGENT_EV_FORMAT_ERROR, s->step,
				     json_pack("{s:i, s:s}", "step", s->step, "error", why.ptr), NULL, 0);
				rc = push(s, json_pack("{s:s, s:o}", "role", "user", "content", agent__json_text(t.ptr, t.len)),
					  s->step, true, err);
				pl_buf_release(&t);
				bad = true;
			} else if (!strcmp(st->on_no_tool_call, "finish")) {
				double over = (pl_now() - t_step - wait - r.approval_s) * 1000;

				r.overhead_sum += over;
				r.overhead_n++;
				if (over > res->overhead_ms_max)
					res->overhead_ms_max = over;
				traj(s, "model_call",
				     json_pack("{s:i, s:o, s:s, s:i, s:f, s:f}", "step", s->step, "usage",
					       agent_usage_json(&rp.usage), "finish", rp.finish, "retries", rp.retries, "wait_s",
					       wait, "overhead_ms", over),
				     NULL);
				json_decref(calls);
				pl_buf_release(&content);
				pl_buf_release(&why);
				agent__reply_release(&rp);
				return finish(&r, AGENT_EXIT_ANSWERED, "the model answered without a tool call", err);
			} else {
				pl_buf t = PL_BUF_INIT;

				pl_buf_puts(&t, s->nudge_what ? s->nudge.ptr : "Call a tool, or call submit when you are done.");
				traj(s, "format_error",
				     json_pack("{s:i, s:s}", "step", s->step, "error", "no tool call (nudged)"), NULL);
				emit(s, AGENT_EV_FORMAT_ERROR, s->step,
				     json_pack("{s:i, s:s}", "step", s->step, "error", "no tool call"), NULL, 0);
				rc = push(s, json_pack("{s:s, s:o}", "role", "user", "content", agent__json_text(t.ptr, t.len)),
					  s->step, true, err);
				pl_buf_release(&t);
				bad = true;
			}
		} else {
			json_array_foreach(calls, i, c) {
				const json_t *f = json_object_get(c, "function");
				const char *id = json_string_value(json_object_get(c, "id"));
				const char *name = json_string_value(json_object_get(f, "name"));
				const char *atext = json_string_value(json_object_get(f, "arguments"));
				const json_t *schema = name ? json_object_get(s->schemas, name) : NULL;
				json_t *args = NULL;
				pl_err e = { 0 };
				pl_buf t = PL_BUF_INIT, problem = PL_BUF_INIT;
				double t0;

				if (finished || r.fatal.len || cancelled(s)) {
					answer_call(s, id, name,
						    finished ? "not run: the task was submitted by an earlier call" :
						    r.fatal.len ? "not run: an earlier call failed and ended the run" :
								  "not run: cancelled by the user",
						    true, NULL);
					continue;
				}
				if (i >= (size_t)st->max_calls_per_answer) {
					char m[128];

					snprintf(m, sizeof(m),
						 "not run: too many calls in one answer (limits.max_calls_per_answer is %d)",
						 st->max_calls_per_answer);
					answer_call(s, id, name, m, true, NULL);
					continue;
				}
				if (!name || !*name) {
					pl_buf_puts(&problem, "a tool call without a tool name");
				} else if (!schema) {
					pl_buf t2 = PL_BUF_INIT;
					size_t k;
					json_t *tt;

					json_array_foreach(s->tools_json, k, tt)
						pl_buf_printf(&t2, "%s%s", k ? ", " : "",
							      json_string_value(json_object_get(json_object_get(tt, "function"), "name")));
					pl_buf_printf(&problem, "there is no tool named '%s' (the tools are: %s)", name, t2.ptr);
					pl_buf_release(&t2);
				} else if (!atext ||
					   pl_json_parse(&args, *atext ? atext : "{}", *atext ? strlen(atext) : 2, "arguments", &e) < 0) {
					pl_buf_printf(&problem, "the arguments of '%s' are not valid JSON: %s", name, e.msg);
				} else if (!json_is_object(args)) {
					pl_buf_printf(&problem, "the arguments of '%s' must be a JSON object, got %s", name,
						      pl_json_type_name(args));
				} else {
					coerce(args, schema);
					if (tools_validate(schema, args, &e) < 0)
						pl_buf_printf(&problem, "%s: %s", name, e.msg);
				}
				if (problem.len) {
					format_error_text(s, &t, problem.ptr);
					traj(s, "format_error",
					     json_pack("{s:i, s:s, s:s?, s:s}", "step", s->step, "id", id, "name", name, "error",
						       problem.ptr),
					     NULL);
					emit(s, AGENT_EV_FORMAT_ERROR, s->step,
					     json_pack("{s:i, s:s}", "step", s->step, "error", problem.ptr), NULL, 0);
					rc = answer_call(s, id, name, t.ptr, true, err);
				} else {
					any_good = true;
					t0 = pl_now();
					rc = run_call(&r, id, name, args, &finished, err);
					tools_s += pl_now() - t0;
				}
				json_decref(args);
				pl_buf_release(&t);
				pl_buf_release(&problem);
				if (rc < 0)
					goto step_fail;
			}
			bad = !any_good;
		}
		if (rc < 0)
			goto step_fail;
		{
			/* the agent's own time this step: everything but the model,
			 * the tools and a person deciding */
			double over = (pl_now() - t_step - wait - tools_s) * 1000;

			if (over < 0)
				over = 0;
			r.overhead_sum += over;
			r.overhead_n++;
			if (over > res->overhead_ms_max)
				res->overhead_ms_max = over;
			if ((rc = traj(s, "model_call",
				       json_pack("{s:i, s:o, s:s, s:i, s:f, s:f, s:f}", "step", s->step, "usage",
						 agent_usage_json(&rp.usage), "finish", rp.finish, "retries", rp.retries,
						 "wait_s", wait, "tools_s", tools_s, "overhead_ms", over),
				       err)) < 0)
				goto step_fail;
		}
		json_decref(calls);
		pl_buf_release(&content);
		pl_buf_release(&why);
		agent__reply_release(&rp);
		if (finished)
			return finish(&r, AGENT_EXIT_SUBMITTED, "the model submitted its patch", err);
		if (r.fatal.len)
			return finish(&r, AGENT_EXIT_TOOL_ERROR, r.fatal.ptr, err);
		r.bad_in_a_row = bad ? r.bad_in_a_row + 1 : 0;
		if (r.bad_in_a_row >= st->max_format_errors) {
			char m[128];

			snprintf(m, sizeof(m), "%d malformed or missing tool calls in a row", r.bad_in_a_row);
			return finish(&r, AGENT_EXIT_FORMAT_ERRORS, m, err);
		}
		if (st->max_total_tokens > 0 && res->usage.input + res->usage.output >= st->max_total_tokens) {
			char m[160];

			snprintf(m, sizeof(m), "the token limit was reached (%lld of %lld tokens)",
				 (long long)(res->usage.input + res->usage.output), (long long)st->max_total_tokens);
			return finish(&r, AGENT_EXIT_TOKEN_LIMIT, m, err);
		}
		if (st->max_cost > 0 && res->usage.cost_known && res->usage.cost >= st->max_cost) {
			char m[160];

			snprintf(m, sizeof(m), "the cost limit was reached ($%.4f of $%.4f)", res->usage.cost, st->max_cost);
			return finish(&r, AGENT_EXIT_COST_LIMIT, m, err);
		}
		if (st->max_cost > 0 && !rp.usage.cost_known && r.steps == 1) {
			char m[256];

			snprintf(m, sizeof(m), "no price for model '%s' in \"prices\": the cost is unknown and limits.max_cost "
					       "cannot apply",
				 s->b->model_name(s->bstate));
			traj(s, "warning", json_pack("{s:s}", "message", m), NULL);
			emit(s, AGENT_EV_WARNING, s->step, json_pack("{s:s}", "message", m), NULL, 0);
		}
		continue;
step_fail:
		json_decref(calls);
		pl_buf_release(&content);
		pl_buf_release(&why);
		agent__reply_release(&rp);
		pl_buf_release(&r.fatal);
		return rc;
	}
}

/* ---------------------------------------------------------------- results */

void agent_result_init(agent_result *r)
{
	memset(r, 0, sizeof(*r));
	pl_buf_init(&r->message, 0);
	pl_buf_init(&r->patch, 0);
	pl_buf_init(&r->answer, 0);
}

void agent_result_release(agent_result *r)
{
	pl_buf_release(&r->message);
	pl_buf_release(&r->patch);
	pl_buf_release(&r->answer);
}

json_t *agent_result_json(const agent_result *r, const agent_session *s)
{
	json_t *patch = agent__json_bytes(r->patch.ptr, r->patch.len);

	return json_pack("{s:s, s:s, s:b, s:o, s:s, s:o, s:i, s:f, s:s?, s:s?, s:s?, s:f}", "exit_reason",
			 agent_exit_name(r->exit), "message", r->message.ptr, "submitted", r->submitted, "patch", patch,
			 "patch_encoding", json_is_string(patch) ? "utf-8" : "base64", "usage",
			 agent_usage_json(&r->usage), "steps", r->steps, "elapsed", r->elapsed, "trajectory",
			 s ? s->traj.path : NULL, "id", s ? s->id : NULL, "model", s ? s->model_label : NULL,
			 "overhead_ms_per_step", r->overhead_ms_mean);
}

/* ---------------------------------------------------------------- accessors */

json_t *agent_session_messages(const agent_session *s)
{
	return s->conv.array ? s->conv.array : NULL;
}

json_t *agent_session_turns(const agent_session *s)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < s->conv.n; i++) {
		const json_t *m = s->conv.v[i].msg;

		if (s->conv.v[i].step == 0 && !strcmp(json_string_value(json_object_get(m, "role")), "user"))
			json_array_append_new(a, json_pack("{s:i, s:O, s:I}", "turn", s->conv.v[i].turn, "text",
							   json_object_get(m, "content"), "message", (json_int_t)i));
	}
	return a;
}

const agent_usage *agent_session_usage(const agent_session *s)
{
	return &s->usage;
}

const char *agent_session_id(const agent_session *s)
{
	return s->id;
}

const char *agent_session_traj_path(const agent_session *s)
{
	return s->traj.path;
}

const char *agent_session_model(const agent_session *s)
{
	return s->model_label;
}

json_t *agent_session_backend_stats(const agent_session *s)
{
	return s->b->stats ? s->b->stats(s->bstate) : NULL;
}

/* ---------------------------------------------------------------- chat operations */

static int need_checkpoints(agent_session *s, pl_err *err)
{
	if (!s->o.checkpoints)
		return pl_err_set(err, PL_EINVAL, "this session keeps no checkpoints");
	if (!s->snapshots)
		return pl_err_set(err, PL_EINVAL, "'%s' is not a git repository: no checkpoints to go back to", s->repo);
	return 0;
}

/* Undoes edits[from..] newest first, all or none: only the files those
 * changes changed go back, and only while each is as the change left it
 * (tools_git_undo); HEAD, the index and everything else stay. */
static int undo_edits(agent_session *s, size_t from, pl_err *err)
{
	size_t n = json_array_size(s->edits) - from, i;
	tools_snapshot_step *steps = pl_xcalloc(n ? n : 1, sizeof(*steps));
	int rc;

	for (i = 0; i < n; i++) {
		const json_t *e = json_array_get(s->edits, json_array_size(s->edits) - 1 - i);

		steps[i].after = json_string_value(json_object_get(e, "after"));
		steps[i].before = json_string_value(json_object_get(e, "before"));
	}
	rc = tools_git_undo(NULL, s->repo, steps, n, err);
	free(steps);
	if (rc == PL_EEXISTS && err) {
		char why[PL_ERR_MSG_MAX];

		snprintf(why, sizeof(why), "%s", err->msg);
		pl_err_set(err, rc, "%s; nothing was changed", why);
	}
	return rc;
}

int agent_session_undo(agent_session *s, pl_buf *msg, pl_err *err)
{
	json_t *e;
	size_t last;
	int rc;

	if ((rc = need_checkpoints(s, err)) < 0)
		return rc;
	if (!json_array_size(s->edits))
		return pl_err_set(err, PL_ENOTFOUND, "nothing to undo: no tool has changed a file in this session");
	last = json_array_size(s->edits) - 1;
	e = json_array_get(s->edits, last);
	if ((rc = undo_edits(s, last, err)) < 0) {
		pl_err_prefix(err, "cannot undo %s", json_string_value(json_object_get(e, "label")));
		return rc;
	}
	pl_buf_printf(msg, "undid %s", json_string_value(json_object_get(e, "label")));
	if (!strncmp(json_string_value(json_object_get(e, "label")) ?: "", "bash:", 5))
		/* a command may have changed any file; the snapshots hold only
		 * those git does not ignore */
		pl_buf_puts(msg, " (files git ignores are not in the snapshots: what the command did to them stays)");
	traj(s, "undo", json_pack("{s:O}", "label", json_object_get(e, "label")), NULL);
	json_array_remove(s->edits, last);
	return 0;
}

/* The edits of turn `turn` and later start at this index. */
static size_t edits_from_turn(const agent_session *s, int turn)
{
	size_t n = json_array_size(s->edits);

	while (n && json_integer_value(json_object_get(json_array_get(s->edits, n - 1), "turn")) >= turn)
		n--;
	return n;
}

/* What a rewind to before `turn` does to the records kept: the
 * conversation from `index`, the checkpoints and edits of those turns. */
static void drop_turns(agent_session *s, int turn, size_t index)
{
	size_t keep = edits_from_turn(s, turn);

	agent__conv_truncate(&s->conv, index);
	s->turn = turn - 1;
	while (json_array_size(s->checkpoints) &&
	       json_integer_value(json_object_get(json_array_get(s->checkpoints, json_array_size(s->checkpoints) - 1),
						  "turn")) >= turn)
		json_array_remove(s->checkpoints, json_array_size(s->checkpoints) - 1);
	/* the edits before stay undoable */
	while (json_array_size(s->edits) > keep)
		json_array_remove(s->edits, json_array_size(s->edits) - 1);
}

int agent_session_rewind(agent_session *s, int turn, pl_err *err)
{
	json_t *cp = NULL, *x;
	size_t i, index;
	int rc;

	if ((rc = need_checkpoints(s, err)) < 0)
		return rc;
	json_array_foreach(s->checkpoints, i, x)
		if (json_integer_value(json_object_get(x, "turn")) == turn)
			cp = x;
	if (!cp)
		return pl_err_set(err, PL_ENOTFOUND, "there is no turn %d in this session (turns 1 to %d)", turn, s->turn);
	index = (size_t)json_integer_value(json_object_get(cp, "index"));
	if ((rc = undo_edits(s, edits_from_turn(s, turn), err)) < 0) {
		pl_err_prefix(err, "cannot rewind to before turn %d", turn);
		return rc;
	}
	drop_turns(s, turn, index);
	return traj(s, "rewind", json_pack("{s:i, s:I}", "turn", turn, "messages", (json_int_t)index), err);
}

int agent_session_reset(agent_session *s, pl_err *err)
{
	size_t keep = s->conv.n && !strcmp(json_string_value(json_object_get(s->conv.v[0].msg, "role")), "system");

	agent__conv_truncate(&s->conv, keep);
	s->turn = 0;
	json_array_clear(s->checkpoints);
	json_array_clear(s->edits);
	return traj(s, "reset", json_object(), err);
}

int agent_session_diff(agent_session *s, pl_buf *out, pl_err *err)
{
	return current_patch(s, out, err);
}

int agent_session_set_model(agent_session *s, const char *model, pl_err *err)
{
	agent_settings *st = (agent_settings *)s->s;
	void *nstate = NULL;
	const char *key = !strcmp(s->b->name, "engine") ? "backend.model" : "backend.api_model";
	int rc;

	if ((rc = agent_settings_set(st, key, model, "/model", err)) < 0)
		return rc;
	if ((rc = s->b->open(&nstate, st, NULL, err)) < 0)
		return rc;
	s->b->close(s->bstate);
	s->bstate = nstate;
	set_label(s);
	/* the views of the conversation do not depend on the model */
	return traj(s, "model", json_pack("{s:s}", "model", s->model_label), err);
}

/* ---------------------------------------------------------------- resume */

static bool is_int(const json_t *v, json_int_t lo, json_int_t hi)
{
	return json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi;
}

/* A message as plait writes it: what the conversation and the backends
 * take for granted (a role they know, string content, calls with names
 * and arguments). */
static bool valid_message(const json_t *m)
{
	const char *role = json_string_value(json_object_get(m, "role"));
	const json_t *calls = json_object_get(m, "tool_calls"), *c, *raw = json_object_get(m, "raw");
	size_t i;

	if (!json_is_object(m) || !role || !json_is_string(json_object_get(m, "content")) || (raw && !json_is_string(raw)))
		return false;
	if (!strcmp(role, "system") || !strcmp(role, "user"))
		return true;
	if (!strcmp(role, "tool"))
		return json_is_string(json_object_get(m, "tool_call_id"));
	if (strcmp(role, "assistant"))
		return false;
	if (calls && !json_is_array(calls))
		return false;
	json_array_foreach(calls, i, c) {
		const json_t *f = json_object_get(c, "function");

		if (!json_is_string(json_object_get(c, "id")) || !json_is_string(json_object_get(f, "name")) ||
		    !json_is_string(json_object_get(f, "arguments")))
			return false;
	}
	return true;
}

/* What a session that ended in the middle of a tool call (killed, the
 * terminal closed) left: an assistant message whose calls have no
 * results, which every API refuses as history. */
static const char not_run_ended[] = "not run: the session ended before it finished";

/* The calls of the last assistant message still waiting for results. */
typedef struct replay_state {
	json_t *calls; /* [{id, name}] */
	int turn, step;
} replay_state;

static json_t *call_result(const char *id, const char *name, const char *text)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b}", "role", "tool", "tool_call_id", id, "name", name ? name : "",
			 "content", text, "is_error", true);
}

/* Answers the waiting calls in the conversation only: a message follows
 * in the file, so this repair is made again at every resume, the same. */
static void answer_waiting(agent_session *s, replay_state *rs)
{
	size_t i;
	json_t *c;

	json_array_foreach(rs->calls, i, c)
		agent__conv_push(&s->conv,
				 call_result(json_string_value(json_object_get(c, "id")),
					     json_string_value(json_object_get(c, "name")), not_run_ended),
				 rs->turn, rs->step, true);
	json_array_clear(rs->calls);
}

/* Replays one record onto the session; false when it is not one plait
 * would have written (a person edited the file), and changes nothing. */
static bool replay(agent_session *s, const json_t *r, replay_state *rs)
{
	const char *t = json_string_value(json_object_get(r, "type"));

	if (!strcmp(t, "message")) {
		json_t *m = json_object_get(r, "message"), *c;
		const char *role;
		int turn, step;
		size_t i;

		if (!valid_message(m) || !is_int(json_object_get(r, "turn"), 0, INT_MAX) ||
		    !is_int(json_object_get(r, "step"), 0, INT_MAX))
			return false;
		turn = (int)json_integer_value(json_object_get(r, "turn"));
		step = (int)json_integer_value(json_object_get(r, "step"));
		role = json_string_value(json_object_get(m, "role"));
		if (!strcmp(role, "tool")) {
			/* a result answers a call of the message before it, once */
			const char *id = json_string_value(json_object_get(m, "tool_call_id"));
			bool found = false;

			json_array_foreach(rs->calls, i, c) {
				if (!strcmp(json_string_value(json_object_get(c, "id")), id)) {
					json_array_remove(rs->calls, i);
					found = true;
					break;
				}
			}
			if (!found)
				return false;
		} else {
			answer_waiting(s, rs);
		}
		agent__conv_push(&s->conv, json_incref(m), turn, step, json_is_true(json_object_get(r, "observation")));
		if (!strcmp(role, "assistant")) {
			json_array_foreach(json_object_get(m, "tool_calls"), i, c)
				json_array_append_new(rs->calls,
						      json_pack("{s:O, s:O}", "id", json_object_get(c, "id"), "name",
								json_object_get(json_object_get(c, "function"), "name")));
			rs->turn = turn;
			rs->step = step;
		}
		if (turn > s->turn)
			s->turn = turn;
		if (step > s->step)
			s->step = step;
	} else if (!strcmp(t, "elide")) {
		size_t k;
		json_t *x;
		bool ok = json_is_array(json_object_get(r, "messages"));

		json_array_foreach(json_object_get(r, "messages"), k, x) {
			size_t idx = (size_t)json_integer_value(json_object_get(x, "index"));

			if (!is_int(json_object_get(x, "index"), 0, (json_int_t)s->conv.n - 1) ||
			    !json_is_string(json_object_get(x, "content"))) {
				ok = false;
				continue;
			}
			agent__conv_set_content(&s->conv, idx, json_string_value(json_object_get(x, "content")));
			s->conv.v[idx].elided = true;
		}
		return ok;
	} else if (!strcmp(t, "model_call")) {
		const json_t *u = json_object_get(r, "usage");
		agent_usage one = { 0 };

		one.input = json_integer_value(json_object_get(u, "input"));
		one.output = json_integer_value(json_object_get(u, "output"));
		one.cached = json_integer_value(json_object_get(u, "cached"));
		one.calls = 1;
		one.cost_known = json_is_number(json_object_get(u, "cost"));
		one.cost = json_number_value(json_object_get(u, "cost"));
		agent_usage_add(&s->usage, &one);
	} else if (!strcmp(t, "checkpoint")) {
		if (!is_int(json_object_get(r, "turn"), 1, INT_MAX) ||
		    !is_int(json_object_get(r, "index"), 0, (json_int_t)s->conv.n))
			return false;
		json_array_append(s->checkpoints, (json_t *)r);
	} else if (!strcmp(t, "edit_checkpoint")) {
		if (!json_is_string(json_object_get(r, "label")) || !is_int(json_object_get(r, "turn"), 0, INT_MAX) ||
		    json_string_length(json_object_get(r, "before")) != 40 ||
		    json_string_length(json_object_get(r, "after")) != 40)
			return false;
		json_array_append(s->edits, (json_t *)r);
	} else if (!strcmp(t, "undo")) {
		if (json_array_size(s->edits))
			json_array_remove(s->edits, json_array_size(s->edits) - 1);
	} else if (!strcmp(t, "rewind")) {
		int turn;

		if (!is_int(json_object_get(r, "turn"), 1, INT_MAX) ||
		    !is_int(json_object_get(r, "messages"), 0, (json_int_t)s->conv.n))
			return false;
		turn = (int)json_integer_value(json_object_get(r, "turn"));
		drop_turns(s, turn, (size_t)json_integer_value(json_object_get(r, "messages")));
		/* back to the start of a turn: any call before it was answered */
		json_array_clear(rs->calls);
	} else if (!strcmp(t, "reset")) {
		size_t keep = s->conv.n && !strcmp(json_string_value(json_object_get(s->conv.v[0].msg, "role")), "system");

		agent__conv_truncate(&s->conv, keep);
		s->turn = 0;
		json_array_clear(s->checkpoints);
		json_array_clear(s->edits);
		json_array_clear(rs->calls);
	}
	return true;
}

int agent_session_resume(agent_session **out, const agent_settings *st, const agent_session_opts *o,
			 const char *traj_path, pl_err *err)
{
	agent_session *s = NULL;
	json_t *recs = NULL, *skipped = NULL, *r, *start;
	replay_state rs = { NULL, 0, 0 };
	const char *was;
	size_t i, bad = 0;
	int rc;

	if ((rc = agent_traj_load(&recs, NULL, &skipped, traj_path, err)) < 0)
		return rc;
	if ((rc = open_parts(&s, st, o, err)) < 0)
		goto done;
	start = json_array_get(recs, 0);
	if (strcmp(json_string_value(json_object_get(start, "kind")) ?: "", "chat")) {
		rc = pl_err_set(err, PL_EINVAL, "%s is not a chat session (kind '%s')", traj_path,
				json_string_value(json_object_get(start, "kind")) ?: "none");
		goto done;
	}
	/* its checkpoints are of that repository's files: /rewind here would
	 * put them over another one's */
	was = json_string_value(json_object_get(start, "repo"));
	if (!was || strcmp(was, s->repo)) {
		rc = pl_err_set(err, PL_EINVAL,
				"session '%s' was recorded on %s, not %s: resume it there (plait chat --repo '%s' --resume %s)",
				json_string_value(json_object_get(start, "id")) ?: traj_path, was ? was : "no repository",
				s->repo, was ? was : "?", json_string_value(json_object_get(start, "id")) ?: "ID");
		goto done;
	}
	if (json_is_string(json_object_get(start, "id")))
		snprintf(s->id, sizeof(s->id), "%s", json_string_value(json_object_get(start, "id")));
	rs.calls = json_array();
	json_array_foreach(recs, i, r)
		if (i > 0 && !replay(s, r, &rs))
			bad++;
	if (bad || json_array_size(skipped)) {
		char m[PL_ERR_MSG_MAX + 160];

		snprintf(m, sizeof(m), "%zu records of %s could not be used and are left out%s%s%s",
			 bad + json_array_size(skipped), traj_path, json_array_size(skipped) ? " (" : "",
			 json_array_size(skipped) ? json_string_value(json_object_get(json_array_get(skipped, 0), "error")) : "",
			 json_array_size(skipped) ? ")" : "");
		emit(s, AGENT_EV_WARNING, s->step, json_pack("{s:s}", "message", m), NULL, 0);
	}
	if ((rc = agent__traj_open(&s->traj, traj_path, true, err)) < 0) {
		if (rc == PL_EEXISTS)
			pl_err_prefix(err, "session '%s' is open in another plait chat: leave that one first", s->id);
		goto done;
	}
	s->o.traj_path = s->traj.path;
	/* the calls the session ended in: answered, and recorded, so that
	 * the file holds a conversation any API takes */
	json_array_foreach(rs.calls, i, r) {
		s->turn = rs.turn > s->turn ? rs.turn : s->turn;
		if ((rc = push(s,
			       call_result(json_string_value(json_object_get(r, "id")),
					   json_string_value(json_object_get(r, "name")), not_run_ended),
			       rs.step, true, err)) < 0)
			goto done;
	}
	rc = traj(s, "resume", json_pack("{s:s, s:I}", "model", s->model_label, "messages", (json_int_t)s->conv.n), err);
done:
	json_decref(recs);
	json_decref(skipped);
	json_decref(rs.calls);
	if (rc < 0) {
		agent_session_free(s);
		return rc;
	}
	*out = s;
	return 0;
}
