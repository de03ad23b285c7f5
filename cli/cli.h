/*
 * cli.h - the `plait` program: a thin dispatcher over the subcommands each
 * module registers, plus the commands that belong to no single module
 * (doctor).  Nothing here is a library: no other module includes it.
 */
#ifndef PLAIT_CLI_H
#define PLAIT_CLI_H

#include "common/common.h"

/* A module's NULL-name-terminated command table. */
typedef struct cli_module {
	const char *module;
	const pl_cmd *commands;
} cli_module;

/* Every module's table, in the order `plait help` lists them. */
const cli_module *cli_modules(size_t *count);
const pl_cmd *cli_find(const char *name);

extern const pl_cmd cli_commands[];

int cli_doctor(int argc, char **argv, const pl_cmd_ctx *ctx);

#endif /* PLAIT_CLI_H */
