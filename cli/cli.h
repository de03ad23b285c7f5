/*
 * cli.h - the `plait` program's private header: the command type, the
 * table of commands, and the one option parser and argument helpers every
 * front-end in cli/ is written with.
 *
 * cli/ is the top of the module graph and not a library anyone links: it
 * may include every module's public header, and no module includes this.
 * The modules below it parse no argv and print no usage text (the rule
 * docs/ARCHITECTURE.md states; `make check` lists what they export).
 *
 * Source map:
 *   plait.c     main(): global options, then the command
 *   commands.c  the table of commands `plait help` lists
 *   args.c      cli_args (options), cli_parse_ids, cli_fail: what every
 *               command shares
 *   cmd_*.c     one file per command family: doctor, model, generate,
 *               tokenize, sandbox, tool, mcp, fix, chat, traj, config, bench
 *               (cmd_bench.c: its table of subcommands; cmd_bench_swe.c:
 *               `bench swe`; cmd_bench_engine.c: `bench engine`)
 *   obs.c       a tool's observation as JSON (plait tool, plait mcp)
 *   jsonrpc.c, mcp.c  JSON-RPC 2.0 and the MCP server of plait mcp (mcp.h)
 *   agent_opts.c the model options every agent command shares
 *   term.c      colours, diffs and event lines for a terminal
 *   edit.c      libedit, opened at first use (plait chat's line editor)
 *   output.c    a sandboxed command's output passed to plait's
 */
#ifndef PLAIT_CLI_H
#define PLAIT_CLI_H

#include "common/common.h"

#include "agent/agent.h"

/* What main hands every command. */
typedef struct cli_ctx {
	const pl_log *log;
	const char *argv0; /* "plait" */
} cli_ctx;

/* A command: run() gets argv with argv[0] the command's name and returns
 * the process exit status (CLI_EXIT_*). */
typedef struct cli_cmd {
	const char *name;    /* "doctor", "sandbox", "model" ... */
	const char *summary; /* one line for `plait help` */
	int (*run)(int argc, char **argv, const cli_ctx *ctx);
} cli_cmd;

/* Exit statuses shared by every command. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* Every command, in the order `plait help` lists them. */
const cli_cmd *cli_commands(size_t *count);
const cli_cmd *cli_find(const char *name);

/* The commands (cmd_*.c). */
int cli_cmd_doctor(int argc, char **argv, const cli_ctx *ctx);
int cli_cmd_model(int argc, char **argv, const cli_ctx *ctx);
int cli_cmd_generate(int argc, char **argv, const cli_ctx *ctx);
int cli_cmd_tokenize(int argc, char **argv, const cli_ctx *ctx);
int cli_cmd_sandbox(int argc, char **argv, const cli_ctx *ctx);
int cli_cmd_tool(int argc, char **argv, const cli_ctx *ctx);
int cli_cmd_mcp(int argc, char **argv, const cli_ctx *ctx);
int cli_cmd_fix(int argc, char **argv, const cli_ctx *ctx);
int cli_cmd_chat(int argc, char **argv, const cli_ctx *ctx);
int cli_cmd_traj(int argc, char **argv, const cli_ctx *ctx);
int cli_cmd_config(int argc, char **argv, const cli_ctx *ctx);
int cli_cmd_image(int argc, char **argv, const cli_ctx *ctx);
int cli_cmd_bench(int argc, char **argv, const cli_ctx *ctx);
/* The subcommands of `plait bench` (argv[0] is the subcommand's name). */
int cli_bench_swe(int argc, char **argv, const cli_ctx *ctx);
int cli_bench_engine(int argc, char **argv, const cli_ctx *ctx);

/* ------------------------------------------------------------ observations */

struct tools_obs;
/* A tool's observation as JSON, tools_obs_json's fields, with each data
 * string that is not valid UTF-8 (the exact bytes of a patch touching a
 * Latin-1 file) given as KEY_base64 instead of KEY; new reference. */
json_t *cli_obs_json(const struct tools_obs *obs);

/* ------------------------------------------------------------ messages */

/* Prints "plait CMD: message" to stderr, and "try 'plait CMD --help'" after
 * a usage error; returns exit_code, for `return cli_fail(...)`. */
int cli_fail(const cli_ctx *ctx, const char *cmd, int exit_code, const char *fmt, ...) PL_PRINTF(4, 5);
/* The same for an error value ("failed" when it holds no message); returns
 * CLI_EXIT_FAIL. */
