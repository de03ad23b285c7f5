/* curl.c - load libcurl at first use and fill the table of curl.h. */
#define AGENT_CURL_IMPL
#include "agent/curl.h"

#include <pthread.h>

#ifndef AGENT_LIBCURL_SONAME
#error "AGENT_LIBCURL_SONAME (the libcurl file to load) is set by the Makefile"
#endif
_Static_assert(sizeof(AGENT_LIBCURL_SONAME) > 1, "the Makefile found no libcurl.so: run make deps");

/* Written once under pthread_once, read-only afterwards (a library is
 * loaded per process). */
static struct {
	pthread_once_t once;
	agent_curl api;
	bool ok;
	pl_err err;
} lib = { PTHREAD_ONCE_INIT, { 0 }, false, { 0 } };

static void load_once(void)
{
	void *h = NULL, *p;

	if (pl_dl_open(&h, AGENT_LIBCURL_SONAME, "libcurl4", &lib.err) < 0)
		return;
#define AGENT_CURL_RESOLVE(f)                                        \
	if (!(p = pl_dl_sym(h, AGENT_LIBCURL_SONAME, #f, &lib.err))) \
		return;                                              \
	lib.api.f = (__typeof__(f) *)p;
	AGENT_CURL_FUNCS(AGENT_CURL_RESOLVE)
#undef AGENT_CURL_RESOLVE
	/* Once per process, before any thread makes a handle: curl_easy_init
	 * would otherwise do it on first use, racing other threads. */
	if (lib.api.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		pl_err_set(&lib.err, PL_EINTERNAL, "%s: curl_global_init failed", AGENT_LIBCURL_SONAME);
		return;
	}
	lib.ok = true;
}

int agent__curl_load(pl_err *err)
{
	pthread_once(&lib.once, load_once);
	if (!lib.ok)
		return pl_err_set(err, lib.err.code ? lib.err.code : PL_EINTERNAL, "%s", lib.err.msg);
	return 0;
}

const agent_curl *agent__curl_api(void)
{
	PL_ASSERT(lib.ok);
	return &lib.api;
}
