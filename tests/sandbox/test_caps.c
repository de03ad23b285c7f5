/* What the kernel lets the sandbox use, checked against first principles. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <sched.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox.h"

Test(caps, probe_matches_a_direct_attempt)
{
	sbx_caps c;
	pl_err err = { 0 };
	pid_t pid;
	int status;

	cr_assert_eq(sbx_caps_probe(&c, &err), 0, "%s", err.msg);
	cr_assert_eq(c.is_root, geteuid() == 0);
	/* Do the same unshare ourselves: the probe must agree. */
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(c.userns, WEXITSTATUS(status) == 0);
	if (!c.all_namespaces)
		cr_assert_gt(strlen(c.userns_error), 0, "refusal without a reason");
	if (c.all_namespaces)
		cr_assert(c.userns);
}

Test(caps, cgroup_names)
{
	cr_assert_str_eq(sbx_cgroup_kind_name(SBX_CGROUP_V1), "v1");
	cr_assert_str_eq(sbx_cgroup_kind_name(SBX_CGROUP_V2), "v2");
	cr_assert_str_eq(sbx_cgroup_kind_name(SBX_CGROUP_HYBRID), "hybrid");
	cr_assert_str_eq(sbx_cgroup_kind_name(SBX_CGROUP_NONE), "none");
}

Test(caps, cgroup_kind_agrees_with_proc_mounts)
{
	sbx_caps c;
	pl_buf m = PL_BUF_INIT;
	bool v1, v2;

	cr_assert_eq(sbx_caps_probe(&c, NULL), 0);
	cr_assert_eq(pl_file_read(&m, "/proc/self/mounts", 0, NULL), 0);
	v1 = strstr(m.ptr, " cgroup rw") || strstr(m.ptr, " cgroup ro");
	v2 = strstr(m.ptr, " cgroup2 ") != NULL;
	cr_assert_eq(c.cgroup, v1 && v2 ? SBX_CGROUP_HYBRID : v2 ? SBX_CGROUP_V2 : v1 ? SBX_CGROUP_V1 : SBX_CGROUP_NONE);
	/* the caps carry the probe's verdict */
	cr_assert_eq(c.cgroup_writable, c.cginfo.mode != SBX_CGMODE_NONE);
	cr_assert_str_eq(c.cgroup_path, c.cginfo.own);
	if (!c.cgroup_writable)
		cr_assert_gt(strlen(c.cginfo.why), 0, "no reason given for the rlimit fallback");
	pl_buf_release(&m);
}
