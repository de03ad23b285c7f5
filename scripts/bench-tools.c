/* bench-tools.c - `make bench-tools`: the search tool against ripgrep on the
 * same patterns over the same tree, interleaved round by round so that the
 * load of a shared machine hits both alike; repo_map cold, cached on disk
 * and cached in memory; outline of a large file.  scripts/bench-tools.sh
 * prepares the trees.
 *
 *   build/bench-tools SEARCH_REPO MAP_REPO OUTLINE_REPO OUTLINE_FILE [ROUNDS]
 *
 * plait's tools run in this process through tools_call() on one tools_ctx
 * (as the agent calls them); rg runs as a process, its output to /dev/null.
 * Prints Markdown tables of medians (and minimums) in milliseconds, wall
 * clock and CPU time (user + system, all threads): on a shared machine the
 * CPU time is the steadier figure. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/tools.h"

extern char **environ;

/* Patterns valid both as POSIX EREs (plait) and as Rust regexes (rg):
 * literals, a literal inside a regex, a class-only regex that no literal
 * can prefilter, an alternation, a rare identifier. */
static const char *const patterns[] = {
	"EXIT_FAILURE",
	"static inline",
	"struct [a-z_]+ \\{",
	"[0-9]+ \\* [0-9]+",
	"(uint|int)(8|16|32|64)_t [a-z]+;",
	"PLAIT_NOT_THERE_AT_ALL",
};
#define NPAT (sizeof(patterns) / sizeof(patterns[0]))

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double minimum(const double *v, int n)
{
	double m = v[0];
	int i;

	for (i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

/* CPU seconds of the last measurement */
static double last_cpu;

static double tv(struct timeval t)
{
	return (double)t.tv_sec + (double)t.tv_usec * 1e-6;
}

static double self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return tv(ru.ru_utime) + tv(ru.ru_stime);
}

static double run_rg(const char *pattern, const char *dir)
{
	struct rusage ru;
	char *argv[] = { "rg", "-n", "--no-heading", "-e", (char *)pattern, (char *)dir, NULL };
	posix_spawn_file_actions_t fa;
	double t0 = pl_now();
	pid_t pid;
	int st;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (posix_spawnp(&pid, "rg", &fa, NULL, argv, environ) != 0 || wait4(pid, &st, 0, &ru) != pid) {
		fprintf(stderr, "bench-tools: cannot run rg (apt-get install ripgrep)\n");
		exit(1);
	}
	posix_spawn_file_actions_destroy(&fa);
	/* rg exits 1 when nothing matched */
	if (!WIFEXITED(st) || WEXITSTATUS(st) > 1) {
		fprintf(stderr, "bench-tools: rg failed on '%s'\n", pattern);
		exit(1);
	}
	last_cpu = tv(ru.ru_utime) + tv(ru.ru_stime);
	return pl_now() - t0;
}

/* Matching lines as rg counts them (outside the timings). */
static long rg_count(const char *pattern, const char *dir)
{
	pl_buf cmd = PL_BUF_INIT;
	char line[4096];
	long total = 0;
	FILE *p;

	pl_buf_printf(&cmd, "rg -c --no-heading -e '%s' '%s'", pattern, dir);
	if (!(p = popen(cmd.ptr, "r")))
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char *colon = strrchr(line, ':');
		total += colon ? atol(colon + 1) : 0;
	}
	pclose(p);
	pl_buf_release(&cmd);
	return total;
}

static double call(tools_ctx *ctx, const char *tool, json_t *args, json_t **data)
{
	tools_obs o;
	pl_err err = { 0 };
	double c0 = self_cpu(), t0 = pl_now(), t;

	tools_obs_init(&o);
	if (tools_call(&o, ctx, tool, args, &err) < 0 || o.is_error) {
		fprintf(stderr, "bench-tools: %s failed: %s\n", tool, o.text.ptr);
		exit(1);
	}
	t = pl_now() - t0;
	last_cpu = self_cpu() - c0;
	if (data)
		*data = json_incref(o.data);
	tools_obs_release(&o);
	return t;
}

static tools_ctx *open_ctx(const char *root)
{
	tools_ctx *c = NULL;
	pl_err err = { 0 };

	if (tools_ctx_new(&c, root, NULL, &err) < 0) {
		fprintf(stderr, "bench-tools: %s\n", err.msg);
		exit(1);
	}
	return c;
}

