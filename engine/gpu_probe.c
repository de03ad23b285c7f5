/* gpu_probe.c - what GPU and driver this machine has.
 *
 * With the CUDA backend built, the CUDA runtime answers, from the CUDA
 * module opened at first use (cuda/module.h, cuda/probe.cu).  Without it,
 * or when the module cannot be opened, we still load the driver library by
 * hand, so that `plait doctor` can say "there is an H100 here, but this
 * build cannot use it". */
#define _GNU_SOURCE
#include "engine/engine.h"

#include <dlfcn.h>
#include <string.h>

#ifdef PLAIT_HAVE_CUDA
#include "engine/cuda/module.h"
#endif

/* The driver API, declared by hand: the CPU build must not need CUDA headers. */
typedef int (*cu_init_fn)(unsigned);
typedef int (*cu_int_fn)(int *);
typedef int (*cu_dev_get_fn)(int *, int);
typedef int (*cu_dev_name_fn)(char *, int, int);
typedef int (*cu_dev_mem_fn)(size_t *, int);
typedef int (*cu_dev_attr_fn)(int *, int, int);

enum { CU_ATTR_SM_COUNT = 16, CU_ATTR_CC_MAJOR = 75, CU_ATTR_CC_MINOR = 76 };

static void driver_probe(eng_gpu_report *r)
{
	void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	cu_init_fn cu_init;
	cu_int_fn cu_driver_version, cu_count;
	cu_dev_get_fn cu_dev_get;
	cu_dev_name_fn cu_dev_name;
	cu_dev_mem_fn cu_dev_mem;
	cu_dev_attr_fn cu_dev_attr;
	int n = 0, i, rc;

	r->probe = "driver";
	if (!lib) {
		snprintf(r->note, sizeof(r->note), "no NVIDIA driver (libcuda.so.1 not found)");
		return;
	}
	r->driver_found = true;
	cu_init = (cu_init_fn)dlsym(lib, "cuInit");
	cu_driver_version = (cu_int_fn)dlsym(lib, "cuDriverGetVersion");
	cu_count = (cu_int_fn)dlsym(lib, "cuDeviceGetCount");
	cu_dev_get = (cu_dev_get_fn)dlsym(lib, "cuDeviceGet");
	cu_dev_name = (cu_dev_name_fn)dlsym(lib, "cuDeviceGetName");
	cu_dev_mem = (cu_dev_mem_fn)dlsym(lib, "cuDeviceTotalMem_v2");
	cu_dev_attr = (cu_dev_attr_fn)dlsym(lib, "cuDeviceGetAttribute");
	if (!cu_init || !cu_driver_version || !cu_count || !cu_dev_get || !cu_dev_name || !cu_dev_mem ||
	    !cu_dev_attr) {
		snprintf(r->note, sizeof(r->note), "libcuda.so.1 lacks the expected driver API symbols");
		goto done;
	}
	cu_driver_version(&r->driver_version);
	if ((rc = cu_init(0)) != 0) {
		snprintf(r->note, sizeof(r->note), "cuInit failed with CUDA error %d", rc);
		goto done;
	}
	if (cu_count(&n) != 0 || n == 0) {
		snprintf(r->note, sizeof(r->note), "the driver reports no CUDA devices");
		goto done;
	}
	for (i = 0; i < n && r->count < (int)PL_ARRAY_LEN(r->devices); i++) {
		eng_gpu_info *g = &r->devices[r->count];
		int dev;
		size_t mem = 0;

		if (cu_dev_get(&dev, i) != 0)
			continue;
		cu_dev_name(g->name, (int)sizeof(g->name), dev);
		cu_dev_mem(&mem, dev);
		g->mem_total = mem;
		cu_dev_attr(&g->cc_major, CU_ATTR_CC_MAJOR, dev);
		cu_dev_attr(&g->cc_minor, CU_ATTR_CC_MINOR, dev);
		cu_dev_attr(&g->sm_count, CU_ATTR_SM_COUNT, dev);
		r->count++;
	}
done:
	dlclose(lib);
}

void eng_gpu_probe(eng_gpu_report *report)
{
	memset(report, 0, sizeof(*report));
#ifdef PLAIT_HAVE_CUDA
	const eng_cuda_ops *ops;
	const char *path;
	pl_err err = { 0 };

	if (eng__cuda_module_load(&ops, &path, &err) < 0) {
		/* The driver can still say what GPUs there are. */
		driver_probe(report);
		snprintf(report->module_error, sizeof(report->module_error), "%s", err.msg);
		return;
	}
	report->probe = "cuda-runtime";
	report->module = path;
	{
		const eng_cuda_ops_v2 *v2;

		if (eng__cuda_module_load_v2(&v2, &err) == 0)
			report->backend_ready = true;
		else
			snprintf(report->backend_note, sizeof(report->backend_note), "%s", err.msg);
	}
	if (ops->runtime_probe(report) == 0)
		return;
	/* The runtime could not start (no driver, or too old): fall through to
	 * the driver probe for a precise reason, keeping the runtime's note. */
	{
		char note[sizeof(report->note)];
		int rt = report->runtime_version;

		memcpy(note, report->note, sizeof(note));
		bool ready = report->backend_ready;
		char bnote[sizeof(report->backend_note)];

		memcpy(bnote, report->backend_note, sizeof(bnote));
		memset(report, 0, sizeof(*report));
		driver_probe(report);
		report->runtime_version = rt;
		report->module = path;
		report->backend_ready = ready;
		memcpy(report->backend_note, bnote, sizeof(bnote));
		/* Without a driver the driver probe's reason is the clearer one. */
		if (report->count == 0 && report->driver_found)
			snprintf(report->note, sizeof(report->note), "%s", note);
	}
#else
	driver_probe(report);
#endif
}
