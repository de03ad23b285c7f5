/* module.h - the seam between the engine and its CUDA module (internal to
 * engine/; included by the .cu side and the C side alike).
 *
 * The CUDA code and the static CUDA runtime live in one shared object,
 * libplait-cuda.so, that the engine opens with dlopen the first time a
 * command needs CUDA.  Linked into plait, cudart_static's constructors
 * (runtime start, fatbinary registration) and atexit handlers ran at every
 * invocation, `plait --version` included: a third of the program's start.
 *
 * The module exports one symbol, ENG_CUDA_MODULE_SYMBOL, a function that
 * returns a table of function pointers (ggml's backend tables are the
 * model).  The "_v1" in the name is the ABI: a change that breaks the table
 * gets a new symbol, so an old module and a new plait refuse each other by
 * name instead of calling through a wrong layout.  Within one ABI, entries
 * are only appended, and `size` tells the engine which ones a module has.
 * Nothing in the table may use plait's other libraries: the module cannot
 * see the program's symbols (plait exports none).
 */
#ifndef PLAIT_ENGINE_CUDA_MODULE_H
#define PLAIT_ENGINE_CUDA_MODULE_H

#include "engine/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ENG_CUDA_MODULE_SYMBOL "eng_cuda_module_v1"
#define ENG_CUDA_MODULE_FILE "libplait-cuda.so"

typedef struct eng_cuda_ops {
	unsigned abi;  /* 1 */
	unsigned size; /* sizeof(eng_cuda_ops) as the module was built */
	/* Fills report from the CUDA runtime (devices, runtime and driver
	 * versions); returns 0, or a CUDA error number with a message in
	 * report->note. */
	int (*runtime_probe)(eng_gpu_report *report);
} eng_cuda_ops;

typedef const eng_cuda_ops *(*eng_cuda_module_fn)(void);

/* The module's one export (engine/cuda/probe.cu). */
const eng_cuda_ops *eng_cuda_module_v1(void);

/* Opens the module at `path` (no search) and returns its table in *out.
 * The error quotes the loader's reason (dlerror) or says which symbol or
 * ABI is wrong.  A module opened is never closed. */
int eng__cuda_module_open(const eng_cuda_ops **out, const char *path, pl_err *err);

/* Finds and opens the module once per process (thread-safe): the file
 * named by PLAIT_CUDA_MODULE when set (nothing else is tried then), else,
 * in the directory D of the running program (/proc/self/exe),
 * D/lib/libplait-cuda.so (build tree: build/plait), D/../lib/libplait-cuda.so
 * (test and bench programs under build/), D/../lib/plait/libplait-cuda.so
 * (installed: PREFIX/bin/plait).  *path_out (may be NULL) is the file
 * loaded, valid for the process.  The error lists every path tried with
 * the loader's reason, and what to do. */
int eng__cuda_module_load(const eng_cuda_ops **out, const char **path_out, pl_err *err);

#ifdef __cplusplus
}
#endif

#endif
