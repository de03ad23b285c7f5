/* cmd_chat.c - `plait chat`: the terminal coding assistant.  Streaming
 * answers, coloured diffs of edits, approval prompts, checkpoints (/undo,
 * /rewind), /diff, /reset, /model, /cost, /quit; line editing and history
 * through libedit; Ctrl-C cancels the answer or command under way and keeps
 * the session; sessions saved as trajectories and resumable. */
#define _GNU_SOURCE
#include "cli/cli.h"
#include "cli/edit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char chat_usage[] =
	"usage: plait chat [--repo DIR] [--resume [ID] | --continue] [--approval MODE] [model options]\n"
	"\n"
	"A coding assistant in the terminal, working on the repository (default .).\n"
	"Answers stream as they are written; edits show as coloured diffs.  Before\n"
	"an edit or a command runs you are asked, as --approval says:\n"
	"  ask        edits and commands (the default)\n"
	"  auto-edit  commands only\n"
	"  full-auto  nothing\n"
	"  read-only  edits and commands are refused\n"
	"Answer y (yes), n (no, with an optional reason after it) or a (always, for\n"
	"this session).  Every turn is a checkpoint of the files and the conversation.\n"
	"\n"
	"Commands:\n"
	"  /undo          revert the files to before the last change a tool made\n"
	"                 (not ignored files, nor untracked files over 16 MiB)\n"
	"  /rewind [N]    back to before turn N (files and conversation); no N lists turns\n"
	"  /diff          every change since the session began, against the base commit\n"
	"  /reset         clear the conversation (files stay)\n"
	"  /model [NAME]  show or switch the model\n"
	"  /approval [M]  show or switch the approval mode\n"
	"  /cost          tokens and cost so far\n"
	"  /help          this list\n"
	"  /quit          leave (Ctrl-D too)\n"
	"Ctrl-C cancels the answer being written (or kills the command running)\n"
	"and keeps the session; at the prompt it clears the line; at an approval it\n"
	"answers no and ends the turn.  Two Ctrl-C in a row leave.\n"
	"\n"
	"Sessions are saved in paths.sessions; --continue resumes this repository's\n"
	"latest, --resume ID a given one (--resume alone lists them).\n"
	"\n"
	"Options:\n"
	"  --repo DIR         the repository (default .); a directory inside one\n"
	"                     means the repository's root (said on stderr)\n"
	"  --continue         resume the latest session of this repository\n"
	"  --resume [ID]      resume session ID, or choose from a list\n"
	"  --approval MODE    ask, auto-edit, full-auto or read-only\n"
	"  -h, --help         show this help\n";

enum { O_REPO = 1, O_CONTINUE, O_RESUME, O_APPROVAL };

static const cli_opt chat_opts[] = {
	{ "repo", 0, true, O_REPO },
	{ "continue", 'c', false, O_CONTINUE },
	{ "resume", 'r', false, O_RESUME },
	{ "approval", 0, true, O_APPROVAL },
	CLI_AGENT_OPTS,
	{ NULL, 0, false, 0 },
};

/* Set by SIGINT (the handler is the only writer besides the resets). */
static atomic_int chat_cancel;
static atomic_int chat_interrupted;
static atomic_int chat_quit;      /* a second Ctrl-C in a row */
static atomic_int chat_at_prompt; /* reading a line (libedit may hold the terminal) */
static atomic_int chat_armed;     /* a Ctrl-C came, and nothing was typed since */

/* Ctrl-C twice in a row leaves (a line typed in between disarms it), as
 * node's REPL does: a rule on what happened, not on how fast, so that a
 * slow terminal or a loaded machine cannot turn it into something else. */
static void on_sigint(int sig)
{
	(void)sig;
	atomic_store(&chat_cancel, 1);
	atomic_store(&chat_interrupted, 1);
	if (atomic_exchange(&chat_armed, 1)) {
		atomic_store(&chat_quit, 1);
		/* away from a prompt (a command running) nothing would notice the
		 * flag soon: end now, as plait fix does; at a prompt the read
		 * returns and the chat leaves cleanly, the terminal restored */
		if (!atomic_load(&chat_at_prompt)) {
			signal(SIGINT, SIG_DFL);
			raise(SIGINT);
		}
	}
}

/* SIGTERM or SIGHUP (the terminal closed): the signal that came. */
static atomic_int chat_signal;

/* Handled as a cancellation that leaves: the answer or the command under
 * way is stopped, its call answered in the session file, and the chat
 * ends with 128 + the signal, the file whole.  A second one kills. */
static void on_sigterm(int sig)
{
	atomic_store(&chat_signal, sig);
	atomic_store(&chat_cancel, 1);
	atomic_store(&chat_interrupted, 1);
	atomic_store(&chat_quit, 1);
	signal(sig, SIG_DFL);
}

