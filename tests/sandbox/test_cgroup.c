/* cgroup v2 limits: where sandbox cgroups go (against fixture trees), the
 * rlimit fallback and its notice, and real enforcement where this machine
 * has a usable cgroup v2 (skipped, with the reason, where it has not;
 * build/sandbox-cgroup-check runs the same checks without Criterion). */
#include "sbx_test.h"
#include "sandbox/internal.h"
#include "tests/shell.h"

#include <stdarg.h>

static pl_buf fx = PL_BUF_INIT; /* the fixture root */

static void setup(void)
{
	pl_err err = { 0 };

	cr_assert_eq(pl_mkdtemp(&fx, "plait-cgfx", &err), 0, "%s", err.msg);
	give_to_sandbox(fx.ptr, 0755);
}

static void teardown(void)
{
	pl_rm_rf(fx.ptr, NULL);
	pl_buf_release(&fx);
}

TestSuite(cgroup_probe, .init = setup, .fini = teardown, .timeout = 30);
/* No fixture tree for these: cr_skip_test() leaves without .fini. */
TestSuite(cgroup_fallback, .timeout = 60);
TestSuite(cgroup_enforce, .timeout = 120);

/* Write text to fx/rel, creating directories. */
PL_PRINTF(2, 3) static void fx_file(const char *rel, const char *fmt, ...)
{
	pl_buf path = PL_BUF_INIT, text = PL_BUF_INIT;
	pl_err err = { 0 };
	va_list ap;
	char *slash;

	va_start(ap, fmt);
	pl_buf_vprintf(&text, fmt, ap);
	va_end(ap);
	pl_buf_printf(&path, "%s/%s", fx.ptr, rel);
	slash = strrchr(path.ptr, '/');
	*slash = '\0';
	cr_assert_eq(pl_mkdir_p(path.ptr, 0755, &err), 0, "%s", err.msg);
	*slash = '/';
	write_text(path.ptr, text.ptr);
	pl_buf_release(&path);
	pl_buf_release(&text);
}

/* A cgroup directory of the fixture: controllers, subtree_control, procs;
 * root = the hierarchy's root (no cgroup.type). */
static void fx_cgroup(const char *dir, const char *controllers, const char *subtree, const char *procs, bool root)
{
	pl_buf p = PL_BUF_INIT;

	pl_buf_printf(&p, "%s/cgroup.controllers", dir);
	fx_file(p.ptr, "%s\n", controllers);
	pl_buf_reset(&p);
	pl_buf_printf(&p, "%s/cgroup.subtree_control", dir);
	fx_file(p.ptr, "%s\n", subtree);
	pl_buf_reset(&p);
	pl_buf_printf(&p, "%s/cgroup.procs", dir);
	fx_file(p.ptr, "%s", procs);
	if (!root) {
		pl_buf_reset(&p);
		pl_buf_printf(&p, "%s/cgroup.type", dir);
		fx_file(p.ptr, "domain\n");
	}
	pl_buf_release(&p);
}

static const char v1_lines[] =
	"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n";
static const char unified_line[] = "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
static const char v2_line[] =
	"32 23 0:28 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n";

static void fx_path(char *out, size_t size, const char *rel)
{
	snprintf(out, size, "%s%s", fx.ptr, rel);
}

/* This development machine's layout: hybrid, hugetlb alone on v2. */
Test(cgroup_probe, hybrid_without_memory_and_pids_falls_back_and_says_why)
{
	sbx_cgroup_info i;
	char own[600];

	fx_file("proc/self/mountinfo", "%s%s", v1_lines, unified_line);
	fx_file("proc/self/cgroup", "4:memory:/x\n8:pids:/\n0::/\n");
	fx_cgroup("sys/fs/cgroup/unified", "hugetlb", "", "1\n", true);
	sbx_cgroup_probe(&i, fx.ptr, NULL);
	fx_path(own, sizeof(own), "/sys/fs/cgroup/unified");
	cr_assert_eq(i.kind, SBX_CGROUP_HYBRID);
	cr_assert_eq(i.mode, SBX_CGMODE_NONE);
	cr_assert_str_eq(i.mount, "/sys/fs/cgroup/unified");
	cr_assert_str_eq(i.own, own);
	cr_assert(strstr(i.why, "/sys/fs/cgroup/unified/cgroup.controllers lists no 'memory' and 'pids'"), "%s",
		  i.why);
	cr_assert(strstr(i.why, "hybrid"), "%s", i.why);
	cr_assert(strstr(i.why, "systemd.unified_cgroup_hierarchy=1"), "%s", i.why);
	cr_assert(strstr(i.why, "--cgroup-parent"), "%s", i.why);
}

