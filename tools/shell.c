/* shell.c - the `bash` tool: commands in one long-lived sandbox session per
 * tools_ctx, rooted at the repository, with the working directory carried
 * from one command to the next and output cut head-and-tail for a model. */
#define _GNU_SOURCE
#include "tools/internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

/* What the model sees of a command's output: at most this many lines, the
 * first and last halves (R2E-Gym/OpenHands cut at 80 lines, 40 + 40; test
 * runners put the verdict at the end and the first error near the start, so
 * both ends matter) and at most ctx->max_output bytes. */
#define MAX_LINES 200

/* The default timeout when neither the call nor the profile gives one. */
#define DEFAULT_TIMEOUT 300.0

/* The shell's state on the context: the sandbox session, opened by the
 * first command, and what carries from one command to the next. */
typedef struct shell_state {
	struct sbx_session *session;
	char *cwd;              /* where the last command ended, inside the sandbox */
	double timeout;         /* seconds, from the profile */
	char mark[40];          /* line prefix the shell prints its cwd after */
} shell_state;

/* End the session (its processes and /tmp with it); the state stays. */
static void shell_close(shell_state *sh)
{
	sbx_session_close(sh->session);
	sh->session = NULL;
	free(sh->cwd);
	sh->cwd = NULL;
}

static void shell_release(void *p)
{
	shell_close(p);
	free(p);
}

static const tools__state_kind shell_kind = { "bash", shell_release };

static shell_state *shell_of(tools_ctx *ctx)
{
	shell_state *sh = tools__state_get(ctx, &shell_kind);

	if (!sh) {
		sh = pl_xcalloc(1, sizeof(*sh));
		tools__state_set(ctx, &shell_kind, sh);
	}
	return sh;
}

/* A marker no command prints by accident: the shell's EXIT trap writes it
 * and $PWD as the last line of the output. */
static void make_mark(char out[40])
{
	unsigned char r[8] = { 0 };
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	size_t i;

	if (fd < 0 || read(fd, r, sizeof(r)) != (ssize_t)sizeof(r)) {
		uint64_t x = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)out;
		memcpy(r, &x, sizeof(r));
	}
	if (fd >= 0)
		close(fd);
	memcpy(out, "__plait_cwd_", 12);
	for (i = 0; i < 8; i++)
		snprintf(out + 12 + 2 * i, 3, "%02x", r[i]);
	memcpy(out + 28, "__", 3);
}

static int shell_open(shell_state *sh, tools_ctx *ctx, pl_err *err)
{
	sbx_config c, *cfg = &c;
	int rc;

	sbx_config_init(cfg);
	if ((rc = sbx_profile_load(cfg, ctx->sandbox_profile ? ctx->sandbox_profile : "agent", err)) < 0) {
		sbx_config_release(cfg);
		pl_err_prefix(err, "bash: loading the sandbox profile");
		return rc;
	}
	/* The repository is the work directory: as root, the sandbox runs as
	 * a uid of its own that is never root, the repository's owner mapped
	 * onto it (what the commands create belongs to the owner), and where
	 * the sandbox's user could not reach the repository (/root/project) the
	 * way to it is made (docs/SANDBOX.md, "Identity"). */
	sbx_config_set_workdir(cfg, ctx->root);
	sh->timeout = cfg->limits.timeout > 0 ? cfg->limits.timeout : DEFAULT_TIMEOUT;
	rc = sbx_session_open(&sh->session, cfg, err);
	sbx_config_release(cfg);
	if (rc < 0) {
		sh->session = NULL;
		if (rc == PL_EUNSUPPORTED)
			pl_err_prefix(err, "bash is not available: the kernel refused to start the sandbox "
					   "(user namespaces disabled, or plait itself runs inside a container or sandbox "
					   "that forbids them); the other tools still work");
		else
			pl_err_prefix(err, "bash: starting the sandbox");
		return rc;
	}
	if (!sh->mark[0])
		make_mark(sh->mark);
	free(sh->cwd);
	sh->cwd = pl_xstrdup(ctx->root);
	return 0;
}

/* The command's output as it streams from the sandbox, before the
 * sandbox's own cap: its first bytes, its last bytes (a ring), and exact
 * counts, so that "N lines (M bytes) cut" is true of what the command
 * printed (counted after the sandbox's 64 KiB cap, `seq 1 200000` claimed
 * 11,250 lines cut where 199,800 were). */
typedef struct capture {
	pl_buf head;
	size_t head_cap;
	char *ring;
	size_t ring_cap, ring_len, ring_pos;
	uint64_t bytes, newlines;
	bool called;
} capture;

