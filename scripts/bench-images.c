/* bench-images.c - what starting a run over a cached image costs (make
 * bench-images; scripts/bench-images.sh prepares the store).  Each round
 * starts /bin/true over the image's root in four ways, interleaved so that
 * the loaded machine treats them alike:
 *
 *   overlay     plait's way: img_run_open, img_run_configure, sbx_run,
 *               img_run_close (the run's overlay made and removed)
 *   read-only   the same sandbox over the root read-only, no overlay: the
 *               sandbox's own cost, for reference
 *   cp -al      a hard-link copy of the root per run (what a run view
 *               without overlayfs costs), run read-only, removed
 *   cp -a       a full copy per run, run, removed (every --full-every-th
 *               round only: it moves the whole image)
 *   plait CLI   `plait image run REF -- /bin/true` as a user runs it
 *
 * usage: bench-images STORE REF PLAIT ROUNDS
 * Prints one line per way: min, median, max wall milliseconds. */
#define _GNU_SOURCE
#include "image/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int run_true(const sbx_config *cfg)
{
	const char *argv[] = { "/bin/true", NULL };
	sbx_result res;
	pl_err err = { 0, "" };
	int rc;

	sbx_result_init(&res);
	rc = sbx_run(&res, cfg, argv, &err);
	if (rc < 0 || res.exit_code != 0) {
		fprintf(stderr, "bench-images: /bin/true failed: %s (exit %d)\n", err.msg, res.exit_code);
		exit(1);
	}
	sbx_result_release(&res);
	return 0;
}

static int sh(const char *cmd)
{
	int st = system(cmd);

	if (st != 0) {
		fprintf(stderr, "bench-images: '%s' failed\n", cmd);
		exit(1);
	}
	return 0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, double *t, int n)
{
	if (!n)
		return;
	qsort(t, (size_t)n, sizeof(double), cmp);
	printf("%-12s %4d runs  min %8.1f ms  median %8.1f ms  max %8.1f ms\n", name, n, t[0] * 1e3, t[n / 2] * 1e3,
	       t[n - 1] * 1e3);
}

int main(int argc, char **argv)
{
	img_store *s = NULL;
	img_image im;
	pl_buf root = PL_BUF_INIT, cmd = PL_BUF_INIT, copy = PL_BUF_INIT;
	pl_err err = { 0, "" };
	double *t[5], t0;
	int n[5] = { 0, 0, 0, 0, 0 }, rounds, i, full_every;

	if (argc != 5) {
		fprintf(stderr, "usage: bench-images STORE REF PLAIT ROUNDS\n");
		return 2;
	}
	rounds = atoi(argv[4]);
	full_every = rounds >= 10 ? rounds / 3 : 1;
	for (i = 0; i < 5; i++)
		t[i] = calloc((size_t)rounds, sizeof(double));
	if (img_store_open(&s, argv[1], NULL, &err) < 0 || img_get(&im, s, argv[2], &err) < 0 ||
	    img_unpack(&root, s, &im, NULL, &err) < 0) {
		fprintf(stderr, "bench-images: %s\n", err.msg);
		return 1;
	}
	pl_buf_printf(&copy, "%s/tmp/bench-copy", argv[1]);
	for (i = 0; i < rounds; i++) {
		sbx_config cfg;
		img_run *r = NULL;

		/* overlay: plait's run view */
		t0 = pl_now();
		sbx_config_init(&cfg);
		if (img_run_open(&r, s, &im, &err) < 0 || img_run_configure(&cfg, r, &err) < 0) {
			fprintf(stderr, "bench-images: %s\n", err.msg);
			return 1;
		}
		run_true(&cfg);
		img_run_close(r);
		sbx_config_release(&cfg);
		t[0][n[0]++] = pl_now() - t0;

		/* read-only root: the sandbox alone */
		t0 = pl_now();
		sbx_config_init(&cfg);
		sbx_config_set_rootfs(&cfg, root.ptr);
		run_true(&cfg);
		sbx_config_release(&cfg);
		t[1][n[1]++] = pl_now() - t0;

		/* a hard-link copy per run */
		t0 = pl_now();
		pl_buf_reset(&cmd);
		pl_buf_printf(&cmd, "cp -al '%s' '%s'", root.ptr, copy.ptr);
		sh(cmd.ptr);
		sbx_config_init(&cfg);
		sbx_config_set_rootfs(&cfg, copy.ptr);
		run_true(&cfg);
		sbx_config_release(&cfg);
		pl_buf_reset(&cmd);
		pl_buf_printf(&cmd, "rm -rf '%s'", copy.ptr);
		sh(cmd.ptr);
		t[2][n[2]++] = pl_now() - t0;

		/* a full copy per run, now and then */
		if (i % full_every == 0) {
			t0 = pl_now();
			pl_buf_reset(&cmd);
			pl_buf_printf(&cmd, "cp -a '%s' '%s'", root.ptr, copy.ptr);
			sh(cmd.ptr);
			sbx_config_init(&cfg);
			sbx_config_set_rootfs(&cfg, copy.ptr);
			run_true(&cfg);
			sbx_config_release(&cfg);
			pl_buf_reset(&cmd);
			pl_buf_printf(&cmd, "rm -rf '%s'", copy.ptr);
			sh(cmd.ptr);
			t[3][n[3]++] = pl_now() - t0;
		}

		/* the command line */
		t0 = pl_now();
		pl_buf_reset(&cmd);
		pl_buf_printf(&cmd, "'%s' image run --store '%s' '%s' -- /bin/true", argv[3], argv[1], argv[2]);
		sh(cmd.ptr);
		t[4][n[4]++] = pl_now() - t0;
	}
	printf("starting /bin/true over %s (%.1f MiB unpacked), wall time per run, start to removal:\n", argv[2],
	       (double)im.root_bytes / 1048576.0);
	report("overlay", t[0], n[0]);
	report("read-only", t[1], n[1]);
	report("cp -al", t[2], n[2]);
	report("cp -a", t[3], n[3]);
	report("plait CLI", t[4], n[4]);
	for (i = 0; i < 5; i++)
		free(t[i]);
	img_image_release(&im);
	img_store_close(s);
	pl_buf_release(&root);
	pl_buf_release(&cmd);
	pl_buf_release(&copy);
	return 0;
}
