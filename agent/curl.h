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

#include <curl/curl.h>

#define AGENT_CURL_FUNCS(X) X(curl_version_info)

typedef struct agent_curl {
#define AGENT_CURL_PTR(f) __typeof__(f) *f;
	AGENT_CURL_FUNCS(AGENT_CURL_PTR)
#undef AGENT_CURL_PTR
} agent_curl;

/* Loads libcurl once per process (thread-safe); idempotent. */
int agent__curl_load(pl_err *err);
/* The loaded table; only after a successful agent__curl_load. */
const agent_curl *agent__curl_api(void);

#ifndef AGENT_CURL_IMPL
#define curl_version_info (agent__curl_api()->curl_version_info)
#endif

#endif
