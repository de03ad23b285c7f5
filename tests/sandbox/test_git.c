/* The work directory's .git is read-only inside: a command cannot plant
 * configuration or hooks that git on the host would run afterwards
 * (core.fsmonitor ran `git status`'s payload on the host once).  Checked
 * with the git commands plait itself runs afterwards (`plait tool status`
 * and `diff`, libgit2) and with the host's own git. */
#include "sbx_test.h"
#include "tests/shell.h"

static pl_buf tmp = PL_BUF_INIT;  /* fixture root */
static pl_buf repo = PL_BUF_INIT; /* a git repository, the work directory */
static pl_buf mark = PL_BUF_INIT; /* what a planted payload would create */
static pl_buf config = PL_BUF_INIT; /* .git/config as it was */

static void setup(void)
{
	pl_err err = { 0 };
	pl_buf p = PL_BUF_INIT;

	cr_assert_eq(pl_mkdtemp(&tmp, "plait-git", &err), 0, "%s", err.msg);
	chmod(tmp.ptr, 0755);
	pl_path_join(&repo, tmp.ptr, "repo");
	pl_path_join(&mark, tmp.ptr, "MARK");
	cr_assert_eq(test_sh(NULL,
			     "set -e; mkdir '%s'; cd '%s'; git init -q; git config user.email t@t; git config user.name t; "
			     "echo one > tracked.txt; git add tracked.txt; git commit -qm base",
			     repo.ptr, repo.ptr),
		     0);
	pl_path_join(&p, repo.ptr, ".git/config");
	read_text(&config, p.ptr);
	pl_buf_release(&p);
}

static void teardown(void)
{
	pl_rm_rf(tmp.ptr, NULL);
	pl_buf_release(&tmp);
	pl_buf_release(&repo);
	pl_buf_release(&mark);
	pl_buf_release(&config);
}

TestSuite(git, .init = setup, .fini = teardown, .timeout = 60);

/* Every way the red team and git's documentation give to make git run a
 * command: configuration (fsmonitor, hooksPath, an alias, a pager), a hook,
 * a commondir that leads to another configuration, a new .git. */
static const char attacks[] =
	"git config core.fsmonitor 'touch MARK' 2>/dev/null && echo ESCAPE-config; "
	"printf '[core]\\n\\tfsmonitor = touch MARK\\n' >> .git/config 2>/dev/null && echo ESCAPE-append; "
	"git config core.hooksPath hooks2 2>/dev/null && echo ESCAPE-hookspath; "
	"printf '#!/bin/sh\\ntouch MARK\\n' > .git/hooks/post-index-change 2>/dev/null && echo ESCAPE-hook; "
	"mkdir .git/evil 2>/dev/null && echo ESCAPE-mkdir; "
	"echo evil > .git/commondir 2>/dev/null && echo ESCAPE-commondir; "
	"mv .git .git-old 2>/dev/null && echo ESCAPE-rename; "
	"rm -rf .git 2>/dev/null; [ -f .git/HEAD ] || echo ESCAPE-removed; "
	"echo two >> tracked.txt && echo worktree-written; echo new > untracked.txt; git status --short";

static void host_state_is_intact(void)
{
	pl_buf p = PL_BUF_INIT, now = PL_BUF_INIT, out = PL_BUF_INIT;

	pl_path_join(&p, repo.ptr, ".git/config");
	read_text(&now, p.ptr);
	cr_assert_str_eq(now.ptr, config.ptr, ".git/config changed");
	pl_buf_reset(&p);
	pl_path_join(&p, repo.ptr, ".git/hooks/post-index-change");
	cr_assert(!pl_file_exists(p.ptr), "a hook was planted");
	pl_buf_reset(&p);
	pl_path_join(&p, repo.ptr, ".git/commondir");
	cr_assert(!pl_file_exists(p.ptr), "a commondir was planted");
	/* plait's own git commands, then the host's git: they see the
	 * sandbox's changes and run nothing it planted */
	cr_assert_eq(test_sh(&out, "cd '%s' && '%s' tool status --args '{}' 2>&1", repo.ptr, test_plait_bin()), 0, "%s",
		     out.ptr);
	cr_assert(strstr(out.ptr, "tracked.txt") && strstr(out.ptr, "untracked.txt"), "%s", out.ptr);
	pl_buf_reset(&out);
	cr_assert_eq(test_sh(&out, "cd '%s' && '%s' tool diff --args '{}' 2>&1", repo.ptr, test_plait_bin()), 0, "%s",
		     out.ptr);
	cr_assert(strstr(out.ptr, "+two"), "%s", out.ptr);
	pl_buf_reset(&out);
	cr_assert_eq(test_sh(&out, "cd '%s' && git status --short && git diff --stat", repo.ptr), 0, "%s", out.ptr);
	cr_assert(strstr(out.ptr, " M tracked.txt"), "%s", out.ptr);
	cr_assert(!pl_file_exists(mark.ptr), "a planted command ran on the host");
	pl_buf_reset(&p);
	pl_path_join(&p, repo.ptr, "MARK");
	cr_assert(!pl_file_exists(p.ptr), "a planted command ran on the host");
	pl_buf_release(&p);
	pl_buf_release(&now);
	pl_buf_release(&out);
}