typedef struct chat_ui {
	EditLine *el;
	History *hist;
	bool tty, color;
	char prompt[64];
	bool streaming;    /* the model's text is being written */
	pl_buf pending;    /* streamed bytes that end inside a UTF-8 character */
	pl_buf esc;        /* scratch for escaped text */
	bool wrote_text;   /* this step wrote text */
	agent_settings *s;
	agent_session *sess;
	char *history_file;
	const char *root; /* the repository's root (for what an overwrite replaces) */
} chat_ui;

static char *prompt_fn(EditLine *e)
{
	chat_ui *u = NULL;

	el_get(e, EL_CLIENTDATA, &u);
	return u ? u->prompt : "> ";
}

/* One line from the person, without its newline (any length); NULL at
 * end of input, or after a second Ctrl-C.  A Ctrl-C while reading gives
 * back an empty line with *interrupted set (may be NULL). */
static char *read_line(chat_ui *u, const char *prompt, bool remember, bool *interrupted)
{
	char *line = NULL;
	bool intr = false;

	snprintf(u->prompt, sizeof(u->prompt), "%s", prompt);
	atomic_store(&chat_interrupted, 0);
	atomic_store(&chat_at_prompt, 1);
	if (atomic_load(&chat_quit))
		goto done;
	if (u->el) {
		int n = 0;
		const char *l;

		errno = 0;
		l = el_gets(u->el, &n);
		if (!l || n <= 0) {
			if (atomic_load(&chat_interrupted) || errno == EINTR) {
				fputs("\n", stdout);
				intr = true;
			}
			goto done;
		}
		if (remember && u->hist && n > 1) {
			HistEvent ev;

			history(u->hist, &ev, H_ENTER, l);
		}
		line = pl_xstrdup(l);
	} else {
		size_t cap = 0;

		fputs(prompt, stdout);
		fflush(stdout);
		/* getline: a line longer than any buffer is still one line */
		if (getline(&line, &cap, stdin) < 0) {
			free(line);
			line = NULL;
			if (atomic_load(&chat_interrupted)) {
				clearerr(stdin);
				intr = true;
			}
			goto done;
		}
	}
	line[strcspn(line, "\r\n")] = '\0';
	atomic_store(&chat_armed, 0); /* the person typed: Ctrl-C starts over */
	if (!u->el && !u->tty)
		printf("%s\n", cli_esc(&u->esc, line)); /* a transcript reads like a terminal */
done:
	atomic_store(&chat_at_prompt, 0);
	atomic_store(&chat_interrupted, 0);
	if (intr && !atomic_load(&chat_quit) && !line)
		line = pl_xstrdup("");
	if (interrupted)
		*interrupted = intr;
	return line;
}

static void end_text(chat_ui *u)
{
	if (u->pending.len) {
		pl_buf_reset(&u->esc);
		cli_escape(&u->esc, u->pending.ptr, u->pending.len, true);
		fputs(u->esc.ptr, stdout);
		pl_buf_reset(&u->pending);
	}
	if (u->streaming) {
		fputs(cli_c(u->color, CLI_RESET), stdout);
		fputs("\n", stdout);
		u->streaming = false;
	}
}

static void print_lines(chat_ui *u, const char *text, size_t max)
{
	const char *p = text;
	size_t n = 0, total = 0;

	for (const char *q = text; *q; q++)
		total += *q == '\n';
	while (*p && n < max) {
		size_t len = strcspn(p, "\n");

		pl_buf_reset(&u->esc);
		cli_escape(&u->esc, p, len, true);
		printf("  %s%s%s\n", cli_c(u->color, CLI_DIM), u->esc.ptr, cli_c(u->color, CLI_RESET));
		p += len + (p[len] == '\n');
		n++;
	}
	if (total > n)
		printf("  %s[... %zu more lines]%s\n", cli_c(u->color, CLI_DIM), total - n, cli_c(u->color, CLI_RESET));
}