Test(cgroup_probe, v1_only_has_no_cgroup2)
{
	sbx_cgroup_info i;

	fx_file("proc/self/mountinfo", "%s", v1_lines);
	fx_file("proc/self/cgroup", "4:memory:/\n");
	sbx_cgroup_probe(&i, fx.ptr, NULL);
	cr_assert_eq(i.kind, SBX_CGROUP_V1);
	cr_assert_eq(i.mode, SBX_CGMODE_NONE);
	cr_assert_str_eq(i.mount, "");
	cr_assert(strstr(i.why, "proc/self/mountinfo lists no cgroup2 file system"), "%s", i.why);
	cr_assert(strstr(i.why, "cgroup v1 controllers"), "%s", i.why);
}

Test(cgroup_probe, no_v2_line_in_proc_self_cgroup)
{
	sbx_cgroup_info i;

	fx_file("proc/self/mountinfo", "%s", v2_line);
	fx_file("proc/self/cgroup", "4:memory:/\n");
	sbx_cgroup_probe(&i, fx.ptr, NULL);
	cr_assert_eq(i.kind, SBX_CGROUP_V2);
	cr_assert_eq(i.mode, SBX_CGMODE_NONE);
	cr_assert(strstr(i.why, "proc/self/cgroup has no cgroup v2 line"), "%s", i.why);
}

/* A container's private cgroup namespace, or the host's root cgroup. */
Test(cgroup_probe, root_cgroup_is_used_and_controllers_enabled)
{
	sbx_cgroup_info i;
	char own[600];

	fx_file("proc/self/mountinfo", "%s", v2_line);
	fx_file("proc/self/cgroup", "0::/\n");
	fx_cgroup("sys/fs/cgroup", "cpu io memory pids", "cpu", "1\n42\n", true);
	sbx_cgroup_probe(&i, fx.ptr, NULL);
	fx_path(own, sizeof(own), "/sys/fs/cgroup");
	cr_assert_eq(i.kind, SBX_CGROUP_V2);
	cr_assert_eq(i.mode, SBX_CGMODE_OWN, "%s", i.why);
	cr_assert_str_eq(i.parent, own);
	cr_assert(i.enable, "memory and pids are not in subtree_control yet");
	cr_assert_str_eq(i.why, "");
}

/* A login shell's scope: other processes share plait's cgroup, so the
 * sandboxes go under the nearest ancestor enabling both controllers. */
Test(cgroup_probe, shared_cgroup_uses_the_nearest_enabling_ancestor)
{
	sbx_cgroup_info i;
	char want[600];

	fx_file("proc/self/mountinfo", "%s", v2_line);
	fx_file("proc/self/cgroup", "0::/user.slice/user-0.slice/session-1.scope\n");
	fx_cgroup("sys/fs/cgroup", "cpu memory pids", "cpu memory pids", "1\n", true);
	fx_cgroup("sys/fs/cgroup/user.slice", "cpu memory pids", "memory pids", "", false);
	fx_cgroup("sys/fs/cgroup/user.slice/user-0.slice", "memory pids", "memory", "", false);
	fx_cgroup("sys/fs/cgroup/user.slice/user-0.slice/session-1.scope", "memory", "", "100\n101\n", false);
	sbx_cgroup_probe(&i, fx.ptr, NULL);
	fx_path(want, sizeof(want), "/sys/fs/cgroup/user.slice");
	cr_assert_eq(i.mode, SBX_CGMODE_ANCESTOR, "%s", i.why);
	cr_assert_str_eq(i.parent, want);
	cr_assert(!i.enable, "nothing is enabled in a cgroup plait was not given");
}

/* The device machine's layout: a job cgroup with memory only, its parent
 * with memory only, the root with both. */
