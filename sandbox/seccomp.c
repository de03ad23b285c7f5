/* seccomp.c - the system-call filter every sandboxed process runs under.
 *
 * A deny list, not an allow list: test suites use nearly every ordinary
 * system call, and what the kernel already refuses to an unprivileged user
 * in a user namespace needs no second refusal.  What is listed is what no
 * test suite needs and what past container escapes went through (mount
 * API, keyrings, bpf, perf, userfaultfd, ptrace, terminal injection,
 * nested user namespaces, io_uring, socket families such as AF_VSOCK that
 * network namespaces do not isolate), and the setuid and setgid bits on
 * files, which a command could otherwise leave in a writable bind for
 * someone on the host to run.  x86_64 only: other architectures are
 * refused outright and the x32 ABI is killed.
 *
 * Shape.  The listed calls are sorted by number and the filter is a
 * balanced binary search over them, not a chain of comparisons: a call
 * passes through about log2(n) + 6 instructions instead of n + 6.  That is
 * cheaper for every system call the sandbox makes and, above all, for
 * installing the filter, because the kernel runs the program once per
 * system call number to build its "always allowed" cache: with the chain
 * that took about 200 us per sandbox (docs/PERFORMANCE.md). */
#define _GNU_SOURCE
#include "sandbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __x86_64__
#error "the sandbox's seccomp filter is written for x86_64"
#endif

#define X32_SYSCALL_BIT 0x40000000u
#define ARG_LO(n) (offsetof(struct seccomp_data, args) + 8 * (n))

/* Newer than the C library's headers on some systems. */
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
#ifndef SYS_open_tree_attr
#define SYS_open_tree_attr 467
#endif

/* Mode bits nothing in the sandbox may set: a file left in a writable
 * bind with them would run with its owner's (or group's) ids once someone
 * on the host executes it. */
#define SETID_BITS (S_ISUID | S_ISGID)
/* Flags under which open's mode argument is used: O_CREAT, and O_TMPFILE's
 * own bit (O_TMPFILE also carries O_DIRECTORY, which alone uses no mode). */
#define OPEN_MODE_FLAGS (O_CREAT | 020000000)

#define NS_FLAGS \
	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | \
	 CLONE_NEWCGROUP | CLONE_NEWTIME)

enum rule_kind {
	R_ERRNO,   /* refused with err */
	R_IOCTL,   /* TIOCSTI and TIOCLINUX refused, any other request allowed */
	R_NSFLAGS, /* refused when the flags (argument 0) ask for a namespace */
	R_FAMILY,  /* socket families other than the four below refused */
	R_MODE,    /* refused when the mode (argument arg) has setuid/setgid */
	R_OPEN,    /* refused when the flags (argument arg) create and the mode
		    * (argument arg2) has setuid/setgid */
};

typedef struct rule {
	int nr;
	enum rule_kind kind;
	int err;
	int arg, arg2;
} rule;