static void on_event(void *user, const agent_event *ev)
{
	chat_ui *u = user;
	const json_t *d = ev->data;
	bool c = u->color;

	switch (ev->type) {
	case AGENT_EV_TEXT:
		if (!u->streaming) {
			u->streaming = true;
			u->wrote_text = true;
		}
		{
			/* escaped, a character cut between two pieces kept for the next */
			size_t used;

			pl_buf_add(&u->pending, ev->text, ev->len);
			pl_buf_reset(&u->esc);
			used = cli_escape(&u->esc, u->pending.ptr, u->pending.len, false);
			fputs(u->esc.ptr, stdout);
			memmove(u->pending.ptr, u->pending.ptr + used, u->pending.len - used);
			pl_buf_setlen(&u->pending, u->pending.len - used);
		}
		fflush(stdout);
		break;
	case AGENT_EV_STEP:
		u->wrote_text = false;
		break;
	case AGENT_EV_ASSISTANT: {
		/* a backend that did not stream: the whole text now */
		const char *content = json_string_value(json_object_get(d, "content"));

		if (!u->wrote_text && content && *content)
			printf("%s\n", cli_esc(&u->esc, content));
		end_text(u);
		break;
	}
	case AGENT_EV_TOOL_START: {
		pl_buf line = PL_BUF_INIT;

		end_text(u);
		cli_describe_call(&line, json_string_value(json_object_get(d, "name")), json_object_get(d, "arguments"), 100);
		printf("%s● %s%s\n", cli_c(c, CLI_CYAN), line.ptr, cli_c(c, CLI_RESET));
		fflush(stdout);
		pl_buf_release(&line);
		break;
	}
	case AGENT_EV_TOOL_END: {
		const json_t *diff = json_object_get(d, "diff");
		const char *text = json_string_value(json_object_get(d, "text"));
		const char *name = json_string_value(json_object_get(d, "name"));

		if (json_is_true(json_object_get(d, "refused")))
			printf("  %s%s%s\n", cli_c(c, CLI_YELLOW), cli_esc(&u->esc, text ? text : "refused"), cli_c(c, CLI_RESET));
		else if (json_is_string(diff))
			cli_print_diff(stdout, json_string_value(diff), json_string_length(diff), c);
		else if (!json_is_true(json_object_get(d, "ok")))
			printf("  %s%s%s\n", cli_c(c, CLI_YELLOW), cli_esc(&u->esc, text ? text : "error"), cli_c(c, CLI_RESET));
		else if (name && !strcmp(name, "bash") && text)
			print_lines(u, text, 8);
		fflush(stdout);
		break;
	}
	case AGENT_EV_FORMAT_ERROR:
		end_text(u);
		printf("%s[malformed tool call: %s]%s\n", cli_c(c, CLI_YELLOW),
		       cli_esc(&u->esc, json_string_value(json_object_get(d, "error"))), cli_c(c, CLI_RESET));
		break;
	case AGENT_EV_RETRY:
		end_text(u);
		if (json_is_true(json_object_get(d, "discard_text"))) {
			/* what streamed is not the answer: the next attempt writes it all */
			u->wrote_text = false;
			printf("%s[the answer above was cut off and is discarded; retrying in %.1fs: %s]%s\n",
			       cli_c(c, CLI_YELLOW), json_number_value(json_object_get(d, "delay")),
			       cli_esc(&u->esc, json_string_value(json_object_get(d, "reason"))), cli_c(c, CLI_RESET));
		} else {
			printf("%s[retrying in %.1fs: %s]%s\n", cli_c(c, CLI_YELLOW), json_number_value(json_object_get(d, "delay")),
			       cli_esc(&u->esc, json_string_value(json_object_get(d, "reason"))), cli_c(c, CLI_RESET));
		}
		break;
	case AGENT_EV_WARNING:
		end_text(u);
		printf("%s[%s]%s\n", cli_c(c, CLI_YELLOW), cli_esc(&u->esc, json_string_value(json_object_get(d, "message"))),
		       cli_c(c, CLI_RESET));
		break;
	case AGENT_EV_END: {
		const char *why = json_string_value(json_object_get(d, "exit_reason"));

		end_text(u);
		if (!strcmp(why, "cancelled"))
			printf("%s[cancelled]%s\n", cli_c(c, CLI_YELLOW), cli_c(c, CLI_RESET));
		else if (strcmp(why, "answered"))
			printf("%s[%s: %s]%s\n", cli_c(c, CLI_YELLOW), why,
			       cli_esc(&u->esc, json_string_value(json_object_get(d, "message"))), cli_c(c, CLI_RESET));
		break;
	}
	default:
		break;
	}
}

/* Each line of text as a diff line marked mark ('+', '-'), into d. */
static void diff_lines(pl_buf *d, char mark, const char *text)
{
	for (const char *p = text ? text : ""; *p;) {
		size_t l = strcspn(p, "\n");

		pl_buf_putc(d, mark);
		pl_buf_add(d, p, l);
		pl_buf_putc(d, '\n');
		p += l + (p[l] == '\n');
	}
}

/* Lines of text (a last line without a newline counts). */
static size_t count_lines(const char *text)
{
	size_t lines = 0;

	for (const char *q = text ? text : ""; *q; q++)
		lines += *q == '\n';
	return lines + (text && *text && text[strlen(text) - 1] != '\n');
}

/* A command as it will run, each line marked ' ', but a run of blank
 * lines as one line saying how many: a payload cannot hide below a
 * screenful of them. */
static void command_lines(pl_buf *d, const char *text)
{
	size_t blank = 0;

	for (const char *p = text ? text : ""; *p;) {
		size_t l = strcspn(p, "\n");
		bool is_blank = strspn(p, " \t\r\f\v") >= l;

		if (is_blank && p[l] == '\n') {
			blank++;
		} else {
			if (blank > 1)
				pl_buf_printf(d, " [%zu blank lines]\n", blank);
			else if (blank == 1)
				pl_buf_puts(d, " \n");
			blank = 0;
			pl_buf_putc(d, ' ');
			pl_buf_add(d, p, l);
			pl_buf_putc(d, '\n');
		}
		p += l + (p[l] == '\n');
	}
	if (blank > 1)
		pl_buf_printf(d, " [%zu blank lines]\n", blank);
	else if (blank == 1)
		pl_buf_puts(d, " \n");
}

