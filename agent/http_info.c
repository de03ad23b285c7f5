/* http_info.c - what the HTTP model backends can rely on from libcurl. */
#include "agent/agent.h"

#include <curl/curl.h>
#include <string.h>

json_t *agent_http_info(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	json_t *o = json_object();
	bool https = false;
	size_t i;

	for (i = 0; v->protocols && v->protocols[i]; i++)
		if (!strcmp(v->protocols[i], "https"))
			https = true;
	pl_json_set(o, "libcurl", json_string(v->version));
	pl_json_set(o, "tls", json_string(v->ssl_version ? v->ssl_version : "none"));
	pl_json_set(o, "https", json_boolean(https));
	return o;
}
