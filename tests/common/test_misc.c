/* Logging, system facts and the CLI helpers. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

static char *log_to_string(pl_log_level level, void (*fn)(const pl_log *))
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	pl_log lg;

	pl_log_init(&lg, level, f);
	fn(&lg);
	fclose(f);
	return text;
}

static void emit(const pl_log *lg)
{
	pl_log_error(lg, "e%d", 1);
	pl_log_warn(lg, "w");
	pl_log_info(lg, "i");
	pl_log_debug(lg, "d");
}

Test(log, levels_filter)
{
	char *s = log_to_string(PL_LOG_WARN, emit);

	cr_assert_str_eq(s, "error: e1\nwarning: w\n");
	free(s);
	s = log_to_string(PL_LOG_DEBUG, emit);
	cr_assert_str_eq(s, "error: e1\nwarning: w\ninfo: i\ndebug: d\n");
	free(s);
	s = log_to_string(PL_LOG_ERROR, emit);
	cr_assert_str_eq(s, "error: e1\n");
	free(s);
}

Test(sys, sysinfo_is_plausible)
{
	pl_sysinfo si;
	double t0, t1;

	cr_assert_eq(pl_sysinfo_read(&si, NULL), 0);
	cr_assert_gt(si.cores_online, 0);
	cr_assert_geq(si.cores_configured, si.cores_online);
	cr_assert_gt(si.mem_total, 64ull << 20);
	cr_assert_leq(si.mem_available, si.mem_total);
	cr_assert_gt(strlen(si.kernel), 0);
	cr_assert_gt(strlen(si.os), 0);
	cr_assert_eq(si.page_size & (si.page_size - 1), 0);
	t0 = pl_now();
	t1 = pl_now();
	cr_assert_geq(t1, t0);
}
