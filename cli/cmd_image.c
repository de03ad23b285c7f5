/* cmd_image.c - `plait image pull|load|ls|rm|prune|run`: container images
 * without a Docker daemon, from the command line (docs/IMAGES.md). */
#define _GNU_SOURCE
#include "cli/cli.h"

#include "image/image.h"
#include "sandbox/sandbox.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char image_usage[] =
	"usage: plait image COMMAND [options]\n"
	"\n"
	"Container images without a Docker daemon: pulled from a registry or loaded\n"
	"from a file, kept in a content-addressed store where images sharing base\n"
	"layers share their files, and run in plait's sandbox over a copy-on-write\n"
	"view of their own.  See docs/IMAGES.md.\n"
	"\n"
	"Commands:\n"
	"  pull REF...          fetch images from their registries and unpack them\n"
	"  load FILE|DIR        load a `docker save` tarball or an OCI image layout\n"
	"  ls                   list the stored images and what the store holds\n"
	"  rm REF...            forget images (their files go with 'prune')\n"
	"  prune                remove what no image uses\n"
	"  run REF [-- CMD...]  run a command in an image (its Entrypoint/Cmd when none)\n"
	"\n"
	"Every command takes --store DIR (default: $PLAIT_IMAGE_STORE, else\n"
	"~/.cache/plait/images) and --help.\n";

static const char pull_usage[] =
	"usage: plait image pull [options] REF...\n"
	"\n"
	"Fetch each image from its registry (the OCI distribution API): the manifest,\n"
	"resolved for the platform when it is an index, the config and the layers in\n"
	"parallel, each checked against its digest; then unpack the root.  Layers the\n"
	"store has are not fetched again; an interrupted pull resumes where it\n"
	"stopped.  REF: NAME[:TAG] or NAME@sha256:..., Docker's way (debian:12 is\n"
	"docker.io/library/debian:12).  Credentials: PLAIT_REGISTRY_AUTH=user:password,\n"
	"else the registry's entry in $DOCKER_CONFIG/config.json or\n"
	"~/.docker/config.json, else anonymous.\n"
	"\n"
	"Options:\n"
	"  --store DIR        the image store\n"
	"  --platform OS/ARCH[/VARIANT]  which image of an index (default linux/amd64)\n"
	"  -j, --jobs N       parallel downloads (default 4)\n"
	"  --insecure         plain HTTP (loopback registries always use it)\n"
	"  -q, --quiet        no progress bar\n"
	"  --json             print the images pulled as JSON\n"
	"  -h, --help         show this help\n";

static const char load_usage[] =
	"usage: plait image load [options] FILE|DIR\n"
	"\n"
	"Load the images of a `docker save` tarball (plain, gzip or zstd) or of an OCI\n"
	"image layout (a directory or a tar of one), copying and verifying every blob,\n"
	"and unpack their roots.  Images are named by the tarball's RepoTags or the\n"
	"layout's ref.name annotations (a bare tag T in DIR becomes\n"
	"localhost/BASENAME:T), or by --tag when the source holds one image.\n"
	"\n"
	"Options:\n"
	"  --store DIR        the image store\n"
	"  -t, --tag REF      the name of the image\n"
	"  --platform OS/ARCH[/VARIANT]  which image of a multi-platform layout\n"
	"  -q, --quiet        no progress bar\n"
	"  --json             print the images loaded as JSON\n"
	"  -h, --help         show this help\n";

static const char ls_usage[] = "usage: plait image ls [options]\n"
			       "\n"
			       "List the stored images (reference, image ID, layers, unpacked size, size of\n"
			       "the layers as stored) and what the store holds on disk: blobs, the roots'\n"
			       "files counted once however many images share them, interrupted downloads,\n"
			       "runs in progress.\n"
			       "\n"
			       "Options:\n"
			       "  --store DIR        the image store\n"
			       "  --json             one JSON object: the store, its usage, the images\n"
			       "  -h, --help         show this help\n";

static const char rm_usage[] = "usage: plait image rm [options] REF...\n"
			       "\n"
			       "Forget the images named; their blobs and roots stay for other images and go\n"
			       "with 'plait image prune' when none uses them.\n"
			       "\n"
			       "Options:\n"
			       "  --store DIR        the image store\n"
			       "  --json             print what was removed as JSON\n"
			       "  -h, --help         show this help\n";

