/* bench_test.h - what the bench-harness tests share: the published
 * datasets, temporary directories, files. */
#ifndef PLAIT_BENCH_TEST_H
#define PLAIT_BENCH_TEST_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "bench-harness/bench.h"

/*
 * The directory holding the published datasets (swe-bench-verified.jsonl.xz
 * ...): $PLAIT_BENCH_DATASETS, else $PLAIT_ROOT/../shared/datasets.  Fills
 * out with NAME inside it and returns true when that file exists.
 */
static inline bool bench_test_dataset(pl_buf *out, const char *name)
{
	const char *dir = getenv("PLAIT_BENCH_DATASETS"), *root = getenv("PLAIT_ROOT");

	pl_buf_reset(out);
	if (dir && *dir) {
		pl_path_join(out, dir, name);
	} else {
		pl_path_join(out, root && *root ? root : ".", "../shared/datasets");
		pl_buf_puts(out, "/");
		pl_buf_puts(out, name);
	}
	return pl_file_exists(out->ptr);
}

static inline void bench_test_write(const char *dir, const char *name, const char *text)
{
	pl_buf p = PL_BUF_INIT;

	pl_path_join(&p, dir, name);
	cr_assert_eq(pl_file_write_atomic(p.ptr, text, strlen(text), 0644, NULL), 0, "writing %s", p.ptr);
	pl_buf_release(&p);
}

#endif
