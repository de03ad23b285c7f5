/* probe.c - escape and abuse probes run inside the sandbox by
 * tests/sandbox/test_escape.c (compiled by the test with cc).
 *
 * `probe MODE [ARG]` attempts one thing the sandbox must stop and exits:
 *   0  stopped, for the expected reason (the errno or the limit named below)
 *   1  ESCAPE: the attempt succeeded
 *   2  stopped, but not for the expected reason
 * and prints one line saying what happened.  Modes that must be killed
 * (x32, cpu) never exit by themselves. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static int expect(long rc, int want, const char *what)
{
	int e = errno;

	if (rc >= 0) {
		printf("ESCAPE: %s succeeded\n", what);
		return 1;
	}
	if (e != want) {
		printf("%s failed with %s, expected %s\n", what, strerrorname_np(e), strerrorname_np(want));
		return 2;
	}
	printf("%s refused: %s\n", what, strerrorname_np(e));
	return 0;
}

/* Either of two errnos is the right reason. */
static int expect2(long rc, int a, int b, const char *what)
{
	if (rc < 0 && errno == b)
		errno = a;
	return expect(rc, a, what);
}

static int expect3(long rc, int a, int b, int c, const char *what)
{
	if (rc < 0 && errno == c)
		errno = a;
	return expect2(rc, a, b, what);
}

static int tty_fd(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		return -1;
	return open(ptsname(m), O_RDWR | O_NOCTTY);
}

static int mode_fork_bomb(void)
{
	int n = 0;

	for (;;) {
		pid_t p = fork();

		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0) {
			printf("fork refused after %d children: %s\n", n, strerrorname_np(errno));
			return errno == EAGAIN ? 0 : 2;
		}
		if (++n > 100000) {
			printf("ESCAPE: %d processes\n", n);
			return 1;
		}
	}
}

static int mode_memory_hog(void)
{
	size_t total = 0, chunk = 16 << 20;

	for (;;) {
		char *p = malloc(chunk);

		if (!p) {
			printf("allocation refused after %zu MiB\n", total >> 20);
			return 0;
		}
		memset(p, 1, chunk);
		total += chunk;
		if (total > ((size_t)64 << 30)) {
			printf("ESCAPE: %zu MiB allocated\n", total >> 20);
			return 1;
		}
	}
}

static int mode_fds(void)
{
	int fd, bad = 0;

	for (fd = 3; fd < 65536; fd++) {
		if (fcntl(fd, F_GETFD) >= 0) {
			printf("ESCAPE: descriptor %d is open\n", fd);
			bad = 1;
		}
	}
	if (!bad)
		printf("no descriptor beyond 0-2\n");
	return bad;
}

static int mode_status(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");
	int ok = 0;

	if (!f)
		return 2;
	while (fgets(line, sizeof(line), f)) {
		if (!strcmp(line, "CapEff:\t0000000000000000\n") || !strcmp(line, "CapPrm:\t0000000000000000\n") ||
		    !strcmp(line, "CapBnd:\t0000000000000000\n") || !strcmp(line, "CapAmb:\t0000000000000000\n") ||
		    !strcmp(line, "CapInh:\t0000000000000000\n") || !strcmp(line, "NoNewPrivs:\t1\n") ||
		    !strcmp(line, "Seccomp:\t2\n"))
			ok++;
	}
	fclose(f);
	printf("%d of 7 hardening lines as expected\n", ok);
	return ok == 7 ? 0 : 1;
}

static int mode_connect_tcp(const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	int s = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return expect(connect(s, (struct sockaddr *)&a, sizeof(a)), ECONNREFUSED, "connect to the host's loopback");
}

static int mode_connect_abstract(const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	a.sun_path[0] = '\0';
	strncpy(a.sun_path + 1, name, sizeof(a.sun_path) - 2);
	return expect(connect(s, (struct sockaddr *)&a, (socklen_t)(sizeof(sa_family_t) + 1 + strlen(name))),
		      ECONNREFUSED, "connect to the host's abstract socket");
}

static int mode_connect_unix(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	strncpy(a.sun_path, path, sizeof(a.sun_path) - 1);
	return expect(connect(s, (struct sockaddr *)&a, sizeof(a)), ENOENT, "connect to a host unix socket");
}