static const char prune_usage[] =
	"usage: plait image prune [options]\n"
	"\n"
	"Remove the blobs and roots no stored image uses, interrupted downloads and\n"
	"what runs that did not end cleanly left.  Waits until no other plait process\n"
	"uses the store.\n"
	"\n"
	"Options:\n"
	"  --store DIR        the image store\n"
	"  --json             print what was freed as JSON\n"
	"  -h, --help         show this help\n";

static const char run_usage[] =
	"usage: plait image run [options] REF [--] [CMD ARGS...]\n"
	"\n"
	"Run CMD (default: the image's Entrypoint and Cmd, Docker's way) in plait's\n"
	"sandbox on the image's root, with the image's Env, WorkingDir and User.  The\n"
	"root is copy-on-write: what the command changes lives in a directory of this\n"
	"run's own, removed when it ends, so runs never see each other's changes and\n"
	"the image never changes.  An image not in the store is pulled first.  Exits\n"
	"with CMD's status, 128+N when killed by signal N, 124 on timeout, 1 when the\n"
	"run could not be set up.\n"
	"\n"
	"Options:\n"
	"  --store DIR           the image store\n"
	"  --profile NAME|FILE   sandbox profile to start from (agent, test, eval)\n"
	"  --bind SRC[:DST]      make host path SRC writable at DST\n"
	"  --ro-bind SRC[:DST]   the same, read-only\n"
	"  --cwd DIR             start in DIR (default: the image's WorkingDir)\n"
	"  -u, --user USER[:GROUP]  run as this user of the image (a name or id)\n"
	"                        instead of its User, as docker run --user\n"
	"  --env NAME=VALUE      set a variable (after the image's Env)\n"
	"  --net                 share the host's network (default: a private loopback)\n"
	"  --timeout SECONDS     wall-clock limit; the whole process tree is killed\n"
	"  --memory SIZE         memory of the whole tree (see plait sandbox run --help)\n"
	"  --nproc N             processes of the whole tree\n"
	"  --keep                keep the run's changes and print where they are\n"
	"  --platform OS/ARCH    for a pull (default linux/amd64)\n"
	"  --json                print one JSON result (exit, signal, times, output)\n"
	"  -h, --help            show this help\n";

/* Set by SIGINT and SIGTERM while a pull or load runs: the library stops at
 * the next chunk, keeping what it downloaded (a signal handler's flag is
 * per process by nature). */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void catch_signals(bool on)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on ? on_signal : SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* ---------------------------------------------------------------- progress */

typedef struct bar {
	bool on; /* stderr is a terminal and not --quiet/--json */
	bool drawn;
	double start, last;
	uint64_t last_done;
} bar;

static int draw(void *ctx, const img_progress *p)
{
	static const char *const phase[] = { "resolving", "fetching", "unpacking" };
	bar *b = ctx;
	char done[32], total[32], line[256];
	double now = pl_now(), rate;
	int width = 24, fill = 0, k;

	if (!b->on || now - b->last < 0.1)
		return 0;
	if (!b->start)
		b->start = now;
	rate = now > b->start ? (double)p->done / (now - b->start) : 0;
	b->last = now;
	pl_fmt_size(done, sizeof(done), p->done);
	pl_fmt_size(total, sizeof(total), p->total);
	if (p->total)
		fill = (int)((double)width * (double)p->done / (double)p->total);
	if (fill > width)
		fill = width;
	k = snprintf(line, sizeof(line), "\r%s %.40s [", phase[p->phase], p->ref ? p->ref : "");
	for (int i = 0; i < width && k < (int)sizeof(line) - 80; i++)
		line[k++] = i < fill ? '=' : (i == fill ? '>' : ' ');
	line[k] = '\0';
	if (p->total)
		snprintf(line + k, sizeof(line) - (size_t)k, "] %s / %s", done, total);
	else
		snprintf(line + k, sizeof(line) - (size_t)k, "] %s", done);
	fputs(line, stderr);
	if (p->items_total)
		fprintf(stderr, " (%u/%u)", p->items_done, p->items_total);
	if (p->phase == IMG_PHASE_FETCH && rate > 0) {
		char r[32];

		fprintf(stderr, " %s/s", pl_fmt_size(r, sizeof(r), (uint64_t)rate));
	}
	fputs("\033[K", stderr);
	b->drawn = true;
	return 0;
}

