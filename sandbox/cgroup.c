/* cgroup.c - memory and process limits through a cgroup v2 of each
 * sandbox's own.
 *
 * Finding a place (sbx_cgroup_probe, read-only).  The cgroup2 mount comes
 * from /proc/self/mountinfo (/sys/fs/cgroup on a pure v2 system,
 * /sys/fs/cgroup/unified in hybrid mode), plait's own cgroup from
 * /proc/self/cgroup ("0::/path").  Sandbox cgroups need a parent whose
 * children get the memory and pids controllers, i.e. whose
 * cgroup.subtree_control lists both, and cgroup v2's "no internal
 * processes" rule says a non-root cgroup that enables controllers for its
 * children may hold no process itself.  So, in order:
 *   1. a configured parent (--cgroup-parent, "cgroup_parent"): used as
 *      given, memory and pids enabled in it when it holds no process;
 *   2. plait's own cgroup when it is the hierarchy's root (no cgroup.type
 *      file), which the rule exempts;
 *   3. plait's own cgroup when plait is the only process in it (systemd-run
 *      --scope -p Delegate=yes, a container's sole process): like crun and
 *      nsjail, plait moves itself into the leaf plait-<pid> and enables the
 *      controllers for the sandboxes beside it;
 *   4. the nearest ancestor of plait's cgroup that already enables memory
 *      and pids for its children and that plait may write (a delegated
 *      systemd --user slice; as root, the host's root cgroup): sandboxes
 *      are siblings of plait's cgroup there.  Nothing is enabled in a
 *      cgroup plait was not given.
 * Otherwise the limits fall back to rlimits and info.why names the file
 * and controller that was missing.
 *
 * Using it (run.c): before the sandbox's init is released, the caller
 * creates <parent>/plait-<pid>-<n>, writes memory.max, memory.swap.max = 0
 * and pids.max, and writes the init's pid to cgroup.procs; every process of
 * the sandbox is born inside.  memory.events oom_kill and pids.events max,
 * read before and after each command, say whether a limit was hit.
 * Teardown writes cgroup.kill, waits for the cgroup to empty and removes
 * it. */
#define _GNU_SOURCE
#include "sandbox/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char fix_hint[] = "boot with systemd.unified_cgroup_hierarchy=1 (pure cgroup v2), or give a "
			       "writable cgroup v2 directory whose cgroup.controllers lists memory and pids "
			       "with --cgroup-parent DIR";

/* ---------------------------------------------------------------- reading */

/* snprintf that says whether everything fit (messages and paths are cut
 * rather than overflowed; a cut path is refused where it matters). */
PL_PRINTF(3, 4) static bool fmt(char *dst, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(dst, size, f, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < size;
}

/* The file's first 64 KiB, NUL-terminated; false when unreadable. */
static bool read_small(pl_buf *b, const char *path)
{
	pl_buf_reset(b);
	return pl_file_read(b, path, 1 << 20, NULL) == 0;
}

/* Whether the space-separated list in file names the word. */
static bool list_has(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word))) {
		if ((p == list || p[-1] == ' ' || p[-1] == '\n') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

/* Whether the comma-separated list names the word. */
static bool list_has_csv(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word))) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

/* Which of memory and pids the file lists: "" when both, else the missing
 * ones, quoted, into miss.  False when the file cannot be read. */
static bool controllers_missing(char *miss, size_t size, const char *dir, const char *file)
{
	pl_buf b = PL_BUF_INIT, p = PL_BUF_INIT;
	bool ok, mem, pids;

	pl_buf_printf(&p, "%s/%s", dir, file);
	ok = read_small(&b, p.ptr);
	mem = ok && list_has(b.ptr, "memory");
	pids = ok && list_has(b.ptr, "pids");
	fmt(miss, size, "%s%s%s", mem ? "" : "'memory'", !mem && !pids ? " and " : "", pids ? "" : "'pids'");
	pl_buf_release(&b);
	pl_buf_release(&p);
	return ok;
}