/* The file an overwriting create replaces, when it is a regular file of
 * the repository (never a FIFO, a device or a file outside it through a
 * link): read only to show what changes.  false when it cannot be. */
static bool read_current(pl_buf *out, const chat_ui *u, const char *path)
{
	pl_buf p = PL_BUF_INIT;
	char real[PATH_MAX];
	size_t rl = u->root ? strlen(u->root) : 0;
	bool ok = false;

	if (!u->root || !path || !*path)
		return false;
	if (path[0] == '/')
		pl_buf_puts(&p, path);
	else
		pl_buf_printf(&p, "%s/%s", u->root, path);
	if (realpath(p.ptr, real) && !strncmp(real, u->root, rl) && real[rl] == '/') {
		int fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		struct stat st;

		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= (4 << 20)) {
			char buf[65536];
			ssize_t n;

			while ((n = read(fd, buf, sizeof(buf))) > 0)
				pl_buf_add(out, buf, (size_t)n);
			ok = n == 0;
		}
		if (fd >= 0)
			close(fd);
	}
	pl_buf_release(&p);
	return ok;
}

/* old -> new as one hunk: the lines both begin and end with are left
 * out (said as counts), the rest taken out and put in. */
static void replace_lines(pl_buf *d, const char *old, const char *new)
{
	const char *a = old, *b = new, *ae = old + strlen(old), *be = new + strlen(new);
	size_t same_head = 0, same_tail = 0;
	pl_buf mid = PL_BUF_INIT;

	/* the common first lines */
	for (;;) {
		const char *na = memchr(a, '\n', (size_t)(ae - a)), *nb = memchr(b, '\n', (size_t)(be - b));

		if (!na || !nb || na - a != nb - b || memcmp(a, b, (size_t)(na - a)))
			break;
		a = na + 1;
		b = nb + 1;
		same_head++;
	}
	/* the common last lines (whole lines, not into the head) */
	while (ae > a && be > b && ae[-1] == '\n' && be[-1] == '\n') {
		const char *la = ae - 1, *lb = be - 1;

		while (la > a && la[-1] != '\n')
			la--;
		while (lb > b && lb[-1] != '\n')
			lb--;
		if (ae - la != be - lb || memcmp(la, lb, (size_t)(ae - la)))
			break;
		ae = la;
		be = lb;
		same_tail++;
	}
	if (same_head)
		pl_buf_printf(d, "@@ %zu line%s unchanged @@\n", same_head, same_head == 1 ? "" : "s");
	pl_buf_add(&mid, a, (size_t)(ae - a));
	diff_lines(d, '-', mid.ptr);
	pl_buf_reset(&mid);
	pl_buf_add(&mid, b, (size_t)(be - b));
	diff_lines(d, '+', mid.ptr);
	if (same_tail)
		pl_buf_printf(d, "@@ %zu line%s unchanged @@\n", same_tail, same_tail == 1 ? "" : "s");
	pl_buf_release(&mid);
}

/* A path on one line: escaped as everything shown is, and newlines and
 * tabs too (a name holding a newline could fake a second prompt line). */
static const char *esc_path(pl_buf *out, const char *path)
{
	pl_buf e = PL_BUF_INIT;

	pl_buf_reset(out);
	cli_esc(&e, path);
	for (const char *q = e.ptr; *q; q++) {
		if (*q == '\n')
			pl_buf_puts(out, "\\n");
		else if (*q == '\t')
			pl_buf_puts(out, "\\t");
		else
			pl_buf_putc(out, *q);
	}
	pl_buf_release(&e);
	return out->ptr;
}

/* What the call would do, in full and escaped: the command, or the edit
 * as a diff (a new file's whole content; what an overwrite changes). */