static int mode_connect_internet(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(53) };
	int s = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = inet_addr("1.1.1.1");
	return expect(connect(s, (struct sockaddr *)&a, sizeof(a)), ENETUNREACH, "connect to the internet");
}

static int mode_kill_all(const char *hostpid)
{
	long r = kill(-1, SIGKILL);

	/* Either nothing else is visible (ESRCH) or only the sandbox's own
	 * processes were hit; the test checks the host's process lives. */
	printf("kill(-1) returned %ld (%s)\n", r, r < 0 ? strerrorname_np(errno) : "ok");
	if (kill(atoi(hostpid), SIGKILL) == 0) {
		printf("ESCAPE: killed host pid %s\n", hostpid);
		return 1;
	}
	return 0;
}

static int mode_ptrace_child(void)
{
	pid_t c = fork();
	int rc;

	if (c == 0) {
		pause();
		_exit(0);
	}
	rc = expect(ptrace(PTRACE_ATTACH, c, 0, 0), EPERM, "ptrace of another process");
	kill(c, SIGKILL);
	return rc;
}

static int mode_symlink_escape(const char *dir)
{
	char link[4096], target[4096];

	snprintf(link, sizeof(link), "%s/esc", dir);
	if (symlink("/etc", link) < 0)
		return 2;
	snprintf(target, sizeof(target), "%s/esc/plait-probe", dir);
	return expect(open(target, O_WRONLY | O_CREAT, 0644), EROFS, "write through a symlink out of the workdir");
}

static int mode_hardlink_escape(const char *dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/passwd", dir);
	return expect2(link("/etc/passwd", path), EXDEV, EPERM, "hard link of /etc/passwd into the workdir");
}

static int mode_tiocsti(int high)
{
	unsigned long req = TIOCSTI;
	char c = 'x';
	int fd = tty_fd();

	if (fd < 0)
		return 2;
	if (high)
		req |= 1ul << 32;
	return expect(syscall(SYS_ioctl, fd, req, &c), EPERM, high ? "TIOCSTI with high bits" : "TIOCSTI");
}

static int mode_tioclinux(void)
{
	char sub = 6;
	int fd = tty_fd();

	return expect(syscall(SYS_ioctl, fd, TIOCLINUX, &sub), EPERM, "TIOCLINUX");
}