static void bar_end(bar *b)
{
	if (b->drawn)
		fputs("\r\033[K", stderr);
	b->drawn = false;
	b->start = 0;
}

/* ---------------------------------------------------------------- shared */

static json_t *image_json(const img_image *im)
{
	json_t *o = json_object(), *layers = json_array();
	size_t i;

	pl_json_set(o, "ref", json_string(im->ref));
	pl_json_set(o, "digest", im->digest ? json_string(im->digest) : json_null());
	pl_json_set(o, "id", json_string(im->config_digest));
	pl_json_set(o, "source", im->source ? json_string(im->source) : json_null());
	pl_json_set(o, "platform", im->platform ? json_string(im->platform) : json_null());
	pl_json_set(o, "chain", im->chain ? json_string(im->chain) : json_null());
	for (i = 0; i < im->nlayers; i++) {
		json_t *l = json_object();

		pl_json_set(l, "digest", json_string(im->layers[i].digest));
		pl_json_set(l, "media_type", json_string(im->layers[i].media_type));
		pl_json_set(l, "size", json_integer((json_int_t)im->layers[i].size));
		pl_json_set(l, "diff_id", json_string(im->layers[i].diff_id));
		json_array_append_new(layers, l);
	}
	pl_json_set(o, "layers", layers);
	pl_json_set(o, "blob_bytes", json_integer((json_int_t)im->blob_bytes));
	pl_json_set(o, "root_bytes", json_integer((json_int_t)im->root_bytes));
	pl_json_set(o, "unpacked", json_boolean(im->unpacked));
	pl_json_set(o, "stored", json_integer((json_int_t)im->stored));
	pl_json_set(o, "config", json_incref(im->config));
	return o;
}

static void print_json(json_t *o)
{
	pl_buf b = PL_BUF_INIT;

	pl_json_dump(&b, o, true);
	printf("%s\n", b.ptr);
	pl_buf_release(&b);
	json_decref(o);
}

static int open_store(img_store **s, const char *dir, const cli_ctx *ctx, pl_err *err)
{
	return img_store_open(s, dir, ctx ? ctx->log : NULL, err);
}

enum { O_STORE = 1, O_PLATFORM, O_JOBS, O_INSECURE, O_QUIET, O_JSON, O_TAG };

/* pull and load: fetch with a progress bar and Ctrl-C kept safe. */
static int fail_fetch(const cli_ctx *ctx, const char *cmd, const pl_err *err)
{
	if (err->code == PL_ECANCELED)
		return cli_fail(
			ctx, cmd, 130,
			"interrupted; what was downloaded is kept: run the same command again to resume");
	return cli_fail_err(ctx, cmd, err);
}

static int cmd_pull(int argc, char **argv, const cli_ctx *ctx)
{
	static const cli_opt opts[] = { { "store", 0, true, O_STORE },
					{ "platform", 0, true, O_PLATFORM },
					{ "jobs", 'j', true, O_JOBS },
					{ "insecure", 0, false, O_INSECURE },
					{ "quiet", 'q', false, O_QUIET },
					{ "json", 0, false, O_JSON },
					{ NULL, 0, false, 0 } };
	const char *store = NULL, *v;
	const char **refs = pl_xcalloc((size_t)argc, sizeof(char *));
	img_opts o;
	bool json = false, quiet = false;
	size_t nrefs = 0, i;
	img_store *s = NULL;
	json_t *out = json_array();
	pl_err err = { 0, "" };
	bar b = { false, false, 0, 0, 0 };
	cli_args a;
	int id, rc = CLI_EXIT_OK;

	memset(&o, 0, sizeof(o));
	cli_args_init(&a, argc, argv, 1, "image pull", opts, ctx);
	while ((id = cli_next(&a, &v)) != CLI_END) {
		switch (id) {
		case CLI_BAD: rc = CLI_EXIT_USAGE; goto done;
		case CLI_POS: refs[nrefs++] = v; break;
		case O_STORE: store = v; break;
		case O_PLATFORM: o.platform = v; break;
		case O_JOBS:
			if ((rc = cli_value_int(&o.jobs, &a, v, 1, 16)) != 0)
				goto done;
			break;
		case O_INSECURE: o.insecure = true; break;
		case O_QUIET: quiet = true; break;
		case O_JSON: json = true; break;
		}
	}
	if (!nrefs) {
		rc = cli_fail(ctx, "image pull", CLI_EXIT_USAGE, "no image given (plait image pull REF...)");
		goto done;
	}
	b.on = !quiet && !json && isatty(2);
	o.progress = draw;
	o.progress_ctx = &b;
	o.cancel = &interrupted;
	if (open_store(&s, store, ctx, &err) < 0) {
		rc = cli_fail_err(ctx, "image pull", &err);
		goto done;
	}
	catch_signals(true);
	for (i = 0; i < nrefs; i++) {
		img_image im;

		if (img_pull(&im, s, refs[i], &o, &err) < 0) {
			bar_end(&b);
			rc = fail_fetch(ctx, "image pull", &err);
			goto done;
		}
		bar_end(&b);
		if (json) {
			json_array_append_new(out, image_json(&im));
		} else {
			char sz[32];

			printf("%s %s (%zu layers, %s)\n", im.ref, im.digest, im.nlayers,
			       pl_fmt_size(sz, sizeof(sz), im.root_bytes));
		}
		img_image_release(&im);
	}
	if (json) {
		print_json(out);
		out = NULL;
	}
done:
	catch_signals(false);
	json_decref(out);
	img_store_close(s);
	free(refs);
	return rc;
}

