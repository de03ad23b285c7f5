/*
 * engine.h - the PLT inference engine's public interface.
 *
 * Depends on common/ only; knows nothing of tools, sandbox or agent.
 * Prefix: eng_.
 *
 * This first part is what the engine can tell about the machine and the
 * model directories it is pointed at; loading, sessions and generation are
 * added by the engine issues.
 */
#ifndef PLAIT_ENGINE_H
#define PLAIT_ENGINE_H

#include "common/common.h"

/* ------------------------------------------------------------ backends */

/* Names of the compute backends compiled into this build, in order of
 * preference ("cuda" first when built, then "cpu"). NULL-terminated. */
const char *const *eng_backends_built(void);
bool eng_backend_is_built(const char *name);

/* ------------------------------------------------------------ CPU */

/* SIMD features that matter to the CPU kernels, as the kernel reports them
 * in /proc/cpuinfo (so they are also enabled by the OS).  Returns a JSON
 * array of names, in a fixed order, of those present. */
json_t *eng_cpu_features(void);

/* ------------------------------------------------------------ GPU */

typedef struct eng_gpu_info {
	char name[128];
	int cc_major, cc_minor; /* compute capability */
	int sm_count;           /* 0 when not known (driver-only probe) */
	uint64_t mem_total;     /* bytes */
	uint64_t mem_free;      /* bytes; 0 when not known */
} eng_gpu_info;

typedef struct eng_gpu_report {
	bool driver_found;    /* libcuda.so.1 could be loaded */
	int driver_version;   /* e.g. 13000 for 13.0; 0 when unknown */
	int runtime_version;  /* CUDA runtime linked in; 0 when not built */
	const char *probe;    /* "cuda-runtime" or "driver" */
	int count;            /* devices found */
	eng_gpu_info devices[16];
	char note[256];       /* why nothing was found, when count == 0 */
} eng_gpu_report;

/* Asks the CUDA runtime when the CUDA backend is built, else the driver
 * (dlopen of libcuda.so.1).  Never fails: what it could not learn is in
 * report->note. */
void eng_gpu_probe(eng_gpu_report *report);

/* ------------------------------------------------------------ models */

/* Find model directories (a directory holding config.json) at `dir` itself
 * and one level below it.  Appends one JSON object per model to `out` (an
 * array): path, architecture, loops, layers, hidden size, weight files and
 * bytes, tokenizer presence, and "problems" (a list of strings) for what
 * would stop it from loading.  A missing `dir` appends nothing. */
int eng_models_scan(json_t *out, const char *dir, pl_err *err);

#endif /* PLAIT_ENGINE_H */
