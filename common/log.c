/* log.c - leveled logging to a stream the program's owner chose. */
#include "common.h"

#include <time.h>

void pl_log_init(pl_log *lg, pl_log_level level, FILE *out)
{
	lg->level = level;
	lg->out = out;
	lg->color = false;
}

void pl_logf(const pl_log *lg, pl_log_level level, const char *fmt, ...)
{
	static const char *tags[] = { "error", "warning", "info", "debug" };
	static const char *colors[] = { "\033[31m", "\033[33m", "\033[36m", "\033[2m" };
	pl_log_level max = lg ? lg->level : PL_LOG_WARN;
	FILE *out = lg && lg->out ? lg->out : stderr;
	bool color = lg && lg->color;
	va_list ap;

	if (level > max)
		return;
	flockfile(out);
	if (color)
		fprintf(out, "%s%s\033[0m: ", colors[level], tags[level]);
	else
		fprintf(out, "%s: ", tags[level]);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	funlockfile(out);
	fflush(out);
}
