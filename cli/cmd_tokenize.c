/* cmd_tokenize.c - `plait tokenize`: a model's tokenizer from the command
 * line: text to ids and pieces, or ids back to text. */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

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
	"  -h, --help      show this help\n"
	"\n"
	"A TEXT that starts with '-' goes after '--': plait tokenize --model DIR -- -x\n";

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

enum { O_MODEL = 1, O_DECODE, O_IDS, O_NO_SPECIAL, O_STATS };

static const cli_opt tokenize_opts[] = {
	{ "model", 0, true, O_MODEL },
	{ "decode", 0, true, O_DECODE },
	{ "ids", 0, false, O_IDS },
	{ "no-special", 0, false, O_NO_SPECIAL },
	{ "stats", 0, false, O_STATS },
	{ NULL, 0, false, 0 },
};

int cli_cmd_tokenize(int argc, char **argv, const cli_ctx *ctx)
{
	const char *model = NULL, *text = NULL, *decode = NULL, *v;
	bool ids_only = false, special = true, stats = false;
	eng_tokenizer *tk = NULL;
	pl_buf in = PL_BUF_INIT, out = PL_BUF_INIT;
	int32_t *ids = NULL;
	size_t n = 0;
	pl_err err = { 0 };
	int status = CLI_EXIT_OK, id;
	cli_args a;

	if (cli_wants_help(argc, argv)) {
		fputs(tokenize_usage, stdout);
		return CLI_EXIT_OK;
	}
	cli_args_init(&a, argc, argv, 1, "tokenize", tokenize_opts, ctx);
	while ((id = cli_next(&a, &v)) != CLI_END) {
		switch (id) {
		case CLI_BAD:
			return CLI_EXIT_USAGE;
		case O_MODEL:
			model = v;
			break;
		case O_DECODE:
			decode = v;
			break;
		case O_IDS:
			ids_only = true;
			break;
		case O_NO_SPECIAL:
			special = false;
			break;
		case O_STATS:
			stats = true;
			break;
		case CLI_POS:
			if (text)
				return cli_fail(ctx, "tokenize", CLI_EXIT_USAGE, "more than one TEXT given");
			text = v;
			break;
		}
	}
	if (!model)
		return cli_fail(ctx, "tokenize", CLI_EXIT_USAGE, "--model DIR is required");
	if (!text == !decode)
		return cli_fail(ctx, "tokenize", CLI_EXIT_USAGE, "give either TEXT (or -) or --decode IDS");
	if (decode && cli_parse_ids(&ids, &n, decode, &err) < 0)
		return cli_fail(ctx, "tokenize", CLI_EXIT_USAGE, "--decode: %s", err.msg);
	if (eng_tokenizer_load(&tk, model, &err) < 0) {
		status = cli_fail_err(ctx, "tokenize", &err);
		goto done;
	}
	if (decode) {
		if (eng_tokenizer_decode(&out, tk, ids, n, &err) < 0) {
			status = cli_fail_err(ctx, "tokenize", &err);
			goto done;
		}
		fwrite(out.ptr, 1, out.len, stdout);
		fputc('\n', stdout);
		goto done;
	}
	if (!strcmp(text, "-")) {
		if (pl_file_read(&in, "/dev/stdin", 0, &err) < 0) {
			status = cli_fail_err(ctx, "tokenize", &err);
			goto done;
		}
	} else {
		pl_buf_puts(&in, text);
	}
	if (eng_tokenizer_encode(&ids, &n, tk, in.ptr, in.len, special, &err) < 0) {
		status = cli_fail_err(ctx, "tokenize", &err);
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
	if (fflush(stdout) != 0 && status == CLI_EXIT_OK)
		status = cli_fail(ctx, "tokenize", CLI_EXIT_FAIL, "cannot write the output");
	free(ids);
	pl_buf_release(&in);
	pl_buf_release(&out);
	eng_tokenizer_free(tk);
	return status;
}

