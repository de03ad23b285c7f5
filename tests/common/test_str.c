#include <criterion/criterion.h>
#include <string.h>

#include "common/common.h"

Test(str, prefixes_and_suffixes)
{
	cr_assert(pl_str_starts_with("model.safetensors", "model."));
	cr_assert_not(pl_str_starts_with("mod", "model"));
	cr_assert(pl_str_ends_with("a.jsonl.xz", ".xz"));
	cr_assert_not(pl_str_ends_with("xz", ".xz"));
	cr_assert(pl_str_ends_with("", ""));
}

Test(str, parse_i64_accepts_and_rejects)
{
	pl_err err = { 0 };
	int64_t v = 0;

	cr_assert_eq(pl_parse_i64(&v, "-12", -100, 100, &err), 0);
	cr_assert_eq(v, -12);
	cr_assert_eq(pl_parse_i64(&v, "12x", 0, 100, &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "'12x' is not an integer");
	cr_assert_eq(pl_parse_i64(&v, "", 0, 100, &err), PL_EINVAL);
	cr_assert_eq(pl_parse_i64(&v, "101", 0, 100, &err), PL_EINVAL);
	cr_assert_str_eq(err.msg, "101 is out of range [0, 100]");
	cr_assert_eq(pl_parse_i64(&v, "99999999999999999999", INT64_MIN, INT64_MAX, &err), PL_EINVAL);
	cr_assert_eq(v, -12); /* untouched on failure */
}

Test(str, parse_f64)
{
	pl_err err = { 0 };
	double d = 0;

	cr_assert_eq(pl_parse_f64(&d, "0.25", &err), 0);
	cr_assert_float_eq(d, 0.25, 1e-12);
	cr_assert_eq(pl_parse_f64(&d, "0.2.5", &err), PL_EINVAL);
	cr_assert_eq(pl_parse_f64(&d, "nan", &err), PL_EINVAL);
	cr_assert_eq(pl_parse_f64(&d, "1e999", &err), PL_EINVAL);
	cr_assert_eq(pl_parse_f64(&d, NULL, &err), PL_EINVAL);
}

Test(str, parse_size_units)
{
	pl_err err = { 0 };
	uint64_t n = 0;

	cr_assert_eq(pl_parse_size(&n, "4096", &err), 0);
	cr_assert_eq(n, 4096);
	cr_assert_eq(pl_parse_size(&n, "64K", &err), 0);
	cr_assert_eq(n, 65536);
	cr_assert_eq(pl_parse_size(&n, "512MiB", &err), 0);
	cr_assert_eq(n, 512ull << 20);
	cr_assert_eq(pl_parse_size(&n, "2g", &err), 0);
	cr_assert_eq(n, 2ull << 30);
	cr_assert_eq(pl_parse_size(&n, "1TB", &err), 0);
	cr_assert_eq(n, 1ull << 40);
	cr_assert_eq(pl_parse_size(&n, "-1", &err), PL_EINVAL);
	cr_assert_eq(pl_parse_size(&n, "12Q", &err), PL_EINVAL);
	cr_assert_not_null(strstr(err.msg, "unknown size suffix"));
	cr_assert_eq(pl_parse_size(&n, "M", &err), PL_EINVAL);
	cr_assert_eq(pl_parse_size(&n, "99999999999T", &err), PL_EINVAL);
	cr_assert_eq(pl_parse_size(&n, "5Kx", &err), PL_EINVAL);
}

Test(str, fmt_size)
{
	char b[32];

	cr_assert_str_eq(pl_fmt_size(b, sizeof(b), 512), "512 B");
	cr_assert_str_eq(pl_fmt_size(b, sizeof(b), 1536), "1.5 KiB");
	cr_assert_str_eq(pl_fmt_size(b, sizeof(b), 15230000000ull), "14.2 GiB");
}
