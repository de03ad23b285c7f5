/* seccomp.c - the system-call filter every sandboxed process runs under.
 *
 * A deny list, not an allow list: test suites use nearly every ordinary
 * system call, and what the kernel already refuses to an unprivileged user
 * in a user namespace needs no second refusal.  What is listed is what no
 * test suite needs and what past container escapes went through (mount
 * API, keyrings, bpf, perf, userfaultfd, ptrace, terminal injection,
 * nested user namespaces, io_uring).  Written with the BPF macros of
 * linux/filter.h; x86_64 only (other architectures are refused outright,
 * and the x32 ABI is killed). */
#define _GNU_SOURCE
#include "sandbox/internal.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __x86_64__
#error "the sandbox's seccomp filter is written for x86_64"
#endif

#define X32_SYSCALL_BIT 0x40000000u
#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n))

#define DENY(nr, e) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (e))

#define NS_FLAGS \
	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | \
	 CLONE_NEWCGROUP | CLONE_NEWTIME)

int sbx_seccomp_install(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),

		/* ioctl: TIOCSTI and TIOCLINUX compared on the low 32 bits of
		 * the request, which is all the kernel looks at: the
		 * "TIOCSTI | 1 << 32" variant is refused too. */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),

		/* clone and unshare: no new namespaces of any kind. */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		/* clone3 passes its flags in memory a filter cannot read:
		 * ENOSYS makes glibc fall back to clone, which is checked. */
		DENY(SYS_clone3, ENOSYS),
		DENY(SYS_setns, EPERM),

		DENY(SYS_ptrace, EPERM),
		DENY(SYS_process_vm_readv, EPERM),
		DENY(SYS_process_vm_writev, EPERM),
		DENY(SYS_mount, EPERM),
		DENY(SYS_umount2, EPERM),
		DENY(SYS_pivot_root, EPERM),
		DENY(SYS_chroot, EPERM),
		DENY(SYS_open_tree, EPERM),
		DENY(SYS_move_mount, EPERM),
		DENY(SYS_fsopen, EPERM),
		DENY(SYS_fsconfig, EPERM),
		DENY(SYS_fsmount, EPERM),
		DENY(SYS_fspick, EPERM),
		DENY(SYS_mount_setattr, EPERM),
		DENY(SYS_keyctl, EPERM),
		DENY(SYS_add_key, EPERM),
		DENY(SYS_request_key, EPERM),
		DENY(SYS_bpf, EPERM),
		DENY(SYS_perf_event_open, EPERM),
		DENY(SYS_userfaultfd, EPERM),
		DENY(SYS_kexec_load, EPERM),
		DENY(SYS_kexec_file_load, EPERM),
		DENY(SYS_init_module, EPERM),
		DENY(SYS_finit_module, EPERM),
		DENY(SYS_delete_module, EPERM),
		DENY(SYS_open_by_handle_at, EPERM),
		DENY(SYS_name_to_handle_at, EPERM),
		DENY(SYS_iopl, EPERM),
		DENY(SYS_ioperm, EPERM),
		DENY(SYS_syslog, EPERM),
		DENY(SYS_acct, EPERM),
		DENY(SYS_swapon, EPERM),
		DENY(SYS_swapoff, EPERM),
		DENY(SYS_reboot, EPERM),
		DENY(SYS_quotactl, EPERM),
		DENY(SYS_io_uring_setup, ENOSYS),
		DENY(SYS_io_uring_enter, ENOSYS),
		DENY(SYS_io_uring_register, ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = (unsigned short)PL_ARRAY_LEN(f), .filter = f };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return errno;
	return 0;
}
