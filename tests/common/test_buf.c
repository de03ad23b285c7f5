#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

Test(buf, init_is_empty_and_terminated)
{
	pl_buf b = PL_BUF_INIT;

	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, 0);
	cr_assert_not_null(b.ptr);
	cr_assert_str_eq(b.ptr, "");
	pl_buf_release(&b);
	pl_buf_release(&b); /* twice is fine */
	cr_assert_str_eq(b.ptr, "");
}

Test(buf, add_grows_and_keeps_nul_bytes)
{
	pl_buf b = PL_BUF_INIT;
	size_t i;

	for (i = 0; i < 10000; i++)
		pl_buf_add(&b, "ab\0", 3);
	cr_assert_eq(b.len, 30000);
	cr_assert_eq(b.ptr[2], '\0');
	cr_assert_eq(b.ptr[3], 'a');
	cr_assert_eq(b.ptr[b.len], '\0');
	cr_assert_geq(b.cap, b.len + 1);
	pl_buf_release(&b);
}

Test(buf, printf_appends_long_output)
{
	pl_buf b = PL_BUF_INIT;
	char big[5000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	pl_buf_puts(&b, "head:");
	pl_buf_printf(&b, "%d-%s-%s", 42, "mid", big);
	cr_assert_eq(b.len, 5 + 7 + 4999);
	cr_assert(pl_str_starts_with(b.ptr, "head:42-mid-xxx"));
	cr_assert_eq(strlen(b.ptr), b.len);
	pl_buf_release(&b);
}

Test(buf, add_from_itself_is_safe)
{
	pl_buf b = PL_BUF_INIT;
	int i;

	pl_buf_puts(&b, "abc");
	for (i = 0; i < 8; i++)
		pl_buf_add(&b, b.ptr, b.len); /* may reallocate the source */
	cr_assert_eq(b.len, 3u << 8);
	cr_assert_eq(memcmp(b.ptr + b.len - 3, "abc", 3), 0);
	pl_buf_release(&b);
}

Test(buf, detach_transfers_ownership)
{
	pl_buf b = PL_BUF_INIT;
	size_t len;
	char *s;

	s = pl_buf_detach(&b, &len); /* empty buffer still gives a string */
	cr_assert_str_eq(s, "");
	cr_assert_eq(len, 0);
	free(s);
	pl_buf_puts(&b, "hello");
	s = pl_buf_detach(&b, &len);
	cr_assert_str_eq(s, "hello");
	cr_assert_eq(len, 5);
	cr_assert_eq(b.len, 0);
	cr_assert_str_eq(b.ptr, "");
	free(s);
	pl_buf_puts(&b, "again"); /* reusable */
	cr_assert_str_eq(b.ptr, "again");
	pl_buf_release(&b);
}

Test(buf, setlen_rtrim_reset)
{
	pl_buf b = PL_BUF_INIT;

	pl_buf_puts(&b, "text \t\r\n\n");
	pl_buf_rtrim(&b);
	cr_assert_str_eq(b.ptr, "text");
	pl_buf_setlen(&b, 2);
	cr_assert_str_eq(b.ptr, "te");
	pl_buf_reset(&b);
	cr_assert_str_eq(b.ptr, "");
	pl_buf_rtrim(&b); /* on empty */
	cr_assert_eq(b.len, 0);
	pl_buf_release(&b);
}

Test(buf, setlen_past_end_is_a_bug, .signal = SIGABRT)
{
	pl_buf b = PL_BUF_INIT;

	pl_buf_puts(&b, "ab");
	pl_buf_setlen(&b, 3);
}

Test(buf, truncated_keeps_head_and_tail)
{
	pl_buf b = PL_BUF_INIT;
	char in[1000];
	size_t i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (char)('a' + i % 26);
	pl_buf_add_truncated(&b, in, sizeof(in), 100);
	cr_assert(pl_str_starts_with(b.ptr, "abcdefghij"));
	cr_assert_not_null(strstr(b.ptr, "[... 900 bytes cut ...]"));
	cr_assert_eq(memcmp(b.ptr + b.len - 50, in + 950, 50), 0);
	pl_buf_reset(&b);
	pl_buf_add_truncated(&b, "short", 5, 100);
	cr_assert_str_eq(b.ptr, "short");
	pl_buf_release(&b);
}

Test(buf, init_with_hint_allocates)
{
	pl_buf b;

	pl_buf_init(&b, 100);
	cr_assert_geq(b.cap, 101);
	cr_assert_str_eq(b.ptr, "");
	pl_buf_release(&b);
}
