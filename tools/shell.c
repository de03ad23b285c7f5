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

void tools_shell_close(tools_ctx *ctx)
{
	sbx_session_close(ctx->shell);
	ctx->shell = NULL;
	free(ctx->shell_cwd);
	ctx->shell_cwd = NULL;
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

static int shell_open(tools_ctx *ctx, pl_err *err)
{
	sbx_config c, *cfg = &c;
	int rc;

	sbx_config_init(cfg);
	if ((rc = sbx_profile_load(cfg, ctx->shell_profile ? ctx->shell_profile : "agent", err)) < 0) {
		sbx_config_release(cfg);
		return pl_err_prefix(err, "bash: loading the sandbox profile");
	}
	/* The repository is the work directory: as root, the sandbox runs as
	 * a uid of its own that is never root, the repository's owner mapped
	 * onto it (what the commands create belongs to the owner), and where
	 * the sandbox's user could not reach the repository (/root/project) the
	 * way to it is made (docs/SANDBOX.md, "Identity"). */
	sbx_config_set_workdir(cfg, ctx->root);
	ctx->shell_timeout = cfg->limits.timeout > 0 ? cfg->limits.timeout : DEFAULT_TIMEOUT;
	rc = sbx_session_open(&ctx->shell, cfg, err);
	sbx_config_release(cfg);
	if (rc < 0) {
		ctx->shell = NULL;
		if (rc == PL_EUNSUPPORTED)
			return pl_err_prefix(err, "bash is not available: the kernel refused to start the sandbox "
						  "(user namespaces disabled, or plait itself runs inside a container or sandbox "
						  "that forbids them); the other tools still work");
		return pl_err_prefix(err, "bash: starting the sandbox");
	}
	if (!ctx->shell_mark[0])
		make_mark(ctx->shell_mark);
	free(ctx->shell_cwd);
	ctx->shell_cwd = pl_xstrdup(ctx->root);
	return 0;
}

/* Keep the first and last halves of s (by lines and by bytes), with a note
 * of what was cut in between.  Returns true when something was cut. */
static bool head_tail(pl_buf *dst, const char *s, size_t n, size_t max_bytes, size_t max_lines)
{
	size_t lines = 0, i, head_end, tail_start, half_b = max_bytes / 2, half_l = max_lines / 2, k;

	for (i = 0; i < n; i++)
		lines += s[i] == '\n';
	if (n && s[n - 1] != '\n')
		lines++;
	if (n <= max_bytes && lines <= max_lines) {
		tools_add_text(dst, s, n);
		return false;
	}
	/* head: whole lines up to half the budget */
	for (head_end = 0, k = 0; head_end < n && k < half_l;) {
		const char *nl = memchr(s + head_end, '\n', n - head_end);
		size_t e = nl ? (size_t)(nl - s) + 1 : n;
		if (e > half_b)
			break;
		head_end = e;
		k++;
	}
	if (!head_end) /* one huge first line: cut it */
		head_end = half_b < n ? half_b : n;
	/* tail: whole lines back from the end */
	for (tail_start = n, k = 0; tail_start > head_end && k < half_l;) {
		size_t b = tail_start;
		if (b && s[b - 1] == '\n')
			b--;
		while (b > head_end && s[b - 1] != '\n')
			b--;
		if (n - b > half_b)
			break;
		tail_start = b;
		k++;
	}
	if (tail_start == n && n - head_end > half_b)
		tail_start = n - half_b;
	tools_add_text(dst, s, head_end);
	{
		size_t cut_lines = 0;
		for (i = head_end; i < tail_start; i++)
			cut_lines += s[i] == '\n';
		pl_buf_printf(dst, "%s[... %zu lines (%zu bytes) cut; redirect the output to a file and use search or view_range to read it ...]\n",
			      head_end && s[head_end - 1] != '\n' ? "\n" : "", cut_lines, tail_start - head_end);
	}
	tools_add_text(dst, s + tail_start, n - tail_start);
	return true;
}

/* Find the marker line the EXIT trap printed, take the directory from it
 * and cut it (and the newline printed before it) from the output. */
static bool take_cwd(tools_ctx *ctx, pl_buf *out)
{
	size_t ml = strlen(ctx->shell_mark);
	char *p = NULL, *q = out->ptr, *nl;

	while ((q = memmem(q, out->len - (size_t)(q - out->ptr), ctx->shell_mark, ml))) {
		p = q;
		q += ml;
	}
	if (!p || p[ml] != ' ' || (p > out->ptr && p[-1] != '\n'))
		return false;
	nl = memchr(p, '\n', out->len - (size_t)(p - out->ptr));
	if (nl && nl > p + ml + 1 && p[ml + 1] == '/') {
		free(ctx->shell_cwd);
		ctx->shell_cwd = pl_xstrndup(p + ml + 1, (size_t)(nl - (p + ml + 1)));
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
	sbx_result res;
	sbx_exec_opts eo = { 0 };
	pl_buf script = PL_BUF_INIT, env_cwd = PL_BUF_INIT;
	const char *argv[] = { "bash", "-c", NULL, "bash", NULL };
	const char *envv[2] = { NULL, NULL };
	double timeout;
	bool marked;
	int rc = 0;

	sbx_result_init(&res);
	if (restart && ctx->shell) {
		tools_shell_close(ctx);
		pl_buf_puts(&obs->text, "[shell restarted: background processes killed, /tmp emptied, back in the repository root]\n");
	}
	if (!command || !*command) {
		if (restart) {
			if ((rc = shell_open(ctx, err)) < 0)
				goto done;
			if (!obs->text.len)
				pl_buf_puts(&obs->text, "[shell started in the repository root]\n");
			pl_json_set(obs->data, "cwd", json_string(ctx->shell_cwd));
			goto done;
		}
		rc = pl_err_set(err, PL_EINVAL, "argument 'command' is empty; give a shell command such as 'ls'");
		goto done;
	}
	if (!ctx->shell && (rc = shell_open(ctx, err)) < 0)
		goto done;
	timeout = ctx->shell_timeout;
	if (json_is_number(tj))
		timeout = json_number_value(tj);
	/* The command runs in a fresh bash started in the root; the preamble
	 * takes back the variables the last command exported and moves to where
	 * it ended, and the EXIT trap saves this one's exported variables (in
	 * the session's private /tmp) and reports where it ends (also after
	 * `exit N`, whose status it keeps).  The directory travels in the
	 * environment, never spliced into the script. */
	pl_buf_printf(&script,
		      "if [ -r /tmp/.plait-env-%s ]; then . /tmp/.plait-env-%s 2>/dev/null; fi\n"
		      "cd -- \"$PLAIT_CWD\" 2>/dev/null || printf '[the directory %%s is gone; now in %%s]\\n' \"$PLAIT_CWD\" \"$PWD\"\n"
		      "unset PLAIT_CWD\n"
		      "trap '{ export -p >/tmp/.plait-env-%s; } 2>/dev/null; printf \"\\n%s %%s\\n\" \"$PWD\"' EXIT\n",
		      ctx->shell_mark, ctx->shell_mark, ctx->shell_mark, ctx->shell_mark);
	pl_buf_puts(&script, command);
	pl_buf_putc(&script, '\n');
	argv[2] = script.ptr;
	pl_buf_printf(&env_cwd, "PLAIT_CWD=%s", ctx->shell_cwd);
	envv[0] = env_cwd.ptr;
	eo.cwd = ctx->root;
	eo.timeout = timeout;
	eo.env = envv;
	rc = sbx_session_exec(&res, ctx->shell, argv, &eo, err);
	if (rc == PL_EIO) {
		/* the session died (killed from outside, or its init crashed):
		 * the next call starts a new one */
		tools_shell_close(ctx);
		pl_err_prefix(err, "bash: the shell session ended; the next command starts a new one (cwd back to the root)");
		goto done;
	}
	if (rc < 0) {
		pl_err_prefix(err, "bash");
		goto done;
	}
	marked = take_cwd(ctx, &res.out);
	obs->truncated = head_tail(&obs->text, res.out.ptr, res.out.len, ctx->max_output, MAX_LINES) || res.out_truncated;
	if (obs->text.len && obs->text.ptr[obs->text.len - 1] != '\n')
		pl_buf_putc(&obs->text, '\n');
	if (res.timed_out) {
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
	if (!marked && !res.timed_out && !res.signal)
		pl_buf_puts(&obs->text, "[the working directory could not be read back (EXIT trap replaced?); it stays where it was]\n");
	pl_json_set(obs->data, "cwd", json_string(ctx->shell_cwd));
	pl_json_set(obs->data, "timed_out", json_boolean(res.timed_out));
	pl_json_set(obs->data, "signal", json_integer(res.signal));
	pl_json_set(obs->data, "wall_time", json_real(res.wall_time));
	pl_json_set(obs->data, "output_bytes", json_integer((json_int_t)res.out_bytes));
done:
	sbx_result_release(&res);
	pl_buf_release(&script);
	pl_buf_release(&env_cwd);
	return rc;
}

const tools_def tools_def_bash = {
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
	"\"timeout\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"seconds before the command is killed (default 300)\"},"
	"\"restart\":{\"type\":\"boolean\",\"description\":\"kill the session and start a fresh one before running the command\"}},"
	"\"required\":[\"command\"],\"additionalProperties\":false}",
	bash_run,
};
