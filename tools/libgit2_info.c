/* libgit2_info.c - which libgit2 plait runs against. */
#include "tools/internal.h"

json_t *tools_libgit2_info(pl_err *err)
{
	json_t *o, *arr;
	int major = 0, minor = 0, rev = 0, f;

	if (tools__git2_load(err) < 0)
		return NULL;
	git_libgit2_version(&major, &minor, &rev);
	f = git_libgit2_features();
	o = json_object();
	arr = json_array();
	if (f & GIT_FEATURE_THREADS)
		json_array_append_new(arr, json_string("threads"));
	if (f & GIT_FEATURE_HTTPS)
		json_array_append_new(arr, json_string("https"));
	if (f & GIT_FEATURE_SSH)
		json_array_append_new(arr, json_string("ssh"));
	if (f & GIT_FEATURE_NSEC)
		json_array_append_new(arr, json_string("nsec"));
	pl_json_set(o, "version", json_sprintf("%d.%d.%d", major, minor, rev));
	pl_json_set(o, "major", json_integer(major));
	pl_json_set(o, "minor", json_integer(minor));
	pl_json_set(o, "features", arr);
	return o;
}