static void show_call(chat_ui *u, const char *tool, const json_t *args)
{
	bool c = u->color;
	const char *path = json_string_value(json_object_get(args, "path"));
	pl_buf d = PL_BUF_INIT, p = PL_BUF_INIT;

	if (!strcmp(tool, "bash")) {
		const char *command = json_string_value(json_object_get(args, "command"));
		size_t n = count_lines(command);

		if (n > 1)
			printf("%sRun this command? (%zu lines)%s\n", cli_c(c, CLI_BOLD), n, cli_c(c, CLI_RESET));
		else
			printf("%sRun this command?%s\n", cli_c(c, CLI_BOLD), cli_c(c, CLI_RESET));
		command_lines(&d, command);
		cli_print_diff(stdout, d.ptr, d.len, false);
		pl_buf_release(&d);
		return;
	}
	esc_path(&p, path ? path : "?");
	if (!strcmp(tool, "create")) {
		const char *text = json_string_value(json_object_get(args, "file_text"));
		pl_buf cur = PL_BUF_INIT;
		bool over = json_is_true(json_object_get(args, "overwrite")) && read_current(&cur, u, path);

		printf("%sAllow create of %s (%s, %zu lines)?%s\n", cli_c(c, CLI_BOLD), p.ptr,
		       over ? "replacing what it holds: the changes below" :
		       json_is_true(json_object_get(args, "overwrite")) ? "replacing what it holds" : "a new file",
		       count_lines(text), cli_c(c, CLI_RESET));
		if (over && !memchr(cur.ptr, '\0', cur.len))
			replace_lines(&d, cur.ptr, text ? text : "");
		else
			diff_lines(&d, '+', text);
		pl_buf_release(&cur);
	} else if (!strcmp(tool, "insert")) {
		printf("%sAllow insert into %s after line %lld?%s\n", cli_c(c, CLI_BOLD), p.ptr,
		       (long long)json_integer_value(json_object_get(args, "insert_line")), cli_c(c, CLI_RESET));
		diff_lines(&d, '+', json_string_value(json_object_get(args, "new_str")));
	} else if (!strcmp(tool, "str_replace")) {
		printf("%sAllow str_replace on %s?%s\n", cli_c(c, CLI_BOLD), p.ptr, cli_c(c, CLI_RESET));
		diff_lines(&d, '-', json_string_value(json_object_get(args, "old_str")));
		diff_lines(&d, '+', json_string_value(json_object_get(args, "new_str")));
	} else {
		printf("%sAllow %s on %s?%s\n", cli_c(c, CLI_BOLD), cli_esc(&u->esc, tool), p.ptr, cli_c(c, CLI_RESET));
	}
	cli_print_diff(stdout, d.ptr, d.len, c);
	pl_buf_release(&d);
	pl_buf_release(&p);
}

static bool approve(void *user, const char *tool, const json_t *args, pl_buf *why)
{
	chat_ui *u = user;
	bool c = u->color, intr = false;
	char *ans;
	bool ok = false;

	end_text(u);
	show_call(u, tool, args);
	for (;;) {
		ans = read_line(u, "[y]es / [n]o (reason) / [a]lways? ", false, &intr);
		if (!ans || intr) {
			/* Ctrl-C is "no", and the turn ends (the cancel flag stays set) */
			pl_buf_puts(why, intr || atomic_load(&chat_quit) ? "the person interrupted (Ctrl-C) and stopped this turn"
									 : "no answer (end of input)");
			free(ans);
			return false;
		}
		if (!strcmp(ans, "y") || !strcmp(ans, "yes")) {
			ok = true;
			break;
		}
		if (!strcmp(ans, "a") || !strcmp(ans, "always")) {
			const char *mode = !strcmp(tool, "bash") ? "full-auto" : "auto-edit";

			agent_settings_set(u->s, "tools.approval", mode, "/approval", NULL);
			printf("%s(approval mode now %s)%s\n", cli_c(c, CLI_DIM), mode, cli_c(c, CLI_RESET));
			ok = true;
			break;
		}
		if (ans[0] == 'n') {
			const char *r = ans + 1;

			if (!strncmp(ans, "no", 2))
				r = ans + 2;
			while (*r == ' ' || *r == ':' || *r == ',')
				r++;
			pl_buf_puts(why, r);
			break;
		}
		free(ans);
	}
	free(ans);
	return ok;
}

static void show_cost(chat_ui *u)
{
	const agent_usage *us = agent_session_usage(u->sess);
	char a[32], b[32], c[32], cost[48];
	json_t *cj = us->cost_known ? json_real(us->cost) : json_null();

	printf("%s in (%s cached), %s out, %lld model calls, %s%s\n", cli_fmt_count(a, us->input), cli_fmt_count(c, us->cached),
	       cli_fmt_count(b, us->output), (long long)us->calls, cli_fmt_cost(cost, cj),
	       us->cost_known || !us->calls ? "" : " (no price for this model in \"prices\")");
	json_decref(cj);
}

/* The conversation so far, for a resumed session. */
static void replay(chat_ui *u)
{
	json_t *msgs = agent_session_messages(u->sess), *m;
	size_t i;
	bool c = u->color;

	json_array_foreach(msgs, i, m) {
		const char *role = json_string_value(json_object_get(m, "role"));
		const char *content = json_string_value(json_object_get(m, "content"));

		if (!strcmp(role, "user") && content)
			printf("%s> %s%s\n", cli_c(c, CLI_BOLD), cli_esc(&u->esc, content), cli_c(c, CLI_RESET));
		else if (!strcmp(role, "assistant") && content && *content)
			printf("%s\n", cli_esc(&u->esc, content));
	}
}