static bool has_file(const char *dir, const char *file)
{
	char path[PATH_MAX];

	fmt(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

static bool writable(const char *dir, const char *file)
{
	char path[PATH_MAX];

	fmt(path, sizeof(path), "%s/%s", dir, file);
	return access(dir, W_OK | X_OK) == 0 && access(path, W_OK) == 0;
}

/* The root cgroup of a hierarchy has no cgroup.type. */
static bool is_hierarchy_root(const char *dir)
{
	return !has_file(dir, "cgroup.type");
}

/* Processes in dir: the count, and whether the only one is us. */
static size_t procs(const char *dir, bool *only_us)
{
	pl_buf b = PL_BUF_INIT, p = PL_BUF_INIT;
	size_t n = 0;
	char *line, *save = NULL;
	bool us = false;
	long self = (long)getpid();

	pl_buf_printf(&p, "%s/cgroup.procs", dir);
	if (read_small(&b, p.ptr)) {
		for (line = strtok_r(b.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			n++;
			if (atol(line) == self)
				us = true;
		}
	}
	*only_us = n == 1 && us;
	pl_buf_release(&b);
	pl_buf_release(&p);
	return n;
}

/* Whether we are the only process in dir.  Only the file's first bytes
 * are read: a host's root cgroup may list thousands of processes, and the
 * probe runs for every sandbox with limits, which is every sandbox. */
static bool alone_in(const char *dir)
{
	char path[PATH_MAX], buf[64], pid[24];
	ssize_t n, got = 0;
	int fd;

	if (!fmt(path, sizeof(path), "%s/cgroup.procs", dir) || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	while (got < (ssize_t)sizeof(buf) && (n = read(fd, buf + got, sizeof(buf) - (size_t)got)) > 0)
		got += n;
	close(fd);
	fmt(pid, sizeof(pid), "%d\n", (int)getpid());
	return got == (ssize_t)strlen(pid) && !memcmp(buf, pid, (size_t)got);
}

/* mountinfo escapes spaces, tabs, newlines and backslashes as \ooo. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* Find the cgroup2 mount (preferring /sys/fs/cgroup, then
 * /sys/fs/cgroup/unified) and its root within the hierarchy; set the kind. */
static void find_mount(sbx_cgroup_info *out, char *mroot, size_t mroot_size, const char *root)
{
	pl_buf b = PL_BUF_INIT, p = PL_BUF_INIT;
	char *line, *save = NULL;
	bool v1 = false, v2 = false;
	int best = 0;

	pl_buf_printf(&p, "%s/proc/self/mountinfo", root);
	if (!read_small(&b, p.ptr)) {
		fmt(out->why, sizeof(out->why), "cannot read %s", p.ptr);
		goto done;
	}
	for (line = strtok_r(b.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[6] = { 0 }, *sep = strstr(line, " - "), *fstype, *s2 = NULL, *tok;
		int i = 0, rank;

		if (!sep)
			continue;
		*sep = '\0';
		fstype = strtok_r(sep + 3, " ", &s2);
		for (tok = strtok_r(line, " ", &s2); tok && i < 6; tok = strtok_r(NULL, " ", &s2))
			f[i++] = tok;
		if (!fstype || i < 5)
			continue;
		if (!strcmp(fstype, "cgroup")) {
			v1 = true;
			continue;
		}
		if (strcmp(fstype, "cgroup2"))
			continue;
		v2 = true;
		unescape(f[3]);
		unescape(f[4]);
		rank = !strcmp(f[4], "/sys/fs/cgroup") ? 3 : !strcmp(f[4], "/sys/fs/cgroup/unified") ? 2 : 1;
		if (rank > best) {
			best = rank;
			fmt(out->mount, sizeof(out->mount), "%s", f[4]);
			fmt(mroot, mroot_size, "%s", f[3]);
		}
	}
	out->kind = v2 && v1 ? SBX_CGROUP_HYBRID : v2 ? SBX_CGROUP_V2 : v1 ? SBX_CGROUP_V1 : SBX_CGROUP_NONE;
	if (!v2)
		fmt(out->why, sizeof(out->why),
			 "%s lists no cgroup2 file system%s; %s", p.ptr,
			 v1 ? " (memory and pids are cgroup v1 controllers here)" : "", fix_hint);
done:
	pl_buf_release(&b);
	pl_buf_release(&p);
}

/* Our cgroup directory (with root) from /proc/self/cgroup; false with why. */
static bool find_own(sbx_cgroup_info *out, const char *mroot, const char *root)
{
	pl_buf b = PL_BUF_INIT, p = PL_BUF_INIT;
	char *c, *rel;
	size_t n = strlen(mroot);
	bool ok = false;

	pl_buf_printf(&p, "%s/proc/self/cgroup", root);
	if (!read_small(&b, p.ptr)) {
		fmt(out->why, sizeof(out->why), "cannot read %s", p.ptr);
		goto done;
	}
	c = strstr(b.ptr, "0::");
	while (c && c != b.ptr && c[-1] != '\n')
		c = strstr(c + 1, "0::");
	if (!c) {
		fmt(out->why, sizeof(out->why), "%s has no cgroup v2 line ('0::/path'); %s", p.ptr, fix_hint);
		goto done;
	}
	c += 3;
	*strchrnul(c, '\n') = '\0';
	rel = c;
	/* A bind mount of a subtree shows that subtree as its root. */
	if (strcmp(mroot, "/")) {
		if (strncmp(c, mroot, n) || (c[n] && c[n] != '/')) {
			fmt(out->why, sizeof(out->why),
				 "plait's cgroup '%s' (%s) lies outside the mounted part '%s' of the hierarchy; %s", c,
				 p.ptr, mroot, fix_hint);
			goto done;
		}
		rel = c + n;
	}
	if (!strcmp(rel, "/"))
		rel = "";
	if (!fmt(out->own, sizeof(out->own), "%s%s%s", root, out->mount, rel)) {
		fmt(out->why, sizeof(out->why), "the path of plait's cgroup is too long");
		out->own[0] = '\0';
		goto done;
	}
	ok = true;
done:
	pl_buf_release(&b);
	pl_buf_release(&p);
	return ok;
}

static void use(sbx_cgroup_info *out, sbx_cgroup_mode mode, const char *dir, bool enable)
{
	out->mode = mode;
	fmt(out->parent, sizeof(out->parent), "%s", dir);
	out->enable = enable;
	out->why[0] = '\0';
}

static void probe_parent(sbx_cgroup_info *out, const char *root, const char *parent)
{
	char dir[PATH_MAX], miss[64];
	struct stat st;
	bool alone;

	fmt(dir, sizeof(dir), "%s%s", root, parent);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || !has_file(dir, "cgroup.controllers")) {
		fmt(out->why, sizeof(out->why), "--cgroup-parent '%s' is not a cgroup v2 directory (no %s/%s)",
			 parent, parent, "cgroup.controllers");
		return;
	}
	if (!controllers_missing(miss, sizeof(miss), dir, "cgroup.controllers") || miss[0]) {
		fmt(out->why, sizeof(out->why),
			 "%s/cgroup.controllers lists no %s controller: enable it in the cgroup.subtree_control "
			 "of the directory above",
			 dir, miss[0] ? miss : "'memory' and 'pids'");
		return;
	}
	if (!writable(dir, "cgroup.procs")) {
		fmt(out->why, sizeof(out->why),
			 "--cgroup-parent '%s' is not writable by uid %u: delegate it (chown the directory and "
			 "its cgroup.procs, cgroup.subtree_control)",
			 parent, (unsigned)geteuid());
		return;
	}
	controllers_missing(miss, sizeof(miss), dir, "cgroup.subtree_control");
	if (miss[0] && !is_hierarchy_root(dir) && procs(dir, &alone) > 0) {
		fmt(out->why, sizeof(out->why),
			 "--cgroup-parent '%s' holds processes, so cgroup v2's no-internal-processes rule keeps "
			 "%s from being enabled in its cgroup.subtree_control: give an empty directory",
			 parent, miss);
		return;
	}
	if (miss[0] && !writable(dir, "cgroup.subtree_control")) {
		fmt(out->why, sizeof(out->why), "%s/cgroup.subtree_control lacks %s and is not writable", dir,
			 miss);
		return;
	}
	use(out, SBX_CGMODE_PARENT, dir, miss[0] != '\0');
}

void sbx_cgroup_probe(sbx_cgroup_info *out, const char *root, const char *parent)
{
	char mroot[PATH_MAX] = "/", miss[64], smiss[64], dir[PATH_MAX], top[PATH_MAX], leaf[32];
	char *slash;
	bool alone, in_leaf;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!root)
		root = "";
	find_mount(out, mroot, sizeof(mroot), root);
	if (!out->mount[0])
		return;
	if (parent && parent[0]) {
		(void)find_own(out, mroot, root); /* for the record only */
		out->why[0] = '\0';
		probe_parent(out, root, parent);
		return;
	}
	if (!find_own(out, mroot, root))
		return;
	if (!controllers_missing(miss, sizeof(miss), out->own, "cgroup.controllers")) {
		fmt(out->why, sizeof(out->why), "cannot read %s/cgroup.controllers; %s", out->own, fix_hint);
		return;
	}
	controllers_missing(smiss, sizeof(smiss), out->own, "cgroup.subtree_control");
	/* 2. the hierarchy's root */
	if (!miss[0] && is_hierarchy_root(out->own) && writable(out->own, "cgroup.procs") &&
	    (!smiss[0] || writable(out->own, "cgroup.subtree_control"))) {
		use(out, SBX_CGMODE_OWN, out->own, smiss[0] != '\0');
		return;
	}
	/* 3. alone in our own cgroup: a leaf for plait, the sandboxes beside
	 * it; unless that cgroup is already our leaf (an earlier run moved us),
	 * whose parent step 4 finds */
	alone = alone_in(out->own);
	fmt(leaf, sizeof(leaf), "/plait-%d", (int)getpid());
	in_leaf = pl_str_ends_with(out->own, leaf);
	if (!miss[0] && !in_leaf && !is_hierarchy_root(out->own) && alone && writable(out->own, "cgroup.procs") &&
	    writable(out->own, "cgroup.subtree_control")) {
		use(out, SBX_CGMODE_LEAF, out->own, true);
		return;
	}
	/* 4. the nearest ancestor that already enables both and that we may
	 * write: its children's controllers are its subtree_control */
	fmt(top, sizeof(top), "%s%s", root, out->mount);
	fmt(dir, sizeof(dir), "%s", out->own);
	while (strcmp(dir, top) && (slash = strrchr(dir, '/')) && slash > dir + strlen(top) - 1) {
		char m2[64];

		*slash = '\0';
		if (controllers_missing(m2, sizeof(m2), dir, "cgroup.subtree_control") && !m2[0] &&
		    writable(dir, "cgroup.procs")) {
			use(out, SBX_CGMODE_ANCESTOR, dir, false);
			return;
		}
	}
	if (miss[0])
		fmt(out->why, sizeof(out->why), "%s/cgroup.controllers lists no %s controller%s%s%s%s; %s", out->own,
		    miss, out->kind == SBX_CGROUP_HYBRID ? " (hybrid mode: they are bound to cgroup v1)" : "",
		    strcmp(out->own, top) ? ", and no ancestor up to " : "", strcmp(out->own, top) ? top : "",
		    strcmp(out->own, top) ? " enables both for its children" : "", fix_hint);
	else if (!writable(out->own, "cgroup.procs"))
		fmt(out->why, sizeof(out->why),
			 "plait's cgroup %s is not writable by uid %u and no writable ancestor enables memory and "
			 "pids; run plait in a delegated cgroup (systemd-run --user --scope -p Delegate=yes plait "
			 "...) or give --cgroup-parent DIR",
			 out->own, (unsigned)geteuid());
	else {
		/* counted only here, to say it: the whole list may be long */
		n = procs(out->own, &alone);
		fmt(out->why, sizeof(out->why),
			 "plait's cgroup %s holds %zu other process%s (cgroup v2's no-internal-processes rule keeps "
			 "it from enabling memory and pids for children) and no writable ancestor enables them; run "
			 "plait alone in a delegated cgroup (systemd-run --scope -p Delegate=yes plait ...) or give "
			 "--cgroup-parent DIR",
			 out->own, alone ? n - 1 : n, (alone ? n - 1 : n) == 1 ? "" : "es");
	}
}

const char *sbx_cgroup_mode_name(sbx_cgroup_mode m)
{
	switch (m) {
	case SBX_CGMODE_PARENT: return "parent";
	case SBX_CGMODE_OWN: return "own";
	case SBX_CGMODE_LEAF: return "leaf";
	case SBX_CGMODE_ANCESTOR: return "ancestor";
	case SBX_CGMODE_NONE: break;
	}
	return "none";
}

bool sbx__cgroup_v1_holds_limits(void)
{
	char buf[4096], *line, *save = NULL;
	ssize_t n;
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	bool held = false;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "4:memory:/path": hierarchy 4, a v1 one, holds memory ("0::/" is
	 * the v2 line) */
	for (line = strtok_r(buf, "\n", &save); line && !held; line = strtok_r(NULL, "\n", &save)) {
		char *ctl = strchr(line, ':'), *end;

		if (!ctl || !strncmp(line, "0:", 2) || !(end = strchr(ctl + 1, ':')))
			continue;
		*end = '\0';
		held = list_has_csv(ctl + 1, "memory") || list_has_csv(ctl + 1, "pids");
	}
	return held;
}

bool sbx_config_uses_cgroup(const sbx_config *cfg, sbx_cgroup_info *info)
{
	sbx_cgroup_info tmp;

	if (!info)
		info = &tmp;
	memset(info, 0, sizeof(*info));
	if (cfg->cgroup == SBX_CGUSE_OFF)
		return false;
	if (cfg->cgroup != SBX_CGUSE_REQUIRE && !cfg->limits.memory && !cfg->limits.nproc)
		return false;
	sbx_cgroup_probe(info, NULL, cfg->cgroup_parent);
	return info->mode != SBX_CGMODE_NONE;
}

/* ---------------------------------------------------------------- using */

static int write_str(const char *dir, const char *file, const char *data)
{
	char path[PATH_MAX];
	size_t len = strlen(data);
	ssize_t n;
	int fd;

	fmt(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, data, len);
	if (n < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

/* "key N" from a flat-keyed file such as memory.events. */
static uint64_t event_count(const char *dir, const char *file, const char *key)
{
	pl_buf b = PL_BUF_INIT, p = PL_BUF_INIT;
	uint64_t v = 0;
	size_t n = strlen(key);
	char *line, *save = NULL;

	pl_buf_printf(&p, "%s/%s", dir, file);
	if (read_small(&b, p.ptr))
		for (line = strtok_r(b.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			if (!strncmp(line, key, n) && line[n] == ' ')
				v = strtoull(line + n + 1, NULL, 10);
	pl_buf_release(&b);
	pl_buf_release(&p);
	return v;
}

void sbx__cgroup_init(sbx__cgroup *cg)
{
	memset(cg, 0, sizeof(*cg));
}

static int enable_controllers(const char *dir, pl_err *err)
{
	if (write_str(dir, "cgroup.subtree_control", "+memory +pids") < 0)
		return pl_err_sys(err, PL_ESYS, "enabling memory and pids in %s/cgroup.subtree_control", dir);
	return 0;
}

int sbx__cgroup_create(sbx__cgroup *cg, const sbx_cgroup_info *info, const sbx_limits *lim, pl_err *err)
{
	char leaf[PATH_MAX], num[32];
	unsigned n;
	int rc;

	sbx__cgroup_init(cg);
	if (info->mode == SBX_CGMODE_LEAF) {
		fmt(leaf, sizeof(leaf), "%s/plait-%d", info->parent, (int)getpid());
		fmt(num, sizeof(num), "%d", (int)getpid());
		if ((mkdir(leaf, 0755) < 0 && errno != EEXIST) || write_str(leaf, "cgroup.procs", num) < 0)
			return pl_err_sys(err, PL_ESYS, "moving plait into the leaf cgroup %s", leaf);
	}
	if ((info->enable || info->mode == SBX_CGMODE_LEAF) && (rc = enable_controllers(info->parent, err)) < 0)
		return rc;
	for (n = 0;; n++) {
		if (!fmt(cg->dir, sizeof(cg->dir), "%s/plait-%d-%u", info->parent, (int)getpid(), n))
			return pl_err_set(err, PL_ELIMIT, "cgroup path under '%s' too long", info->parent);
		if (mkdir(cg->dir, 0755) == 0)
			break;
		if (errno != EEXIST || n > 10000) {
			rc = pl_err_sys(err, PL_ESYS, "creating the sandbox's cgroup %s", cg->dir);
			cg->dir[0] = '\0';
			return rc;
		}
	}
	if (lim->memory) {
		fmt(num, sizeof(num), "%llu", (unsigned long long)lim->memory);
		if (write_str(cg->dir, "memory.max", num) < 0) {
			rc = pl_err_sys(err, PL_ESYS, "writing %s/memory.max", cg->dir);
			goto fail;
		}
		/* Without swap the limit is the tree's memory, not memory plus
		 * whatever the host's swap holds. */
		if (has_file(cg->dir, "memory.swap.max") && write_str(cg->dir, "memory.swap.max", "0") < 0) {
			rc = pl_err_sys(err, PL_ESYS, "writing %s/memory.swap.max", cg->dir);
			goto fail;
		}
	}
	if (lim->nproc) {
		fmt(num, sizeof(num), "%llu", (unsigned long long)lim->nproc);
		if (write_str(cg->dir, "pids.max", num) < 0) {
			rc = pl_err_sys(err, PL_ESYS, "writing %s/pids.max", cg->dir);
			goto fail;
		}
	}
	sbx__cgroup_mark(cg);
	return 0;
fail:
	rmdir(cg->dir);
	cg->dir[0] = '\0';
	return rc;
}

int sbx__cgroup_attach(const sbx__cgroup *cg, pid_t pid, pl_err *err)
{
	char num[32];

	fmt(num, sizeof(num), "%d", (int)pid);
	if (write_str(cg->dir, "cgroup.procs", num) < 0)
		return pl_err_sys(err, PL_ESYS, "moving the sandbox into %s", cg->dir);
	return 0;
}

void sbx__cgroup_mark(sbx__cgroup *cg)
{
	if (!cg->dir[0])
		return;
	cg->oom_kills = event_count(cg->dir, "memory.events", "oom_kill");
	cg->pids_max = event_count(cg->dir, "pids.events", "max");
}

unsigned sbx__cgroup_limits_hit(const sbx__cgroup *cg)
{
	unsigned hit = 0;

	if (!cg->dir[0])
		return 0;
	if (event_count(cg->dir, "memory.events", "oom_kill") > cg->oom_kills)
		hit |= SBX_LIMIT_MEMORY;
	if (event_count(cg->dir, "pids.events", "max") > cg->pids_max)
		hit |= SBX_LIMIT_NPROC;
	return hit;
}

void sbx__cgroup_kill(const sbx__cgroup *cg)
{
	if (cg->dir[0])
		(void)write_str(cg->dir, "cgroup.kill", "1");
}

void sbx__cgroup_destroy(sbx__cgroup *cg)
{
	struct timespec ts = { 0, 1000000 };
	int i;

	if (!cg->dir[0])
		return;
	sbx__cgroup_kill(cg);
	/* The processes die asynchronously: rmdir fails with EBUSY until the
	 * last one has gone.  Without cgroup.kill (Linux < 5.14) the caller's
	 * killing of the PID namespace's init empties it. */
	for (i = 0; i < 5000; i++) {
		if (rmdir(cg->dir) == 0 || errno == ENOENT)
			break;
		if (errno != EBUSY)
			break;
		if (i % 100 == 99)
			sbx__cgroup_kill(cg);
		nanosleep(&ts, NULL);
	}
	cg->dir[0] = '\0';
}
