/*
 * bench.h - SWE-bench Verified and Multi-SWE-bench: inference over the
 * instances and evaluation with the official formats and grading, without
 * a Docker daemon.
 *
 * Depends on agent/, tools/, sandbox/ and common/.  Prefix: bench_.
 *
 * This first part finds the dataset files in the configured data
 * directories; the harness itself comes with the benchmark issues.
 */
#ifndef PLAIT_BENCH_H
#define PLAIT_BENCH_H

#include "common/common.h"

/* Append one object per dataset file found directly in `dir` (names ending
 * in .jsonl, .jsonl.xz or .json): path, bytes, compressed, and for plain
 * .jsonl the instance count (non-empty lines).  A missing dir adds nothing. */
int bench_datasets_scan(json_t *out, const char *dir, pl_err *err);

#endif /* PLAIT_BENCH_H */