int main(int argc, char **argv)
{
	int rounds = argc > 5 ? atoi(argv[5]) : 5, r;
	size_t p;
	double rg_t[NPAT][64], pl_t[NPAT][64], rg_c[64], pl_c[64], rg_sum = 0, pl_sum = 0, rgc_sum = 0, plc_sum = 0;
	tools_ctx *ctx;

	if (argc < 5 || rounds < 1 || rounds > 64) {
		fprintf(stderr, "usage: bench-tools SEARCH_REPO MAP_REPO OUTLINE_REPO OUTLINE_FILE [ROUNDS<=64]\n");
		return 2;
	}
	/* ---- search against rg */
	ctx = open_ctx(argv[1]);
	printf("### search: %s\n\n", argv[1]);
	printf("| pattern | matching lines (plait / rg) | plait search, ms wall (median / min) | rg -n, ms wall (median / min) | plait / rg, wall | plait / rg CPU ms (medians) |\n");
	printf("| --- | --- | --- | --- | --- | --- |\n");
	for (p = 0; p < NPAT; p++) {
		json_t *args = json_pack("{s:s}", "pattern", patterns[p]), *data = NULL;
		long rgn = rg_count(patterns[p], argv[1]);
		call(ctx, "search", args, &data); /* warm the page cache for both */
		run_rg(patterns[p], argv[1]);
		for (r = 0; r < rounds; r++) {
			rg_t[p][r] = run_rg(patterns[p], argv[1]);
			rg_c[r] = last_cpu;
			pl_t[p][r] = call(ctx, "search", args, NULL);
			pl_c[r] = last_cpu;
		}
		{
			double mr = minimum(rg_t[p], rounds), mp = minimum(pl_t[p], rounds);
			double medr = median(rg_t[p], rounds), medp = median(pl_t[p], rounds);
			double cr = median(rg_c, rounds), cp = median(pl_c, rounds);
			rg_sum += medr;
			pl_sum += medp;
			rgc_sum += cr;
			plc_sum += cp;
			printf("| `%s` | %lld / %ld | %.0f / %.0f | %.0f / %.0f | %.2f | %.0f / %.0f |\n", patterns[p],
			       (long long)json_integer_value(json_object_get(data, "matches")), rgn, medp * 1e3, mp * 1e3,
			       medr * 1e3, mr * 1e3, medp / medr, cp * 1e3, cr * 1e3);
		}
		json_decref(data);
		json_decref(args);
	}
	printf("| **all patterns** (sum of medians) | | **%.0f** | **%.0f** | **%.2f** | **%.0f / %.0f** |\n\n", pl_sum * 1e3,
	       rg_sum * 1e3, pl_sum / rg_sum, plc_sum * 1e3, rgc_sum * 1e3);
	tools_ctx_free(ctx);

	/* ---- repo_map: cold (no cache file, new context), cached on disk
	 * (new context), cached in memory (same context) */
	{
		double cold[64], disk[64], mem[64], ccold[64], cdisk[64], cmem[64];
		json_t *args = json_pack("{s:i}", "max_tokens", 2048), *data = NULL;
		pl_buf cache = PL_BUF_INIT;
		pl_path_join(&cache, argv[2], ".git/plait-cache/repo-map.bin");
		for (r = 0; r < rounds; r++) {
			unlink(cache.ptr);
			ctx = open_ctx(argv[2]);
			cold[r] = call(ctx, "repo_map", args, r ? NULL : &data);
			ccold[r] = last_cpu;
			mem[r] = call(ctx, "repo_map", args, NULL);
			cmem[r] = last_cpu;
			tools_ctx_free(ctx);
			ctx = open_ctx(argv[2]);
			disk[r] = call(ctx, "repo_map", args, NULL);
			cdisk[r] = last_cpu;
			tools_ctx_free(ctx);
		}
		printf("### repo_map: %s (%lld source files, %lld definitions; max_tokens 2048)\n\n", argv[2],
		       (long long)json_integer_value(json_object_get(data, "files_parsed")),
		       (long long)json_integer_value(json_object_get(data, "definitions_total")));
		printf("| case | ms wall (median / min) | ms CPU (median) |\n| --- | --- | --- |\n");
		printf("| cold: no cache, new context (parse everything) | %.0f / %.0f | %.0f |\n", median(cold, rounds) * 1e3,
		       minimum(cold, rounds) * 1e3, median(ccold, rounds) * 1e3);
		printf("| cached on disk: new context, cache file read | %.1f / %.1f | %.1f |\n", median(disk, rounds) * 1e3,
		       minimum(disk, rounds) * 1e3, median(cdisk, rounds) * 1e3);
		printf("| cached in memory: same context, second call | %.1f / %.1f | %.1f |\n\n", median(mem, rounds) * 1e3,
		       minimum(mem, rounds) * 1e3, median(cmem, rounds) * 1e3);
		json_decref(data);
		json_decref(args);
		pl_buf_release(&cache);
	}

	/* ---- outline of a large file */
	{
		double t[64], ct[64];
		json_t *args = json_pack("{s:s}", "path", argv[4]), *data = NULL;
		ctx = open_ctx(argv[3]);
		call(ctx, "outline", args, &data);
		for (r = 0; r < rounds; r++) {
			t[r] = call(ctx, "outline", args, NULL);
			ct[r] = last_cpu;
		}
		printf("### outline: %s/%s (%zu definitions)\n\n", argv[3], argv[4], json_array_size(json_object_get(data, "definitions")));
		printf("| case | ms wall (median / min) | ms CPU (median) |\n| --- | --- | --- |\n");
		printf("| outline | %.1f / %.1f | %.1f |\n", median(t, rounds) * 1e3, minimum(t, rounds) * 1e3, median(ct, rounds) * 1e3);
		json_decref(data);
		json_decref(args);
		tools_ctx_free(ctx);
	}
	return 0;
}