/* Handles a /command; returns false for /quit. */
static bool command(chat_ui *u, const char *line)
{
	char cmd[32];
	const char *arg = line + strcspn(line, " ");
	pl_buf out = PL_BUF_INIT;
	pl_err err = { 0 };
	bool c = u->color;

	snprintf(cmd, sizeof(cmd), "%.*s", (int)strcspn(line, " "), line);
	while (*arg == ' ')
		arg++;
	if (!strcmp(cmd, "/quit") || !strcmp(cmd, "/exit")) {
		pl_buf_release(&out);
		return false;
	} else if (!strcmp(cmd, "/help")) {
		printf("/undo, /rewind [N], /diff, /reset, /model [NAME], /approval [MODE], /cost, /quit\n");
	} else if (!strcmp(cmd, "/undo")) {
		if (agent_session_undo(u->sess, &out, &err) < 0)
			printf("%s%s%s\n", cli_c(c, CLI_YELLOW), err.msg, cli_c(c, CLI_RESET));
		else
			printf("%s\n", out.ptr);
	} else if (!strcmp(cmd, "/rewind")) {
		json_t *turns = agent_session_turns(u->sess), *t;
		size_t i;

		if (!*arg) {
			if (!json_array_size(turns))
				printf("no turns yet\n");
			json_array_foreach(turns, i, t) {
				const char *text = json_string_value(json_object_get(t, "text")) ?: "";
				size_t len = strcspn(text, "\n") < 70 ? strcspn(text, "\n") : 70;

				while (len && ((unsigned char)text[len] & 0xC0) == 0x80)
					len--;
				pl_buf_reset(&u->esc);
				cli_escape(&u->esc, text, len, true);
				printf("%3lld  %s%s\n", (long long)json_integer_value(json_object_get(t, "turn")), u->esc.ptr,
				       strlen(text) > 70 || strchr(text, '\n') ? "..." : "");
			}
			printf("/rewind N goes back to before turn N (files and conversation)\n");
		} else {
			int64_t n;

			if (pl_parse_i64(&n, arg, 1, INT_MAX, NULL) < 0)
				printf("%s/rewind takes a turn number, not '%s'%s\n", cli_c(c, CLI_YELLOW), arg, cli_c(c, CLI_RESET));
			else if (agent_session_rewind(u->sess, (int)n, &err) < 0)
				printf("%s%s%s\n", cli_c(c, CLI_YELLOW), err.msg, cli_c(c, CLI_RESET));
			else
				printf("rewound to before turn %lld: files and conversation restored\n", (long long)n);
		}
		json_decref(turns);
	} else if (!strcmp(cmd, "/diff")) {
		if (agent_session_diff(u->sess, &out, &err) < 0)
			printf("%s%s%s\n", cli_c(c, CLI_YELLOW), err.msg, cli_c(c, CLI_RESET));
		else if (!out.len)
			printf("no changes\n");
		else
			cli_print_diff(stdout, out.ptr, out.len, c);
	} else if (!strcmp(cmd, "/reset")) {
		if (agent_session_reset(u->sess, &err) < 0)
			printf("%s%s%s\n", cli_c(c, CLI_YELLOW), err.msg, cli_c(c, CLI_RESET));
		else
			printf("conversation cleared (files unchanged)\n");
	} else if (!strcmp(cmd, "/model")) {
		if (*arg && agent_session_set_model(u->sess, arg, &err) < 0)
			printf("%s%s%s\n", cli_c(c, CLI_YELLOW), err.msg, cli_c(c, CLI_RESET));
		else
			printf("model: %s\n", agent_session_model(u->sess));
	} else if (!strcmp(cmd, "/approval")) {
		if (*arg && agent_settings_set(u->s, "tools.approval", arg, "/approval", &err) < 0)
			printf("%s%s%s\n", cli_c(c, CLI_YELLOW), err.msg, cli_c(c, CLI_RESET));
		else
			printf("approval: %s\n", u->s->approval);
	} else if (!strcmp(cmd, "/cost")) {
		show_cost(u);
	} else {
		printf("%sunknown command %s (/help lists them)%s\n", cli_c(c, CLI_YELLOW), cmd, cli_c(c, CLI_RESET));
	}
	fflush(stdout);
	pl_buf_release(&out);
	return true;
}

/* The session whose id the person gave (the list is not filtered by
 * repository: agent_session_resume checks that). */
static int pick_by_id(char **path_out, const json_t *list, const char *dir, const char *id, const cli_ctx *ctx)
{
	const json_t *x;
	size_t i;

	json_array_foreach(list, i, x) {
		const char *xid = json_string_value(json_object_get(x, "id"));

		if (!xid || strcmp(xid, id))
			continue;
		if (json_is_string(json_object_get(x, "error")))
			return cli_fail(ctx, "chat", CLI_EXIT_FAIL, "session '%s' cannot be read: %s", id,
					json_string_value(json_object_get(x, "error")));
		*path_out = pl_xstrdup(json_string_value(json_object_get(x, "path")));
		return CLI_EXIT_OK;
	}
	return cli_fail(ctx, "chat", CLI_EXIT_USAGE, "no saved session '%s' in %s", id, dir);
}

