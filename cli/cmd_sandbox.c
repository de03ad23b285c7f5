/* cmd_sandbox.c - `plait sandbox run`: one command in a fresh sandbox, from
 * the command line. */
#define _GNU_SOURCE
#include "cli/cli.h"

#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Statuses of plait's own, as timeout(1) and env(1) give them: apart from
 * those a command usually exits with. */
enum { EXIT_TIMEOUT = 124, EXIT_SETUP = 125, EXIT_NOT_EXEC = 126, EXIT_NOT_FOUND = 127 };

static const char sandbox_usage[] =
	"usage: plait sandbox run [options] -- CMD [ARGS...]\n"
	"\n"
	"Run CMD in a fresh sandbox: new user, mount, PID, IPC, UTS and network\n"
	"namespaces, the host's root read-only (or --rootfs), private /tmp, fresh\n"
	"/proc, minimal /dev, no capabilities, no_new_privs, a seccomp filter,\n"
	"rlimits, and for --memory and --nproc a cgroup v2 of its own when the\n"
	"machine offers a writable one ('plait doctor' says which; otherwise rlimits\n"
	"and a notice).  Every process it starts is killed when it ends.  Its output\n"
	"goes to plait's stdout and stderr as it arrives.  Exits with CMD's exit\n"
	"status, 128+N when it was killed by signal N, 124 on timeout (and says so\n"
	"on stderr, or in --json), 125 when the sandbox could not be set up, 126 when\n"
	"CMD cannot be executed, 127 when it is not found, 2 for a usage error.\n"
	"Limits by default: 1024 processes, 4G of memory, 1024 open files, 4G per\n"
	"file, 1M of output kept per stream (--json).  See docs/SANDBOX.md.\n"
	"\n"
	"Options (applied in order, after --profile's settings):\n"
	"  --profile NAME|FILE   start from a profile: agent, test, eval, or a JSON file\n"
	"  --rootfs DIR          root filesystem directory (an unpacked image), read-only;\n"
	"                        default: the host's root, read-only\n"
	"  --bind SRC[:DST]      make host path SRC writable at DST (default: same path)\n"
	"  --ro-bind SRC[:DST]   the same, read-only\n"
	"  --workdir DIR         bind host directory DIR writable at the same path and\n"
	"                        start there\n"
	"  --cwd DIR             start in DIR inside the sandbox\n"
	"  --writable-git        leave the work directory's .git writable (by default\n"
	"                        it is read-only, so that nothing run inside can plant\n"
	"                        configuration or hooks that git on the host would run)\n"
	"  --net                 share the host's network (default: a private loopback)\n"
	"  --env NAME=VALUE      set a variable in the sandbox's environment\n"
	"  --keep-env NAME       keep NAME from plait's environment (NAME* = a prefix);\n"
	"                        kept by default: PATH LANG LC_* TERM TZ\n"
	"  --hostname NAME       host name inside (default: sandbox)\n"
	"  --timeout SECONDS     wall-clock limit; the whole process tree is killed\n"
	"  --cpu SECONDS         CPU time per process (RLIMIT_CPU)\n"
	"  --memory SIZE         memory of the whole tree: the cgroup's memory.max (swap\n"
	"                        off; an OOM kill is reported); without a usable cgroup\n"
	"                        v2, RLIMIT_AS per process; also the size of /tmp,\n"
	"                        /dev/shm and /run together; default 4G, 0 for none\n"
	"                        (what AddressSanitizer builds need without a cgroup)\n"
	"  --address-space SIZE  address space per process (RLIMIT_AS), also with cgroups\n"
	"  --nofile N            open files per process (RLIMIT_NOFILE; default 1024)\n"
	"  --nproc N             processes of the whole tree: the cgroup's pids.max;\n"
	"                        without a cgroup, RLIMIT_NPROC and the PID namespace's\n"
	"                        pid_max; default 1024\n"
	"  --cgroup MODE         auto (default: a cgroup for --memory/--nproc when one is\n"
	"                        usable, else rlimits), off (rlimits only), require\n"
	"                        (fail without a usable cgroup v2)\n"
	"  --cgroup-parent DIR   cgroup v2 directory in which to create the sandbox's\n"
	"                        cgroup (default: chosen, see docs/SANDBOX.md)\n"
	"  --fsize SIZE          largest file a process may write (RLIMIT_FSIZE; also\n"
	"                        each memfd); default 4G\n"
	"  --output-cap SIZE     bytes kept per stream in --json results (head and tail;\n"
	"                        default 1M)\n"
	"  --merge-output        stdout and stderr as one stream, in arrival order\n"
	"  --uid N, --gid N      host user and group to run as (root only, never 0;\n"
	"                        default for root: ids of the sandbox's own from a pool,\n"
	"                        the work directory's and writable binds' owner mapped\n"
	"                        onto them)\n"
	"  --stdin               feed plait's standard input to CMD (default: /dev/null)\n"
	"  --json                print one JSON result (exit, signal, limits, times,\n"
	"                        captured output) instead of passing output through\n"
	"  -h, --help            show this help\n"
	"\n"
	"SIZE takes K, M, G suffixes (powers of 1024).\n";