Test(cgroup_probe, ancestor_search_reaches_the_root)
{
	sbx_cgroup_info i;
	char want[600];

	fx_file("proc/self/mountinfo", "%s", v2_line);
	fx_file("proc/self/cgroup", "0::/process_api/abc\n");
	fx_cgroup("sys/fs/cgroup", "cpuset cpu io memory hugetlb pids", "cpuset cpu io memory hugetlb pids", "",
		  true);
	fx_cgroup("sys/fs/cgroup/process_api", "cpuset cpu io memory hugetlb pids", "memory", "", false);
	fx_cgroup("sys/fs/cgroup/process_api/abc", "memory", "", "7\n8\n9\n", false);
	sbx_cgroup_probe(&i, fx.ptr, NULL);
	fx_path(want, sizeof(want), "/sys/fs/cgroup");
	cr_assert_eq(i.mode, SBX_CGMODE_ANCESTOR, "%s", i.why);
	cr_assert_str_eq(i.parent, want);
}

/* systemd-run --scope -p Delegate=yes plait ...: plait alone in a
 * delegated cgroup moves into a leaf of its own. */
Test(cgroup_probe, alone_in_a_delegated_cgroup_takes_a_leaf)
{
	sbx_cgroup_info i;
	char want[600];

	fx_file("proc/self/mountinfo", "%s", v2_line);
	fx_file("proc/self/cgroup", "0::/system.slice/run-u7.scope\n");
	fx_cgroup("sys/fs/cgroup", "memory pids", "memory pids", "1\n", true);
	fx_cgroup("sys/fs/cgroup/system.slice", "memory pids", "memory", "", false);
	fx_cgroup("sys/fs/cgroup/system.slice/run-u7.scope", "memory pids", "", "", false);
	fx_file("sys/fs/cgroup/system.slice/run-u7.scope/cgroup.procs", "%d\n", (int)getpid());
	sbx_cgroup_probe(&i, fx.ptr, NULL);
	fx_path(want, sizeof(want), "/sys/fs/cgroup/system.slice/run-u7.scope");
	cr_assert_eq(i.mode, SBX_CGMODE_LEAF, "%s", i.why);
	cr_assert_str_eq(i.parent, want);
	cr_assert_str_eq(i.own, want);
}

/* After the move: plait alone in its own leaf must not nest a leaf in the
 * leaf; the sandboxes stay beside it, in the delegated cgroup. */
Test(cgroup_probe, already_in_its_leaf_stays_beside_it)
{
	sbx_cgroup_info i;
	char want[600], leaf[128];

	snprintf(leaf, sizeof(leaf), "sys/fs/cgroup/system.slice/run-u7.scope/plait-%d", (int)getpid());
	fx_file("proc/self/mountinfo", "%s", v2_line);
	fx_file("proc/self/cgroup", "0::/system.slice/run-u7.scope/plait-%d\n", (int)getpid());
	fx_cgroup("sys/fs/cgroup", "memory pids", "memory pids", "1\n", true);
	fx_cgroup("sys/fs/cgroup/system.slice", "memory pids", "memory", "", false);
	fx_cgroup("sys/fs/cgroup/system.slice/run-u7.scope", "memory pids", "memory pids", "", false);
	fx_cgroup(leaf, "memory pids", "", "", false);
	{
		char procs[160];

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", leaf);
		fx_file(procs, "%d\n", (int)getpid());
	}
	sbx_cgroup_probe(&i, fx.ptr, NULL);
	fx_path(want, sizeof(want), "/sys/fs/cgroup/system.slice/run-u7.scope");
	cr_assert_eq(i.mode, SBX_CGMODE_ANCESTOR, "%s", i.why);
	cr_assert_str_eq(i.parent, want);
}

Test(cgroup_probe, shared_cgroup_without_an_enabling_ancestor_says_why)
{
	sbx_cgroup_info i;

	fx_file("proc/self/mountinfo", "%s", v2_line);
	fx_file("proc/self/cgroup", "0::/job\n");
	fx_cgroup("sys/fs/cgroup", "memory pids", "memory", "", true);
	fx_cgroup("sys/fs/cgroup/job", "memory", "", "100\n101\n", false);
	sbx_cgroup_probe(&i, fx.ptr, NULL);
	cr_assert_eq(i.mode, SBX_CGMODE_NONE);
	cr_assert(strstr(i.why, "/sys/fs/cgroup/job/cgroup.controllers lists no 'pids' controller"), "%s", i.why);
	cr_assert(strstr(i.why, "no ancestor"), "%s", i.why);
}

/* A cgroup namespace or a bind of a subtree: the mount's root is a path
 * inside the hierarchy, and /proc/self/cgroup's path starts with it. */