int cli_fail_err(const cli_ctx *ctx, const char *cmd, const pl_err *err);
/* True when argv (from argv[1]) holds -h or --help before any "--". */
bool cli_wants_help(int argc, char **argv);

/* ------------------------------------------------------------ options */

/* An option a command accepts.  A table ends with an entry whose id is 0. */
typedef struct cli_opt {
	const char *name; /* long name without the dashes: "max-tokens" */
	char short_name;  /* 'j' for -j, or 0 */
	bool has_arg;     /* takes a value: "--name V", "--name=V", "-j V", "-jV" */
	int id;           /* what cli_next returns for it; > 0 */
} cli_opt;

/* What cli_next returns besides an option's id. */
enum {
	CLI_END = 0,  /* no more arguments */
	CLI_POS = -1, /* a positional argument, in *val */
	CLI_BAD = -2  /* a usage error, already printed: return CLI_EXIT_USAGE */
};

/* The state of one pass over a command's argv. */
typedef struct cli_args {
	int argc;
	char **argv;
	int i;                /* next argv index to read */
	const char *cmd;      /* "generate", "model info": names the command in messages */
	const cli_opt *opts;
	const cli_ctx *ctx;
	const char *opt;      /* the last option as written ("--top-p"), for messages */
	bool dashdash_stops;  /* "--" ends the pass (CLI_END, i past it) instead of
			       * making every later word positional */
	bool saw_dashdash;    /* a "--" was read */
	bool in_positionals;  /* after a "--" that did not stop the pass */
} cli_args;

/* Starts a pass over argv[first..argc-1]. */
void cli_args_init(cli_args *a, int argc, char **argv, int first, const char *cmd, const cli_opt *opts,
		   const cli_ctx *ctx);
/*
 * Reads the next argument: an option's id (with *val its value, or NULL for
 * one without), CLI_POS (a positional word in *val), CLI_END, or CLI_BAD
 * after printing what was wrong (an unknown option, a missing value, a
 * value given to an option that takes none).  "-" alone is positional
 * (standard input, by convention).  -h/--help are not special here: call
 * cli_wants_help first.
 */
int cli_next(cli_args *a, const char **val);
/* Prints "plait CMD: OPT 'VAL': message" (or "plait CMD: message" when no
 * option was read) as a usage error; returns CLI_EXIT_USAGE. */
int cli_bad_value(const cli_args *a, const char *val, const char *fmt, ...) PL_PRINTF(3, 4);

/* Typed values of the last option read; each returns 0, or CLI_EXIT_USAGE
 * after printing a message that names the option and the value. */
int cli_value_i64(int64_t *out, const cli_args *a, const char *val, int64_t min, int64_t max);
int cli_value_int(int *out, const cli_args *a, const char *val, int min, int max);
/* A real in [min, max]; *out untouched on error. */
int cli_value_f64(double *out, const cli_args *a, const char *val, double min, double max);
/* A size: bytes, or with K, M, G (powers of 1024). */
int cli_value_size(uint64_t *out, const cli_args *a, const char *val);

/*
 * A list of token ids: decimal integers in [0, 2^31 - 1] separated by
 * commas and/or blanks ("1,2,3", "1, 2, 3", "1 2 3").  An empty item
 * ("1,,2"), a leading or trailing comma, and an empty list are errors that
 * name the item.  *out is malloc'ed; on error nothing is returned.
 */
int cli_parse_ids(int32_t **out, size_t *n_out, const char *s, pl_err *err);

/* ------------------------------------------------------------ model options */

/* Ids of the options every agent command shares (agent_opts.c); a
 * command's table includes CLI_AGENT_OPTS and hands unknown ids to
 * cli_agent_opt. */
enum {
	CLI_AO_BACKEND = 1000,
	CLI_AO_MODEL,
	CLI_AO_API_BASE,
	CLI_AO_API_MODEL,
	CLI_AO_API_KEY_ENV,
	CLI_AO_TEMPERATURE,
	CLI_AO_TOP_P,
	CLI_AO_MAX_TOKENS,
	CLI_AO_SEED,
	CLI_AO_CONFIG,
	CLI_AO_PROFILE,
	CLI_AO_SET
};

