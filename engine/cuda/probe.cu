/* probe.cu - ask the CUDA runtime which devices it can use.
 *
 * Compiled only when nvcc is found; gpu_probe.c calls it through a plain C
 * symbol so the rest of the engine stays C. */
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

extern "C" {
#include "engine/engine.h"

int eng_cuda_runtime_probe(eng_gpu_report *r)
{
	int n = 0, i;
	cudaError_t e;

	r->probe = "cuda-runtime";
	cudaRuntimeGetVersion(&r->runtime_version);
	if (cudaDriverGetVersion(&r->driver_version) == cudaSuccess && r->driver_version > 0)
		r->driver_found = true;
	e = cudaGetDeviceCount(&n);
	if (e != cudaSuccess) {
		snprintf(r->note, sizeof(r->note), "CUDA runtime: %s", cudaGetErrorString(e));
		return (int)e;
	}
	for (i = 0; i < n && r->count < (int)(sizeof(r->devices) / sizeof(r->devices[0])); i++) {
		eng_gpu_info *g = &r->devices[r->count];
		cudaDeviceProp p;
		size_t fr = 0, tot = 0;

		if (cudaGetDeviceProperties(&p, i) != cudaSuccess)
			continue;
		snprintf(g->name, sizeof(g->name), "%.127s", p.name);
		g->cc_major = p.major;
		g->cc_minor = p.minor;
		g->sm_count = p.multiProcessorCount;
		g->mem_total = p.totalGlobalMem;
		if (cudaSetDevice(i) == cudaSuccess && cudaMemGetInfo(&fr, &tot) == cudaSuccess)
			g->mem_free = fr;
		r->count++;
	}
	return 0;
}
}