static int cmd_load(int argc, char **argv, const cli_ctx *ctx)
{
	static const cli_opt opts[] = { { "store", 0, true, O_STORE },	     { "tag", 't', true, O_TAG },
					{ "platform", 0, true, O_PLATFORM }, { "quiet", 'q', false, O_QUIET },
					{ "json", 0, false, O_JSON },	     { NULL, 0, false, 0 } };
	const char *store = NULL, *tag = NULL, *path = NULL, *v;
	img_opts o;
	img_image *ims = NULL;
	size_t n = 0, i;
	bool json = false, quiet = false;
	img_store *s = NULL;
	pl_err err = { 0, "" };
	bar b = { false, false, 0, 0, 0 };
	cli_args a;
	int id, rc = CLI_EXIT_OK;

	memset(&o, 0, sizeof(o));
	cli_args_init(&a, argc, argv, 1, "image load", opts, ctx);
	while ((id = cli_next(&a, &v)) != CLI_END) {
		switch (id) {
		case CLI_BAD: return CLI_EXIT_USAGE;
		case CLI_POS:
			if (path)
				return cli_fail(ctx, "image load", CLI_EXIT_USAGE,
						"one FILE or DIR at a time");
			path = v;
			break;
		case O_STORE: store = v; break;
		case O_TAG: tag = v; break;
		case O_PLATFORM: o.platform = v; break;
		case O_QUIET: quiet = true; break;
		case O_JSON: json = true; break;
		}
	}
	if (!path)
		return cli_fail(ctx, "image load", CLI_EXIT_USAGE,
				"no file given (plait image load FILE|DIR)");
	b.on = !quiet && !json && isatty(2);
	o.progress = draw;
	o.progress_ctx = &b;
	o.cancel = &interrupted;
	if (open_store(&s, store, ctx, &err) < 0)
		return cli_fail_err(ctx, "image load", &err);
	catch_signals(true);
	if (img_load(&ims, &n, s, path, tag, &o, &err) < 0) {
		bar_end(&b);
		rc = fail_fetch(ctx, "image load", &err);
		goto done;
	}
	bar_end(&b);
	if (json) {
		json_t *arr = json_array();

		for (i = 0; i < n; i++)
			json_array_append_new(arr, image_json(&ims[i]));
		print_json(arr);
	} else {
		for (i = 0; i < n; i++) {
			char sz[32];

			printf("%s %s (%zu layers, %s)\n", ims[i].ref, ims[i].config_digest, ims[i].nlayers,
			       pl_fmt_size(sz, sizeof(sz), ims[i].root_bytes));
		}
	}
done:
	catch_signals(false);
	img_images_free(ims, n);
	img_store_close(s);
	return rc;
}

