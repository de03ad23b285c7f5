/* digest.c - SHA-256 digests of blobs ("sha256:HEX"), through libcrypto. */
#include "image/internal.h"
#include "image/libs.h"

#include <string.h>

int img__sha_init(img__sha *h, pl_err *err)
{
	EVP_MD_CTX *c;
	int rc;

	h->ctx = NULL;
	if ((rc = img__crypto_load(err)) < 0)
		return rc;
	if (!(c = EVP_MD_CTX_new()))
		return pl_err_set(err, PL_ENOMEM, "creating a SHA-256 context");
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		return pl_err_set(err, PL_EINTERNAL, "libcrypto refused to start a SHA-256 digest");
	}
	h->ctx = c;
	return 0;
}

void img__sha_update(img__sha *h, const void *p, size_t n)
{
	if (n && EVP_DigestUpdate((EVP_MD_CTX *)h->ctx, p, n) != 1)
		PL_BUG("EVP_DigestUpdate failed on a SHA-256 context");
}

void img__sha_final(img__sha *h, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int len = 0, i;

	if (EVP_DigestFinal_ex((EVP_MD_CTX *)h->ctx, md, &len) != 1 || len != 32)
		PL_BUG("EVP_DigestFinal_ex failed on a SHA-256 context");
	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++) {
		out[7 + 2 * i] = hex[md[i] >> 4];
		out[8 + 2 * i] = hex[md[i] & 15];
	}
	out[IMG__DIGEST_LEN] = '\0';
}

void img__sha_release(img__sha *h)
{
	if (h->ctx)
		EVP_MD_CTX_free((EVP_MD_CTX *)h->ctx);
	h->ctx = NULL;
}

int img__sha_buf(char *out, const void *p, size_t n, pl_err *err)
{
	img__sha h;
	int rc;

	if ((rc = img__sha_init(&h, err)) < 0)
		return rc;
	img__sha_update(&h, p, n);
	img__sha_final(&h, out);
	img__sha_release(&h);
	return 0;
}

bool img__digest_valid(const char *d)
{
	size_t i;

	if (!d || strncmp(d, "sha256:", 7) || strlen(d) != IMG__DIGEST_LEN)
		return false;
	for (i = 7; i < IMG__DIGEST_LEN; i++)
		if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
			return false;
	return true;
}

int img__digest_check(const char *d, const char *what, pl_err *err)
{
	if (img__digest_valid(d))
		return 0;
	if (d && !strncmp(d, "sha512:", 7))
		return pl_err_set(err, PL_EUNSUPPORTED,
				  "%s: digest '%.80s' uses sha512; plait verifies sha256 only", what, d);
	return pl_err_set(err, PL_EFORMAT,
			  "%s: '%.80s' is not a digest ('sha256:' and 64 lower-case hex digits)", what,
			  d ? d : "(none)");
}
