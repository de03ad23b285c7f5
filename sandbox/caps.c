/* caps.c - what isolation the kernel offers, found by trying it.
 *
 * Reading sysctls (unprivileged_userns_clone, max_user_namespaces) is not
 * enough: AppArmor, seccomp policies of a container we run in, or a
 * hardened kernel can still refuse.  So the probe forks a child that does
 * exactly the unshare the sandbox will do and reports back its errno. */
#define _GNU_SOURCE
#include "sandbox/sandbox.h"

#include <errno.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
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

/* Our own cgroup from /proc/self/cgroup ("0::/path" on v2). */
static void own_cgroup(sbx_caps *c)
{
	pl_buf b = PL_BUF_INIT;
	char *p;

	if (pl_file_read(&b, "/proc/self/cgroup", 1 << 16, NULL) < 0)
		goto done;
	p = strstr(b.ptr, "0::");
	if (!p || (p != b.ptr && p[-1] != '\n'))
		goto done;
	p += 3;
	*strchrnul(p, '\n') = '\0';
	snprintf(c->cgroup_path, sizeof(c->cgroup_path), "/sys/fs/cgroup%s", strcmp(p, "/") ? p : "");
	c->cgroup_writable = access(c->cgroup_path, W_OK) == 0 &&
			     access("/sys/fs/cgroup/cgroup.controllers", R_OK) == 0;
done:
	pl_buf_release(&b);
}

int sbx_caps_probe(sbx_caps *out, pl_err *err)
{
	struct statfs fs;
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

	if (statfs("/sys/fs/cgroup", &fs) == 0) {
		if ((unsigned long)fs.f_type == CGROUP2_SUPER_MAGIC) {
			out->cgroup = SBX_CGROUP_V2;
			own_cgroup(out);
		} else if ((unsigned long)fs.f_type == TMPFS_MAGIC ||
			   (unsigned long)fs.f_type == CGROUP_SUPER_MAGIC) {
			out->cgroup = SBX_CGROUP_V1;
		}
	}
	return 0;
}

const char *sbx_cgroup_kind_name(sbx_cgroup_kind k)
{
	switch (k) {
	case SBX_CGROUP_V1: return "v1";
	case SBX_CGROUP_V2: return "v2";
	case SBX_CGROUP_NONE: break;
	}
	return "none";
}