static json_t *usage_json(const img_usage *u)
{
	json_t *o = json_object();

	pl_json_set(o, "blobs", json_integer((json_int_t)u->blobs));
	pl_json_set(o, "nblobs", json_integer(u->nblobs));
	pl_json_set(o, "roots", json_integer((json_int_t)u->roots));
	pl_json_set(o, "nroots", json_integer(u->nroots));
	pl_json_set(o, "partial", json_integer((json_int_t)u->partial));
	pl_json_set(o, "runs", json_integer((json_int_t)u->runs));
	pl_json_set(o, "total", json_integer((json_int_t)(u->blobs + u->roots + u->partial + u->runs)));
	return o;
}

static void age(char *buf, size_t n, int64_t t)
{
	int64_t d = (int64_t)time(NULL) - t;

	if (t <= 0)
		snprintf(buf, n, "-");
	else if (d < 120)
		snprintf(buf, n, "%llds ago", (long long)(d < 0 ? 0 : d));
	else if (d < 7200)
		snprintf(buf, n, "%lldm ago", (long long)(d / 60));
	else if (d < 172800)
		snprintf(buf, n, "%lldh ago", (long long)(d / 3600));
	else
		snprintf(buf, n, "%lldd ago", (long long)(d / 86400));
}

static int cmd_ls(int argc, char **argv, const cli_ctx *ctx)
{
	static const cli_opt opts[] = { { "store", 0, true, O_STORE },
					{ "json", 0, false, O_JSON },
					{ NULL, 0, false, 0 } };
	const char *store = NULL, *v;
	img_image *ims = NULL;
	size_t n = 0, i;
	img_usage u;
	bool json = false;
	img_store *s = NULL;
	pl_err err = { 0, "" };
	cli_args a;
	int id, rc = CLI_EXIT_OK;

	cli_args_init(&a, argc, argv, 1, "image ls", opts, ctx);
	while ((id = cli_next(&a, &v)) != CLI_END) {
		if (id == CLI_BAD)
			return CLI_EXIT_USAGE;
		if (id == CLI_POS)
			return cli_fail(ctx, "image ls", CLI_EXIT_USAGE, "unexpected argument '%s'", v);
		if (id == O_STORE)
			store = v;
		else if (id == O_JSON)
			json = true;
	}
	if (open_store(&s, store, ctx, &err) < 0 || img_list(&ims, &n, s, &err) < 0 ||
	    img_store_usage(&u, s, &err) < 0) {
		rc = cli_fail_err(ctx, "image ls", &err);
		goto done;
	}
	if (json) {
		json_t *o = json_object(), *arr = json_array();

		for (i = 0; i < n; i++)
			json_array_append_new(arr, image_json(&ims[i]));
		pl_json_set(o, "store", json_string(img_store_dir(s)));
		pl_json_set(o, "usage", usage_json(&u));
		pl_json_set(o, "images", arr);
		print_json(o);
		goto done;
	}
	printf("%-50s %-12s %6s %10s %10s  %s\n", "REFERENCE", "IMAGE ID", "LAYERS", "UNPACKED", "AS STORED",
	       "ADDED");
	for (i = 0; i < n; i++) {
		char a1[32], a2[32], when[32];

		age(when, sizeof(when), ims[i].stored);
		printf("%-50s %-12.12s %6zu %10s %10s  %s\n", ims[i].ref, ims[i].config_digest + 7,
		       ims[i].nlayers, ims[i].unpacked ? pl_fmt_size(a1, sizeof(a1), ims[i].root_bytes) : "-",
		       pl_fmt_size(a2, sizeof(a2), ims[i].blob_bytes), when);
	}
	{
		char b1[32], b2[32], b3[32], b4[32];

		printf("\nstore %s: layers %s (%u blobs), unpacked %s (%u roots, shared files "
		       "once)%s%s%s%s\n",
		       img_store_dir(s), pl_fmt_size(b1, sizeof(b1), u.blobs), u.nblobs,
		       pl_fmt_size(b2, sizeof(b2), u.roots), u.nroots,
		       u.partial ? ", interrupted downloads " : "",
		       u.partial ? pl_fmt_size(b3, sizeof(b3), u.partial) : "", u.runs ? ", runs " : "",
		       u.runs ? pl_fmt_size(b4, sizeof(b4), u.runs) : "");
	}
done:
	img_images_free(ims, n);
	img_store_close(s);
	return rc;
}

