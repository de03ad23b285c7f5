/* str.c - small string and number parsing helpers with proper errors. */
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

bool pl_str_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool pl_str_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

int pl_parse_i64(int64_t *out, const char *s, int64_t min, int64_t max, pl_err *err)
{
	char *end;
	long long v;

	if (!s || !*s)
		return pl_err_set(err, PL_EINVAL, "expected an integer, got an empty string");
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return pl_err_set(err, PL_EINVAL, "'%s' is not an integer", s);
	if (errno == ERANGE || v < min || v > max)
		return pl_err_set(err, PL_EINVAL, "%s is out of range [%lld, %lld]", s, (long long)min,
				  (long long)max);
	*out = v;
	return 0;
}

int pl_parse_f64(double *out, const char *s, pl_err *err)
{
	char *end;
	double v;

	if (!s || !*s)
		return pl_err_set(err, PL_EINVAL, "expected a number, got an empty string");
	errno = 0;
	v = strtod(s, &end);
	if (*end != '\0')
		return pl_err_set(err, PL_EINVAL, "'%s' is not a number", s);
	if (errno == ERANGE || !isfinite(v))
		return pl_err_set(err, PL_EINVAL, "'%s' is out of range", s);
	*out = v;
	return 0;
}

int pl_parse_size(uint64_t *out, const char *s, pl_err *err)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (!s || !*s || *s == '-')
		return pl_err_set(err, PL_EINVAL, "'%s' is not a size (examples: 4096, 64K, 512M, 2G)",
				  s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 10);
	if (end == s)
		return pl_err_set(err, PL_EINVAL, "'%s' is not a size (examples: 4096, 64K, 512M, 2G)", s);
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mult = 1ull << 10; end++; break;
	case 'm': case 'M': mult = 1ull << 20; end++; break;
	case 'g': case 'G': mult = 1ull << 30; end++; break;
	case 't': case 'T': mult = 1ull << 40; end++; break;
	default:
		return pl_err_set(err, PL_EINVAL, "'%s': unknown size suffix (use K, M, G or T)", s);
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end != '\0')
		return pl_err_set(err, PL_EINVAL, "'%s' is not a size (examples: 4096, 64K, 512M, 2G)", s);
	if (errno == ERANGE || v > UINT64_MAX / mult)
		return pl_err_set(err, PL_EINVAL, "size '%s' is too large", s);
	*out = (uint64_t)v * mult;
	return 0;
}

const char *pl_fmt_size(char *buf, size_t bufsz, uint64_t bytes)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024.0 && u + 1 < PL_ARRAY_LEN(units)) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, bufsz, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, bufsz, "%.1f %s", v, units[u]);
	return buf;
}