static int mode_sys(const char *name)
{
	if (!strcmp(name, "mount"))
		return expect(mount("none", "/mnt", "tmpfs", 0, NULL), EPERM, "mount");
	if (!strcmp(name, "umount"))
		return expect(umount2("/proc", MNT_DETACH), EPERM, "umount /proc");
	if (!strcmp(name, "pivot_root"))
		return expect(syscall(SYS_pivot_root, "/tmp", "/tmp"), EPERM, "pivot_root");
	if (!strcmp(name, "chroot"))
		return expect(chroot("/tmp"), EPERM, "chroot");
	if (!strcmp(name, "fsopen"))
		return expect(syscall(SYS_fsopen, "tmpfs", 0), EPERM, "fsopen");
	if (!strcmp(name, "open_tree"))
		return expect(syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */), EPERM, "open_tree");
	if (!strcmp(name, "unshare_user"))
		return expect(unshare(CLONE_NEWUSER), EPERM, "unshare(CLONE_NEWUSER)");
	if (!strcmp(name, "unshare_ns"))
		return expect(unshare(CLONE_NEWNS), EPERM, "unshare(CLONE_NEWNS)");
	if (!strcmp(name, "clone_user"))
		return expect(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0), EPERM,
			      "clone(CLONE_NEWUSER)");
	if (!strcmp(name, "clone3"))
		return expect(syscall(SYS_clone3, NULL, 0), ENOSYS, "clone3");
	if (!strcmp(name, "setns")) {
		int fd = open("/proc/self/ns/user", O_RDONLY);

		return expect(setns(fd, 0), EPERM, "setns");
	}
	if (!strcmp(name, "keyctl"))
		return expect(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0), EPERM, "keyctl");
	if (!strcmp(name, "add_key"))
		return expect(syscall(SYS_add_key, "user", "k", "v", 1, -3), EPERM, "add_key");
	if (!strcmp(name, "bpf"))
		return expect(syscall(SYS_bpf, 0, NULL, 0), EPERM, "bpf");
	if (!strcmp(name, "perf_event_open"))
		return expect(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), EPERM, "perf_event_open");
	if (!strcmp(name, "userfaultfd"))
		return expect(syscall(SYS_userfaultfd, 0), EPERM, "userfaultfd");
	if (!strcmp(name, "init_module"))
		return expect(syscall(SYS_init_module, NULL, 0, ""), EPERM, "init_module");
	if (!strcmp(name, "finit_module"))
		return expect(syscall(SYS_finit_module, 0, "", 0), EPERM, "finit_module");
	if (!strcmp(name, "kexec_load"))
		return expect(syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM, "kexec_load");
	if (!strcmp(name, "io_uring_setup"))
		return expect(syscall(SYS_io_uring_setup, 1, NULL), ENOSYS, "io_uring_setup");
	if (!strcmp(name, "io_setup")) {
		unsigned long ctx = 0;

		/* each context takes from the host-wide fs.aio-max-nr */
		return expect(syscall(SYS_io_setup, 1, &ctx), ENOSYS, "io_setup");
	}
	if (!strcmp(name, "syslog"))
		return expect(syscall(SYS_syslog, 3, NULL, 0), EPERM, "syslog");
	if (!strcmp(name, "open_by_handle_at"))
		return expect(syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0), EPERM, "open_by_handle_at");
	if (!strcmp(name, "mknod"))
		return expect(mknod("/tmp/null2", S_IFCHR | 0666, makedev(1, 3)), EPERM, "mknod");
	if (!strcmp(name, "sethostname"))
		return expect(sethostname("evil", 4), EPERM, "sethostname");
	if (!strcmp(name, "raw_socket"))
		return expect2(socket(AF_PACKET, SOCK_RAW, 0), EAFNOSUPPORT, EPERM, "AF_PACKET socket");
	if (!strcmp(name, "vsock"))
		return expect(socket(40 /* AF_VSOCK */, SOCK_STREAM, 0), EAFNOSUPPORT, "AF_VSOCK socket");
	if (!strcmp(name, "openat2"))
		return expect(syscall(SYS_openat2, AT_FDCWD, "/", NULL, 0), ENOSYS, "openat2");
	if (!strcmp(name, "open_tree_attr"))
		return expect(syscall(467, AT_FDCWD, "/", 1, NULL, 0), EPERM, "open_tree_attr");
	if (!strcmp(name, "quotactl_fd"))
		return expect(syscall(SYS_quotactl_fd, 0, 0, 0, NULL), EPERM, "quotactl_fd");
	if (!strcmp(name, "proc1_root"))
		return expect(open("/proc/1/root/etc/passwd", O_RDONLY), EACCES, "open via /proc/1/root");
	if (!strcmp(name, "proc_self_exe"))
		return expect3(open("/proc/self/exe", O_WRONLY), ETXTBSY, EROFS, EACCES, "writing /proc/self/exe");
	if (!strcmp(name, "proc1_exe"))
		return expect(open("/proc/1/exe", O_RDONLY), EACCES, "opening the init's /proc/1/exe");
	if (!strcmp(name, "sysctl"))
		return expect2(open("/proc/sys/kernel/hostname", O_WRONLY), EROFS, EACCES, "writing a sysctl");
	if (!strcmp(name, "core_pattern"))
		return expect2(open("/proc/sys/kernel/core_pattern", O_WRONLY), EROFS, EACCES, "writing core_pattern");
	if (!strcmp(name, "sysfs"))
		return expect(open("/sys/plait-probe", O_WRONLY | O_CREAT, 0644), EROFS, "creating a file in /sys");
	if (!strcmp(name, "write_root"))
		return expect(open("/etc/plait-probe", O_WRONLY | O_CREAT, 0644), EROFS, "writing /etc");
	if (!strcmp(name, "write_usr"))
		return expect(mkdir("/usr/plait-probe", 0755), EROFS, "mkdir in /usr");
	if (!strcmp(name, "shadow"))
		return expect(open("/etc/shadow", O_RDONLY), EACCES, "reading /etc/shadow");
	if (!strcmp(name, "dev_mem"))
		return expect(open("/dev/mem", O_RDONLY), ENOENT, "opening /dev/mem");
	if (!strcmp(name, "dev_disk"))
		return expect(open("/dev/sda", O_RDONLY), ENOENT, "opening /dev/sda");
	if (!strcmp(name, "ptrace_init"))
		return expect(ptrace(PTRACE_ATTACH, 1, 0, 0), EPERM, "ptrace of the sandbox's init");
	if (!strcmp(name, "process_vm"))
		return expect(syscall(SYS_process_vm_readv, 1, NULL, 0, NULL, 0, 0), EPERM, "process_vm_readv");
	if (!strcmp(name, "kcore"))
		return expect3(open("/proc/kcore", O_RDONLY), EACCES, EPERM, ENOENT, "reading /proc/kcore");
	if (!strcmp(name, "modprobe"))
		return expect3(open("/proc/sys/kernel/modprobe", O_WRONLY), EROFS, EACCES, ENOENT,
			       "writing kernel.modprobe");
	if (!strcmp(name, "sysrq"))
		return expect3(open("/proc/sysrq-trigger", O_WRONLY), EROFS, EACCES, ENOENT,
			       "writing /proc/sysrq-trigger");
	if (!strcmp(name, "cgroup_write"))
		return expect3(open("/sys/fs/cgroup/cgroup.procs", O_WRONLY), EROFS, EACCES, ENOENT,
			       "writing the host's cgroups");
	if (!strcmp(name, "proc1_mem"))
		return expect(open("/proc/1/mem", O_RDONLY), EACCES, "reading the init's memory");
	if (!strcmp(name, "proc1_environ"))
		return expect(open("/proc/1/environ", O_RDONLY), EACCES, "reading the init's environment");
	if (!strcmp(name, "setuid_root"))
		return expect2(setuid(0), EPERM, EINVAL, "setuid(0)");
	if (!strcmp(name, "setgroups"))
		return expect(setgroups(0, NULL), EPERM, "setgroups");
	if (!strcmp(name, "raise_rlimit")) {
		struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };

		return expect(setrlimit(RLIMIT_NOFILE, &r), EPERM, "raising RLIMIT_NOFILE past its hard limit");
	}
	if (!strcmp(name, "raise_core")) {
		struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };

		return expect(setrlimit(RLIMIT_CORE, &r), EPERM, "raising RLIMIT_CORE");
	}
	if (!strcmp(name, "prctl_set_mm"))
		return expect(prctl(PR_SET_MM, PR_SET_MM_START_BRK, 0x1000, 0, 0), EPERM, "prctl(PR_SET_MM)");
	if (!strcmp(name, "dev_tty"))
		return expect(open("/dev/tty", O_RDWR), ENXIO, "opening a controlling terminal");
	if (!strcmp(name, "o_path_write")) {
		int fd = open("/etc/passwd", O_PATH);
		char p[64];

		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		return expect2(open(p, O_WRONLY), EROFS, EACCES, "reopening an O_PATH descriptor for writing");
	}
	if (!strcmp(name, "proc_self_root"))
		return expect(open("/proc/self/root/../../../etc/plait-probe", O_WRONLY | O_CREAT, 0644), EROFS,
			      "writing through /proc/self/root/..");
	if (!strcmp(name, "tmpfile_link")) {
		int fd = open("/tmp", O_TMPFILE | O_WRONLY, 0644);
		char p[64];

		if (fd < 0)
			return 2;
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		return expect2(linkat(AT_FDCWD, p, AT_FDCWD, "/etc/plait-probe", AT_SYMLINK_FOLLOW), EXDEV, EROFS,
			       "linking an O_TMPFILE file into /etc");
	}
	printf("unknown syscall probe '%s'\n", name);
	return 3;
}