static int cmd_rm(int argc, char **argv, const cli_ctx *ctx)
{
	static const cli_opt opts[] = { { "store", 0, true, O_STORE },
					{ "json", 0, false, O_JSON },
					{ NULL, 0, false, 0 } };
	const char *store = NULL, *v;
	const char **refs = pl_xcalloc((size_t)argc, sizeof(char *));
	size_t nrefs = 0, i;
	bool json = false;
	img_store *s = NULL;
	json_t *out = json_array();
	pl_err err = { 0, "" };
	cli_args a;
	int id, rc = CLI_EXIT_OK;

	cli_args_init(&a, argc, argv, 1, "image rm", opts, ctx);
	while ((id = cli_next(&a, &v)) != CLI_END) {
		if (id == CLI_BAD) {
			rc = CLI_EXIT_USAGE;
			goto done;
		}
		if (id == CLI_POS)
			refs[nrefs++] = v;
		else if (id == O_STORE)
			store = v;
		else if (id == O_JSON)
			json = true;
	}
	if (!nrefs) {
		rc = cli_fail(ctx, "image rm", CLI_EXIT_USAGE, "no image given (plait image rm REF...)");
		goto done;
	}
	if (open_store(&s, store, ctx, &err) < 0) {
		rc = cli_fail_err(ctx, "image rm", &err);
		goto done;
	}
	for (i = 0; i < nrefs; i++) {
		img_image im;

		if (img_get(&im, s, refs[i], &err) < 0 || img_remove(s, refs[i], &err) < 0) {
			rc = cli_fail_err(ctx, "image rm", &err);
			continue;
		}
		if (json)
			json_array_append_new(out, json_string(im.ref));
		else
			printf("removed %s\n", im.ref);
		img_image_release(&im);
	}
	if (json) {
		print_json(out);
		out = NULL;
	}
done:
	json_decref(out);
	img_store_close(s);
	free(refs);
	return rc;
}

static int cmd_prune(int argc, char **argv, const cli_ctx *ctx)
{
	static const cli_opt opts[] = { { "store", 0, true, O_STORE },
					{ "json", 0, false, O_JSON },
					{ NULL, 0, false, 0 } };
	const char *store = NULL, *v;
	bool json = false;
	img_store *s = NULL;
	img_usage u;
	pl_err err = { 0, "" };
	cli_args a;
	int id, rc = CLI_EXIT_OK;

	cli_args_init(&a, argc, argv, 1, "image prune", opts, ctx);
	while ((id = cli_next(&a, &v)) != CLI_END) {
		if (id == CLI_BAD)
			return CLI_EXIT_USAGE;
		if (id == CLI_POS)
			return cli_fail(ctx, "image prune", CLI_EXIT_USAGE, "unexpected argument '%s'", v);
		if (id == O_STORE)
			store = v;
		else if (id == O_JSON)
			json = true;
	}
	if (open_store(&s, store, ctx, &err) < 0 || img_prune(&u, s, &err) < 0) {
		rc = cli_fail_err(ctx, "image prune", &err);
		goto done;
	}
	if (json) {
		print_json(usage_json(&u));
	} else {
		char b1[32], b2[32], b3[32];

		printf("freed %s: %u blobs (%s), %u roots (%s), interrupted downloads and runs (%s)\n",
		       pl_fmt_size(b1, sizeof(b1), u.blobs + u.roots + u.partial + u.runs), u.nblobs,
		       pl_fmt_size(b2, sizeof(b2), u.blobs), u.nroots, pl_fmt_size(b3, sizeof(b3), u.roots),
		       pl_fmt_size(b1, sizeof(b1), u.partial + u.runs));
	}
done:
	img_store_close(s);
	return rc;
}

/* ---------------------------------------------------------------- run */

enum {
	R_STORE = 1,
	R_PROFILE,
	R_BIND,
	R_RO_BIND,
	R_CWD,
	R_ENV,
	R_NET,
	R_TIMEOUT,
	R_MEMORY,
	R_NPROC,
	R_KEEP,
	R_PLATFORM,
	R_JSON,
	R_USER
};

