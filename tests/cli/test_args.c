/* The option parser, typed values, id lists and error printers every
 * command's front-end shares (cli/args.c), in process. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

enum { O_JSON = 1, O_MODEL, O_NUM, O_VERBOSE };

static const cli_opt opts[] = {
	{ "json", 0, false, O_JSON },
	{ "model", 'm', true, O_MODEL },
	{ "num", 0, true, O_NUM },
	{ "verbose", 'v', false, O_VERBOSE },
	{ NULL, 0, false, 0 },
};

static const cli_ctx ctx = { NULL, "plait" };

/* Every id cli_next returns for argv, as "id:value" words, and the last. */
static int parse(pl_buf *trace, int argc, char **argv, bool dashdash_stops)
{
	const char *v;
	cli_args a;
	int id;

	cli_args_init(&a, argc, argv, 1, "x", opts, &ctx);
	a.dashdash_stops = dashdash_stops;
	while ((id = cli_next(&a, &v)) > 0 || id == CLI_POS)
		pl_buf_printf(trace, "%d:%s ", id, v ? v : "-");
	return id == CLI_END ? a.i : id;
}

Test(args, long_short_attached_and_positional_forms)
{
	char *argv[] = { "x", "--json", "--model", "a", "--model=b", "-m", "c", "-md", "pos", "-", "-v", NULL };
	pl_buf t = PL_BUF_INIT;

	cr_assert_eq(parse(&t, 11, argv, false), 11);
	cr_assert_str_eq(t.ptr, "1:- 2:a 2:b 2:c 2:d -1:pos -1:- 4:- ");
	pl_buf_release(&t);
}

Test(args, double_dash_makes_the_rest_positional_or_stops)
{
	char *argv[] = { "x", "--json", "--", "--model", "-v", NULL };
	pl_buf t = PL_BUF_INIT;

	cr_assert_eq(parse(&t, 5, argv, false), 5);
	cr_assert_str_eq(t.ptr, "1:- -1:--model -1:-v ");
	pl_buf_reset(&t);
	/* stopping: the pass ends with i at the first word after "--" */
	cr_assert_eq(parse(&t, 5, argv, true), 3);
	cr_assert_str_eq(t.ptr, "1:- ");
	pl_buf_release(&t);
}

Test(args, unknown_option_is_a_printed_usage_error, .init = cr_redirect_stderr)
{
	char *argv[] = { "x", "--bogus=3", NULL };
	pl_buf t = PL_BUF_INIT;

	cr_assert_eq(parse(&t, 2, argv, false), CLI_BAD);
	fflush(stderr);
	cr_assert_stderr_eq_str("plait x: unknown option '--bogus'\ntry 'plait x --help'\n");
	pl_buf_release(&t);
}

Test(args, missing_value_is_a_printed_usage_error, .init = cr_redirect_stderr)
{
	char *argv[] = { "x", "--json", "--model", NULL };
	pl_buf t = PL_BUF_INIT;

	cr_assert_eq(parse(&t, 3, argv, false), CLI_BAD);
	fflush(stderr);
	cr_assert_stderr_eq_str("plait x: --model needs a value\ntry 'plait x --help'\n");
	pl_buf_release(&t);
}

Test(args, value_given_to_a_flag_is_refused, .init = cr_redirect_stderr)
{
	char *argv[] = { "x", "--json=yes", NULL };
	pl_buf t = PL_BUF_INIT;

	cr_assert_eq(parse(&t, 2, argv, false), CLI_BAD);
	fflush(stderr);
	cr_assert_stderr_eq_str("plait x: --json takes no value\ntry 'plait x --help'\n");
	pl_buf_release(&t);
}

Test(args, bundled_short_flags_are_refused_with_a_hint, .init = cr_redirect_stderr)
{
	char *argv[] = { "x", "-vm", NULL };
	pl_buf t = PL_BUF_INIT;

	cr_assert_eq(parse(&t, 2, argv, false), CLI_BAD);
	fflush(stderr);
	cr_assert_stderr_eq_str("plait x: -v takes no value (write options apart: '-v -m')\ntry 'plait x --help'\n");
	pl_buf_release(&t);
}

