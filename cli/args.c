/* args.c - what every command's front-end shares: the option parser, typed
 * option values, the token-id list parser and the error printers. */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ messages */

static void vfail(const cli_ctx *ctx, const char *cmd, int exit_code, const char *fmt, va_list ap)
{
	const char *argv0 = ctx && ctx->argv0 ? ctx->argv0 : "plait";

	fprintf(stderr, "%s %s: ", argv0, cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	if (exit_code == CLI_EXIT_USAGE)
		fprintf(stderr, "try '%s %s --help'\n", argv0, cmd);
}

int cli_fail(const cli_ctx *ctx, const char *cmd, int exit_code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(ctx, cmd, exit_code, fmt, ap);
	va_end(ap);
	return exit_code;
}

int cli_fail_err(const cli_ctx *ctx, const char *cmd, const pl_err *err)
{
	return cli_fail(ctx, cmd, CLI_EXIT_FAIL, "%s", err && err->msg[0] ? err->msg : "failed");
}

bool cli_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	}
	return false;
}

/* ------------------------------------------------------------ options */

void cli_args_init(cli_args *a, int argc, char **argv, int first, const char *cmd, const cli_opt *opts,
		   const cli_ctx *ctx)
{
	memset(a, 0, sizeof(*a));
	a->argc = argc;
	a->argv = argv;
	a->i = first;
	a->cmd = cmd;
	a->opts = opts;
	a->ctx = ctx;
}

static const cli_opt *find_long(const cli_opt *opts, const char *name, size_t len)
{
	for (; opts && opts->id; opts++)
		if (strlen(opts->name) == len && !strncmp(opts->name, name, len))
			return opts;
	return NULL;
}

static const cli_opt *find_short(const cli_opt *opts, char c)
{
	for (; opts && opts->id; opts++)
		if (opts->short_name && opts->short_name == c)
			return opts;
	return NULL;
}

int cli_next(cli_args *a, const char **val)
{
	const cli_opt *o;
	const char *w;

	*val = NULL;
	if (a->i >= a->argc)
		return CLI_END;
	w = a->argv[a->i++];
	if (a->in_positionals || w[0] != '-' || !w[1]) {
		*val = w;
		return CLI_POS;
	}
	if (!strcmp(w, "--")) {
		a->saw_dashdash = true;
		if (a->dashdash_stops)
			return CLI_END;
		a->in_positionals = true;
		return cli_next(a, val);
	}
	a->opt = w;
	if (w[1] == '-') {
		const char *name = w + 2, *eq = strchr(name, '=');

		o = find_long(a->opts, name, eq ? (size_t)(eq - name) : strlen(name));
		if (!o) {
			cli_fail(a->ctx, a->cmd, CLI_EXIT_USAGE, "unknown option '%.*s'",
				 (int)(eq ? (size_t)(eq - w) : strlen(w)), w);
			return CLI_BAD;
		}
		if (eq && !o->has_arg) {
			cli_fail(a->ctx, a->cmd, CLI_EXIT_USAGE, "--%s takes no value", o->name);
			return CLI_BAD;
		}
		if (eq) {
			*val = eq + 1;
			return o->id;
		}
	} else {
		o = find_short(a->opts, w[1]);
		if (!o) {
			cli_fail(a->ctx, a->cmd, CLI_EXIT_USAGE, "unknown option '-%c'", w[1]);
			return CLI_BAD;
		}
		if (w[2] && !o->has_arg) {
			cli_fail(a->ctx, a->cmd, CLI_EXIT_USAGE, "-%c takes no value (write options apart: '-%c -%c')",
				 w[1], w[1], w[2]);
			return CLI_BAD;
		}
		if (w[2]) {
			*val = w + 2;
			return o->id;
		}
	}
	if (o->has_arg) {
		if (a->i >= a->argc) {
			cli_fail(a->ctx, a->cmd, CLI_EXIT_USAGE, "%s needs a value", w);
			return CLI_BAD;
		}
		*val = a->argv[a->i++];
	}
	return o->id;
}

int cli_bad_value(const cli_args *a, const char *val, const char *fmt, ...)
{
	pl_buf msg = PL_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	pl_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (a->opt)
		cli_fail(a->ctx, a->cmd, CLI_EXIT_USAGE, "%s '%s': %s", a->opt, val ? val : "", msg.ptr);
	else
		cli_fail(a->ctx, a->cmd, CLI_EXIT_USAGE, "%s", msg.ptr);
	pl_buf_release(&msg);
	return CLI_EXIT_USAGE;
}

int cli_value_i64(int64_t *out, const cli_args *a, const char *val, int64_t min, int64_t max)
{
	pl_err err = { 0 };

	if (pl_parse_i64(out, val, min, max, &err) < 0)
		return cli_bad_value(a, val, "%s", err.msg);
	return 0;
}

int cli_value_int(int *out, const cli_args *a, const char *val, int min, int max)
{
	int64_t v;
	int st;

	if ((st = cli_value_i64(&v, a, val, min, max)) != 0)
		return st;
	*out = (int)v;
	return 0;
}

int cli_value_f64(double *out, const cli_args *a, const char *val, double min, double max)
{
	pl_err err = { 0 };
	double v;

	if (pl_parse_f64(&v, val, &err) < 0)
		return cli_bad_value(a, val, "%s", err.msg);
	if (!(v >= min && v <= max))
		return cli_bad_value(a, val, "must be in [%g, %g]", min, max);
	*out = v;
	return 0;
}

int cli_value_size(uint64_t *out, const cli_args *a, const char *val)
{
	pl_err err = { 0 };

	if (pl_parse_size(out, val, &err) < 0)
		return cli_bad_value(a, val, "%s", err.msg);
	return 0;
}

/* ------------------------------------------------------------ id lists */

int cli_parse_ids(int32_t **out, size_t *n_out, const char *s, pl_err *err)
{
	int32_t *ids = NULL;
	size_t n = 0, cap = 0, item = 1;
	const char *p = s;
	bool need_item = false; /* a comma was read: an id must follow */
	int rc = 0;

	for (;;) {
		const char *start;
		char tok[24];
		int64_t v;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p) {
			if (need_item) {
				rc = pl_err_set(err, PL_EINVAL, "the id list ends with a comma");
				goto fail;
			}
			break;
		}
		if (*p == ',') {
			rc = pl_err_set(err, PL_EINVAL, n || need_item ? "item %zu of the id list is empty" :
								 "the id list starts with a comma", item);
			goto fail;
		}
		start = p;
		while (*p && *p != ',' && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if ((size_t)(p - start) >= sizeof(tok)) {
			rc = pl_err_set(err, PL_EINVAL, "item %zu of the id list ('%.20s...') is not a token id", item,
					start);
			goto fail;
		}
		memcpy(tok, start, (size_t)(p - start));
		tok[p - start] = '\0';
		if (pl_parse_i64(&v, tok, 0, INT32_MAX, NULL) < 0) {
			rc = pl_err_set(err, PL_EINVAL, "item %zu of the id list ('%s') is not a token id (0 to %d)", item,
					tok, INT32_MAX);
			goto fail;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			ids = pl_xrealloc(ids, cap * sizeof(*ids));
		}
		ids[n++] = (int32_t)v;
		item++;
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		need_item = *p == ',';
		if (need_item)
			p++;
	}
	if (!n) {
		rc = pl_err_set(err, PL_EINVAL, "the id list is empty");
		goto fail;
	}
	*out = ids;
	*n_out = n;
	return 0;
fail:
	free(ids);
	return rc;
}
