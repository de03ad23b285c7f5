/* commands.c - the table of every `plait` command, in the order `plait
 * help` lists them.  A new command is one cmd_*.c file and one line here. */
#include "cli/cli.h"

#include <string.h>

static const cli_cmd commands[] = {
	{ "doctor", "report what this machine offers plait and what is missing", cli_cmd_doctor },
	{ "model", "describe a model directory (config, parameters, bytes, K/V per token)", cli_cmd_model },
	{ "generate", "generate tokens from a model (CPU or GPU)", cli_cmd_generate },
	{ "tokenize", "encode text with a model's tokenizer, or decode ids", cli_cmd_tokenize },
	{ "sandbox", "run a command isolated from the host (plait sandbox run -- CMD)", cli_cmd_sandbox },
	{ "tool", "run one agent tool (editor, search, code intelligence, git) on a repository", cli_cmd_tool },
	{ "mcp", "serve the agent tools to other agents over the Model Context Protocol (stdio)", cli_cmd_mcp },
	{ "fix", "fix an issue in a repository with a model, unattended, and return the patch", cli_cmd_fix },
	{ "chat", "a coding assistant in the terminal: answers, approved edits and commands, checkpoints", cli_cmd_chat },
	{ "traj", "show a trajectory, or sum a directory of them (plait traj show|stats)", cli_cmd_traj },
	{ "config", "show the effective configuration and where each value came from", cli_cmd_config },
	{ "image", "container images without Docker: pull, load, ls, rm, prune, run", cli_cmd_image },
	{ "bench", "benchmarks: SWE-bench (plait bench swe) and the engine's speed (plait bench engine)", cli_cmd_bench },
};

const cli_cmd *cli_commands(size_t *count)
{
	*count = PL_ARRAY_LEN(commands);
	return commands;
}

const cli_cmd *cli_find(const char *name)
{
	size_t i;

	for (i = 0; i < PL_ARRAY_LEN(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}