Test(git, the_work_directorys_git_is_read_only_inside)
{
	const char *argv[] = { "/bin/sh", "-c", attacks, NULL };
	sbx_config cfg;
	sbx_result r;
	pl_err err = { 0 };

	sbx_config_init(&cfg);
	cr_assert(cfg.protect_git);
	sbx_config_set_workdir(&cfg, repo.ptr);
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), 0, "%s", err.msg);
	cr_assert_null(strstr(r.out.ptr, "ESCAPE"), "%s", r.out.ptr);
	/* the work tree stays writable, and git inside still reads */
	cr_assert(strstr(r.out.ptr, "worktree-written\n M tracked.txt\n?? untracked.txt\n"), "%s%s", r.out.ptr,
		  r.err.ptr);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	host_state_is_intact();
}

Test(git, the_agents_shell_cannot_plant_what_git_runs)
{
	pl_buf out = PL_BUF_INIT, args = PL_BUF_INIT;
	json_t *j = json_object();
	char *s;

	/* the agent's bash tool as plait runs it */
	pl_json_set(j, "command", json_string(attacks));
	s = json_dumps(j, JSON_COMPACT);
	setenv("PLAIT_TEST_ARGS", s, 1);
	cr_assert_eq(test_sh(&out, "cd '%s' && '%s' tool bash --args \"$PLAIT_TEST_ARGS\" 2>&1", repo.ptr, test_plait_bin()),
		     0, "%s", out.ptr);
	cr_assert_null(strstr(out.ptr, "ESCAPE"), "%s", out.ptr);
	cr_assert(strstr(out.ptr, "worktree-written"), "%s", out.ptr);
	free(s);
	json_decref(j);
	host_state_is_intact();
	pl_buf_release(&out);
	pl_buf_release(&args);
}

Test(git, a_gitfile_is_protected_too_and_protection_can_be_turned_off)
{
	const char *argv[] = { "/bin/sh", "-c", "echo 'gitdir: /tmp/evil' > .git 2>/dev/null && echo ESCAPE; cat .git",
			       NULL };
	const char *config_argv[] = { "/bin/sh", "-c", "git config plait.test yes && echo configured", NULL };
	pl_buf wt = PL_BUF_INIT, p = PL_BUF_INIT;
	sbx_config cfg;
	sbx_result r;
	pl_err err = { 0 };

	/* a linked worktree: its .git is a file naming its git directory */
	pl_path_join(&wt, tmp.ptr, "linked");
	cr_assert_eq(test_sh(NULL, "cd '%s' && git worktree add -q '%s' 2>&1", repo.ptr, wt.ptr), 0);
	sbx_config_init(&cfg);
	sbx_config_set_workdir(&cfg, wt.ptr);
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, argv, &err), 0, "%s", err.msg);
	cr_assert(pl_str_starts_with(r.out.ptr, "gitdir: "), "%s", r.out.ptr);
	cr_assert_null(strstr(r.out.ptr, "ESCAPE"), "%s", r.out.ptr);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	/* asked for: a writable .git (a job that commits inside) */
	sbx_config_init(&cfg);
	cfg.protect_git = false;
	sbx_config_set_workdir(&cfg, repo.ptr);
	sbx_result_init(&r);
	cr_assert_eq(sbx_run(&r, &cfg, config_argv, &err), 0, "%s", err.msg);
	cr_assert_str_eq(r.out.ptr, "configured\n", "%s", r.err.ptr);
	pl_path_join(&p, repo.ptr, ".git/config");
	read_text(&wt, p.ptr);
	cr_assert(strstr(wt.ptr, "[plait]"), "%s", wt.ptr);
	sbx_result_release(&r);
	sbx_config_release(&cfg);
	pl_buf_release(&wt);
	pl_buf_release(&p);
}