static const rule rules[] = {
	/* ioctl: TIOCSTI and TIOCLINUX compared on the low 32 bits of the
	 * request, which is all the kernel looks at: the "TIOCSTI | 1 << 32"
	 * variant is refused too. */
	{ SYS_ioctl, R_IOCTL, EPERM, 0, 0 },
	/* No new namespaces of any kind.  clone3 passes its flags in memory a
	 * filter cannot read: ENOSYS makes glibc fall back to clone. */
	{ SYS_clone, R_NSFLAGS, EPERM, 0, 0 },
	{ SYS_unshare, R_NSFLAGS, EPERM, 0, 0 },
	{ SYS_clone3, R_ERRNO, ENOSYS, 0, 0 },
	{ SYS_setns, R_ERRNO, EPERM, 0, 0 },
	{ SYS_ptrace, R_ERRNO, EPERM, 0, 0 },
	{ SYS_process_vm_readv, R_ERRNO, EPERM, 0, 0 },
	{ SYS_process_vm_writev, R_ERRNO, EPERM, 0, 0 },
	{ SYS_mount, R_ERRNO, EPERM, 0, 0 },
	{ SYS_umount2, R_ERRNO, EPERM, 0, 0 },
	{ SYS_pivot_root, R_ERRNO, EPERM, 0, 0 },
	{ SYS_chroot, R_ERRNO, EPERM, 0, 0 },
	{ SYS_open_tree, R_ERRNO, EPERM, 0, 0 },
	{ SYS_move_mount, R_ERRNO, EPERM, 0, 0 },
	{ SYS_fsopen, R_ERRNO, EPERM, 0, 0 },
	{ SYS_fsconfig, R_ERRNO, EPERM, 0, 0 },
	{ SYS_fsmount, R_ERRNO, EPERM, 0, 0 },
	{ SYS_fspick, R_ERRNO, EPERM, 0, 0 },
	{ SYS_mount_setattr, R_ERRNO, EPERM, 0, 0 },
	{ SYS_keyctl, R_ERRNO, EPERM, 0, 0 },
	{ SYS_add_key, R_ERRNO, EPERM, 0, 0 },
	{ SYS_request_key, R_ERRNO, EPERM, 0, 0 },
	{ SYS_bpf, R_ERRNO, EPERM, 0, 0 },
	{ SYS_perf_event_open, R_ERRNO, EPERM, 0, 0 },
	{ SYS_userfaultfd, R_ERRNO, EPERM, 0, 0 },
	{ SYS_kexec_load, R_ERRNO, EPERM, 0, 0 },
	{ SYS_kexec_file_load, R_ERRNO, EPERM, 0, 0 },
	{ SYS_init_module, R_ERRNO, EPERM, 0, 0 },
	{ SYS_finit_module, R_ERRNO, EPERM, 0, 0 },
	{ SYS_delete_module, R_ERRNO, EPERM, 0, 0 },
	{ SYS_open_by_handle_at, R_ERRNO, EPERM, 0, 0 },
	{ SYS_name_to_handle_at, R_ERRNO, EPERM, 0, 0 },
	{ SYS_iopl, R_ERRNO, EPERM, 0, 0 },
	{ SYS_ioperm, R_ERRNO, EPERM, 0, 0 },
	{ SYS_syslog, R_ERRNO, EPERM, 0, 0 },
	{ SYS_acct, R_ERRNO, EPERM, 0, 0 },
	{ SYS_swapon, R_ERRNO, EPERM, 0, 0 },
	{ SYS_swapoff, R_ERRNO, EPERM, 0, 0 },
	{ SYS_reboot, R_ERRNO, EPERM, 0, 0 },
	{ SYS_quotactl, R_ERRNO, EPERM, 0, 0 },
	/* each AIO context takes from fs.aio-max-nr, one count for the whole
	 * host: a sandbox could leave others none (programs fall back to
	 * threads on ENOSYS, as they do for io_uring) */
	{ SYS_io_setup, R_ERRNO, ENOSYS, 0, 0 },
	{ SYS_io_uring_setup, R_ERRNO, ENOSYS, 0, 0 },
	{ SYS_io_uring_enter, R_ERRNO, ENOSYS, 0, 0 },
	{ SYS_io_uring_register, R_ERRNO, ENOSYS, 0, 0 },
	/* Reviewed against the kernel's table up to 467 (open_tree_attr,
	 * Linux 6.15); tests/sandbox/test_seccomp.c fails when the running
	 * kernel has a mount-family call this list does not name. */
	{ SYS_open_tree_attr, R_ERRNO, EPERM, 0, 0 },
	{ SYS_quotactl_fd, R_ERRNO, EPERM, 0, 0 },
	/* Sockets: the families test suites use (local, IPv4, IPv6, netlink
	 * for interface lists).  Others, AF_VSOCK above all (not isolated by
	 * network namespaces: a sandbox would share the VM's vsock ports),
	 * AF_PACKET, AF_ALG, AF_KEY, AF_XDP, Bluetooth, and the rest of the
	 * kernel's protocol zoo, fail as an unsupported family would. */
	{ SYS_socket, R_FAMILY, EAFNOSUPPORT, 0, 0 },
	{ SYS_socketpair, R_FAMILY, EAFNOSUPPORT, 0, 0 },
	/* No setuid or setgid bit on anything the sandbox creates or changes
	 * (mkdir cannot set them: the kernel masks its mode).  openat2 passes
	 * its mode in memory, which a filter cannot read: ENOSYS, and callers
	 * fall back to openat. */
	{ SYS_chmod, R_MODE, EPERM, 1, 0 },
	{ SYS_fchmod, R_MODE, EPERM, 1, 0 },
	{ SYS_fchmodat, R_MODE, EPERM, 2, 0 },
	{ SYS_fchmodat2, R_MODE, EPERM, 2, 0 },
	{ SYS_mknod, R_MODE, EPERM, 1, 0 },
	{ SYS_mknodat, R_MODE, EPERM, 2, 0 },
	{ SYS_creat, R_MODE, EPERM, 1, 0 },
	{ SYS_open, R_OPEN, EPERM, 1, 2 },
	{ SYS_openat, R_OPEN, EPERM, 2, 3 },
	{ SYS_openat2, R_ERRNO, ENOSYS, 0, 0 },
};

#define NRULES PL_ARRAY_LEN(rules)

/* The emitter writes into a caller's array and never allocates: it runs
 * in the sandbox's child, between clone() and execve(). */
typedef struct emitter {
	struct sock_filter *f;
	size_t n, cap;
	bool overflow;
} emitter;

static void emit(emitter *e, uint16_t code, uint32_t k, size_t jt, size_t jf)
{
	if (e->n >= e->cap || jt > 255 || jf > 255) {
		e->overflow = true;
		return;
	}
	e->f[e->n++] = (struct sock_filter){ code, (uint8_t)jt, (uint8_t)jf, k };
}

