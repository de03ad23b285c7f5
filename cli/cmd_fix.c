/* cmd_fix.c - `plait fix`: autonomous bug fixing, non-interactive.
 * Progress on stderr; --json prints one result at the end, --stream-json
 * one event per line as the run goes. */
#include "cli/cli.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/tools.h"

static const char fix_usage[] =
	"usage: plait fix --repo DIR (--issue FILE | --issue-text TEXT) [options] [model options]\n"
	"\n"
	"Fixes an issue in a repository without asking anything: the model reads,\n"
	"searches, edits and runs the tests in a sandbox until it submits a patch\n"
	"or a limit ends the run.  Progress goes to stderr; the trajectory (every\n"
	"message, tool call, observation, token count and the patch) is written as\n"
	"the run goes.  Exit status 0 only when a non-empty patch was submitted.\n"
	"Ctrl-C ends the run (exit reason \"cancelled\"); a second one kills it.\n"
	"SIGTERM and SIGHUP end it the same way, and plait exits 128 + the signal.\n"
	"\n"
	"Options:\n"
	"  --repo DIR           the repository (default .); a directory inside one\n"
	"                       means the repository's root (said on stderr)\n"
	"  --issue FILE         the issue text (- for standard input)\n"
	"  --issue-text TEXT    the issue text itself\n"
	"  --base REV           the commit the patch is taken against (default HEAD)\n"
	"  --allow-dirty        run on a working tree with changes that are not\n"
	"                       committed: the patch is what changed since the run\n"
	"                       began, and leaves them out (refused by default)\n"
	"  --out PATCH          write the submitted patch to PATCH (its directory\n"
	"                       must exist and be writable: checked before the run)\n"
	"  --commit             commit exactly the submitted patch on a new branch\n"
	"                       plait/fix-ID (HEAD and the working tree stay as they are)\n"
	"  --traj FILE          the trajectory file (default paths.runs/ID.jsonl)\n"
	"  --max-steps N        model calls at most (limits.max_steps)\n"
	"  --json               print one JSON object at the end: exit_reason, message,\n"
	"                       submitted, patch, usage, steps, elapsed, trajectory,\n"
	"                       patch_encoding (\"utf-8\": patch is the text; \"base64\":\n"
	"                       it is {\"encoding\": \"base64\", \"data\"}, for bytes\n"
	"                       that are not UTF-8),\n"
	"                       commit ({oid, branch}) and commit_error (null unless\n"
	"                       --commit made one or failed)\n"
	"  --stream-json        print one JSON event per line as the run goes\n"
	"  -h, --help           show this help\n"
	"\n"
	"The profile is \"swebench\" unless --profile says otherwise.\n";

enum {
	O_REPO = 1,
	O_ISSUE,
	O_ISSUE_TEXT,
	O_BASE,
	O_ALLOW_DIRTY,
	O_OUT,
	O_COMMIT,
	O_TRAJ,
	O_MAX_STEPS,
	O_JSON,
	O_STREAM_JSON
};

static const cli_opt fix_opts[] = {
	{ "repo", 0, true, O_REPO },
	{ "issue", 0, true, O_ISSUE },
	{ "issue-text", 0, true, O_ISSUE_TEXT },
	{ "base", 0, true, O_BASE },
	{ "allow-dirty", 0, false, O_ALLOW_DIRTY },
	{ "out", 0, true, O_OUT },
	{ "commit", 0, false, O_COMMIT },
	{ "traj", 0, true, O_TRAJ },
	{ "max-steps", 0, true, O_MAX_STEPS },
	{ "json", 0, false, O_JSON },
	{ "stream-json", 0, false, O_STREAM_JSON },
	CLI_AGENT_OPTS,
	{ NULL, 0, false, 0 },
};

/* Set by SIGINT; the loop checks it between and during calls. */
static atomic_int fix_cancel;

/* SIGTERM or SIGHUP (a scheduler, a closed terminal): the signal that
 * came; the run ends as on Ctrl-C and plait exits 128 + it. */
static atomic_int fix_signal;

static void on_sigint(int sig)
{
	if (sig != SIGINT)
		atomic_store(&fix_signal, sig);
	atomic_store(&fix_cancel, 1);
	signal(sig, SIG_DFL); /* a second one kills */
}

typedef struct fix_ui {
	bool stream_json, color, in_text;
	bool out_closed; /* standard output failed (a reader that left): nothing more goes there */
	double t0;
	agent_usage usage;
	const char *model;
} fix_ui;

