/* registry.c - the table of every module's subcommands.
 *
 * A module that adds commands exports a table (name, summary, run) from its
 * public header and gets one line here; plait.c only looks names up. */
#include "cli/cli.h"

#include <string.h>

#include "engine/engine.h"
#include "sandbox/sandbox.h"
#include "tools/tools.h"

const pl_cmd cli_commands[] = {
	{ "doctor", "report what this machine offers plait and what is missing", cli_doctor },
	{ NULL, NULL, NULL },
};

static const cli_module modules[] = {
	{ "plait", cli_commands },
	{ "engine", eng_commands },
	{ "sandbox", sbx_commands },
	{ "tools", tools_commands },
};

const cli_module *cli_modules(size_t *count)
{
	*count = PL_ARRAY_LEN(modules);
	return modules;
}

const pl_cmd *cli_find(const char *name)
{
	size_t i, j;

	for (i = 0; i < PL_ARRAY_LEN(modules); i++)
		for (j = 0; modules[i].commands[j].name; j++)
			if (!strcmp(modules[i].commands[j].name, name))
				return &modules[i].commands[j];
	return NULL;
}
