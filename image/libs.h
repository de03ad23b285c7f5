/* libs.h - libarchive, libcurl and libcrypto, opened at first use (internal
 * to image/).
 *
 * Only the image commands need them, and linked they would cost every
 * `plait` invocation their dynamic-loader work: libarchive alone brings
 * libxml2, ICU and libstdc++, libcurl its TLS, HTTP/2, Kerberos and LDAP
 * stack (common.h, pl_dl_open).  The scheme of tools/git2.h and
 * agent/curl.h: one pointer per function image/ calls, each name redirected
 * to its pointer; entry points call the loader first.  A function image/
 * starts to use is added to its list and to the #defines below (a name
 * missing from the list is an undefined reference at link time).
 */
#ifndef PLAIT_IMAGE_LIBS_H
#define PLAIT_IMAGE_LIBS_H

#include "common/common.h"

/* curl's type-checking macros would clash with the redirections below */
#define CURL_DISABLE_TYPECHECK 1

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#define IMG_ARCHIVE_FUNCS(X)                                                                                 \
	X(archive_read_new)                                                                                  \
	X(archive_read_support_format_tar)                                                                   \
	X(archive_read_support_format_raw) X(archive_read_support_filter_gzip)                               \
		X(archive_read_support_filter_zstd) X(archive_read_open_fd) X(archive_read_open) X(          \
			archive_read_next_header) X(archive_read_data) X(archive_read_data_block)            \
			X(archive_read_data_skip) X(archive_read_free) X(archive_error_string) X(            \
				archive_errno) X(archive_entry_pathname) X(archive_entry_pathname_utf8)      \
				X(archive_entry_hardlink) X(archive_entry_symlink) X(archive_entry_filetype) \
					X(archive_entry_perm) X(archive_entry_uid) X(archive_entry_gid)      \
						X(archive_entry_size) X(archive_entry_mtime)                 \
							X(archive_entry_mtime_nsec)                          \
								X(archive_entry_mtime_is_set)                \
									X(archive_version_string)

#define IMG_CURL_FUNCS(X)                                                                                    \
	X(curl_global_init)                                                                                  \
	X(curl_easy_init) X(curl_easy_setopt) X(curl_easy_perform) X(curl_easy_cleanup) X(curl_easy_reset)   \
		X(curl_easy_getinfo) X(curl_easy_strerror) X(curl_slist_append) X(curl_slist_free_all)       \
			X(curl_easy_escape) X(curl_free)

#define IMG_CRYPTO_FUNCS(X)                                                                                  \
	X(EVP_MD_CTX_new)                                                                                    \
	X(EVP_MD_CTX_free) X(EVP_DigestInit_ex) X(EVP_DigestUpdate) X(EVP_DigestFinal_ex) X(EVP_sha256)

#define IMG__PTR(f) __typeof__(f) *f;
typedef struct img__archive_api {
	IMG_ARCHIVE_FUNCS(IMG__PTR)
} img__archive_api;
typedef struct img__curl_api {
	IMG_CURL_FUNCS(IMG__PTR)
} img__curl_api;
typedef struct img__crypto_api {
	IMG_CRYPTO_FUNCS(IMG__PTR)
} img__crypto_api;
#undef IMG__PTR

/* Load each library once per process (thread-safe); idempotent.  The error
 * names the library and the Debian package that provides it. */
int img__archive_load(pl_err *err);
int img__curl_load(pl_err *err);
int img__crypto_load(pl_err *err);
/* The loaded tables; only after a successful load. */
const img__archive_api *img__archive(void);
const img__curl_api *img__curl(void);
const img__crypto_api *img__crypto(void);

#ifndef IMG_LIBS_IMPL
#define archive_read_new		 (img__archive()->archive_read_new)
#define archive_read_support_format_tar	 (img__archive()->archive_read_support_format_tar)
#define archive_read_support_format_raw	 (img__archive()->archive_read_support_format_raw)
#define archive_read_support_filter_gzip (img__archive()->archive_read_support_filter_gzip)
#define archive_read_support_filter_zstd (img__archive()->archive_read_support_filter_zstd)
#define archive_read_open_fd		 (img__archive()->archive_read_open_fd)
#define archive_read_open		 (img__archive()->archive_read_open)
#define archive_read_next_header	 (img__archive()->archive_read_next_header)
#define archive_read_data		 (img__archive()->archive_read_data)
#define archive_read_data_block		 (img__archive()->archive_read_data_block)
#define archive_read_data_skip		 (img__archive()->archive_read_data_skip)
#define archive_read_free		 (img__archive()->archive_read_free)
#define archive_error_string		 (img__archive()->archive_error_string)
#define archive_errno			 (img__archive()->archive_errno)
#define archive_entry_pathname		 (img__archive()->archive_entry_pathname)
#define archive_entry_pathname_utf8	 (img__archive()->archive_entry_pathname_utf8)
#define archive_entry_hardlink		 (img__archive()->archive_entry_hardlink)
#define archive_entry_symlink		 (img__archive()->archive_entry_symlink)
#define archive_entry_filetype		 (img__archive()->archive_entry_filetype)
#define archive_entry_perm		 (img__archive()->archive_entry_perm)
#define archive_entry_uid		 (img__archive()->archive_entry_uid)
#define archive_entry_gid		 (img__archive()->archive_entry_gid)
#define archive_entry_size		 (img__archive()->archive_entry_size)
#define archive_entry_mtime		 (img__archive()->archive_entry_mtime)
#define archive_entry_mtime_nsec	 (img__archive()->archive_entry_mtime_nsec)
#define archive_entry_mtime_is_set	 (img__archive()->archive_entry_mtime_is_set)
#define archive_version_string		 (img__archive()->archive_version_string)

#define curl_global_init (img__curl()->curl_global_init)
#define curl_easy_init	 (img__curl()->curl_easy_init)
#undef curl_easy_setopt /* curl.h's argument-count check */
#define curl_easy_setopt  (img__curl()->curl_easy_setopt)
#define curl_easy_perform (img__curl()->curl_easy_perform)
#define curl_easy_cleanup (img__curl()->curl_easy_cleanup)
#define curl_easy_reset	  (img__curl()->curl_easy_reset)
#undef curl_easy_getinfo
#define curl_easy_getinfo   (img__curl()->curl_easy_getinfo)
#define curl_easy_strerror  (img__curl()->curl_easy_strerror)
#define curl_slist_append   (img__curl()->curl_slist_append)
#define curl_slist_free_all (img__curl()->curl_slist_free_all)
#define curl_easy_escape    (img__curl()->curl_easy_escape)
#define curl_free	    (img__curl()->curl_free)

#define EVP_MD_CTX_new	   (img__crypto()->EVP_MD_CTX_new)
#define EVP_MD_CTX_free	   (img__crypto()->EVP_MD_CTX_free)
#define EVP_DigestInit_ex  (img__crypto()->EVP_DigestInit_ex)
#define EVP_DigestUpdate   (img__crypto()->EVP_DigestUpdate)
#define EVP_DigestFinal_ex (img__crypto()->EVP_DigestFinal_ex)
#define EVP_sha256	   (img__crypto()->EVP_sha256)
#endif

#endif