static int pick_session(char **path_out, const char *dir, const char *repo, const char *id, bool latest, chat_ui *u,
			const cli_ctx *ctx)
{
	json_t *list = NULL, *ok, *x;
	pl_err err = { 0 };
	size_t i;
	int rc = CLI_EXIT_OK;

	if (agent_sessions_list(&list, dir, id ? NULL : repo, &err) < 0)
		return cli_fail_err(ctx, "chat", &err);
	if (id) {
		rc = pick_by_id(path_out, list, dir, id, ctx);
		json_decref(list);
		return rc;
	}
	/* the unreadable ones are said, then left out */
	ok = json_array();
	json_array_foreach(list, i, x) {
		if (json_is_string(json_object_get(x, "error")))
			fprintf(stderr, "plait chat: skipping session %s: %s\n",
				json_string_value(json_object_get(x, "id")) ?: "?",
				json_string_value(json_object_get(x, "error")));
		else
			json_array_append(ok, x);
	}
	json_decref(list);
	if (!json_array_size(ok)) {
		rc = cli_fail(ctx, "chat", CLI_EXIT_USAGE, "no saved session for %s in %s", repo, dir);
	} else if (latest) {
		*path_out = pl_xstrdup(json_string_value(json_object_get(json_array_get(ok, 0), "path")));
	} else {
		char *ans;
		int64_t n;

		json_array_foreach(ok, i, x) {
			const char *first = json_string_value(json_object_get(x, "first"));

			pl_buf_reset(&u->esc);
			cli_escape(&u->esc, first ? first : "", first ? strcspn(first, "\n") : 0, true);
			printf("%2zu  %s  %lld turns  %.60s\n", i + 1, json_string_value(json_object_get(x, "id")) ?: "?",
			       (long long)json_integer_value(json_object_get(x, "turns")), u->esc.ptr);
			if (i == 19)
				break;
		}
		ans = read_line(u, "session number? ", false, NULL);
		if (ans && pl_parse_i64(&n, ans, 1, (int64_t)json_array_size(ok), NULL) == 0)
			*path_out = pl_xstrdup(json_string_value(json_object_get(json_array_get(ok, n - 1), "path")));
		else
			rc = cli_fail(ctx, "chat", CLI_EXIT_USAGE, "no session chosen");
		free(ans);
	}
	json_decref(ok);
	return rc;
}

