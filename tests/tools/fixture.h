/* fixture.h - helpers the tools tests share: temp repositories, shell, files. */
#ifndef PLAIT_TEST_TOOLS_FIXTURE_H
#define PLAIT_TEST_TOOLS_FIXTURE_H

#include "tools/tools.h"

/* The current fixture directory (made by fx_setup, removed by fx_teardown). */
extern pl_buf fx_root;
void fx_setup(void);
void fx_teardown(void);
/* Run a shell command in dir (NULL = fx_root); returns its exit status. */
int fx_sh(const char *dir, const char *fmt, ...) PL_PRINTF(2, 3);
/* Write/read a file relative to fx_root. */
void fx_write(const char *rel, const void *data, size_t n);
void fx_puts(const char *rel, const char *s);
char *fx_read(const char *rel, size_t *len);
/* git init + commit of whatever is in fx_root. */
void fx_git_commit_all(const char *msg);
/* Run a tool on ctx with args given as JSON text; returns tools_call's rc. */
int fx_call(tools_obs *obs, tools_ctx *ctx, const char *name, const char *args_json);
tools_ctx *fx_ctx(void);
/* fx_call's observation, whatever the outcome (release it). */
tools_obs fx_obs(tools_ctx *ctx, const char *name, const char *args_json);

#endif