Test(cgroup_probe, mount_of_a_subtree)
{
	sbx_cgroup_info i;
	char want[600];

	fx_file("proc/self/mountinfo",
		"32 23 0:28 /kubepods/pod1 /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n");
	fx_file("proc/self/cgroup", "0::/kubepods/pod1/c1\n");
	fx_cgroup("sys/fs/cgroup", "memory pids", "memory pids", "", false);
	fx_cgroup("sys/fs/cgroup/c1", "memory pids", "", "5\n6\n", false);
	sbx_cgroup_probe(&i, fx.ptr, NULL);
	fx_path(want, sizeof(want), "/sys/fs/cgroup/c1");
	cr_assert_str_eq(i.own, want);
	fx_path(want, sizeof(want), "/sys/fs/cgroup");
	cr_assert_eq(i.mode, SBX_CGMODE_ANCESTOR, "%s", i.why);
	cr_assert_str_eq(i.parent, want);
}

Test(cgroup_probe, configured_parent)
{
	sbx_cgroup_info i;
	char want[600];

	fx_file("proc/self/mountinfo", "%s", v2_line);
	fx_file("proc/self/cgroup", "0::/job\n");
	fx_cgroup("sys/fs/cgroup", "memory pids", "memory pids", "", true);
	fx_cgroup("sys/fs/cgroup/job", "memory pids", "", "100\n", false);
	/* missing */
	sbx_cgroup_probe(&i, fx.ptr, "/sys/fs/cgroup/plait");
	cr_assert_eq(i.mode, SBX_CGMODE_NONE);
	cr_assert(strstr(i.why, "'/sys/fs/cgroup/plait' is not a cgroup v2 directory"), "%s", i.why);
	/* without pids */
	fx_cgroup("sys/fs/cgroup/plait", "memory", "", "", false);
	sbx_cgroup_probe(&i, fx.ptr, "/sys/fs/cgroup/plait");
	cr_assert_eq(i.mode, SBX_CGMODE_NONE);
	cr_assert(strstr(i.why, "/sys/fs/cgroup/plait/cgroup.controllers lists no 'pids' controller"), "%s", i.why);
	/* holding processes, controllers not enabled: the rule forbids it */
	fx_cgroup("sys/fs/cgroup/plait", "memory pids", "", "77\n", false);
	sbx_cgroup_probe(&i, fx.ptr, "/sys/fs/cgroup/plait");
	cr_assert_eq(i.mode, SBX_CGMODE_NONE);
	cr_assert(strstr(i.why, "holds processes"), "%s", i.why);
	cr_assert(strstr(i.why, "no-internal-processes"), "%s", i.why);
	/* empty: used, controllers to be enabled */
	fx_cgroup("sys/fs/cgroup/plait", "memory pids", "", "", false);
	sbx_cgroup_probe(&i, fx.ptr, "/sys/fs/cgroup/plait");
	fx_path(want, sizeof(want), "/sys/fs/cgroup/plait");
	cr_assert_eq(i.mode, SBX_CGMODE_PARENT, "%s", i.why);
	cr_assert_str_eq(i.parent, want);
	cr_assert(i.enable);
	cr_assert_str_eq(i.why, "");
}

Test(cgroup_probe, mountinfo_escapes_and_names)
{
	sbx_cgroup_info i;

	fx_file("proc/self/mountinfo", "%s",
		"40 30 0:37 / /mnt/cg\\040two rw,relatime - cgroup2 cgroup2 rw\n");
	fx_file("proc/self/cgroup", "0::/\n");
	fx_cgroup("mnt/cg two", "memory pids", "memory pids", "", true);
	sbx_cgroup_probe(&i, fx.ptr, NULL);
	cr_assert_str_eq(i.mount, "/mnt/cg two");
	cr_assert_eq(i.mode, SBX_CGMODE_OWN, "%s", i.why);
	cr_assert(!i.enable);
	cr_assert_str_eq(sbx_cgroup_mode_name(SBX_CGMODE_NONE), "none");
	cr_assert_str_eq(sbx_cgroup_mode_name(SBX_CGMODE_ANCESTOR), "ancestor");
	cr_assert_str_eq(sbx_cgroup_kind_name(SBX_CGROUP_HYBRID), "hybrid");
}

/* ---------------------------------------------------------------- fallback */