static const cli_opt run_opts[] = {
	{ "store", 0, true, R_STORE },	 { "profile", 0, true, R_PROFILE },
	{ "bind", 0, true, R_BIND },	 { "ro-bind", 0, true, R_RO_BIND },
	{ "cwd", 0, true, R_CWD },	 { "env", 0, true, R_ENV },
	{ "net", 0, false, R_NET },	 { "timeout", 0, true, R_TIMEOUT },
	{ "memory", 0, true, R_MEMORY }, { "nproc", 0, true, R_NPROC },
	{ "keep", 0, false, R_KEEP },	 { "platform", 0, true, R_PLATFORM },
	{ "json", 0, false, R_JSON },	 { "user", 'u', true, R_USER },
	{ NULL, 0, false, 0 },
};

static void add_bind(sbx_config *cfg, const char *arg, bool ro)
{
	const char *colon = strchr(arg, ':');
	char *src = colon ? pl_xstrndup(arg, (size_t)(colon - arg)) : pl_xstrdup(arg);

	sbx_config_add_bind(cfg, src, colon ? colon + 1 : NULL, ro);
	free(src);
}

static int run_opt(sbx_config *cfg, const cli_args *a, int id, const char *v)
{
	pl_err err = { 0, "" };
	int64_t n;
	double t;

	switch (id) {
	case R_BIND:
	case R_RO_BIND: add_bind(cfg, v, id == R_RO_BIND); return 0;
	case R_CWD: sbx_config_set_cwd(cfg, v); return 0;
	case R_ENV:
		if (sbx_config_set_env(cfg, v, &err) < 0)
			return cli_bad_value(a, v, "%s", err.msg);
		return 0;
	case R_NET: cfg->network = true; return 0;
	case R_TIMEOUT:
		if (pl_parse_f64(&t, v, NULL) < 0 || !(t > 0))
			return cli_bad_value(a, v, "not a positive number of seconds");
		cfg->limits.timeout = t;
		return 0;
	case R_MEMORY: return cli_value_size(&cfg->limits.memory, a, v);
	case R_NPROC:
		if (cli_value_i64(&n, a, v, 1, INT64_MAX) != 0)
			return CLI_EXIT_USAGE;
		cfg->limits.nproc = (uint64_t)n;
		return 0;
	default: return 0;
	}
}

