/* cmd.c - `plait sandbox run`: one command in a fresh sandbox, from the
 * command line. */
#define _GNU_SOURCE
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	"status, 128+N when it was killed by signal N, 124 on timeout, 1 when the\n"
	"sandbox could not be set up.  See docs/SANDBOX.md.\n"
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
	"  --net                 share the host's network (default: a private loopback)\n"
	"  --env NAME=VALUE      set a variable in the sandbox's environment\n"
	"  --keep-env NAME       keep NAME from plait's environment (NAME* = a prefix);\n"
	"                        kept by default: PATH LANG LC_* TERM TZ\n"
	"  --hostname NAME       host name inside (default: sandbox)\n"
	"  --timeout SECONDS     wall-clock limit; the whole process tree is killed\n"
	"  --cpu SECONDS         CPU time per process (RLIMIT_CPU)\n"
	"  --memory SIZE         memory of the whole tree: the cgroup's memory.max (swap\n"
	"                        off; an OOM kill is reported); without a usable cgroup\n"
	"                        v2, RLIMIT_AS per process\n"
	"  --address-space SIZE  address space per process (RLIMIT_AS), also with cgroups\n"
	"  --nofile N            open files per process (RLIMIT_NOFILE; default 1024)\n"
	"  --nproc N             processes of the whole tree: the cgroup's pids.max;\n"
	"                        without a cgroup, RLIMIT_NPROC and the PID namespace's\n"
	"                        pid_max\n"
	"  --cgroup MODE         auto (default: a cgroup for --memory/--nproc when one is\n"
	"                        usable, else rlimits), off (rlimits only), require\n"
	"                        (fail without a usable cgroup v2)\n"
	"  --cgroup-parent DIR   cgroup v2 directory in which to create the sandbox's\n"
	"                        cgroup (default: chosen, see docs/SANDBOX.md)\n"
	"  --fsize SIZE          largest file a process may write (RLIMIT_FSIZE)\n"
	"  --output-cap SIZE     bytes kept per stream in --json results (head and tail;\n"
	"                        default 1M)\n"
	"  --merge-output        stdout and stderr as one stream, in arrival order\n"
	"  --uid N, --gid N      host user and group to run as (root only; default for\n"
	"                        root: 65534, nobody)\n"
	"  --stdin               feed plait's standard input to CMD (default: /dev/null)\n"
	"  --json                print one JSON result (exit, signal, limits, times,\n"
	"                        captured output) instead of passing output through\n"
	"  -h, --help            show this help\n"
	"\n"
	"SIZE takes K, M, G suffixes (powers of 1024).\n";

