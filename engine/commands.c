/* commands.c - the engine's subcommands, registered by cli/registry.c. */
#include "engine/internal.h"

const pl_cmd eng_commands[] = {
	{ "model", "describe a model directory (config, parameters, bytes, K/V per token)", eng_cmd_model },
	{ "generate", "generate tokens from a model on the CPU", eng_cmd_generate },
	{ "tokenize", "encode text with a model's tokenizer, or decode ids", eng_cmd_tokenize },
	{ NULL, NULL, NULL },
};