static int cmd_run(int argc, char **argv, const cli_ctx *ctx)
{
	const char *store = NULL, *profile = NULL, *ref = NULL, *user = NULL, *v;
	img_opts o;
	img_image im;
	img_store *s = NULL;
	img_run *r = NULL;
	sbx_config cfg;
	sbx_result res;
	sbx_exec_opts eo;
	char **cmd = NULL;
	bool json = false, keep = false, have_image = false;
	pl_err err = { 0, "" };
	cli_args a;
	int id, rc = CLI_EXIT_OK, first = -1;

	memset(&o, 0, sizeof(o));
	memset(&im, 0, sizeof(im));
	memset(&eo, 0, sizeof(eo));
	sbx_config_init(&cfg);
	sbx_result_init(&res);
	/* first pass: the store, the profile, the image, usage errors */
	cli_args_init(&a, argc, argv, 1, "image run", run_opts, ctx);
	a.dashdash_stops = true;
	while ((id = cli_next(&a, &v)) > 0) {
		if (id == R_STORE)
			store = v;
		else if (id == R_PROFILE)
			profile = v;
		else if (id == R_KEEP)
			keep = true;
		else if (id == R_JSON)
			json = true;
		else if (id == R_PLATFORM)
			o.platform = v;
		else if (id == R_USER)
			user = v;
	}
	if (id == CLI_BAD) {
		rc = CLI_EXIT_USAGE;
		goto done;
	}
	if (id != CLI_POS) {
		rc = cli_fail(ctx, "image run", CLI_EXIT_USAGE,
			      "no image given (plait image run REF [-- CMD...])");
		goto done;
	}
	ref = v;
	first = a.i;
	if (first < argc && !strcmp(argv[first], "--"))
		first++;
	if (profile && sbx_profile_load(&cfg, profile, &err) < 0) {
		rc = cli_fail_err(ctx, "image run", &err);
		goto done;
	}
	if (open_store(&s, store, ctx, &err) < 0) {
		rc = cli_fail_err(ctx, "image run", &err);
		goto done;
	}
	if (img_get(&im, s, ref, &err) < 0) {
		bar b = { !json && isatty(2), false, 0, 0, 0 };

		if (err.code != PL_ENOTFOUND) {
			rc = cli_fail_err(ctx, "image run", &err);
			goto done;
		}
		o.progress = draw;
		o.progress_ctx = &b;
		o.cancel = &interrupted;
		catch_signals(true);
		rc = img_pull(&im, s, ref, &o, &err);
		catch_signals(false);
		bar_end(&b);
		if (rc < 0) {
			rc = fail_fetch(ctx, "image run", &err);
			goto done;
		}
	}
	have_image = true;
	if (img_image_argv(&cmd, &im, (const char *const *)argv + first, (size_t)(argc - first), &err) < 0 ||
	    img_run_open(&r, s, &im, &err) < 0 || (user && img_run_set_user(r, user, &err) < 0) ||
	    img_run_configure(&cfg, r, &err) < 0) {
		rc = cli_fail_err(ctx, "image run", &err);
		goto done;
	}
	/* second pass: the sandbox options, over the image's settings */
	cli_args_init(&a, argc, argv, 1, "image run", run_opts, ctx);
	a.dashdash_stops = true;
	while ((id = cli_next(&a, &v)) > 0)
		if ((rc = run_opt(&cfg, &a, id, v)) != 0)
			goto done;
	if (!json)
		eo.on_output = cli_pass_output;
	if (sbx_run_opts(&res, &cfg, (const char *const *)cmd, &eo, &err) < 0) {
		rc = cli_fail_err(ctx, "image run", &err);
		goto done;
	}
	if (json) {
		json_t *out = json_object();
		pl_buf d = PL_BUF_INIT;

		sbx_result_describe(&d, &res, &cfg);
		pl_json_set(out, "image", json_string(im.ref));
		pl_json_set(out, "status", json_string(d.ptr));
		pl_json_set(out, "exit_code", res.exit_code >= 0 ? json_integer(res.exit_code) : json_null());
		pl_json_set(out, "signal", res.signal ? json_integer(res.signal) : json_null());
		pl_json_set(out, "timed_out", json_boolean(res.timed_out));
		pl_json_set(out, "wall_time", json_real(res.wall_time));
		pl_json_set(out, "stdout", json_stringn(res.out.ptr, res.out.len));
		pl_json_set(out, "stderr", json_stringn(res.err.ptr, res.err.len));
		if (keep)
			pl_json_set(out, "changes", json_string(img_run_changes(r)));
		pl_buf_release(&d);
		print_json(out);
	} else if (res.timed_out || res.signal) {
		pl_buf d = PL_BUF_INIT;

		sbx_result_describe(&d, &res, &cfg);
		fprintf(stderr, "plait image run: %s\n", d.ptr);
		pl_buf_release(&d);
	}
	if (keep && !json)
		fprintf(stderr, "plait image run: the run's changes are kept in %s\n", img_run_changes(r));
	rc = res.timed_out ? 124 : res.signal ? 128 + res.signal : res.exit_code;
done:
	if (keep && r)
		img_run_keep(r);
	img_run_close(r);
	img_argv_free(cmd);
	if (have_image)
		img_image_release(&im);
	sbx_result_release(&res);
	sbx_config_release(&cfg);
	img_store_close(s);
	return rc;
}

/* ---------------------------------------------------------------- dispatch */

int cli_cmd_image(int argc, char **argv, const cli_ctx *ctx)
{
	static const struct {
		const char *name;
		const char *usage;
		int (*run)(int, char **, const cli_ctx *);
	} subs[] = {
		{ "pull", pull_usage, cmd_pull },    { "load", load_usage, cmd_load },
		{ "ls", ls_usage, cmd_ls },	     { "rm", rm_usage, cmd_rm },
		{ "prune", prune_usage, cmd_prune }, { "run", run_usage, cmd_run },
	};
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(image_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	for (i = 0; i < PL_ARRAY_LEN(subs); i++) {
		if (strcmp(argv[1], subs[i].name))
			continue;
		if (cli_wants_help(argc - 1, argv + 1)) {
			fputs(subs[i].usage, stdout);
			return CLI_EXIT_OK;
		}
		return subs[i].run(argc - 1, argv + 1, ctx);
	}
	return cli_fail(ctx, "image", CLI_EXIT_USAGE, "unknown command '%s' (pull, load, ls, rm, prune, run)",
			argv[1]);
}
