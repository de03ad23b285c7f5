/* libs.c - load libarchive, libcurl and libcrypto at first use and fill the
 * tables of libs.h. */
#define IMG_LIBS_IMPL
#include "image/libs.h"

#include <pthread.h>

#if !defined(IMG_LIBARCHIVE_SONAME) || !defined(IMG_LIBCURL_SONAME) || !defined(IMG_LIBCRYPTO_SONAME)
#error "IMG_LIBARCHIVE_SONAME, IMG_LIBCURL_SONAME and IMG_LIBCRYPTO_SONAME are set by the Makefile"
#endif
_Static_assert(sizeof(IMG_LIBARCHIVE_SONAME) > 1, "the Makefile found no libarchive.so: run make deps");
_Static_assert(sizeof(IMG_LIBCURL_SONAME) > 1, "the Makefile found no libcurl.so: run make deps");
_Static_assert(sizeof(IMG_LIBCRYPTO_SONAME) > 1, "the Makefile found no libcrypto.so: run make deps");

/* Written once under pthread_once, read-only afterwards (a library is
 * loaded per process). */
static struct {
	pthread_once_t once;
	img__archive_api api;
	bool ok;
	pl_err err;
} ar = { PTHREAD_ONCE_INIT, { 0 }, false, { 0, "" } };

static struct {
	pthread_once_t once;
	img__curl_api api;
	bool ok;
	pl_err err;
} cu = { PTHREAD_ONCE_INIT, { 0 }, false, { 0, "" } };

static struct {
	pthread_once_t once;
	img__crypto_api api;
	bool ok;
	pl_err err;
} cr = { PTHREAD_ONCE_INIT, { 0 }, false, { 0, "" } };

#define IMG__RESOLVE(lib, soname, f)                                                                         \
	if (!(p = pl_dl_sym(h, soname, #f, &lib.err)))                                                       \
		return;                                                                                      \
	lib.api.f = (__typeof__(f) *)p;

static void archive_once(void)
{
	void *h = NULL, *p;

	if (pl_dl_open(&h, IMG_LIBARCHIVE_SONAME, "libarchive13", &ar.err) < 0)
		return;
#define R(f) IMG__RESOLVE(ar, IMG_LIBARCHIVE_SONAME, f)
	IMG_ARCHIVE_FUNCS(R)
#undef R
	ar.ok = true;
}

static void curl_once(void)
{
	void *h = NULL, *p;
	CURLcode rc;

	if (pl_dl_open(&h, IMG_LIBCURL_SONAME, "libcurl4", &cu.err) < 0)
		return;
#define R(f) IMG__RESOLVE(cu, IMG_LIBCURL_SONAME, f)
	IMG_CURL_FUNCS(R)
#undef R
	/* Not thread-safe itself: here, once, before any download thread. */
	if ((rc = cu.api.curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		pl_err_set(&cu.err, PL_EINTERNAL, "initialising libcurl: %s", cu.api.curl_easy_strerror(rc));
		return;
	}
	cu.ok = true;
}

static void crypto_once(void)
{
	void *h = NULL, *p;

	if (pl_dl_open(&h, IMG_LIBCRYPTO_SONAME, "libssl3", &cr.err) < 0)
		return;
#define R(f) IMG__RESOLVE(cr, IMG_LIBCRYPTO_SONAME, f)
	IMG_CRYPTO_FUNCS(R)
#undef R
	cr.ok = true;
}

static int result(bool ok, const pl_err *e, pl_err *err)
{
	if (!ok)
		return pl_err_set(err, e->code ? e->code : PL_EINTERNAL, "%s", e->msg);
	return 0;
}

int img__archive_load(pl_err *err)
{
	pthread_once(&ar.once, archive_once);
	return result(ar.ok, &ar.err, err);
}

int img__curl_load(pl_err *err)
{
	pthread_once(&cu.once, curl_once);
	return result(cu.ok, &cu.err, err);
}

int img__crypto_load(pl_err *err)
{
	pthread_once(&cr.once, crypto_once);
	return result(cr.ok, &cr.err, err);
}

const img__archive_api *img__archive(void)
{
	PL_ASSERT(ar.ok);
	return &ar.api;
}

const img__curl_api *img__curl(void)
{
	PL_ASSERT(cu.ok);
	return &cu.api;
}

const img__crypto_api *img__crypto(void)
{
	PL_ASSERT(cr.ok);
	return &cr.api;
}