static void pass_through(void *ctx, int stream, const char *data, size_t n)
{
	(void)ctx;
	while (n) {
		ssize_t w = write(stream == 2 ? 2 : 1, data, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		data += w;
		n -= (size_t)w;
	}
}

static int read_stdin(pl_buf *b)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		n = read(0, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		pl_buf_add(b, buf, (size_t)n);
	}
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
	pl_json_set(o, cfg->merge_output ? "output" : "stdout", json_stringn(r->out.ptr, r->out.len));
	pl_json_set(o, "stdout_bytes", json_integer((json_int_t)r->out_bytes));
	pl_json_set(o, "stdout_truncated", json_boolean(r->out_truncated));
	if (!cfg->merge_output) {
		pl_json_set(o, "stderr", json_stringn(r->err.ptr, r->err.len));
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

static int parse_size_opt(uint64_t *out, const char *opt, const char *v, const pl_cmd_ctx *ctx)
{
	pl_err err = { 0 };

	if (pl_parse_size(out, v, &err) < 0)
		return pl_cli_fail(ctx, "sandbox", PL_EXIT_USAGE, "%s: %s", opt, err.msg);
	return 0;
}

static int parse_count_opt(uint64_t *out, const char *opt, const char *v, const pl_cmd_ctx *ctx)
{
	pl_err err = { 0 };
	int64_t n;

	if (pl_parse_i64(&n, v, 1, INT64_MAX, &err) < 0)
		return pl_cli_fail(ctx, "sandbox", PL_EXIT_USAGE, "%s: %s", opt, err.msg);
	*out = (uint64_t)n;
	return 0;
}

static int cmd_run(int argc, char **argv, const pl_cmd_ctx *ctx)
{
	sbx_config cfg;
	sbx_result res;
	sbx_exec_opts opts;
	pl_err err = { 0 };
	pl_buf in = PL_BUF_INIT;
	bool json = false, want_stdin = false;
	int i, rc = PL_EXIT_OK, first_cmd = -1;
	const char *profile = NULL;
	sbx_cgroup_info cginfo;

	sbx_config_init(&cfg);
	sbx_result_init(&res);
	memset(&opts, 0, sizeof(opts));
	/* The profile comes first whatever its place, so options override it. */
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--profile") && i + 1 < argc)
			profile = argv[i + 1];
	if (profile && sbx_profile_load(&cfg, profile, &err) < 0) {
		rc = pl_cli_fail_err(ctx, "sandbox", &err);
		goto done;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int64_t id;
		double t;

		if (!strcmp(a, "--")) {
			first_cmd = i + 1;
			break;
		}
		if (!strcmp(a, "--net")) {
			cfg.network = true;
			continue;
		}
		if (!strcmp(a, "--merge-output")) {
			cfg.merge_output = true;
			continue;
		}
		if (!strcmp(a, "--json")) {
			json = true;
			continue;
		}
		if (!strcmp(a, "--stdin")) {
			want_stdin = true;
			continue;
		}
		if (a[0] != '-') {
			first_cmd = i;
			break;
		}
		if (!v) {
			rc = pl_cli_fail(ctx, "sandbox", PL_EXIT_USAGE, "unknown option or missing value: '%s'", a);
			goto done;
		}
		i++;
		if (!strcmp(a, "--profile")) {
			continue;
		} else if (!strcmp(a, "--rootfs")) {
			sbx_config_set_rootfs(&cfg, v);
		} else if (!strcmp(a, "--bind") || !strcmp(a, "--ro-bind")) {
			add_bind(&cfg, v, !strcmp(a, "--ro-bind"));
		} else if (!strcmp(a, "--workdir")) {
			sbx_config_set_workdir(&cfg, v);
		} else if (!strcmp(a, "--cwd")) {
			sbx_config_set_cwd(&cfg, v);
		} else if (!strcmp(a, "--env")) {
			if (sbx_config_set_env(&cfg, v, &err) < 0) {
				rc = pl_cli_fail(ctx, "sandbox", PL_EXIT_USAGE, "--env: %s", err.msg);
				goto done;
			}
		} else if (!strcmp(a, "--keep-env")) {
			sbx_config_allow_env(&cfg, v);
		} else if (!strcmp(a, "--cgroup")) {
			if (sbx_cgroup_use_parse(&cfg.cgroup, v, &err) < 0) {
				rc = pl_cli_fail(ctx, "sandbox", PL_EXIT_USAGE, "--cgroup: %s", err.msg);
				goto done;
			}
		} else if (!strcmp(a, "--cgroup-parent")) {
			sbx_config_set_cgroup_parent(&cfg, v);
		} else if (!strcmp(a, "--hostname")) {
			sbx_config_set_hostname(&cfg, v);
		} else if (!strcmp(a, "--timeout")) {
			if (pl_parse_f64(&t, v, &err) < 0 || t <= 0) {
				rc = pl_cli_fail(ctx, "sandbox", PL_EXIT_USAGE,
						 "--timeout: '%s' is not a positive number of seconds", v);
				goto done;
			}
			cfg.limits.timeout = t;
		} else if (!strcmp(a, "--cpu")) {
			if ((rc = parse_count_opt(&cfg.limits.cpu_seconds, a, v, ctx)))
				goto done;
		} else if (!strcmp(a, "--memory")) {
			if ((rc = parse_size_opt(&cfg.limits.memory, a, v, ctx)))
				goto done;
		} else if (!strcmp(a, "--address-space")) {
			if ((rc = parse_size_opt(&cfg.limits.address_space, a, v, ctx)))
				goto done;
		} else if (!strcmp(a, "--nofile")) {
			if ((rc = parse_count_opt(&cfg.limits.nofile, a, v, ctx)))
				goto done;
		} else if (!strcmp(a, "--nproc")) {
			if ((rc = parse_count_opt(&cfg.limits.nproc, a, v, ctx)))
				goto done;
		} else if (!strcmp(a, "--fsize")) {
			if ((rc = parse_size_opt(&cfg.limits.fsize, a, v, ctx)))
				goto done;
		} else if (!strcmp(a, "--output-cap")) {
			uint64_t cap;

			if ((rc = parse_size_opt(&cap, a, v, ctx)))
				goto done;
			cfg.output_cap = (size_t)cap;
		} else if (!strcmp(a, "--uid") || !strcmp(a, "--gid")) {
			if (pl_parse_i64(&id, v, 0, 0xfffffffe, &err) < 0) {
				rc = pl_cli_fail(ctx, "sandbox", PL_EXIT_USAGE, "%s: %s", a, err.msg);
				goto done;
			}
			if (a[2] == 'u')
				cfg.uid = id;
			else
				cfg.gid = id;
		} else {
			rc = pl_cli_fail(ctx, "sandbox", PL_EXIT_USAGE, "unknown option '%s'", a);
			goto done;
		}
	}
	if (first_cmd < 0 || first_cmd >= argc) {
		rc = pl_cli_fail(ctx, "sandbox", PL_EXIT_USAGE, "no command given (plait sandbox run [options] -- CMD)");
		goto done;
	}
	/* One notice when the limits cannot be a cgroup's, saying why. */
	if ((cfg.limits.memory || cfg.limits.nproc) && cfg.cgroup == SBX_CGUSE_AUTO &&
	    !sbx_config_uses_cgroup(&cfg, &cginfo))
		pl_log_warn(ctx ? ctx->log : NULL,
			    "memory and process limits fall back to rlimits (RLIMIT_AS per process, "
			    "RLIMIT_NPROC, the PID namespace's pid_max), not a cgroup: %s",
			    cginfo.why);
	if (want_stdin) {
		if (read_stdin(&in) < 0) {
			rc = pl_cli_fail(ctx, "sandbox", PL_EXIT_FAIL, "reading standard input: %s", strerror(errno));
			goto done;
		}
		opts.stdin_data = in.ptr;
		opts.stdin_len = in.len;
	}
	if (!json)
		opts.on_output = pass_through;
	/* Output that is only copied through goes straight to our stdout and
	 * stderr, as with any program, unless one is a terminal: the sandbox
	 * gets no terminal descriptor (ioctls on it), only pipes. */
	opts.inherit_output = !json && fcntl(STDOUT_FILENO, F_GETFD) >= 0 && fcntl(STDERR_FILENO, F_GETFD) >= 0 &&
			      !isatty(STDOUT_FILENO) && !isatty(STDERR_FILENO);
	opts.caller_exits = true; /* plait exits once the result is out */
	if (sbx_run_opts(&res, &cfg, (const char *const *)argv + first_cmd, &opts, &err) < 0) {
		rc = pl_cli_fail_err(ctx, "sandbox", &err);
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
		rc = 124;
	else if (res.signal)
		rc = 128 + res.signal;
	else
		rc = res.exit_code;
done:
	sbx_result_release(&res);
	sbx_config_release(&cfg);
	pl_buf_release(&in);
	return rc;
}

static int cmd_sandbox(int argc, char **argv, const pl_cmd_ctx *ctx)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(sandbox_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? PL_EXIT_USAGE : PL_EXIT_OK;
	}
	if (strcmp(argv[1], "run"))
		return pl_cli_fail(ctx, "sandbox", PL_EXIT_USAGE, "unknown subcommand '%s' (expected 'run')", argv[1]);
	if (pl_cli_wants_help(argc - 1, argv + 1)) {
		fputs(sandbox_usage, stdout);
		return PL_EXIT_OK;
	}
	return cmd_run(argc - 1, argv + 1, ctx);
}

const pl_cmd sbx_commands[] = {
	{ "sandbox", "run a command isolated from the host (plait sandbox run -- CMD)", cmd_sandbox },
	{ NULL, NULL, NULL },
};
