/* cmd_traj.c - `plait traj show FILE` (one trajectory, readably) and
 * `plait traj stats DIR` (a directory of them, summed). */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

static const char traj_usage[] =
	"usage: plait traj show FILE [--full] [--json]\n"
	"       plait traj stats DIR [--json]\n"
	"\n"
	"show prints a trajectory as a story: each step's model text, tool calls,\n"
	"observations (the first lines, all with --full), tokens and cost, then how\n"
	"the run ended and its patch.  A trajectory a killed run left is shown up to\n"
	"its last finished record.  --json prints its summary instead.\n"
	"\n"
	"stats reads every *.jsonl trajectory under DIR and sums them: runs, exit\n"
	"reasons, submitted patches, steps, tokens, cost (and how many runs had no\n"
	"known price), time.\n"
	"\n"
	"Colours are used on a terminal unless NO_COLOR is set.\n";

enum { O_FULL = 1, O_JSON };

static const cli_opt traj_opts[] = {
	{ "full", 0, false, O_FULL },
	{ "json", 0, false, O_JSON },
	{ NULL, 0, false, 0 },
};

static void print_json(const json_t *v)
{
	pl_buf b = PL_BUF_INIT;

	pl_json_dump(&b, v, true);
	puts(b.ptr);
	pl_buf_release(&b);
}

/* Up to max lines of text, indented; a count of the rest. */
static void print_lines(const char *text, const char *indent, size_t max, const char *color, bool c)
{
	const char *p = text;
	size_t n = 0, total = 0;
	pl_buf e = PL_BUF_INIT;

	for (const char *q = text; *q; q++)
		total += *q == '\n';
	if (*text && text[strlen(text) - 1] != '\n')
		total++;
	while (*p && n < max) {
		size_t len = strcspn(p, "\n");

		/* a model's text and a command's output, escaped */
		pl_buf_reset(&e);
		cli_escape(&e, p, len, true);
		printf("%s%s%s%s\n", indent, cli_c(c, color), e.ptr, cli_c(c && *color, CLI_RESET));
		p += len + (p[len] == '\n');
		n++;
	}
	pl_buf_release(&e);
	if (total > n)
		printf("%s%s[... %zu more lines]%s\n", indent, cli_c(c, CLI_DIM), total - n, cli_c(c, CLI_RESET));
}

