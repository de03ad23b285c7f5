/* sys.c - facts about the machine: OS, CPU, cores, memory, clocks. */
#define _GNU_SOURCE
#include "common.h"

#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* Copy the value of `key=value` or `key : value` from a line, unquoted. */
static void copy_value(char *dst, size_t dstsz, const char *v)
{
	size_t n;

	while (*v == ' ' || *v == '\t' || *v == ':' || *v == '=')
		v++;
	if (*v == '"')
		v++;
	snprintf(dst, dstsz, "%s", v);
	n = strlen(dst);
	while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == '"' || dst[n - 1] == ' '))
		dst[--n] = '\0';
}

static uint64_t meminfo_kb(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	unsigned long long kb = 0;

	if (p && sscanf(p + strlen(key), " %llu", &kb) == 1)
		return (uint64_t)kb * 1024;
	return 0;
}

int pl_sysinfo_read(pl_sysinfo *out, pl_err *err)
{
	struct utsname u;
	pl_buf b = PL_BUF_INIT;
	char *line, *save;

	memset(out, 0, sizeof(*out));
	if (uname(&u) < 0)
		return pl_err_sys(err, PL_ESYS, "uname failed");
	snprintf(out->kernel, sizeof(out->kernel), "%s %s", u.sysname, u.release);
	snprintf(out->arch, sizeof(out->arch), "%s", u.machine);
	snprintf(out->os, sizeof(out->os), "%s", u.sysname);

	if (pl_file_read(&b, "/etc/os-release", 1 << 16, NULL) == 0) {
		for (line = strtok_r(b.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (pl_str_starts_with(line, "PRETTY_NAME="))
				copy_value(out->os, sizeof(out->os), line + strlen("PRETTY_NAME"));
	}
	pl_buf_reset(&b);
	if (pl_file_read(&b, "/proc/cpuinfo", 16 << 20, NULL) == 0) {
		for (line = strtok_r(b.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (pl_str_starts_with(line, "model name")) {
				copy_value(out->cpu_model, sizeof(out->cpu_model), line + strlen("model name"));
				break;
			}
	}
	pl_buf_reset(&b);
	if (pl_file_read(&b, "/proc/meminfo", 1 << 16, NULL) == 0) {
		out->mem_total = meminfo_kb(b.ptr, "MemTotal:");
		out->mem_available = meminfo_kb(b.ptr, "MemAvailable:");
	}
	pl_buf_release(&b);
	out->cores_online = (int)sysconf(_SC_NPROCESSORS_ONLN);
	out->cores_configured = (int)sysconf(_SC_NPROCESSORS_CONF);
	out->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	if (!out->mem_total)
		out->mem_total = (uint64_t)sysconf(_SC_PHYS_PAGES) * out->page_size;
	return 0;
}

double pl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
