/* libgit2_info.c - which libgit2 plait runs against. */
#include "tools/tools.h"

#include <git2.h>

void tools_libgit2_version(int *major, int *minor, int *rev)
{
	git_libgit2_version(major, minor, rev);
}

json_t *tools_libgit2_features(void)
{
	int f = git_libgit2_features();
	json_t *arr = json_array();

	if (f & GIT_FEATURE_THREADS)
		json_array_append_new(arr, json_string("threads"));
	if (f & GIT_FEATURE_HTTPS)
		json_array_append_new(arr, json_string("https"));
	if (f & GIT_FEATURE_SSH)
		json_array_append_new(arr, json_string("ssh"));
	if (f & GIT_FEATURE_NSEC)
		json_array_append_new(arr, json_string("nsec"));
	return arr;
}