Test(args, typed_values_name_the_option, .init = cr_redirect_stderr)
{
	char *argv[] = { "x", "--num", "12x", NULL };
	const char *v;
	cli_args a;
	int64_t n = 7;
	double d = 3;
	uint64_t sz = 0;
	int i = 0;

	cli_args_init(&a, 3, argv, 1, "x", opts, &ctx);
	cr_assert_eq(cli_next(&a, &v), O_NUM);
	cr_assert_eq(cli_value_i64(&n, &a, v, 0, 100), CLI_EXIT_USAGE);
	cr_assert_eq(n, 7, "the value changed on error");
	cr_assert_eq(cli_value_i64(&n, &a, "42", 0, 100), 0);
	cr_assert_eq(n, 42);
	cr_assert_eq(cli_value_int(&i, &a, "101", 0, 100), CLI_EXIT_USAGE);
	cr_assert_eq(cli_value_f64(&d, &a, "1.5", 0, 1), CLI_EXIT_USAGE);
	cr_assert_eq(d, 3);
	cr_assert_eq(cli_value_f64(&d, &a, "0.25", 0, 1), 0);
	cr_assert_eq(d, 0.25);
	cr_assert_eq(cli_value_size(&sz, &a, "2K"), 0);
	cr_assert_eq(sz, 2048);
	fflush(stderr);
	cr_assert_stderr_eq_str("plait x: --num '12x': '12x' is not an integer\ntry 'plait x --help'\n"
				"plait x: --num '101': 101 is out of range [0, 100]\ntry 'plait x --help'\n"
				"plait x: --num '1.5': must be in [0, 1]\ntry 'plait x --help'\n");
}

Test(args, wants_help_stops_at_double_dash)
{
	char *a[] = { "cmd", "x", "--help", NULL };
	char *b[] = { "cmd", "--", "-h", NULL };
	char *c[] = { "cmd", "-h", NULL };

	cr_assert(cli_wants_help(3, a));
	cr_assert_not(cli_wants_help(3, b));
	cr_assert(cli_wants_help(2, c));
	cr_assert_not(cli_wants_help(1, c));
}

Test(args, fail_prints_the_message_and_returns_the_code, .init = cr_redirect_stderr)
{
	pl_err err = { 0 };

	cr_assert_eq(cli_fail(&ctx, "x", CLI_EXIT_USAGE, "bad %s", "flag"), CLI_EXIT_USAGE);
	pl_err_set(&err, PL_EIO, "disk");
	cr_assert_eq(cli_fail_err(&ctx, "x", &err), CLI_EXIT_FAIL);
	cr_assert_eq(cli_fail_err(NULL, "y", NULL), CLI_EXIT_FAIL);
	cr_assert_eq(cli_fail(&ctx, "x", CLI_EXIT_FAIL, "no hint"), CLI_EXIT_FAIL);
	fflush(stderr);
	cr_assert_stderr_eq_str("plait x: bad flag\ntry 'plait x --help'\n"
				"plait x: disk\n"
				"plait y: failed\n"
				"plait x: no hint\n");
}

static void ids_ok(const char *s, const int32_t *want, size_t n_want)
{
	int32_t *ids = NULL;
	size_t n = 0, i;
	pl_err err = { 0 };

	cr_assert_eq(cli_parse_ids(&ids, &n, s, &err), 0, "'%s': %s", s, err.msg);
	cr_assert_eq(n, n_want, "'%s': %zu ids", s, n);
	for (i = 0; i < n; i++)
		cr_assert_eq(ids[i], want[i], "'%s': id %zu", s, i);
	free(ids);
}

static void ids_bad(const char *s, const char *msg)
{
	int32_t *ids = (int32_t *)&ids;
	size_t n = 99;
	pl_err err = { 0 };

	cr_assert_eq(cli_parse_ids(&ids, &n, s, &err), PL_EINVAL, "'%s' was accepted", s);
	cr_assert(strstr(err.msg, msg), "'%s': %s", s, err.msg);
	cr_assert_eq(n, 99, "'%s': n changed on error", s);
}

Test(args, id_lists)
{
	static const int32_t one2three[] = { 1, 2, 3 };
	static const int32_t big[] = { 0, 2147483647 };

	ids_ok("1,2,3", one2three, 3);
	ids_ok("1, 2, 3", one2three, 3);
	ids_ok(" 1 2\t3\n", one2three, 3);
	ids_ok("1 ,2 , 3", one2three, 3);
	ids_ok("0,2147483647", big, 2);
	ids_bad("1,,2", "item 2 of the id list is empty");
	ids_bad("1, ,2", "item 2 of the id list is empty");
	ids_bad(",1", "starts with a comma");
	ids_bad("1,", "ends with a comma");
	ids_bad("1,2 ,", "ends with a comma");
	ids_bad("", "the id list is empty");
	ids_bad("  ", "the id list is empty");
	ids_bad("1,x", "item 2 of the id list ('x') is not a token id");
	ids_bad("-1", "item 1 of the id list ('-1') is not a token id");
	ids_bad("2147483648", "is not a token id");
	ids_bad("1,99999999999999999999999999", "item 2 of the id list ('999999999999999999");
}