/* The real machine's verdict; skips the test when it does not match. */
static void need_cgroup(bool want, sbx_cgroup_info *i)
{
	sbx_cgroup_probe(i, NULL, NULL);
	if (want && i->mode == SBX_CGMODE_NONE)
		cr_skip_test("no usable cgroup v2 on this machine (build/sandbox-cgroup-check runs these checks "
			     "elsewhere): %s",
			     i->why);
	if (!want && i->mode != SBX_CGMODE_NONE)
		cr_skip_test("this machine has a usable cgroup v2 (%s, mode %s): no fallback to check", i->parent,
			     sbx_cgroup_mode_name(i->mode));
}

Test(cgroup_fallback, config_and_profile_keys)
{
	sbx_config cfg;
	sbx_cgroup_info i;
	pl_err err = { 0 };
	pl_buf p = PL_BUF_INIT;

	setup();
	sbx_config_init(&cfg);
	cr_assert_eq(cfg.cgroup, SBX_CGUSE_AUTO);
	/* no memory or process limit: no cgroup, and nothing to explain */
	cfg.limits.memory = 0;
	cfg.limits.nproc = 0;
	cr_assert(!sbx_config_uses_cgroup(&cfg, &i));
	cr_assert_str_eq(i.why, "");
	cfg.limits.memory = 1 << 30;
	cfg.cgroup = SBX_CGUSE_OFF;
	cr_assert(!sbx_config_uses_cgroup(&cfg, &i));
	cr_assert_str_eq(i.why, "");
	pl_buf_printf(&p, "%s/p.json", fx.ptr);
	write_text(p.ptr, "{\"cgroup\": \"require\", \"cgroup_parent\": \"/sys/fs/cgroup/plait\"}");
	cr_assert_eq(sbx_profile_load(&cfg, p.ptr, &err), 0, "%s", err.msg);
	cr_assert_eq(cfg.cgroup, SBX_CGUSE_REQUIRE);
	cr_assert_str_eq(cfg.cgroup_parent, "/sys/fs/cgroup/plait");
	write_text(p.ptr, "{\"cgroup\": \"sometimes\"}");
	cr_assert_lt(sbx_profile_load(&cfg, p.ptr, &err), 0);
	cr_assert(strstr(err.msg, "'cgroup'") && strstr(err.msg, "sometimes"), "%s", err.msg);
	write_text(p.ptr, "{\"cgroup_parent\": \"relative/dir\"}");
	cr_assert_eq(sbx_profile_load(&cfg, p.ptr, &err), 0, "%s", err.msg);
	cr_assert_lt(sbx_config_check(&cfg, &err), 0);
	cr_assert(strstr(err.msg, "cgroup_parent"), "%s", err.msg);
	pl_buf_release(&p);
	sbx_config_release(&cfg);
	teardown();
}

Test(cgroup_fallback, rlimits_apply_and_the_reason_is_given)
{
	sbx_cgroup_info i;
	sbx_config cfg;
	sbx_result r;
	const char *argv[] = { probe_path(), "memory_hog", NULL };
	pl_err err = { 0 };

	need_cgroup(false, &i);
	probe_config(&cfg);
	cfg.limits.memory = 256 << 20;
	cr_assert(!sbx_config_uses_cgroup(&cfg, &i));
	cr_assert_gt(strlen(i.why), 20, "no reason given: '%s'", i.why);
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), 0, "%s", err.msg);
	/* RLIMIT_AS refused the allocation: not a kill */
	cr_assert(!r.cgroup);
	cr_assert_eq(r.exit_code, 0, "%s", r.out.ptr);
	cr_assert(strstr(r.out.ptr, "allocation refused"), "%s", r.out.ptr);
	cr_assert_eq(r.limits_hit & (SBX_LIMIT_MEMORY | SBX_LIMIT_NPROC), 0);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(cgroup_fallback, require_fails_with_the_reason)
{
	sbx_cgroup_info i;
	sbx_config cfg;
	sbx_result r;
	sbx_session *s = NULL;
	const char *argv[] = { "/bin/true", NULL };
	pl_err err = { 0 };

	need_cgroup(false, &i);
	sbx_config_init(&cfg);
	cfg.cgroup = SBX_CGUSE_REQUIRE;
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), PL_EUNSUPPORTED);
	cr_assert(strstr(err.msg, "cgroups are required but none is usable: "), "%s", err.msg);
	cr_assert(strstr(err.msg, i.why), "%s", err.msg);
	cr_assert_eq(sbx_session_open(&s, &cfg, &err), PL_EUNSUPPORTED);
	cr_assert_null(s);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