/* The instructions after "nr == r->nr" matched; every path returns. */
static size_t action_len(const rule *r)
{
	switch (r->kind) {
	case R_IOCTL: return 5;
	case R_NSFLAGS: return 4;
	case R_FAMILY: return 7;
	case R_MODE: return 4;
	case R_OPEN: return 7;
	case R_ERRNO: break;
	}
	return 1;
}

static void emit_action(emitter *e, const rule *r)
{
	uint32_t deny = SECCOMP_RET_ERRNO | (uint32_t)r->err;

	switch (r->kind) {
	case R_IOCTL:
		emit(e, BPF_LD | BPF_W | BPF_ABS, ARG_LO(1), 0, 0);
		emit(e, BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 2, 0);
		emit(e, BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 1, 0);
		emit(e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
		emit(e, BPF_RET | BPF_K, deny, 0, 0);
		break;
	case R_NSFLAGS:
		emit(e, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
		emit(e, BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 1, 0);
		emit(e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
		emit(e, BPF_RET | BPF_K, deny, 0, 0);
		break;
	case R_FAMILY:
		emit(e, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), 0, 0);
		emit(e, BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 4, 0);
		emit(e, BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 3, 0);
		emit(e, BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 2, 0);
		emit(e, BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 1, 0);
		emit(e, BPF_RET | BPF_K, deny, 0, 0);
		emit(e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
		break;
	case R_MODE:
		emit(e, BPF_LD | BPF_W | BPF_ABS, ARG_LO(r->arg), 0, 0);
		emit(e, BPF_JMP | BPF_JSET | BPF_K, SETID_BITS, 1, 0);
		emit(e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
		emit(e, BPF_RET | BPF_K, deny, 0, 0);
		break;
	case R_OPEN:
		emit(e, BPF_LD | BPF_W | BPF_ABS, ARG_LO(r->arg), 0, 0);
		emit(e, BPF_JMP | BPF_JSET | BPF_K, OPEN_MODE_FLAGS, 1, 0);
		emit(e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
		emit(e, BPF_LD | BPF_W | BPF_ABS, ARG_LO(r->arg2), 0, 0);
		emit(e, BPF_JMP | BPF_JSET | BPF_K, SETID_BITS, 1, 0);
		emit(e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
		emit(e, BPF_RET | BPF_K, deny, 0, 0);
		break;
	case R_ERRNO:
		emit(e, BPF_RET | BPF_K, deny, 0, 0);
		break;
	}
}

/* Length of the search over sorted[lo, hi): an inner node is one "nr >=
 * pivot" jump; a leaf is "nr == rule" with its action, else allow. */
static size_t tree_len(const rule *const *sorted, size_t lo, size_t hi)
{
	size_t mid = lo + (hi - lo) / 2;

	if (hi - lo == 1)
		return 2 + action_len(sorted[lo]);
	return 1 + tree_len(sorted, lo, mid) + tree_len(sorted, mid, hi);
}

static void emit_tree(emitter *e, const rule *const *sorted, size_t lo, size_t hi)
{
	size_t mid = lo + (hi - lo) / 2;

	if (hi - lo == 1) {
		emit(e, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)sorted[lo]->nr, 0, action_len(sorted[lo]));
		emit_action(e, sorted[lo]);
		emit(e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
		return;
	}
	emit(e, BPF_JMP | BPF_JGE | BPF_K, (uint32_t)sorted[mid]->nr, tree_len(sorted, lo, mid), 0);
	emit_tree(e, sorted, lo, mid);
	emit_tree(e, sorted, mid, hi);
}

int sbx__seccomp_build(struct sock_filter *out, size_t cap)
{
	const rule *sorted[NRULES];
	emitter e = { out, 0, cap, false };
	size_t i, j;

	/* Insertion sort: a few dozen entries, and no libc in the child. */
	for (i = 0; i < NRULES; i++) {
		const rule *r = &rules[i];

		for (j = i; j > 0 && sorted[j - 1]->nr > r->nr; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = r;
	}
	emit(&e, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), 0, 0);
	emit(&e, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	emit(&e, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
	emit(&e, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), 0, 0);
	emit(&e, BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1);
	emit(&e, BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS, 0, 0);
	emit_tree(&e, sorted, 0, NRULES);
	return e.overflow ? -EOVERFLOW : (int)e.n;
}

int sbx__seccomp_install(void)
{
	struct sock_filter f[SBX__SECCOMP_MAX];
	struct sock_fprog prog;
	int n = sbx__seccomp_build(f, PL_ARRAY_LEN(f));

	if (n < 0)
		return -n;
	prog.len = (unsigned short)n;
	prog.filter = f;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return errno;
	return 0;
}