/* The host's processes are not in the sandbox's PID namespace: a pidfd of
 * a host pid cannot be had, and the init's descriptors cannot be taken. */
static int mode_pidfd(const char *hostpid)
{
	int rc = expect(syscall(SYS_pidfd_open, atoi(hostpid), 0), ESRCH, "pidfd_open of a host process");
	int fd = (int)syscall(SYS_pidfd_open, 1, 0);

	if (fd < 0)
		return 2;
	return rc | expect(syscall(SYS_pidfd_getfd, fd, 0, 0), EPERM, "pidfd_getfd from the init");
}

/* IPC objects of the host (a System V shared memory segment with key). */
static int mode_ipc(const char *key)
{
	return expect(shmget((key_t)atoi(key), 0, 0), ENOENT, "attaching a host SysV shared memory segment");
}

/* 32-bit system calls through int 0x80: the filter kills them. */
static int mode_int80(void)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20) /* i386 getpid */ : "memory");
	printf("ESCAPE: a 32-bit system call returned %ld\n", r);
	return 1;
}

/* A crash that would dump core: no core file, however it asks. */
static int mode_core(void)
{
	struct rlimit r = { RLIM_INFINITY, RLIM_INFINITY };

	(void)setrlimit(RLIMIT_CORE, &r);
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	abort();
}

