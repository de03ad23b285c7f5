/* edit.h - libedit, opened at first use (internal to cli/).
 *
 * Only `plait chat` edits lines; linking libedit (and its libtinfo and
 * libbsd) would cost every other invocation its loader work, as libcurl
 * would (common.h, pl_dl_open).  The same scheme as agent/curl.h: one
 * pointer per function chat calls, each name redirected to its pointer. */
#ifndef PLAIT_CLI_EDIT_H
#define PLAIT_CLI_EDIT_H

#include <histedit.h>

#include "common/common.h"

#define CLI_EDIT_FUNCS(X) X(el_init) X(el_end) X(el_gets) X(el_set) X(el_get) X(history_init) X(history) X(history_end)

typedef struct cli_edit_api {
#define CLI_EDIT_PTR(f) __typeof__(f) *f;
	CLI_EDIT_FUNCS(CLI_EDIT_PTR)
#undef CLI_EDIT_PTR
} cli_edit_api;

/* Loads libedit once per process (thread-safe); the error names the
 * library and the Debian package. */
int cli__edit_load(pl_err *err);
const cli_edit_api *cli__edit(void);

#ifndef CLI_EDIT_IMPL
#define el_init (cli__edit()->el_init)
#define el_end (cli__edit()->el_end)
#define el_gets (cli__edit()->el_gets)
#define el_set (cli__edit()->el_set)
#define el_get (cli__edit()->el_get)
#define history_init (cli__edit()->history_init)
#define history (cli__edit()->history)
#define history_end (cli__edit()->history_end)
#endif

#endif