int cli_cmd_chat(int argc, char **argv, const cli_ctx *ctx)
{
	const char *repo = ".", *resume_id = NULL, *approval = NULL, *v;
	bool cont = false, resume = false, c;
	cli_agent_opts ao;
	agent_config *cfg = NULL;
	agent_settings *s = NULL;
	agent_session_opts so = { 0 };
	chat_ui u;
	pl_err err = { 0 };
	struct sigaction sa, old, old_term, old_hup;
	char *resume_path = NULL, real[PATH_MAX];
	int id, status = CLI_EXIT_OK, r;
	cli_args a;

	if (cli_wants_help(argc, argv)) {
		fputs(chat_usage, stdout);
		fputs("\n", stdout);
		fputs(cli_agent_usage, stdout);
		return CLI_EXIT_OK;
	}
	memset(&u, 0, sizeof(u));
	pl_buf_init(&u.pending, 0);
	pl_buf_init(&u.esc, 0);
	cli_agent_opts_init(&ao, "chat");
	cli_args_init(&a, argc, argv, 1, "chat", chat_opts, ctx);
	while ((id = cli_next(&a, &v)) != CLI_END) {
		switch (id) {
		case CLI_BAD:
			status = CLI_EXIT_USAGE;
			goto done;
		case O_REPO: repo = v; break;
		case O_CONTINUE: cont = true; break;
		case O_RESUME: resume = true; break;
		case O_APPROVAL: approval = v; break;
		case CLI_POS:
			if (resume && !resume_id) {
				resume_id = v;
				break;
			}
			status = cli_fail(ctx, "chat", CLI_EXIT_USAGE, "unexpected argument '%s'", v);
			goto done;
		default:
			if ((r = cli_agent_opt(&ao, &a, id, v)) <= 0) {
				status = CLI_EXIT_USAGE;
				goto done;
			}
		}
	}
	if (cont && resume) {
		status = cli_fail(ctx, "chat", CLI_EXIT_USAGE, "--continue and --resume do not go together");
		goto done;
	}
	if (!realpath(repo, real) || !pl_dir_exists(real)) {
		status = cli_fail(ctx, "chat", CLI_EXIT_USAGE, "--repo '%s' is not a directory", repo);
		goto done;
	}
	{
		/* below a repository's root: the whole repository */
		char *top = cli_agent_root(real, "chat");

		if (top && strlen(top) < sizeof(real))
			memcpy(real, top, strlen(top) + 1);
		free(top);
	}
	if (approval)
		cli_agent_opts_set(&ao, "tools.approval", approval, "--approval");
	if ((status = cli_agent_settings(&cfg, &s, &ao, true, ctx, "chat")) != CLI_EXIT_OK)
		goto done;

	u.s = s;
	u.root = real;
	u.tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	u.color = c = cli_use_color(stdout);
	if (u.tty && cli__edit_load(&err) == 0) {
		HistEvent hev;
		pl_buf hf = PL_BUF_INIT;
		char *sd = NULL;

		u.el = el_init("plait", stdin, stdout, stderr);
		u.hist = history_init();
		if (u.el && u.hist) {
			el_set(u.el, EL_EDITOR, "emacs");
			el_set(u.el, EL_CLIENTDATA, &u);
			el_set(u.el, EL_PROMPT, prompt_fn);
			el_set(u.el, EL_HIST, history, u.hist);
			history(u.hist, &hev, H_SETSIZE, 1000);
			sd = strdup(s->sessions_dir);
			if (sd && sd[0] == '~' && getenv("HOME"))
				pl_buf_printf(&hf, "%s%s/../chat_history", getenv("HOME"), sd + 1);
			else
				pl_buf_printf(&hf, "%s/../chat_history", sd ? sd : ".");
			free(sd);
			u.history_file = pl_buf_detach(&hf, NULL);
			history(u.hist, &hev, H_LOAD, u.history_file);
		}
	} else if (u.tty) {
		fprintf(stderr, "plait chat: line editing is off: %s\n", err.msg);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint; /* no SA_RESTART: a read at the prompt returns */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old);
	sa.sa_handler = on_sigterm;
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);

	so.repo = real;
	so.kind = "chat";
	so.traj_dir = s->sessions_dir;
	so.on_event = on_event;
	so.approve = approve;
	so.user = &u;
	so.cancel = &chat_cancel;
	so.checkpoints = true;
	so.diffs = true;
	so.log = ctx ? ctx->log : NULL;
	if (cont || resume) {
		char *dir = s->sessions_dir[0] == '~' && getenv("HOME") ? NULL : pl_xstrdup(s->sessions_dir);

		if (!dir) {
			pl_buf d = PL_BUF_INIT;

			pl_buf_printf(&d, "%s%s", getenv("HOME"), s->sessions_dir + 1);
			dir = pl_buf_detach(&d, NULL);
		}
		status = pick_session(&resume_path, dir, real, resume_id, cont, &u, ctx);
		free(dir);
		if (status != CLI_EXIT_OK)
			goto out;
		if (agent_session_resume(&u.sess, s, &so, resume_path, &err) < 0) {
			status = cli_fail_err(ctx, "chat", &err);
			goto out;
		}
	} else if (agent_session_new(&u.sess, s, &so, &err) < 0) {
		status = cli_fail_err(ctx, "chat", &err);
		goto out;
	}
	printf("%splait chat%s  %s  %s  approval %s\n%ssession %s (plait chat --continue resumes it); /help for "
	       "commands%s\n",
	       cli_c(c, CLI_BOLD), cli_c(c, CLI_RESET), real, agent_session_model(u.sess), s->approval, cli_c(c, CLI_DIM),
	       agent_session_id(u.sess), cli_c(c, CLI_RESET));
	if (resume_path) {
		json_t *turns = agent_session_turns(u.sess);

		printf("%sresumed: %zu turns%s\n", cli_c(c, CLI_DIM), json_array_size(turns), cli_c(c, CLI_RESET));
		json_decref(turns);
		replay(&u);
	}
	fflush(stdout);
	for (;;) {
		bool intr = false;
		char *line = atomic_load(&chat_quit) ? NULL : read_line(&u, "plait> ", true, &intr);
		agent_result res;

		if (!line) {
			printf("\n");
			if (atomic_load(&chat_signal))
				status = 128 + atomic_load(&chat_signal);
			else if (atomic_load(&chat_quit))
				status = 128 + SIGINT; /* left with Ctrl-C, twice */
			break;
		}
		if (intr)
			printf("%s(Ctrl-C again to leave)%s\n", cli_c(c, CLI_DIM), cli_c(c, CLI_RESET));
		if (!line[strspn(line, " \t")]) {
			free(line);
			continue;
		}
		if (line[0] == '/') {
			bool go_on = command(&u, line);

			free(line);
			if (!go_on)
				break;
			continue;
		}
		atomic_store(&chat_cancel, 0);
		agent_result_init(&res);
		if (agent_session_run(&res, u.sess, line, &err) < 0) {
			fprintf(stderr, "plait chat: %s\n", err.msg);
			status = CLI_EXIT_FAIL;
			agent_result_release(&res);
			free(line);
			break;
		}
		atomic_store(&chat_cancel, 0);
		agent_result_release(&res);
		free(line);
		fflush(stdout);
	}
out:
	sigaction(SIGINT, &old, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	if (u.hist && u.history_file) {
		HistEvent hev;

		history(u.hist, &hev, H_SAVE, u.history_file);
	}
	agent_session_free(u.sess);
	if (u.el)
		el_end(u.el);
	if (u.hist)
		history_end(u.hist);
	free(u.history_file);
	free(resume_path);
done:
	pl_buf_release(&u.pending);
	pl_buf_release(&u.esc);
	agent_settings_free(s);
	agent_config_free(cfg);
	cli_agent_opts_release(&ao);
	return status;
}
