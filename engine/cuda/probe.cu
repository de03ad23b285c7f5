/* probe.cu - ask the CUDA runtime which devices it can use.
 *
 * Part of libplait-cuda.so, the CUDA module (cuda/module.h): the engine
 * reaches it through the module's tables (_v1 for the probe, and the
 * backend's _v2 table, which offers it too), never by symbol. */
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

#include "engine/cuda/cuda.h"

namespace ecu
{

int runtime_probe(eng_gpu_report *r)
{
	int n = 0, i;
	cudaError_t e;

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

static const eng_cuda_ops ops = {
	1,
	sizeof(eng_cuda_ops),
	runtime_probe,
};

} /* namespace ecu */

/* The one symbol the module exports (the version script hides the rest,
 * cudart's included). */
extern "C" __attribute__((visibility("default"))) const eng_cuda_ops *eng_cuda_module_v1(void)
{
	return &ecu::ops;
}