/* One JSON line on standard output.  A reader that left (`| head`) ends
 * the output, said once, never the run: SIGPIPE is ignored meanwhile. */
static void print_json_line(fix_ui *u, const json_t *v)
{
	pl_buf b = PL_BUF_INIT;

	if (u->out_closed)
		return;
	pl_json_dump(&b, v, false);
	pl_buf_putc(&b, '\n');
	if (fwrite(b.ptr, 1, b.len, stdout) != b.len || fflush(stdout) != 0) {
		u->out_closed = true;
		fprintf(stderr, "plait fix: standard output cannot be written (%s): no more JSON goes there; the run "
				"goes on\n",
			strerror(errno));
	}
	pl_buf_release(&b);
}

static void on_event(void *user, const agent_event *ev)
{
	fix_ui *u = user;
	const json_t *d = ev->data;
	bool c = u->color;
	char a[32], b[32], cost[48];
	pl_buf line = PL_BUF_INIT, e1 = PL_BUF_INIT, e2 = PL_BUF_INIT;

	if (u->stream_json)
		print_json_line(u, d);
	switch (ev->type) {
	case AGENT_EV_START:
		fprintf(stderr, "%splait fix%s: %s with %s; trajectory %s\n", cli_c(c, CLI_BOLD), cli_c(c, CLI_RESET),
			cli_esc(&e1, json_string_value(json_object_get(d, "repo"))),
			cli_esc(&e2, json_string_value(json_object_get(d, "model"))),
			json_string_value(json_object_get(d, "trajectory")) ?: "(none)");
		break;
	case AGENT_EV_ASSISTANT: {
		const json_t *us = json_object_get(d, "usage");

		u->usage.input += json_integer_value(json_object_get(us, "input"));
		u->usage.output += json_integer_value(json_object_get(us, "output"));
		if (json_is_number(json_object_get(us, "cost"))) {
			u->usage.cost += json_number_value(json_object_get(us, "cost"));
			u->usage.cost_known = u->usage.calls == 0 || u->usage.cost_known;
		} else {
			u->usage.cost_known = false;
		}
		u->usage.calls++;
		break;
	}
	case AGENT_EV_TOOL_START:
		cli_describe_call(&line, json_string_value(json_object_get(d, "name")), json_object_get(d, "arguments"), 70);
		{
			json_t *cj = u->usage.cost_known ? json_real(u->usage.cost) : json_null();

			fprintf(stderr, "%sstep %d%s  %s  %s%s in / %s out, %s, %.0fs%s\n", cli_c(c, CLI_CYAN), ev->step,
				cli_c(c, CLI_RESET), line.ptr, cli_c(c, CLI_DIM), cli_fmt_count(a, u->usage.input),
				cli_fmt_count(b, u->usage.output), cli_fmt_cost(cost, cj), pl_now() - u->t0,
				cli_c(c, CLI_RESET));
			json_decref(cj);
		}
		break;
	case AGENT_EV_TOOL_END:
		if (!json_is_true(json_object_get(d, "ok")))
			fprintf(stderr, "        %s%s%s\n", cli_c(c, CLI_YELLOW),
				json_is_true(json_object_get(d, "refused")) ? "refused" : "the tool reported an error",
				cli_c(c, CLI_RESET));
		break;
	case AGENT_EV_FORMAT_ERROR:
		fprintf(stderr, "%sstep %d%s  %smalformed call: %s%s\n", cli_c(c, CLI_CYAN), ev->step, cli_c(c, CLI_RESET),
			cli_c(c, CLI_YELLOW), cli_esc(&e1, json_string_value(json_object_get(d, "error"))), cli_c(c, CLI_RESET));
		break;
	case AGENT_EV_RETRY:
		fprintf(stderr, "        %sretry %lld in %.1fs: %s%s\n", cli_c(c, CLI_YELLOW),
			(long long)json_integer_value(json_object_get(d, "attempt")),
			json_number_value(json_object_get(d, "delay")), cli_esc(&e1, json_string_value(json_object_get(d, "reason"))),
			cli_c(c, CLI_RESET));
		break;
	case AGENT_EV_ELIDED:
		fprintf(stderr, "        %s%zu old observations elided to stay within the context budget%s\n",
			cli_c(c, CLI_DIM), json_array_size(json_object_get(d, "messages")), cli_c(c, CLI_RESET));
		break;
	case AGENT_EV_WARNING:
		fprintf(stderr, "%swarning:%s %s\n", cli_c(c, CLI_YELLOW), cli_c(c, CLI_RESET),
			cli_esc(&e1, json_string_value(json_object_get(d, "message"))));
		break;
	case AGENT_EV_END:
		fprintf(stderr, "%s%s%s: %s (%lld steps, %s in / %s out, %s, %.0fs)\n",
			cli_c(c, json_is_true(json_object_get(d, "submitted")) ? CLI_GREEN : CLI_YELLOW),
			json_string_value(json_object_get(d, "exit_reason")), cli_c(c, CLI_RESET),
			cli_esc(&e1, json_string_value(json_object_get(d, "message"))),
			(long long)json_integer_value(json_object_get(d, "steps")),
			cli_fmt_count(a, json_integer_value(json_object_get(json_object_get(d, "usage"), "input"))),
			cli_fmt_count(b, json_integer_value(json_object_get(json_object_get(d, "usage"), "output"))),
			cli_fmt_cost(cost, json_object_get(json_object_get(d, "usage"), "cost")),
			json_number_value(json_object_get(d, "elapsed")));
		break;
	default:
		break;
	}
	pl_buf_release(&line);
	pl_buf_release(&e1);
	pl_buf_release(&e2);
}