/* Stopping a run from a signal handler: the handler writes the signal's
 * number into a pipe whose other end sbx_run watches (cancel_fd), so the
 * sandbox is killed and reaped before plait exits.  Per process by
 * nature, like the handler itself; set in cmd_run only. */
static volatile sig_atomic_t stop_fd = -1;

static void on_stop_signal(int sig)
{
	int e = errno;
	unsigned char c = (unsigned char)sig;

	if (stop_fd >= 0)
		(void)!write(stop_fd, &c, 1);
	errno = e;
}

/* The length of the valid UTF-8 sequence at p (at most n bytes), or 0:
 * no overlong forms, no surrogates, nothing past U+10FFFF. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	if (!len || len > n)
		return 0;
	cp = c & (0xff >> (len + 1));
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* A JSON string of a command's output: JSON holds only UTF-8, so each byte
 * that is not part of valid UTF-8 (binary output, or a character the cap
 * cut in two) becomes U+FFFD.  The output never costs the result. */
static json_t *output_json(const pl_buf *b)
{
	const unsigned char *p = (const unsigned char *)b->ptr;
	pl_buf clean = PL_BUF_INIT;
	size_t i = 0, k;
	json_t *j;

	while (i < b->len) {
		if ((k = utf8_len(p + i, b->len - i))) {
			pl_buf_add(&clean, p + i, k);
			i += k;
		} else {
			pl_buf_add(&clean, "\xef\xbf\xbd", 3);
			i++;
		}
	}
	j = json_stringn(clean.ptr, clean.len);
	pl_buf_release(&clean);
	PL_ASSERT(j);
	return j;
}

static json_t *result_json(const sbx_result *r, const sbx_config *cfg)
{
	json_t *o = json_object(), *lim = json_array();
	pl_buf d = PL_BUF_INIT;

	sbx_result_describe(&d, r, cfg);
	pl_json_set(o, "status", json_string(d.ptr));
	pl_json_set(o, "exit_code", r->exit_code >= 0 ? json_integer(r->exit_code) : json_null());
	pl_json_set(o, "signal", r->signal ? json_integer(r->signal) : json_null());
	pl_json_set(o, "timed_out", json_boolean(r->timed_out));
	if (r->limits_hit & SBX_LIMIT_TIMEOUT)
		json_array_append_new(lim, json_string("timeout"));
	if (r->limits_hit & SBX_LIMIT_CPU)
		json_array_append_new(lim, json_string("cpu"));
	if (r->limits_hit & SBX_LIMIT_FSIZE)
		json_array_append_new(lim, json_string("fsize"));
	if (r->limits_hit & SBX_LIMIT_OUTPUT)
		json_array_append_new(lim, json_string("output"));
	if (r->limits_hit & SBX_LIMIT_MEMORY)
		json_array_append_new(lim, json_string("memory"));
	if (r->limits_hit & SBX_LIMIT_NPROC)
		json_array_append_new(lim, json_string("nproc"));
	pl_json_set(o, "limits_hit", lim);
	pl_json_set(o, "limits_by", json_string(r->cgroup ? "cgroup" : "rlimit"));
	pl_json_set(o, "wall_time", json_real(r->wall_time));
	pl_json_set(o, "cpu_time", json_real(r->cpu_time));
	pl_json_set(o, "peak_rss", json_integer((json_int_t)r->peak_rss));
	pl_json_set(o, cfg->merge_output ? "output" : "stdout", output_json(&r->out));
	pl_json_set(o, "stdout_bytes", json_integer((json_int_t)r->out_bytes));
	pl_json_set(o, "stdout_truncated", json_boolean(r->out_truncated));
	if (!cfg->merge_output) {
		pl_json_set(o, "stderr", output_json(&r->err));
		pl_json_set(o, "stderr_bytes", json_integer((json_int_t)r->err_bytes));
		pl_json_set(o, "stderr_truncated", json_boolean(r->err_truncated));
	}
	pl_buf_release(&d);
	return o;
}