/* Run the built plait; stderr only, and the exit status. */
static int plait_err(pl_buf *out, const char *args)
{
	pl_buf_reset(out);
	return test_sh(out, "%s %s 2>&1 >/dev/null </dev/null", test_plait_bin(), args);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)); hay++)
		n++;
	return n;
}

Test(cgroup_fallback, cli_prints_one_notice_with_the_reason)
{
	sbx_cgroup_info i;
	pl_buf out = PL_BUF_INIT;

	need_cgroup(false, &i);
	cr_assert_eq(plait_err(&out, "sandbox run --memory 512M --nproc 100 -- /bin/true"), 0, "%s", out.ptr);
	cr_assert_eq(count(out.ptr, "fall back to rlimits"), 1, "%s", out.ptr);
	cr_assert(strstr(out.ptr, i.why), "the notice does not say why: %s", out.ptr);
	/* nothing to say without such limits, or with cgroups off */
	cr_assert_eq(plait_err(&out, "sandbox run -- /bin/true"), 0);
	cr_assert_eq(count(out.ptr, "fall back"), 0, "%s", out.ptr);
	cr_assert_eq(plait_err(&out, "sandbox run --cgroup off --memory 512M -- /bin/true"), 0);
	cr_assert_eq(count(out.ptr, "fall back"), 0, "%s", out.ptr);
	/* required: an error naming the reason, exit 125 (the sandbox's own) */
	cr_assert_eq(plait_err(&out, "sandbox run --cgroup require --memory 512M -- /bin/true"), 125);
	cr_assert(strstr(out.ptr, "cgroups are required"), "%s", out.ptr);
	cr_assert_eq(plait_err(&out, "sandbox run --cgroup maybe -- /bin/true"), 2);
	pl_buf_release(&out);
}

/* --json names what enforced the limits. */
Test(cgroup_fallback, json_result_says_rlimit)
{
	sbx_cgroup_info i;
	pl_buf out = PL_BUF_INIT;

	need_cgroup(false, &i);
	cr_assert_eq(test_sh(&out, "%s sandbox run --json --memory 512M -- /bin/true 2>/dev/null", test_plait_bin()), 0);
	cr_assert(strstr(out.ptr, "\"limits_by\": \"rlimit\""), "%s", out.ptr);
	cr_assert(strstr(out.ptr, "\"limits_hit\": []"), "%s", out.ptr);
	pl_buf_release(&out);
}

Test(cgroup_fallback, doctor_names_the_mode)
{
	sbx_cgroup_info i;
	pl_buf out = PL_BUF_INIT, cmd = PL_BUF_INIT;

	sbx_cgroup_probe(&i, NULL, NULL);
	test_sh(&out, "%s doctor --json 2>/dev/null", test_plait_bin());
	pl_buf_printf(&cmd, "\"cgroup_mode\": \"%s\"", sbx_cgroup_mode_name(i.mode));
	cr_assert(strstr(out.ptr, cmd.ptr), "%s not in %s", cmd.ptr, out.ptr);
	cr_assert(strstr(out.ptr, i.mode == SBX_CGMODE_NONE ? "\"limits_by\": \"rlimit\"" : "\"limits_by\": \"cgroup\""),
		  "%s", out.ptr);
	pl_buf_release(&out);
	pl_buf_release(&cmd);
}

/* ---------------------------------------------------------------- enforcement */

