/* http_info.c - what the HTTP model backends can rely on from libcurl. */
#include "agent/agent.h"
#include "agent/curl.h"

#include <string.h>

json_t *agent_http_info(pl_err *err)
{
	const curl_version_info_data *v;
	json_t *o;
	bool https = false;
	size_t i;

	if (agent__curl_load(err) < 0)
		return NULL;
	v = curl_version_info(CURLVERSION_NOW);
	o = json_object();
	for (i = 0; v->protocols && v->protocols[i]; i++)
		if (!strcmp(v->protocols[i], "https"))
			https = true;
	pl_json_set(o, "libcurl", json_string(v->version));
	pl_json_set(o, "tls", json_string(v->ssl_version ? v->ssl_version : "none"));
	pl_json_set(o, "https", json_boolean(https));
	return o;
}