static int show(const char *path, bool full, bool json, const cli_ctx *ctx)
{
	json_t *recs = NULL, *skipped = NULL, *r, *sum, *start;
	bool complete = false, c = cli_use_color(stdout);
	pl_buf e1 = PL_BUF_INIT, e2 = PL_BUF_INIT, e3 = PL_BUF_INIT, e4 = PL_BUF_INIT;
	pl_err err = { 0 };
	size_t i, lines = full ? (size_t)-1 : 12;
	char a[32], b[32], cost[48];

	if (agent_traj_load(&recs, &complete, &skipped, path, &err) < 0)
		return cli_fail_err(ctx, "traj show", &err);
	json_array_foreach(skipped, i, r)
		fprintf(stderr, "plait traj show: %s: %s (that record is left out)\n", path,
			json_string_value(json_object_get(r, "error")));
	json_decref(skipped);
	sum = agent_traj_summary(recs);
	if (json) {
		print_json(sum);
		goto done;
	}
	start = json_array_get(recs, 0);
	printf("%strajectory %s%s (%s)  repo %s  model %s:%s  started %s\n", cli_c(c, CLI_BOLD),
	       cli_esc(&e1, json_string_value(json_object_get(start, "id")) ?: "?"), cli_c(c, CLI_RESET),
	       cli_esc(&e2, json_string_value(json_object_get(start, "kind")) ?: "?"),
	       cli_esc(&e3, json_string_value(json_object_get(start, "repo")) ?: "?"),
	       json_string_value(json_object_get(start, "backend")) ?: "?",
	       cli_esc(&e4, json_string_value(json_object_get(start, "model")) ?: "?"),
	       json_string_value(json_object_get(start, "time")) ?: "?");
	json_array_foreach(recs, i, r) {
		const char *t = json_string_value(json_object_get(r, "type"));

		if (!strcmp(t, "message")) {
			const json_t *m = json_object_get(r, "message"), *calls = json_object_get(m, "tool_calls"), *tc;
			const char *role = json_string_value(json_object_get(m, "role")) ?: "?";
			const char *content = json_string_value(json_object_get(m, "content")) ?: "";
			size_t k;

			if (!strcmp(role, "system")) {
				printf("\n%ssystem%s\n", cli_c(c, CLI_MAGENTA), cli_c(c, CLI_RESET));
				print_lines(content, "  ", full ? lines : 3, CLI_DIM, c);
			} else if (!strcmp(role, "user")) {
				printf("\n%s%s%s\n", cli_c(c, CLI_MAGENTA),
				       json_integer_value(json_object_get(r, "step")) ? "user (from plait)" : "user",
				       cli_c(c, CLI_RESET));
				print_lines(content, "  ", lines, "", c);
			} else if (!strcmp(role, "assistant")) {
				printf("\n%s── step %lld ──%s\n", cli_c(c, CLI_CYAN),
				       (long long)json_integer_value(json_object_get(r, "step")), cli_c(c, CLI_RESET));
				if (*content)
					print_lines(content, "  ", lines, "", c);
				json_array_foreach(calls, k, tc) {
					const json_t *f = json_object_get(tc, "function");
					const char *at = json_string_value(json_object_get(f, "arguments"));
					json_t *args = NULL;
					pl_buf d = PL_BUF_INIT;

					if (at && pl_json_parse(&args, at, strlen(at), "a", NULL) == 0 && json_is_object(args))
						cli_describe_call(&d, json_string_value(json_object_get(f, "name")) ?: "?", args, 100);
					else
						pl_buf_printf(&d, "%s %s", cli_esc(&e1, json_string_value(json_object_get(f, "name")) ?: "?"),
							      cli_esc(&e2, at ? at : ""));
					printf("  %s→ %s%s\n", cli_c(c, CLI_BOLD), d.ptr, cli_c(c, CLI_RESET));
					json_decref(args);
					pl_buf_release(&d);
				}
			} else if (!strcmp(role, "tool")) {
				bool bad = json_is_true(json_object_get(m, "is_error"));

				printf("  %s%s%s\n", cli_c(c, bad ? CLI_YELLOW : CLI_DIM),
				       bad ? "observation (error):" : "observation:", cli_c(c, CLI_RESET));
				print_lines(content, "    ", lines, "", c);
			}
		} else if (!strcmp(t, "tool")) {
			const json_t *diff = json_object_get(r, "diff");

			if (json_is_string(diff))
				cli_print_diff(stdout, json_string_value(diff), json_string_length(diff), c);
		} else if (!strcmp(t, "model_call")) {
			const json_t *u = json_object_get(r, "usage");

			printf("  %s%s in / %s out, %s, model %.2fs, tools %.2fs%s\n", cli_c(c, CLI_DIM),
			       cli_fmt_count(a, json_integer_value(json_object_get(u, "input"))),
			       cli_fmt_count(b, json_integer_value(json_object_get(u, "output"))),
			       cli_fmt_cost(cost, json_object_get(u, "cost")), json_number_value(json_object_get(r, "wait_s")),
			       json_number_value(json_object_get(r, "tools_s")), cli_c(c, CLI_RESET));
		} else if (!strcmp(t, "format_error")) {
			printf("  %smalformed call: %s%s\n", cli_c(c, CLI_YELLOW),
			       cli_esc(&e1, json_string_value(json_object_get(r, "error"))), cli_c(c, CLI_RESET));
		} else if (!strcmp(t, "retry")) {
			printf("  %sretry %lld after %.1fs: %s%s\n", cli_c(c, CLI_YELLOW),
			       (long long)json_integer_value(json_object_get(r, "attempt")),
			       json_number_value(json_object_get(r, "delay")), cli_esc(&e1, json_string_value(json_object_get(r, "reason"))),
			       cli_c(c, CLI_RESET));
		} else if (!strcmp(t, "model_error")) {
			printf("  %smodel error: %s%s\n", cli_c(c, CLI_RED), cli_esc(&e1, json_string_value(json_object_get(r, "error"))),
			       cli_c(c, CLI_RESET));
		} else if (!strcmp(t, "elide")) {
			printf("  %s[%zu old observations elided]%s\n", cli_c(c, CLI_DIM),
			       json_array_size(json_object_get(r, "messages")), cli_c(c, CLI_RESET));
		} else if (!strcmp(t, "warning")) {
			printf("  %swarning: %s%s\n", cli_c(c, CLI_YELLOW), cli_esc(&e1, json_string_value(json_object_get(r, "message"))),
			       cli_c(c, CLI_RESET));
		} else if (!strcmp(t, "rewind") || !strcmp(t, "undo") || !strcmp(t, "reset") || !strcmp(t, "resume") ||
			   !strcmp(t, "model")) {
			printf("\n%s[%s]%s\n", cli_c(c, CLI_MAGENTA), t, cli_c(c, CLI_RESET));
		} else if (!strcmp(t, "end")) {
			const json_t *u = json_object_get(r, "usage"), *p = json_object_get(r, "patch");

			printf("\n%s%s%s: %s\n", cli_c(c, json_is_true(json_object_get(r, "submitted")) ? CLI_GREEN : CLI_YELLOW),
			       cli_esc(&e1, json_string_value(json_object_get(r, "exit_reason")) ?: "?"), cli_c(c, CLI_RESET),
			       cli_esc(&e2, json_string_value(json_object_get(r, "message"))));
			printf("  %lld steps, %s in / %s out, %s, %.1fs\n", (long long)json_integer_value(json_object_get(r, "steps")),
			       cli_fmt_count(a, json_integer_value(json_object_get(u, "input"))),
			       cli_fmt_count(b, json_integer_value(json_object_get(u, "output"))),
			       cli_fmt_cost(cost, json_object_get(u, "cost")), json_number_value(json_object_get(r, "elapsed")));
			if (json_is_string(p) && json_string_length(p)) {
				printf("  %spatch:%s\n", cli_c(c, CLI_BOLD), cli_c(c, CLI_RESET));
				cli_print_diff(stdout, json_string_value(p), json_string_length(p), c);
			} else if (json_is_object(p)) {
				printf("  patch: binary-safe form (base64) in the file\n");
			}
		}
	}
	if (!complete)
		printf("\n%sincomplete: the run did not finish (it was killed or is still running); shown up to its last "
		       "record%s\n",
		       cli_c(c, CLI_YELLOW), cli_c(c, CLI_RESET));
done:
	pl_buf_release(&e1);
	pl_buf_release(&e2);
	pl_buf_release(&e3);
	pl_buf_release(&e4);
	json_decref(sum);
	json_decref(recs);
	return CLI_EXIT_OK;
}