/* What the command can do to its standard output: truncate it, read back
 * what it held (the marker the caller wrote there before), seek it. */
static int mode_stdout_attacks(const char *marker)
{
	char buf[4096];
	ssize_t n;
	int fd, bad = 0;

	if (ftruncate(1, 0) == 0) {
		printf("ESCAPE: truncated the caller's output\n");
		bad = 1;
	}
	if (lseek(1, 0, SEEK_SET) == 0) {
		printf("ESCAPE: moved the offset of the caller's output\n");
		bad = 1;
	}
	n = pread(1, buf, sizeof(buf) - 1, 0);
	/* through /proc the description can be opened again, for reading */
	fd = open("/proc/self/fd/1", O_RDONLY | O_NONBLOCK);
	if (n <= 0 && fd >= 0)
		n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		if (strstr(buf, marker)) {
			printf("ESCAPE: read back what the caller's output held\n");
			bad = 1;
		}
	}
	if (!bad)
		printf("the output is a pipe of the sandbox's own\n");
	return bad;
}

/* Socket families no test suite needs, AF_VSOCK first (a VM's vsock ports
 * are not per network namespace). */
static int mode_socket_families(void)
{
	static const int families[] = { 40 /* AF_VSOCK */, AF_PACKET, AF_ALG,	 AF_KEY, 44 /* AF_XDP */,
					 AF_BLUETOOTH,	    AF_TIPC,   AF_CAN,	 AF_RDS, AF_APPLETALK };
	size_t i;
	int fd, sv[2];

	for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		if ((fd = socket(families[i], SOCK_DGRAM, 0)) >= 0 || errno != EAFNOSUPPORT) {
			printf("family %d: %s\n", families[i], fd >= 0 ? "ESCAPE: socket created" : strerrorname_np(errno));
			return fd >= 0 ? 1 : 2;
		}
		if (socketpair(families[i], SOCK_DGRAM, 0, sv) == 0) {
			printf("ESCAPE: socketpair of family %d\n", families[i]);
			return 1;
		}
	}
	printf("%zu families refused with EAFNOSUPPORT\n", i);
	return 0;
}

/* No setuid or setgid bit on anything made or changed in dir (the work
 * directory, which the host may later run files from). */
static int mode_setid(const char *dir)
{
	char path[4096], tmpl[4096];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/setid-probe", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (fd < 0)
		return 2;
	rc |= expect(chmod(path, 04755), EPERM, "chmod u+s");
	rc |= expect(fchmod(fd, 02755), EPERM, "fchmod g+s");
	rc |= expect(fchmodat(AT_FDCWD, path, 06755, 0), EPERM, "fchmodat ug+s");
	rc |= expect(syscall(452 /* fchmodat2 */, AT_FDCWD, path, 04755, 0), EPERM, "fchmodat2 u+s");
	snprintf(tmpl, sizeof(tmpl), "%s/setid-created", dir);
	rc |= expect(open(tmpl, O_WRONLY | O_CREAT | O_EXCL, 04755), EPERM, "open(O_CREAT, 04755)");
	rc |= expect(syscall(SYS_creat, tmpl, 02755), EPERM, "creat(02755)");
	rc |= expect(mknod(tmpl, S_IFREG | 04755, 0), EPERM, "mknod(S_IFREG | 04755)");
	rc |= expect(open(dir, O_TMPFILE | O_WRONLY, 04755), EPERM, "open(O_TMPFILE, 04755)");
	/* plain modes still work */
	if (chmod(path, 0700) < 0 || fchmod(fd, 0644) < 0) {
		printf("a plain chmod failed: %s\n", strerrorname_np(errno));
		rc |= 2;
	}
	close(fd);
	return rc ? (rc & 1 ? 1 : 2) : 0;
}