static void capture_output(void *arg, int stream, const char *d, size_t n)
{
	capture *c = arg;
	const char *p = d, *e = d + n;

	(void)stream; /* the agent profile merges the streams; otherwise in arrival order */
	c->called = true;
	c->bytes += n;
	while (p < e && (p = memchr(p, '\n', (size_t)(e - p)))) {
		c->newlines++;
		p++;
	}
	if (c->head.len < c->head_cap)
		pl_buf_add(&c->head, d, n < c->head_cap - c->head.len ? n : c->head_cap - c->head.len);
	if (n >= c->ring_cap) {
		memcpy(c->ring, d + n - c->ring_cap, c->ring_cap);
		c->ring_pos = 0;
		c->ring_len = c->ring_cap;
		return;
	}
	{
		size_t first = c->ring_cap - c->ring_pos < n ? c->ring_cap - c->ring_pos : n;
		memcpy(c->ring + c->ring_pos, d, first);
		memcpy(c->ring, d + first, n - first);
		c->ring_pos = (c->ring_pos + n) % c->ring_cap;
		c->ring_len = c->ring_len + n < c->ring_cap ? c->ring_len + n : c->ring_cap;
	}
}

/* The last ring_len bytes of the stream, in order. */
static void capture_tail(pl_buf *out, const capture *c)
{
	if (c->ring_len < c->ring_cap)
		pl_buf_add(out, c->ring, c->ring_len);
	else {
		pl_buf_add(out, c->ring + c->ring_pos, c->ring_cap - c->ring_pos);
		pl_buf_add(out, c->ring, c->ring_pos);
	}
}

static size_t count_nl(const char *s, size_t n)
{
	size_t k = 0;
	const char *p = s, *e = s + n;

	while (p < e && (p = memchr(p, '\n', (size_t)(e - p)))) {
		k++;
		p++;
	}
	return k;
}

/* Keep the first and last halves of a stream (by lines and by bytes),
 * with a note of what was cut in between.  The stream is `a` whole, or,
 * when b is not NULL, `a` (its first bytes) and `b` (its last bytes) with
 * something between them; total_bytes and total_nl count the whole
 * stream.  Returns true when something was cut. */
static bool head_tail(pl_buf *dst, const char *a, size_t na, const char *b, size_t nb, uint64_t total_bytes,
		      uint64_t total_nl, size_t max_bytes, size_t max_lines)
{
	size_t head_end, tail_start, half_b = max_bytes / 2, half_l = max_lines / 2, k;
	uint64_t lines = total_nl, cut_nl;
	bool last_nl;

	if (!b) {
		b = a;
		nb = na;
	}
	last_nl = nb && b[nb - 1] == '\n';
	if (total_bytes && !last_nl)
		lines++;
	if (a == b && total_bytes <= max_bytes && lines <= max_lines) {
		tools__add_text(dst, a, na);
		return false;
	}
	/* head: whole lines up to half the budget */
	for (head_end = 0, k = 0; head_end < na && k < half_l;) {
		const char *nl = memchr(a + head_end, '\n', na - head_end);
		size_t e = nl ? (size_t)(nl - a) + 1 : na;
		if (e > half_b)
			break;
		head_end = e;
		k++;
	}
	if (!head_end) /* one huge first line: cut it */
		head_end = half_b < na ? half_b : na;
	/* tail: whole lines back from the end, never into the head */
	{
		size_t floor = a == b ? head_end : 0;
		for (tail_start = nb, k = 0; tail_start > floor && k < half_l;) {
			size_t s = tail_start;
			if (s && b[s - 1] == '\n')
				s--;
			while (s > floor && b[s - 1] != '\n')
				s--;
			if (nb - s > half_b)
				break;
			tail_start = s;
			k++;
		}
		if (tail_start == nb && nb - floor > half_b)
			tail_start = nb - half_b;
	}
	tools__add_text(dst, a, head_end);
	cut_nl = total_nl - count_nl(a, head_end) - count_nl(b + tail_start, nb - tail_start);
	pl_buf_printf(dst,
		      "%s[... %llu lines (%llu bytes) cut; redirect the output to a file and use search or view_range to "
		      "read it ...]\n",
		      head_end && a[head_end - 1] != '\n' ? "\n" : "", (unsigned long long)cut_nl,
		      (unsigned long long)(total_bytes - head_end - (nb - tail_start)));
	tools__add_text(dst, b + tail_start, nb - tail_start);
	return true;
}

/* Find the marker line the EXIT trap printed, take the directory from it
 * and cut it (and the newline printed before it) from the output. */