/* Sandbox cgroups of this process left in the parent. */
static int leftovers(const char *parent)
{
	char prefix[64];
	DIR *d = opendir(parent);
	struct dirent *e;
	int n = 0;

	cr_assert(d, "%s: %s", parent, strerror(errno));
	snprintf(prefix, sizeof(prefix), "plait-%d-", (int)getpid());
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

static void enforce_config(sbx_config *cfg, uint64_t memory, uint64_t nproc)
{
	probe_config(cfg);
	cfg->limits.memory = memory;
	cfg->limits.nproc = nproc;
	cfg->cgroup = SBX_CGUSE_REQUIRE;
}

Test(cgroup_enforce, memory_hog_is_killed)
{
	sbx_cgroup_info i;
	sbx_config cfg;
	sbx_result r;
	const char *argv[] = { probe_path(), "memory_hog", NULL };
	pl_err err = { 0 };
	pl_buf d = PL_BUF_INIT;

	need_cgroup(true, &i);
	enforce_config(&cfg, 64 << 20, 0);
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), 0, "%s", err.msg);
	sbx_result_describe(&d, &r, &cfg);
	cr_assert(r.cgroup);
	cr_assert_eq(r.signal, SIGKILL, "%s: %s", d.ptr, r.out.ptr);
	cr_assert(r.limits_hit & SBX_LIMIT_MEMORY, "%s", d.ptr);
	cr_assert(strstr(d.ptr, "memory limit reached"), "%s", d.ptr);
	cr_assert_eq(leftovers(i.parent), 0);
	pl_buf_release(&d);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(cgroup_enforce, fork_bomb_stops_at_pids_max)
{
	sbx_cgroup_info i;
	sbx_config cfg;
	sbx_result r;
	char token[64];
	const char *argv[] = { probe_path(), "fork_bomb", token, NULL };
	pl_err err = { 0 };

	/* a token of this run's own: other tests run the probe meanwhile */
	snprintf(token, sizeof(token), "plait-bomb-%d", (int)getpid());
	need_cgroup(true, &i);
	enforce_config(&cfg, 0, 32);
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), 0, "%s", err.msg);
	cr_assert(r.cgroup);
	cr_assert_eq(r.exit_code, 0, "%s", r.out.ptr);
	cr_assert(r.limits_hit & SBX_LIMIT_NPROC, "limits %#x: %s", r.limits_hit, r.out.ptr);
	cr_assert(!process_with_token(token));
	sbx_result_release(&r);
	sbx_config_release(&cfg);
}

Test(cgroup_enforce, teardown_leaves_no_cgroup)
{
	sbx_cgroup_info i;
	sbx_config cfg;
	sbx_result r;
	sbx_session *s = NULL;
	const char *argv[] = { "/bin/sh", "-c", "sleep 1000 & sleep 1000 & echo started", NULL };
	pl_err err = { 0 };

	need_cgroup(true, &i);
	enforce_config(&cfg, 256 << 20, 64);
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), 0, "%s", err.msg);
	cr_assert(r.cgroup);
	cr_assert_str_eq(r.out.ptr, "started\n");
	sbx_result_release(&r);
	/* the first run may have moved us into a leaf: look again */
	sbx_cgroup_probe(&i, NULL, NULL);
	cr_assert_eq(leftovers(i.parent), 0);
	cr_assert_eq(sbx_session_open(&s, &cfg, &err), 0, "%s", err.msg);
	cr_assert_eq(leftovers(i.parent), 1);
	sbx_result_init(&r);
	cr_assert_eq(sbx_session_exec(&r, s, argv, NULL, &err), 0, "%s", err.msg);
	cr_assert(r.cgroup);
	sbx_result_release(&r);
	sbx_session_close(s);
	cr_assert_eq(leftovers(i.parent), 0);
	sbx_config_release(&cfg);
}

/* The shortcut every sandbox takes (its limits would otherwise make each
 * one walk the cgroup tree): when a v1 hierarchy holds memory or pids, the
 * probe must agree that no cgroup v2 is usable. */
Test(cgroup_fallback, the_v1_shortcut_agrees_with_the_probe)
{
	sbx_cgroup_info i;
	pl_buf c = PL_BUF_INIT;
	bool v1 = sbx__cgroup_v1_holds_limits();

	sbx_cgroup_probe(&i, NULL, NULL);
	cr_assert_eq(pl_file_read(&c, "/proc/self/cgroup", 0, NULL), 0);
	if (v1)
		cr_assert_eq(i.mode, SBX_CGMODE_NONE, "v1 holds memory or pids, yet the probe found %s",
			     sbx_cgroup_mode_name(i.mode));
	/* and the shortcut reads the same file the probe's reason does */
	cr_assert_eq(v1,
		     strstr(c.ptr, ":memory:") || strstr(c.ptr, ",memory:") || strstr(c.ptr, ":memory,") ||
			     strstr(c.ptr, ":pids:") || strstr(c.ptr, ",pids:") || strstr(c.ptr, ":pids,"),
		     "%s", c.ptr);
	pl_buf_release(&c);
}