/* "SRC[:DST]" */
static void add_bind(sbx_config *cfg, const char *arg, bool ro)
{
	const char *colon = strchr(arg, ':');
	char *src = colon ? pl_xstrndup(arg, (size_t)(colon - arg)) : pl_xstrdup(arg);

	sbx_config_add_bind(cfg, src, colon ? colon + 1 : NULL, ro);
	free(src);
}

enum {
	O_PROFILE = 1, O_ROOTFS, O_BIND, O_RO_BIND, O_WORKDIR, O_CWD, O_NET, O_ENV, O_KEEP_ENV, O_HOSTNAME,
	O_TIMEOUT, O_CPU, O_MEMORY, O_ADDRESS_SPACE, O_NOFILE, O_NPROC, O_CGROUP, O_CGROUP_PARENT, O_FSIZE,
	O_OUTPUT_CAP, O_MERGE_OUTPUT, O_UID, O_GID, O_STDIN, O_JSON, O_WRITABLE_GIT
};

/* Every option of `plait sandbox run`; tests/cli/test_sandbox.c checks
 * that --help documents each one. */
static const cli_opt run_opts[] = {
	{ "profile", 0, true, O_PROFILE },
	{ "rootfs", 0, true, O_ROOTFS },
	{ "bind", 0, true, O_BIND },
	{ "ro-bind", 0, true, O_RO_BIND },
	{ "workdir", 0, true, O_WORKDIR },
	{ "cwd", 0, true, O_CWD },
	{ "writable-git", 0, false, O_WRITABLE_GIT },
	{ "net", 0, false, O_NET },
	{ "env", 0, true, O_ENV },
	{ "keep-env", 0, true, O_KEEP_ENV },
	{ "hostname", 0, true, O_HOSTNAME },
	{ "timeout", 0, true, O_TIMEOUT },
	{ "cpu", 0, true, O_CPU },
	{ "memory", 0, true, O_MEMORY },
	{ "address-space", 0, true, O_ADDRESS_SPACE },
	{ "nofile", 0, true, O_NOFILE },
	{ "nproc", 0, true, O_NPROC },
	{ "cgroup", 0, true, O_CGROUP },
	{ "cgroup-parent", 0, true, O_CGROUP_PARENT },
	{ "fsize", 0, true, O_FSIZE },
	{ "output-cap", 0, true, O_OUTPUT_CAP },
	{ "merge-output", 0, false, O_MERGE_OUTPUT },
	{ "uid", 0, true, O_UID },
	{ "gid", 0, true, O_GID },
	{ "stdin", 0, false, O_STDIN },
	{ "json", 0, false, O_JSON },
	{ NULL, 0, false, 0 },
};

/* A count option: an integer >= 1. */
static int count_value(uint64_t *out, const cli_args *a, const char *v)
{
	int64_t n;
	int st;

	if ((st = cli_value_i64(&n, a, v, 1, INT64_MAX)) != 0)
		return st;
	*out = (uint64_t)n;
	return 0;
}

