/* tokenizer_cmd.c - `plait tokenize`: a model's tokenizer from the command line. */
#include "engine/internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char tokenize_usage[] =
	"usage: plait tokenize --model DIR [--ids] [--no-special] TEXT|-\n"
	"       plait tokenize --model DIR --decode ID[,ID...]\n"
	"\n"
	"Encode TEXT (or standard input, with -) with the tokenizer of the model\n"
	"directory DIR (tokenizer.model or tokenizer.json, plus tokenizer_config.json),\n"
	"and print one token per line: its id and its piece.  Added tokens such as\n"
	"<|im_start|> in the text become their ids unless --no-special is given.\n"
	"\n"
	"Options:\n"
	"  --model DIR     the model directory\n"
	"  --ids           print only the ids, comma-separated, on one line\n"
	"  --no-special    encode added-token text like any other text\n"
	"  --decode IDS    print the text of comma-separated ids instead\n"
	"  --stats         print the token count and the tokenizer's facts to stderr\n"
	"  -h, --help      show this help\n";

/* The piece with control characters made visible. */
static void put_piece(FILE *out, const char *p)
{
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c == '\\')
			fputs("\\\\", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
}

static int parse_ids(int32_t **out, size_t *n, const char *s, pl_err *err)
{
	int32_t *ids = pl_xmalloc((strlen(s) / 2 + 2) * sizeof(*ids));
	char *copy = pl_xstrdup(s), *save = NULL, *tok;
	size_t k = 0;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int64_t v;

		if (pl_parse_i64(&v, tok, 0, INT32_MAX, NULL) < 0) {
			int rc = pl_err_set(err, PL_EINVAL, "--decode: '%s' is not a token id", tok);

			free(ids);
			free(copy);
			return rc;
		}
		ids[k++] = (int32_t)v;
	}
	free(copy);
	*out = ids;
	*n = k;
	return 0;
}

int eng_cmd_tokenize(int argc, char **argv, const pl_cmd_ctx *ctx)
{
	const char *model = NULL, *text = NULL, *decode = NULL;
	bool ids_only = false, special = true, stats = false;
	eng_tokenizer *tk = NULL;
	pl_buf in = PL_BUF_INIT, out = PL_BUF_INIT;
	int32_t *ids = NULL;
	size_t n = 0;
	pl_err err = { 0 };
	int status = PL_EXIT_OK;

	if (pl_cli_wants_help(argc, argv)) {
		fputs(tokenize_usage, stdout);
		return PL_EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--model") && i + 1 < argc)
			model = argv[++i];
		else if (!strcmp(argv[i], "--decode") && i + 1 < argc)
			decode = argv[++i];
		else if (!strcmp(argv[i], "--ids"))
			ids_only = true;
		else if (!strcmp(argv[i], "--no-special"))
			special = false;
		else if (!strcmp(argv[i], "--stats"))
			stats = true;
		else if (!strcmp(argv[i], "--model") || !strcmp(argv[i], "--decode"))
			return pl_cli_fail(ctx, "tokenize", PL_EXIT_USAGE, "%s needs a value", argv[i]);
		else if (argv[i][0] == '-' && argv[i][1] && !text)
			return pl_cli_fail(ctx, "tokenize", PL_EXIT_USAGE, "unknown option '%s'", argv[i]);
		else if (!text)
			text = argv[i];
		else
			return pl_cli_fail(ctx, "tokenize", PL_EXIT_USAGE, "more than one TEXT given");
	}
	if (!model)
		return pl_cli_fail(ctx, "tokenize", PL_EXIT_USAGE, "--model DIR is required");
	if (!text == !decode)
		return pl_cli_fail(ctx, "tokenize", PL_EXIT_USAGE, "give either TEXT (or -) or --decode IDS");
	if (decode && parse_ids(&ids, &n, decode, &err) < 0)
		return pl_cli_fail(ctx, "tokenize", PL_EXIT_USAGE, "%s", err.msg);
	if (eng_tokenizer_load(&tk, model, &err) < 0) {
		status = pl_cli_fail_err(ctx, "tokenize", &err);
		goto done;
	}
	if (decode) {
		if (eng_tokenizer_decode(tk, ids, n, &out, &err) < 0) {
			status = pl_cli_fail_err(ctx, "tokenize", &err);
			goto done;
		}
		fwrite(out.ptr, 1, out.len, stdout);
		fputc('\n', stdout);
		goto done;
	}
	if (!strcmp(text, "-")) {
		if (pl_file_read(&in, "/dev/stdin", 0, &err) < 0) {
			status = pl_cli_fail_err(ctx, "tokenize", &err);
			goto done;
		}
	} else {
		pl_buf_puts(&in, text);
	}
	if (eng_tokenizer_encode(tk, in.ptr, in.len, special, &ids, &n, &err) < 0) {
		status = pl_cli_fail_err(ctx, "tokenize", &err);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (ids_only) {
			printf(i ? ",%d" : "%d", ids[i]);
		} else {
			printf("%d\t", ids[i]);
			put_piece(stdout, eng_tokenizer_piece(tk, ids[i]));
			fputc('\n', stdout);
		}
	}
	if (ids_only)
		fputc('\n', stdout);
	if (stats) {
		json_t *facts = eng_tokenizer_describe(tk);

		pl_json_set(facts, "tokens", json_integer((json_int_t)n));
		pl_json_set(facts, "bytes", json_integer((json_int_t)in.len));
		pl_json_dump(&out, facts, false);
		fprintf(stderr, "%s\n", out.ptr);
		json_decref(facts);
	}
done:
	if (fflush(stdout) != 0 && status == PL_EXIT_OK)
		status = pl_cli_fail(ctx, "tokenize", PL_EXIT_FAIL, "cannot write the output");
	free(ids);
	pl_buf_release(&in);
	pl_buf_release(&out);
	eng_tokenizer_free(tk);
	return status;
}

