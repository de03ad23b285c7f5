/* cpu_features.c - SIMD features the CPU kernels can use.
 *
 * Read from /proc/cpuinfo rather than CPUID: the kernel lists a feature only
 * when the OS also saves its registers (AVX-512 state, AMX tiles), which is
 * what decides whether a kernel may use it. */
#define _GNU_SOURCE
#include "engine/engine.h"

#include <string.h>

/* In the order a reader wants to see them, oldest first. */
static const char *const wanted[] = {
	"sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
	"avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "asimd", "sve",
};

static bool has_flag(const char *flags, const char *name)
{
	size_t n = strlen(name);
	const char *p = flags;

	while ((p = strstr(p, name)) != NULL) {
		bool start = p == flags || p[-1] == ' ' || p[-1] == '\t' || p[-1] == ':';
		bool end = p[n] == ' ' || p[n] == '\n' || p[n] == '\0';

		if (start && end)
			return true;
		p += n;
	}
	return false;
}

json_t *eng_cpu_features(void)
{
	pl_buf b = PL_BUF_INIT;
	json_t *arr = json_array();
	char *line;
	size_t i;

	if (pl_file_read(&b, "/proc/cpuinfo", 16 << 20, NULL) < 0)
		goto done;
	/* x86 says "flags", arm64 says "Features"; the first CPU is enough. */
	line = strstr(b.ptr, "\nflags");
	if (!line)
		line = strstr(b.ptr, "\nFeatures");
	if (!line)
		goto done;
	line++;
	*strchrnul(line, '\n') = '\0';
	for (i = 0; i < PL_ARRAY_LEN(wanted); i++)
		if (has_flag(line, wanted[i]))
			json_array_append_new(arr, json_string(wanted[i]));
done:
	pl_buf_release(&b);
	return arr;
}