#define CLI_AGENT_OPTS                                                                          \
	{ "backend", 0, true, CLI_AO_BACKEND }, { "model", 0, true, CLI_AO_MODEL },             \
	{ "api-base", 0, true, CLI_AO_API_BASE }, { "api-model", 0, true, CLI_AO_API_MODEL },   \
	{ "api-key-env", 0, true, CLI_AO_API_KEY_ENV },                                          \
	{ "temperature", 0, true, CLI_AO_TEMPERATURE }, { "top-p", 0, true, CLI_AO_TOP_P },     \
	{ "max-tokens", 0, true, CLI_AO_MAX_TOKENS }, { "seed", 0, true, CLI_AO_SEED },         \
	{ "config", 0, true, CLI_AO_CONFIG }, { "profile", 0, true, CLI_AO_PROFILE },           \
	{ "set", 0, true, CLI_AO_SET }

/* The help text for them. */
extern const char cli_agent_usage[];

typedef struct cli_agent_opts {
	const char *config;  /* --config */
	const char *profile; /* --profile, or the command's default */
	json_t *sets;        /* [[key, value, flag]] in command-line order */
} cli_agent_opts;

void cli_agent_opts_init(cli_agent_opts *o, const char *default_profile);
void cli_agent_opts_release(cli_agent_opts *o);
/* A setting a command's own flag gives (--max-steps). */
void cli_agent_opts_set(cli_agent_opts *o, const char *key, const char *value, const char *flag);
/* 1 when id is a shared option (taken), 0 when not, -1 after a usage
 * error was printed. */
int cli_agent_opt(cli_agent_opts *o, const cli_args *a, int id, const char *val);
/* Configuration files, the profile, then the flags; with check, what only
 * makes sense together.  Returns an exit status (CLI_EXIT_OK, or 1/2 after
 * printing why).  *cfg_out must outlive *out. */
int cli_agent_settings(agent_config **cfg_out, agent_settings **out, cli_agent_opts *o, bool check, const cli_ctx *ctx,
		       const char *cmd);
/* The directory the agent works on for dir (an existing directory): the
 * root of the git repository dir is in, said on stderr when dir is below
 * it (patches, snapshots and /undo are of the whole repository, and the
 * tools' paths are relative to its root); dir itself, made absolute, when
 * it is in none.  A new string, or NULL when dir cannot be resolved. */
char *cli_agent_root(const char *dir, const char *cmd);

/* ------------------------------------------------------------ terminal */

/* Whether to colour a stream: a terminal, NO_COLOR unset, TERM not dumb. */
bool cli_use_color(FILE *f);
/* An escape sequence when on, else "". */
const char *cli_c(bool on, const char *code);
#define CLI_RESET "\033[0m"
#define CLI_BOLD "\033[1m"
#define CLI_DIM "\033[2m"
#define CLI_RED "\033[31m"
#define CLI_GREEN "\033[32m"
#define CLI_YELLOW "\033[33m"
#define CLI_BLUE "\033[34m"
#define CLI_MAGENTA "\033[35m"
#define CLI_CYAN "\033[36m"
/* Text from a model, a server or a command, made safe to print: control
 * characters as \r, \x1b, \xNN (newlines and tabs kept), C1 controls
 * and bidirectional overrides as \uNNNN, bytes that are not UTF-8 as
 * \xNN, so that nothing it holds moves the cursor, clears a line or
 * reorders what is shown (an approval prompt a command could fake).
 * Appends to out; returns the bytes of s used: all of them, or fewer
 * when s ends inside a UTF-8 character and !final (a stream cut there:
 * the caller keeps the rest for the next piece). */
size_t cli_escape(pl_buf *out, const char *s, size_t n, bool final);
/* s escaped into tmp (reset first), for a printf argument; "" for NULL. */
const char *cli_esc(pl_buf *tmp, const char *s);
/* A unified diff, coloured by line, each line escaped. */
void cli_print_diff(FILE *f, const char *text, size_t len, bool color);
/* "12.3k" for token counts. */
const char *cli_fmt_count(char buf[32], int64_t n);
/* "$0.0123" or "cost unknown". */
const char *cli_fmt_cost(char buf[48], const json_t *cost);
/* A tool call in one line: "view calc.py", "bash: pytest -q" (escaped). */
void cli_describe_call(pl_buf *out, const char *name, const json_t *args, size_t max);

/* output.c: an on_output callback that writes a sandboxed command's stdout
 * and stderr to plait's own (stream 1 or 2), unchanged; ctx NULL, or a
 * const int * descriptor told SIGPIPE when plait's output is gone. */
void cli_pass_output(void *ctx, int stream, const char *data, size_t n);

#endif /* PLAIT_CLI_H */
