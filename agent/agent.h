/*
 * agent.h - the agent: configuration, model backends (the embedded engine,
 * OpenAI-compatible and Anthropic HTTP), the tool-calling loop,
 * trajectories, `plait fix` and `plait chat`.
 *
 * Depends on engine/, tools/, sandbox/ and common/.  Prefix: agent_.
 *
 * This first part is the user configuration every command reads, and the
 * facts about the HTTP backends that `plait doctor` reports.
 */
#ifndef PLAIT_AGENT_H
#define PLAIT_AGENT_H

#include "common/common.h"

/*
 * Configuration, merged in this order (later wins, lists are replaced):
 *   built-in defaults
 *   /etc/plait/config.json
 *   $XDG_CONFIG_HOME/plait/config.json (default ~/.config/plait/config.json)
 *   the file given with --config
 * then the environment: PLAIT_MODEL_PATH and PLAIT_DATA_PATH (colon-separated)
 * put their directories first.  Unknown keys are errors (a typo must not be
 * silently ignored).  A leading "~/" is expanded with HOME.
 */
typedef struct agent_config {
	char **model_dirs; /* NULL-terminated; searched in order */
	char **data_dirs;  /* NULL-terminated; benchmark datasets */
	char **files;      /* NULL-terminated; config files that were read */
} agent_config;

typedef struct agent_config_opts {
	const char *file;          /* --config FILE, or NULL */
	const char *system_file;   /* NULL = /etc/plait/config.json; "" = none */
	char *const *envp;         /* NULL = the process environment */
} agent_config_opts;

int agent_config_load(agent_config **out, const agent_config_opts *opts, pl_err *err);
void agent_config_free(agent_config *cfg);

/* libcurl's version, TLS backend and whether https is supported:
 * {"libcurl", "tls", "https"}.  libcurl is loaded at first use (see
 * pl_dl_open); NULL with err set when it cannot be. */
json_t *agent_http_info(pl_err *err);
/* Which backend credentials are present in the environment (names only,
 * never values): OPENAI_API_KEY, ANTHROPIC_API_KEY, OPENAI_BASE_URL. */
json_t *agent_credentials_present(char *const *envp);

#endif /* PLAIT_AGENT_H */
