/* `plait image` as a user runs it (PLAIT_BIN): help, usage errors, every
 * option documented.  The commands' work is tested in tests/image. */
#include "tests/shell.h"

#include <sys/stat.h>

static int plait(pl_buf *out, const char *args)
{
	pl_buf_reset(out);
	return test_sh(out, "%s %s 2>&1 </dev/null", test_plait_bin(), args);
}

TestSuite(image_cmd, .timeout = 60);

Test(image_cmd, help_for_every_command_and_option)
{
	static const struct {
		const char *cmd;
		const char *opts[16];
	} cases[] = {
		{ "pull",
		  { "--store", "--platform", "--jobs", "--insecure", "--quiet", "--json", "--help", NULL } },
		{ "load", { "--store", "--tag", "--platform", "--quiet", "--json", "--help", NULL } },
		{ "ls", { "--store", "--json", "--help", NULL } },
		{ "rm", { "--store", "--json", "--help", NULL } },
		{ "prune", { "--store", "--json", "--help", NULL } },
		{ "run",
		  { "--store", "--profile", "--bind", "--ro-bind", "--cwd", "--env", "--net", "--timeout",
		    "--memory", "--nproc", "--keep", "--platform", "--json", "--user", "--help", NULL } },
	};
	pl_buf out = PL_BUF_INIT, args = PL_BUF_INIT;
	size_t i, k;

	cr_assert_eq(plait(&out, "image --help"), 0);
	for (i = 0; i < PL_ARRAY_LEN(cases); i++)
		cr_assert(strstr(out.ptr, cases[i].cmd), "plait image --help lacks %s", cases[i].cmd);
	cr_assert_eq(plait(&out, "help"), 0);
	cr_assert(strstr(out.ptr, "image"), "plait help lists image: %s", out.ptr);
	for (i = 0; i < PL_ARRAY_LEN(cases); i++) {
		pl_buf_reset(&args);
		pl_buf_printf(&args, "image %s --help", cases[i].cmd);
		cr_assert_eq(plait(&out, args.ptr), 0, "%s: %s", args.ptr, out.ptr);
		cr_assert(pl_str_starts_with(out.ptr, "usage: plait image"), "%s", out.ptr);
		for (k = 0; cases[i].opts[k]; k++)
			cr_assert(strstr(out.ptr, cases[i].opts[k]), "plait image %s --help lacks %s",
				  cases[i].cmd, cases[i].opts[k]);
	}
	pl_buf_release(&out);
	pl_buf_release(&args);
}

Test(image_cmd, usage_errors)
{
	pl_buf out = PL_BUF_INIT;

	cr_assert_eq(plait(&out, "image"), 2);
	cr_assert_eq(plait(&out, "image frobnicate"), 2);
	cr_assert(strstr(out.ptr, "unknown command 'frobnicate'"), "%s", out.ptr);
	cr_assert_eq(plait(&out, "image pull"), 2);
	cr_assert(strstr(out.ptr, "no image given"), "%s", out.ptr);
	cr_assert_eq(plait(&out, "image pull --jobs 0 x"), 2);
	cr_assert_eq(plait(&out, "image load"), 2);
	cr_assert_eq(plait(&out, "image run"), 2);
	cr_assert_eq(plait(&out, "image ls --bogus"), 2);
	cr_assert(strstr(out.ptr, "--bogus"), "%s", out.ptr);
	pl_buf_release(&out);
}

/* A --store that is a directory of other files is refused untouched; a bad
 * reference is named. */
Test(image_cmd, store_and_reference_errors)
{
	pl_buf out = PL_BUF_INIT, dir = PL_BUF_INIT, cmd = PL_BUF_INIT;
	pl_err err = { 0, "" };
	struct stat before, after;

	cr_assert_eq(pl_mkdtemp(&dir, "plait-image-cli", &err), 0, "%s", err.msg);
	cr_assert_eq(test_sh(NULL, "chmod 0755 '%s' && echo keep > '%s/other-file'", dir.ptr, dir.ptr), 0);
	cr_assert_eq(stat(dir.ptr, &before), 0);
	pl_buf_printf(&cmd, "image ls --store '%s'", dir.ptr);
	cr_assert_eq(plait(&out, cmd.ptr), 1);
	cr_assert(strstr(out.ptr, "is not an image store"), "%s", out.ptr);
	cr_assert_eq(stat(dir.ptr, &after), 0);
	cr_assert_eq(before.st_mode, after.st_mode, "the directory is untouched");
	cr_assert_eq(test_sh(NULL, "[ \"$(ls '%s')\" = other-file ]", dir.ptr), 0, "nothing was added");
	pl_buf_reset(&cmd);
	pl_buf_printf(&cmd, "image pull --store '%s/store' 'Bad:Ref:x'", dir.ptr);
	cr_assert_eq(plait(&out, cmd.ptr), 1);
	cr_assert(strstr(out.ptr, "Bad:Ref:x"), "%s", out.ptr);
	pl_rm_rf(dir.ptr, NULL);
	pl_buf_release(&out);
	pl_buf_release(&dir);
	pl_buf_release(&cmd);
}