static bool take_cwd(shell_state *sh, pl_buf *out)
{
	size_t ml = strlen(sh->mark);
	char *p = NULL, *q = out->ptr, *nl;

	while ((q = memmem(q, out->len - (size_t)(q - out->ptr), sh->mark, ml))) {
		p = q;
		q += ml;
	}
	if (!p || p[ml] != ' ' || (p > out->ptr && p[-1] != '\n'))
		return false;
	nl = memchr(p, '\n', out->len - (size_t)(p - out->ptr));
	if (nl && nl > p + ml + 1 && p[ml + 1] == '/') {
		free(sh->cwd);
		sh->cwd = pl_xstrndup(p + ml + 1, (size_t)(nl - (p + ml + 1)));
	}
	if (p > out->ptr)
		p--; /* the "\n" printed before the marker */
	pl_buf_setlen(out, (size_t)(p - out->ptr));
	return true;
}

static int bash_run(tools_obs *obs, tools_ctx *ctx, const json_t *args, pl_err *err)
{
	const char *command = json_string_value(json_object_get(args, "command"));
	const json_t *tj = json_object_get(args, "timeout");
	bool restart = json_is_true(json_object_get(args, "restart"));
	shell_state *sh = shell_of(ctx);
	capture cap = { PL_BUF_INIT, 0, NULL, 0, 0, 0, 0, 0, false };
	sbx_result res;
	sbx_exec_opts eo = { 0 };
	pl_buf script = PL_BUF_INIT, env_cwd = PL_BUF_INIT;
	const char *argv[] = { "bash", "-c", NULL, "bash", NULL };
	const char *envv[2] = { NULL, NULL };
	double timeout;
	size_t budget;
	bool marked;
	int rc = 0;

	sbx_result_init(&res);
	if (restart && sh->session) {
		shell_close(sh);
		pl_buf_puts(&obs->text, "[shell restarted: background processes killed, /tmp emptied, back in the repository root]\n");
	}
	if (!command || !*command) {
		if (restart) {
			if ((rc = shell_open(sh, ctx, err)) < 0)
				goto done;
			if (!obs->text.len)
				pl_buf_puts(&obs->text, "[shell started in the repository root]\n");
			pl_json_set(obs->data, "cwd", json_string(sh->cwd));
			goto done;
		}
		rc = pl_err_set(err, PL_EINVAL, "argument 'command' is empty; give a shell command such as 'ls'");
		goto done;
	}
	if (!sh->session && (rc = shell_open(sh, ctx, err)) < 0)
		goto done;
	timeout = sh->timeout;
	if (json_is_number(tj))
		timeout = json_number_value(tj);
	/* The command runs in a fresh bash started in the root; the preamble
	 * takes back the variables the last command exported and moves to where
	 * it ended, and the EXIT trap saves this one's exported variables (in
	 * the session's private /tmp) and reports where it ends (also after
	 * `exit N`, whose status it keeps).  The directory travels in the
	 * environment, never spliced into the script.  PWD and OLDPWD are not
	 * saved: sourced back, a PWD naming a directory removed since made the
	 * "gone" note name it again as the new one, and repeat forever. */
	pl_buf_printf(&script,
		      "if [ -r /tmp/.plait-env-%s ]; then . /tmp/.plait-env-%s 2>/dev/null; fi\n"
		      "cd -- \"$PLAIT_CWD\" 2>/dev/null || printf '[the directory %%s is gone; now in %%s]\\n' \"$PLAIT_CWD\" \"$PWD\"\n"
		      "unset PLAIT_CWD\n"
		      "trap '{ (unset PWD OLDPWD; export -p) >/tmp/.plait-env-%s; } 2>/dev/null; printf \"\\n%s %%s\\n\" \"$PWD\"' EXIT\n",
		      sh->mark, sh->mark, sh->mark, sh->mark);
	pl_buf_puts(&script, command);
	pl_buf_putc(&script, '\n');
	argv[2] = script.ptr;
	pl_buf_printf(&env_cwd, "PLAIT_CWD=%s", sh->cwd);
	envv[0] = env_cwd.ptr;
	eo.cwd = ctx->root;
	eo.timeout = timeout;
	eo.cancel = ctx->cancel;
	eo.env = envv;
	eo.on_output = capture_output;
	eo.on_output_ctx = &cap;
	cap.head_cap = ctx->max_output;
	/* the tail keeps the marker line (a path) beside max_output bytes */
	cap.ring_cap = ctx->max_output + 8192;
	cap.ring = pl_xmalloc(cap.ring_cap);
	rc = sbx_session_exec(&res, sh->session, argv, &eo, err);
	if (rc == PL_EIO) {
		/* the session died (killed from outside, or its init crashed):
		 * the next call starts a new one */
		shell_close(sh);
		pl_err_prefix(err, "bash: the shell session ended; the next command starts a new one (cwd back to the root)");
		goto done;
	}
	if (rc < 0) {
		pl_err_prefix(err, "bash");
		goto done;
	}
	/* room for the cut note and the exit line within the cap */
	budget = ctx->max_output > 800 ? ctx->max_output - 400 : ctx->max_output / 2;
	if (!cap.called) {
		/* nothing streamed (no output): what the sandbox kept */
		marked = take_cwd(sh, &res.out);
		obs->truncated = head_tail(&obs->text, res.out.ptr, res.out.len, NULL, 0, res.out.len,
					   count_nl(res.out.ptr, res.out.len), budget, MAX_LINES) ||
				 res.out_truncated;
	} else {
		pl_buf tail = PL_BUF_INIT;
		size_t before;
		capture_tail(&tail, &cap);
		if (cap.bytes <= cap.head.len + tail.len) {
			/* the whole stream: head and tail overlap or meet */
			pl_buf whole = PL_BUF_INIT;
			size_t skip = (size_t)(cap.head.len + tail.len - cap.bytes);
			pl_buf_add(&whole, cap.head.ptr, cap.head.len);
			pl_buf_add(&whole, tail.ptr + skip, tail.len - skip);
			marked = take_cwd(sh, &whole);
			obs->truncated = head_tail(&obs->text, whole.ptr, whole.len, NULL, 0, whole.len,
						   count_nl(whole.ptr, whole.len), budget, MAX_LINES);
			pl_buf_release(&whole);
		} else {
			/* the marker line ends the stream: out of the counts too */
			before = tail.len;
			{
				size_t nl_before = count_nl(tail.ptr, tail.len);
				marked = take_cwd(sh, &tail);
				cap.newlines -= nl_before - count_nl(tail.ptr, tail.len);
			}
			cap.bytes -= before - tail.len;
			obs->truncated = head_tail(&obs->text, cap.head.ptr, cap.head.len, tail.ptr, tail.len, cap.bytes,
						   cap.newlines, budget, MAX_LINES);
		}
		pl_buf_release(&tail);
	}
	if (obs->text.len && obs->text.ptr[obs->text.len - 1] != '\n')
		pl_buf_putc(&obs->text, '\n');
	if (res.cancelled) {
		pl_buf_puts(&obs->text, "[cancelled by the user: the command and its process group were killed]\n");
		obs->exit_code = 130;
		obs->is_error = true;
	} else if (res.timed_out) {
		pl_buf_printf(&obs->text,
			      "[timed out after %gs: the command and its process group were killed; run long jobs "
			      "with a larger timeout, or in the background with output to a file]\n",
			      timeout);
		obs->exit_code = 124;
	} else if (res.signal) {
		pl_buf_puts(&obs->text, "[");
		sbx_result_describe(&obs->text, &res, NULL);
		pl_buf_puts(&obs->text, "]\n");
		obs->exit_code = 128 + res.signal;
	} else {
		obs->exit_code = res.exit_code;
		pl_buf_printf(&obs->text, "[exit code %d]\n", res.exit_code);
	}
	if (!marked && !res.timed_out && !res.signal && !res.cancelled)
		pl_buf_puts(&obs->text, "[the working directory could not be read back (EXIT trap replaced?); it stays where it was]\n");
	pl_json_set(obs->data, "cwd", json_string(sh->cwd));
	pl_json_set(obs->data, "timed_out", json_boolean(res.timed_out));
	pl_json_set(obs->data, "cancelled", json_boolean(res.cancelled));
	pl_json_set(obs->data, "signal", json_integer(res.signal));
	pl_json_set(obs->data, "wall_time", json_real(res.wall_time));
	pl_json_set(obs->data, "output_bytes", json_integer((json_int_t)res.out_bytes));
done:
	pl_buf_release(&cap.head);
	free(cap.ring);
	sbx_result_release(&res);
	pl_buf_release(&script);
	pl_buf_release(&env_cwd);
	return rc;
}

const tools_def tools__def_bash = {
	"bash",
	"Run a shell command with bash in a sandbox rooted at the repository and get its combined stdout and "
	"stderr and exit code. The session lives across calls: the working directory carries over (a `cd` stays), "
	"and so do exported environment variables (`export`, `source venv/bin/activate`), files in the "
	"repository and in /tmp, and background processes; shell functions and variables that are not exported "
	"do not. The repository is writable, but not its .git (git reads history; commits, stashes and checkouts "
	"fail); the rest of the system is read-only and there is no network. Long "
	"output keeps its first and last lines. Commands cannot be interactive (stdin is empty): use flags like "
	"-y, and `git --no-pager`. Set restart to true to start a fresh session.",
	"{\"type\":\"object\",\"properties\":{"
	"\"command\":{\"type\":\"string\",\"description\":\"the bash command (may span lines)\"},"
	"\"timeout\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":86400,\"description\":\"seconds before the command is killed (default 300)\"},"
	"\"restart\":{\"type\":\"boolean\",\"description\":\"kill the session and start a fresh one before running the command\"}},"
	"\"required\":[\"command\"],\"additionalProperties\":false}",
	bash_run,
};
