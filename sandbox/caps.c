/* caps.c - what isolation the kernel offers, found by trying it.
 *
 * Reading sysctls (unprivileged_userns_clone, max_user_namespaces) is not
 * enough: AppArmor, seccomp policies of a container we run in, or a
 * hardened kernel can still refuse.  So the probe forks a child that does
 * exactly the unshare the sandbox will do and reports back its errno. */
#define _GNU_SOURCE
#include "sandbox/sandbox.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs unshare(flags) in a child; returns 0 or the child's errno. */
static int try_unshare(int flags)
{
	pid_t pid;
	int status;

	pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0)
		_exit(unshare(flags) == 0 ? 0 : (errno & 0x7f));
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return errno;
	if (!WIFEXITED(status))
		return EINTR;
	return WEXITSTATUS(status);
}

int sbx_caps_probe(sbx_caps *out, pl_err *err)
{
	int e;

	memset(out, 0, sizeof(*out));
	out->is_root = geteuid() == 0;

	e = try_unshare(CLONE_NEWUSER);
	out->userns = e == 0;
	e = try_unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
			CLONE_NEWUTS);
	out->all_namespaces = e == 0;
	if (e == EAGAIN || e == ECHILD)
		return pl_err_set(err, PL_ESYS, "cannot run the namespace probe: %s", strerror(e));
	if (e)
		snprintf(out->userns_error, sizeof(out->userns_error), "%s", strerror(e));

	/* PR_GET_SECCOMP fails with EINVAL on kernels built without seccomp. */
	out->seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;

	/* Where sandbox cgroups would go, and why not (cgroup.c). */
	sbx_cgroup_probe(&out->cginfo, NULL, NULL);
	out->cgroup = out->cginfo.kind;
	out->cgroup_writable = out->cginfo.mode != SBX_CGMODE_NONE;
	snprintf(out->cgroup_path, sizeof(out->cgroup_path), "%s", out->cginfo.own);
	return 0;
}

const char *sbx_cgroup_kind_name(sbx_cgroup_kind k)
{
	switch (k) {
	case SBX_CGROUP_V1: return "v1";
	case SBX_CGROUP_V2: return "v2";
	case SBX_CGROUP_HYBRID: return "hybrid";
	case SBX_CGROUP_NONE: break;
	}
	return "none";
}