/* --out is written at the end: a directory that is not there, or not
 * writable, is said now, not after the model has worked for the patch. */
static int check_out(const char *out, const cli_ctx *ctx)
{
	pl_buf dir = PL_BUF_INIT;
	const char *slash = strrchr(out, '/');
	int rc = CLI_EXIT_OK;

	if (pl_dir_exists(out))
		return cli_fail(ctx, "fix", CLI_EXIT_USAGE, "--out '%s' is a directory: give a file name for the patch", out);
	if (slash)
		pl_buf_add(&dir, out, slash == out ? 1 : (size_t)(slash - out));
	else
		pl_buf_puts(&dir, ".");
	if (!pl_dir_exists(dir.ptr))
		rc = cli_fail(ctx, "fix", CLI_EXIT_USAGE, "--out '%s': the directory '%s' does not exist", out, dir.ptr);
	else if (access(dir.ptr, W_OK | X_OK) < 0)
		rc = cli_fail(ctx, "fix", CLI_EXIT_USAGE, "--out '%s': the directory '%s' cannot be written (%s)", out,
			      dir.ptr, strerror(errno));
	pl_buf_release(&dir);
	return rc;
}

static int read_issue(pl_buf *out, const char *path, pl_err *err)
{
	if (!strcmp(path, "-")) {
		char buf[65536];
		size_t n;

		while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
			pl_buf_add(out, buf, n);
		if (ferror(stdin))
			return pl_err_sys(err, PL_EIO, "reading the issue from standard input");
		return 0;
	}
	return pl_file_read(out, path, 16 << 20, err);
}

/* The repository must be one with a commit (a patch needs one; --base
 * must name one), and its working tree clean: what was there before is
 * not the fix, and --commit would commit it.  With allow_dirty, snapshot
 * gets the tree as it is, which becomes the base. */
static int check_tree(char snapshot[41], const char *repo, const char *base, bool allow_dirty, const cli_ctx *ctx)
{
	char oid[41];
	json_t *st = NULL, *x;
	pl_buf list = PL_BUF_INIT;
	pl_err err = { 0 };
	size_t i;
	int rc = CLI_EXIT_OK;

	if (tools_git_status(&st, repo, &err) < 0)
		return cli_fail(ctx, "fix", CLI_EXIT_USAGE,
				"--repo '%s' is not a git repository (%s): plait fix hands in a patch against a commit; "
				"run git init and commit the files first",
				repo, err.msg);
	if (!base && tools_git_resolve(oid, repo, NULL, &err) == PL_ENOTFOUND) {
		json_decref(st);
		return cli_fail(ctx, "fix", CLI_EXIT_USAGE,
				"'%s' has no commit yet: commit the code first (plait fix hands in a patch against a "
				"commit)",
				repo);
	}
	if (base && tools_git_resolve(oid, repo, base, &err) < 0) {
		json_decref(st);
		return cli_fail(ctx, "fix", CLI_EXIT_USAGE, "--base '%s': %s", base, err.msg);
	}
	if (allow_dirty) {
		if (tools_git_snapshot(snapshot, repo, &err) < 0)
			rc = cli_fail_err(ctx, "fix", &err);
	} else if (json_array_size(st)) {
		json_array_foreach(st, i, x) {
			if (i == 5) {
				pl_buf_printf(&list, ", and %zu more", json_array_size(st) - 5);
				break;
			}
			pl_buf_printf(&list, "%s%s %s", i ? ", " : "", json_string_value(json_object_get(x, "status")),
				      json_string_value(json_object_get(x, "path")));
		}
		rc = cli_fail(ctx, "fix", CLI_EXIT_USAGE,
			      "the working tree of '%s' has changes that are not committed (%s): the patch would mix "
			      "them with the fix, and --commit would commit them; commit or stash them, or give "
			      "--allow-dirty to leave them out of the patch",
			      repo, list.ptr);
	}
	json_decref(st);
	pl_buf_release(&list);
	return rc;
}

