/* curl.h - libcurl, opened at first use (internal to agent/).
 *
 * Linking libcurl costs every `plait` invocation 12 ms of dynamic-loader
 * work for its TLS, HTTP/2, Kerberos and LDAP dependencies (see pl_dl_open
 * in common.h); only the HTTP model backends need it.  The same scheme as
 * tools/git2.h: one pointer per libcurl function agent/ calls, each name
 * redirected to its pointer; entry points call agent__curl_load() first.
 * A function the agent starts to use is added to AGENT_CURL_FUNCS (a name
 * missing there is an undefined reference at link time).
 */
#ifndef PLAIT_AGENT_CURL_H
#define PLAIT_AGENT_CURL_H

#include "common/common.h"

/* curl.h's type-checking wrappers are macros named like the functions;
 * the names below are macros of their own. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#define AGENT_CURL_FUNCS(X)         \
	X(curl_version_info)        \
	X(curl_global_init)         \
	X(curl_easy_init)           \
	X(curl_easy_setopt)         \
	X(curl_easy_perform)        \
	X(curl_easy_getinfo)        \
	X(curl_easy_cleanup)        \
	X(curl_easy_strerror)       \
	X(curl_slist_append)        \
	X(curl_slist_free_all)

typedef struct agent_curl {
#define AGENT_CURL_PTR(f) __typeof__(f) *f;
	AGENT_CURL_FUNCS(AGENT_CURL_PTR)
#undef AGENT_CURL_PTR
} agent_curl;

/* Loads libcurl once per process (thread-safe); idempotent. */
int agent__curl_load(pl_err *err);
/* The loaded table; only after a successful agent__curl_load. */
const agent_curl *agent__curl_api(void);

/* curl.h's own function-like macros for these two check the argument
 * count only; ours replace them */
#undef curl_easy_setopt
#undef curl_easy_getinfo

#ifndef AGENT_CURL_IMPL
#define curl_version_info (agent__curl_api()->curl_version_info)
#define curl_global_init (agent__curl_api()->curl_global_init)
#define curl_easy_init (agent__curl_api()->curl_easy_init)
#define curl_easy_setopt (agent__curl_api()->curl_easy_setopt)
#define curl_easy_perform (agent__curl_api()->curl_easy_perform)
#define curl_easy_getinfo (agent__curl_api()->curl_easy_getinfo)
#define curl_easy_cleanup (agent__curl_api()->curl_easy_cleanup)
#define curl_easy_strerror (agent__curl_api()->curl_easy_strerror)
#define curl_slist_append (agent__curl_api()->curl_slist_append)
#define curl_slist_free_all (agent__curl_api()->curl_slist_free_all)
#endif

#endif