/* File capabilities: a binary left with them runs privileged on the host. */
static int mode_file_caps(const char *dir)
{
	/* VFS_CAP_REVISION_2, cap_setuid permitted and effective */
	const uint32_t caps[5] = { 0x02000001, 1u << 7, 1u << 7, 0, 0 };
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/caps-probe", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755)) < 0)
		return 2;
	close(fd);
	return expect(setxattr(path, "security.capability", caps, sizeof(caps), 0), EPERM,
		      "setting file capabilities");
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "", *a = argc > 2 ? argv[2] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(m, "sys"))
		return mode_sys(a);
	if (!strcmp(m, "fork_bomb"))
		return mode_fork_bomb();
	if (!strcmp(m, "memory_hog"))
		return mode_memory_hog();
	if (!strcmp(m, "spin"))
		for (;;)
			;
	if (!strcmp(m, "x32")) {
		syscall(0x40000000 | SYS_getpid);
		printf("ESCAPE: x32 system call allowed\n");
		return 1;
	}
	if (!strcmp(m, "fds"))
		return mode_fds();
	if (!strcmp(m, "pidfd"))
		return mode_pidfd(a);
	if (!strcmp(m, "ipc"))
		return mode_ipc(a);
	if (!strcmp(m, "int80"))
		return mode_int80();
	if (!strcmp(m, "core"))
		return mode_core();
	if (!strcmp(m, "kill_init")) {
		/* the init ignores what it does not handle, SIGKILL included
		 * from inside its namespace: the run still reports this exit */
		kill(1, SIGKILL);
		kill(1, SIGTERM);
		kill(1, SIGSEGV);
		printf("the init is still there\n");
		return 0;
	}
	if (!strcmp(m, "env")) {
		if (getenv(a)) {
			printf("ESCAPE: the caller's %s is visible\n", a);
			return 1;
		}
		printf("no %s\n", a);
		return 0;
	}
	if (!strcmp(m, "socket_families"))
		return mode_socket_families();
	if (!strcmp(m, "setid"))
		return mode_setid(a);
	if (!strcmp(m, "file_caps"))
		return mode_file_caps(a);
	if (!strcmp(m, "stdout_attacks"))
		return mode_stdout_attacks(a);
	if (!strcmp(m, "stdout_nonblock"))
		return fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK) < 0 ? 2 : 0;
	if (!strcmp(m, "status"))
		return mode_status();
	if (!strcmp(m, "connect_tcp"))
		return mode_connect_tcp(a);
	if (!strcmp(m, "connect_abstract"))
		return mode_connect_abstract(a);
	if (!strcmp(m, "connect_unix"))
		return mode_connect_unix(a);
	if (!strcmp(m, "connect_internet"))
		return mode_connect_internet();
	if (!strcmp(m, "kill_all"))
		return mode_kill_all(a);
	if (!strcmp(m, "ptrace_host"))
		return expect(ptrace(PTRACE_ATTACH, atoi(a), 0, 0), EPERM, "ptrace of a host process");
	if (!strcmp(m, "ptrace_child"))
		return mode_ptrace_child();
	if (!strcmp(m, "symlink"))
		return mode_symlink_escape(a);
	if (!strcmp(m, "hardlink"))
		return mode_hardlink_escape(a);
	if (!strcmp(m, "tiocsti"))
		return mode_tiocsti(0);
	if (!strcmp(m, "tiocsti_high"))
		return mode_tiocsti(1);
	if (!strcmp(m, "tioclinux"))
		return mode_tioclinux();
	if (!strcmp(m, "read"))
		return expect(open(a, O_RDONLY), ENOENT, "reading a host path outside the binds");
	if (!strcmp(m, "read_denied"))
		return expect(open(a, O_RDONLY), EACCES, "reading a host secret");
	if (!strcmp(m, "write_ro"))
		return expect(open(a, O_WRONLY | O_CREAT, 0644), EROFS, "writing a read-only bind");
	if (!strcmp(m, "nofile")) {
		int n = 0;

		while (open("/dev/null", O_RDONLY) >= 0)
			n++;
		printf("opened %d files\n", n);
		return errno == EMFILE && n < 1000 ? 0 : 2;
	}
	printf("unknown mode '%s'\n", m);
	return 3;
}