int cli_cmd_fix(int argc, char **argv, const cli_ctx *ctx)
{
	const char *repo = ".", *issue_file = NULL, *issue_text = NULL, *base = NULL, *out = NULL, *traj = NULL, *v;
	bool json = false, stream_json = false, commit = false, allow_dirty = false;
	char snapshot[41];
	cli_agent_opts ao;
	json_t *commit_made = NULL, *commit_error = NULL;
	char *repo_root = NULL;
	agent_config *cfg = NULL;
	agent_settings *s = NULL;
	agent_session *sess = NULL;
	agent_session_opts so = { 0 };
	agent_result res;
	fix_ui ui = { 0 };
	pl_buf issue = PL_BUF_INIT;
	pl_err err = { 0 };
	struct sigaction sa, old, old_term, old_hup, ign, old_pipe;
	int id, status = CLI_EXIT_FAIL, r;
	cli_args a;

	if (cli_wants_help(argc, argv)) {
		fputs(fix_usage, stdout);
		fputs("\n", stdout);
		fputs(cli_agent_usage, stdout);
		return CLI_EXIT_OK;
	}
	cli_agent_opts_init(&ao, "swebench");
	agent_result_init(&res);
	cli_args_init(&a, argc, argv, 1, "fix", fix_opts, ctx);
	while ((id = cli_next(&a, &v)) != CLI_END) {
		switch (id) {
		case CLI_BAD:
			status = CLI_EXIT_USAGE;
			goto done;
		case O_REPO: repo = v; break;
		case O_ISSUE: issue_file = v; break;
		case O_ISSUE_TEXT: issue_text = v; break;
		case O_BASE: base = v; break;
		case O_ALLOW_DIRTY: allow_dirty = true; break;
		case O_OUT: out = v; break;
		case O_COMMIT: commit = true; break;
		case O_TRAJ: traj = v; break;
		case O_MAX_STEPS: cli_agent_opts_set(&ao, "limits.max_steps", v, "--max-steps"); break;
		case O_JSON: json = true; break;
		case O_STREAM_JSON: stream_json = true; break;
		case CLI_POS:
			status = cli_fail(ctx, "fix", CLI_EXIT_USAGE, "unexpected argument '%s'", v);
			goto done;
		default:
			if ((r = cli_agent_opt(&ao, &a, id, v)) <= 0) {
				status = CLI_EXIT_USAGE;
				goto done;
			}
		}
	}
	if (!issue_file == !issue_text) {
		status = cli_fail(ctx, "fix", CLI_EXIT_USAGE, "give the issue with --issue FILE or --issue-text TEXT (one of them)");
		goto done;
	}
	if (json && stream_json) {
		status = cli_fail(ctx, "fix", CLI_EXIT_USAGE, "--json and --stream-json do not go together");
		goto done;
	}
	if (allow_dirty && base) {
		status = cli_fail(ctx, "fix", CLI_EXIT_USAGE,
				  "--allow-dirty and --base do not go together: with --allow-dirty the patch is taken "
				  "against the working tree as the run begins");
		goto done;
	}
	if (!pl_dir_exists(repo)) {
		status = cli_fail(ctx, "fix", CLI_EXIT_USAGE, "--repo '%s' is not a directory", repo);
		goto done;
	}
	/* below a repository's root: the whole repository (the patch is) */
	if ((repo_root = cli_agent_root(repo, "fix")))
		repo = repo_root;
	if (issue_file) {
		if (read_issue(&issue, issue_file, &err) < 0) {
			status = cli_fail(ctx, "fix", CLI_EXIT_USAGE, "--issue: %s", err.msg);
			goto done;
		}
	} else {
		pl_buf_puts(&issue, issue_text);
	}
	pl_buf_rtrim(&issue);
	if (!issue.len) {
		status = cli_fail(ctx, "fix", CLI_EXIT_USAGE, "the issue is empty");
		goto done;
	}
	if (out && (status = check_out(out, ctx)) != CLI_EXIT_OK)
		goto done;
	if ((status = cli_agent_settings(&cfg, &s, &ao, true, ctx, "fix")) != CLI_EXIT_OK)
		goto done;
	if ((status = check_tree(snapshot, repo, base, allow_dirty, ctx)) != CLI_EXIT_OK)
		goto done;
	status = CLI_EXIT_FAIL;

	ui.stream_json = stream_json;
	ui.color = cli_use_color(stderr);
	ui.t0 = pl_now();
	so.repo = repo;
	so.base = allow_dirty ? snapshot : base;
	so.kind = "fix";
	so.traj_path = traj;
	so.traj_dir = traj ? NULL : s->runs_dir;
	so.on_event = on_event;
	so.user = &ui;
	so.cancel = &fix_cancel;
	so.log = ctx ? ctx->log : NULL;
	if (agent_session_new(&sess, s, &so, &err) < 0) {
		status = cli_fail_err(ctx, "fix", &err);
		goto done;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	/* a closed standard output is a write error, not the end (the
	 * sandbox puts every signal back to default for the commands) */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old_pipe);
	r = agent_session_run(&res, sess, issue.ptr, &err);
	sigaction(SIGINT, &old, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	if (r < 0) {
		status = cli_fail_err(ctx, "fix", &err);
		goto done;
	}
	if (atomic_load(&fix_signal)) {
		/* the trajectory has its end; --json still says how it ended */
		status = 128 + atomic_load(&fix_signal);
		fprintf(stderr, "plait fix: stopped by signal %d (the trajectory is complete)\n", atomic_load(&fix_signal));
		goto report;
	}
	if (res.submitted && res.patch.len) {
		status = CLI_EXIT_OK;
		if (out && pl_file_write_atomic(out, res.patch.ptr, res.patch.len, 0644, &err) < 0) {
			status = cli_fail_err(ctx, "fix", &err);
		}
		if (commit) {
			char oid[41], branch[64];
			pl_buf msg = PL_BUF_INIT;

			snprintf(branch, sizeof(branch), "plait/fix-%s", agent_session_id(sess));
			pl_buf_puts(&msg, "Fix: ");
			pl_buf_add(&msg, issue.ptr, strcspn(issue.ptr, "\n") < 72 ? strcspn(issue.ptr, "\n") : 72);
			pl_buf_printf(&msg, "\n\nMade by plait fix (trajectory %s).\n",
				      agent_session_traj_path(sess) ?: "not kept");
			/* exactly the submitted patch, on its base commit (HEAD when the
			 * base is the starting snapshot): nothing else the tree holds */
			if (tools_git_commit_patch(oid, repo, allow_dirty ? NULL : base, res.patch.ptr, res.patch.len, branch,
						   msg.ptr, &err) < 0) {
				status = cli_fail_err(ctx, "fix", &err);
				commit_error = json_string(err.msg);
			} else {
				fprintf(stderr, "committed %.12s on %s (HEAD and the working tree are as they were)\n", oid,
					branch);
				commit_made = json_pack("{s:s, s:s}", "oid", oid, "branch", branch);
			}
			pl_buf_release(&msg);
		}
	} else if (res.submitted) {
		fprintf(stderr, "plait fix: the model submitted an empty patch\n");
	}
report:
	if (json) {
		json_t *o = agent_result_json(&res, sess);

		/* null when --commit was not given or nothing was submitted */
		json_object_set_new(o, "commit", commit_made ? commit_made : json_null());
		json_object_set_new(o, "commit_error", commit_error ? commit_error : json_null());
		commit_made = commit_error = NULL;
		print_json_line(&ui, o);
		json_decref(o);
	}
done:
	if (sess)
		sigaction(SIGPIPE, &old_pipe, NULL);
	json_decref(commit_made);
	json_decref(commit_error);
	free(repo_root);
	agent_result_release(&res);
	agent_session_free(sess);
	agent_settings_free(s);
	agent_config_free(cfg);
	cli_agent_opts_release(&ao);
	pl_buf_release(&issue);
	return status;
}