/* Applies one option to cfg (the profile, already loaded, is skipped). */
static int apply_opt(sbx_config *cfg, bool *json, bool *want_stdin, const cli_args *a, int id, const char *v)
{
	pl_err err = { 0 };
	int64_t n;
	uint64_t cap;
	double t;
	int st = 0;

	switch (id) {
	case O_PROFILE:
		break;
	case O_ROOTFS:
		sbx_config_set_rootfs(cfg, v);
		break;
	case O_BIND:
	case O_RO_BIND:
		add_bind(cfg, v, id == O_RO_BIND);
		break;
	case O_WORKDIR:
		sbx_config_set_workdir(cfg, v);
		break;
	case O_CWD:
		sbx_config_set_cwd(cfg, v);
		break;
	case O_NET:
		cfg->network = true;
		break;
	case O_WRITABLE_GIT:
		cfg->protect_git = false;
		break;
	case O_ENV:
		if (sbx_config_set_env(cfg, v, &err) < 0)
			return cli_bad_value(a, v, "%s", err.msg);
		break;
	case O_KEEP_ENV:
		sbx_config_allow_env(cfg, v);
		break;
	case O_HOSTNAME:
		sbx_config_set_hostname(cfg, v);
		break;
	case O_TIMEOUT:
		if (pl_parse_f64(&t, v, NULL) < 0 || !(t > 0))
			return cli_bad_value(a, v, "not a positive number of seconds");
		cfg->limits.timeout = t;
		break;
	case O_CPU:
		st = count_value(&cfg->limits.cpu_seconds, a, v);
		break;
	case O_MEMORY:
		st = cli_value_size(&cfg->limits.memory, a, v);
		break;
	case O_ADDRESS_SPACE:
		st = cli_value_size(&cfg->limits.address_space, a, v);
		break;
	case O_NOFILE:
		st = count_value(&cfg->limits.nofile, a, v);
		break;
	case O_NPROC:
		st = count_value(&cfg->limits.nproc, a, v);
		break;
	case O_CGROUP:
		if (sbx_cgroup_use_parse(&cfg->cgroup, v, &err) < 0)
			return cli_bad_value(a, v, "%s", err.msg);
		break;
	case O_CGROUP_PARENT:
		sbx_config_set_cgroup_parent(cfg, v);
		break;
	case O_FSIZE:
		st = cli_value_size(&cfg->limits.fsize, a, v);
		break;
	case O_OUTPUT_CAP:
		if ((st = cli_value_size(&cap, a, v)) == 0)
			cfg->output_cap = (size_t)cap;
		break;
	case O_MERGE_OUTPUT:
		cfg->merge_output = true;
		break;
	case O_UID:
	case O_GID:
		if ((st = cli_value_i64(&n, a, v, 0, 0xfffffffe)) == 0) {
			if (id == O_UID)
				cfg->uid = n;
			else
				cfg->gid = n;
		}
		break;
	case O_STDIN:
		*want_stdin = true;
		break;
	case O_JSON:
		*json = true;
		break;
	default:
		PL_BUG("sandbox run: option %d has no handler", id);
	}
	return st;
}

/* Whether cfg limits memory or processes otherwise than the defaults. */
static bool limits_chosen(const sbx_config *cfg)
{
	sbx_config d;
	bool chosen;

	sbx_config_init(&d);
	chosen = (cfg->limits.memory && cfg->limits.memory != d.limits.memory) ||
		 (cfg->limits.nproc && cfg->limits.nproc != d.limits.nproc);
	sbx_config_release(&d);
	return chosen;
}