static int stats(const char *dir, bool json, const cli_ctx *ctx)
{
	json_t *st = NULL, *reasons, *u, *errs, *x;
	pl_err err = { 0 };
	char a[32], b[32], cost[48];
	const char *k;
	int64_t runs;
	size_t i;

	if (agent_traj_stats(&st, dir, &err) < 0)
		return cli_fail_err(ctx, "traj stats", &err);
	if (json) {
		print_json(st);
		json_decref(st);
		return CLI_EXIT_OK;
	}
	runs = json_integer_value(json_object_get(st, "runs"));
	u = json_object_get(st, "usage");
	printf("%s: %lld trajectories (%lld complete), %lld submitted a patch\n", dir, (long long)runs,
	       (long long)json_integer_value(json_object_get(st, "complete")),
	       (long long)json_integer_value(json_object_get(st, "submitted")));
	reasons = json_object_get(st, "exit_reasons");
	json_object_foreach(reasons, k, x)
		printf("  %-14s %lld\n", k, (long long)json_integer_value(x));
	printf("steps: %lld (%.1f a run), tool calls: %lld\n", (long long)json_integer_value(json_object_get(st, "steps")),
	       runs ? (double)json_integer_value(json_object_get(st, "steps")) / (double)runs : 0.0,
	       (long long)json_integer_value(json_object_get(st, "tool_calls")));
	printf("tokens: %s in (%lld cached), %s out, in %lld model calls\n",
	       cli_fmt_count(a, json_integer_value(json_object_get(u, "input"))),
	       (long long)json_integer_value(json_object_get(u, "cached")),
	       cli_fmt_count(b, json_integer_value(json_object_get(u, "output"))),
	       (long long)json_integer_value(json_object_get(u, "calls")));
	if (runs && json_integer_value(json_object_get(st, "cost_unknown_runs")) >= runs) {
		/* not $0.0000: nothing is known of it */
		printf("cost: unknown (no run had a known price)");
	} else {
		printf("cost: %s over runs with known prices", cli_fmt_cost(cost, json_object_get(u, "cost")));
		if (json_integer_value(json_object_get(st, "cost_unknown_runs")))
			printf("; %lld runs had no known price",
			       (long long)json_integer_value(json_object_get(st, "cost_unknown_runs")));
	}
	printf("\ntime: %.1fs in all\n", json_number_value(json_object_get(st, "elapsed")));
	errs = json_object_get(st, "errors");
	json_array_foreach(errs, i, x)
		fprintf(stderr, "plait traj stats: skipped %s\n", json_string_value(json_object_get(x, "error")));
	json_decref(st);
	return CLI_EXIT_OK;
}

int cli_cmd_traj(int argc, char **argv, const cli_ctx *ctx)
{
	const char *sub = NULL, *arg = NULL, *v;
	bool full = false, json = false;
	cli_args a;
	int id;

	if (cli_wants_help(argc, argv) || argc < 2) {
		fputs(traj_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	cli_args_init(&a, argc, argv, 1, "traj", traj_opts, ctx);
	while ((id = cli_next(&a, &v)) != CLI_END) {
		switch (id) {
		case CLI_BAD:
			return CLI_EXIT_USAGE;
		case O_FULL: full = true; break;
		case O_JSON: json = true; break;
		case CLI_POS:
			if (!sub)
				sub = v;
			else if (!arg)
				arg = v;
			else
				return cli_fail(ctx, "traj", CLI_EXIT_USAGE, "unexpected argument '%s'", v);
		}
	}
	if (!sub || (strcmp(sub, "show") && strcmp(sub, "stats")))
		return cli_fail(ctx, "traj", CLI_EXIT_USAGE, "expected 'show FILE' or 'stats DIR'%s%s%s", sub ? ", not '" : "",
				sub ? sub : "", sub ? "'" : "");
	if (!arg)
		return cli_fail(ctx, "traj", CLI_EXIT_USAGE, "traj %s needs a %s", sub, !strcmp(sub, "show") ? "FILE" : "DIR");
	if (!strcmp(sub, "show"))
		return show(arg, full, json, ctx);
	if (full)
		return cli_fail(ctx, "traj", CLI_EXIT_USAGE, "--full is for traj show");
	return stats(arg, json, ctx);
}
