/* cmd_bench.c - `plait bench`: the benchmark family.  Each subcommand is a
 * file of its own (cmd_bench_swe.c: `swe`, cmd_bench_engine.c: `engine`);
 * this table is the one place a new one is added. */
#include "cli/cli.h"

#include <string.h>

typedef struct bench_sub {
	const char *name, *summary;
	int (*run)(int argc, char **argv, const cli_ctx *ctx);
} bench_sub;

static const bench_sub subs[] = {
	{ "swe", "SWE-bench: predictions from the agent (infer), graded as the official harness grades (eval)",
	  cli_bench_swe },
	{ "engine", "decode and prefill speed of the engine against the machine's ceilings", cli_bench_engine },
};

static void usage(FILE *out)
{
	size_t i;

	fputs("usage: plait bench SUBCOMMAND [options]\n\nBenchmarks: SWE-bench evaluated as the official harness "
	      "grades it, and the engine's speed against the machine's ceilings.\n\n",
	      out);
	for (i = 0; i < PL_ARRAY_LEN(subs); i++)
		fprintf(out, "  %-10s %s\n", subs[i].name, subs[i].summary);
	fputs("\n'plait bench SUBCOMMAND --help' for its options.\n", out);
}

int cli_cmd_bench(int argc, char **argv, const cli_ctx *ctx)
{
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	for (i = 0; i < PL_ARRAY_LEN(subs); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].run(argc - 1, argv + 1, ctx);
	return cli_fail(ctx, "bench", CLI_EXIT_USAGE, "unknown subcommand '%s' (known: swe, engine)", argv[1]);
}