static int cmd_run(int argc, char **argv, const cli_ctx *ctx)
{
	sbx_config cfg;
	sbx_result res;
	sbx_exec_opts opts;
	pl_err err = { 0 };
	bool json = false, want_stdin = false;
	int rc = CLI_EXIT_OK, first_cmd = -1, id;
	const char *profile = NULL, *v;
	sbx_cgroup_info cginfo;
	cli_args a;
	static const int stop_sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa, old_sa[3], old_pipe;
	int stop[2] = { -1, -1 }, run_rc;
	unsigned char stopped;
	size_t i;

	sbx_config_init(&cfg);
	sbx_result_init(&res);
	memset(&opts, 0, sizeof(opts));
	/* The profile comes first whatever its place, so options override it;
	 * this first pass also reports any usage error before anything runs. */
	cli_args_init(&a, argc, argv, 1, "sandbox", run_opts, ctx);
	a.dashdash_stops = true;
	while ((id = cli_next(&a, &v)) > 0)
		if (id == O_PROFILE)
			profile = v;
	if (id == CLI_BAD) {
		rc = CLI_EXIT_USAGE;
		goto done;
	}
	if (profile && sbx_profile_load(&cfg, profile, &err) < 0) {
		rc = cli_fail(ctx, "sandbox", EXIT_SETUP, "%s", err.msg);
		goto done;
	}
	/* The command starts at the first word that is not an option, or
	 * after "--". */
	cli_args_init(&a, argc, argv, 1, "sandbox", run_opts, ctx);
	a.dashdash_stops = true;
	while ((id = cli_next(&a, &v)) > 0)
		if ((rc = apply_opt(&cfg, &json, &want_stdin, &a, id, v)) != 0)
			goto done;
	first_cmd = id == CLI_POS ? a.i - 1 : a.i;
	if (first_cmd >= argc) {
		rc = cli_fail(ctx, "sandbox", CLI_EXIT_USAGE, "no command given (plait sandbox run [options] -- CMD)");
		goto done;
	}
	/* One notice when limits asked for (by an option or the profile, not
	 * the defaults every run has) cannot be a cgroup's, saying why. */
	if (limits_chosen(&cfg) && cfg.cgroup == SBX_CGUSE_AUTO && !sbx_config_uses_cgroup(&cfg, &cginfo))
		pl_log_warn(ctx ? ctx->log : NULL,
			    "memory and process limits fall back to rlimits (RLIMIT_AS per process, "
			    "RLIMIT_NPROC, the PID namespace's pid_max), not a cgroup: %s",
			    cginfo.why);
	/* streamed as the command reads it: `yes | plait sandbox run --stdin
	 * -- head -1` holds one read in memory, not all of yes */
	if (want_stdin) {
		opts.stdin_stream = true;
		opts.stdin_fd = STDIN_FILENO;
	}
	/* The command writes into pipes and we copy its output through: given
	 * our own stdout and stderr, it could truncate the file they are or
	 * read back what it held, leave the pipe they are non-blocking for
	 * whoever shares it, or ioctl a terminal.  The copy costs little. */
	if (!json)
		opts.on_output = cli_pass_output;
	opts.on_output_ctx = &stop[1];
	/* SIGTERM, SIGINT, SIGHUP (and a closed stdout: SIGPIPE ignored, the
	 * EPIPE seen) stop the sandbox and reap it; plait then exits with
	 * 128+N as if the signal had ended it.  Left to the signal, plait would
	 * die at once: the sandbox would still follow it (its init sees the
	 * control socket close), but as a zombie for whoever reaps orphans. */
	if (pipe2(stop, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = cli_fail(ctx, "sandbox", EXIT_SETUP, "creating a pipe: %s", strerror(errno));
		goto done;
	}
	stop_fd = stop[1];
	opts.cancel_fd = stop[0];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < PL_ARRAY_LEN(stop_sigs); i++)
		sigaction(stop_sigs[i], &sa, &old_sa[i]);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);
	run_rc = sbx_run_opts(&res, &cfg, (const char *const *)argv + first_cmd, &opts, &err);
	for (i = 0; i < PL_ARRAY_LEN(stop_sigs); i++)
		sigaction(stop_sigs[i], &old_sa[i], NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	stop_fd = -1;
	if (read(stop[0], &stopped, 1) == 1) {
		rc = 128 + stopped;
		goto done;
	}
	if (run_rc < 0) {
		/* as a shell says it: 127 not found, 126 found but not
		 * executable; 125 the sandbox itself, so that none of them is
		 * taken for the command's own status */
		rc = cli_fail(ctx, "sandbox",
			      res.exec_error == ENOENT ? EXIT_NOT_FOUND : res.exec_error ? EXIT_NOT_EXEC : EXIT_SETUP, "%s",
			      err.msg);
		goto done;
	}
	if (json) {
		json_t *o = result_json(&res, &cfg);
		pl_buf b = PL_BUF_INIT;

		pl_json_dump(&b, o, true);
		printf("%s\n", b.ptr);
		pl_buf_release(&b);
		json_decref(o);
	} else if (res.timed_out || res.signal || res.limits_hit & ~(unsigned)SBX_LIMIT_OUTPUT) {
		pl_buf d = PL_BUF_INIT;

		sbx_result_describe(&d, &res, &cfg);
		fprintf(stderr, "plait sandbox: %s\n", d.ptr);
		pl_buf_release(&d);
	}
	if (res.timed_out)
		rc = EXIT_TIMEOUT;
	else if (res.signal)
		rc = 128 + res.signal;
	else
		rc = res.exit_code;
done:
	if (stop[0] >= 0)
		close(stop[0]);
	if (stop[1] >= 0)
		close(stop[1]);
	sbx_result_release(&res);
	sbx_config_release(&cfg);
	return rc;
}

int cli_cmd_sandbox(int argc, char **argv, const cli_ctx *ctx)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(sandbox_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "run"))
		return cli_fail(ctx, "sandbox", CLI_EXIT_USAGE, "unknown subcommand '%s' (expected 'run')", argv[1]);
	if (cli_wants_help(argc - 1, argv + 1)) {
		fputs(sandbox_usage, stdout);
		return CLI_EXIT_OK;
	}
	return cmd_run(argc - 1, argv + 1, ctx);
}
