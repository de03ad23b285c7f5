/* zio.c - reading datasets and predictions that come plain, xz- or
 * gzip-compressed (liblzma, zlib), told apart by their first bytes. */
#include "bench-harness/bench.h"

#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const uint8_t xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
static const uint8_t gz_magic[2] = { 0x1f, 0x8b };

static int read_xz(pl_buf *out, const uint8_t *data, size_t n, const char *path, pl_err *err)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret r;
	uint8_t buf[1 << 16];
	int rc = 0;

	/* Concatenated streams are one file, as xz -dc reads them. */
	if (lzma_stream_decoder(&s, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
		return pl_err_set(err, PL_ENOMEM, "%s: cannot start the xz decoder", path);
	s.next_in = data;
	s.avail_in = n;
	do {
		s.next_out = buf;
		s.avail_out = sizeof(buf);
		r = lzma_code(&s, s.avail_in ? LZMA_RUN : LZMA_FINISH);
		pl_buf_add(out, buf, sizeof(buf) - s.avail_out);
	} while (r == LZMA_OK);
	if (r != LZMA_STREAM_END)
		rc = pl_err_set(err, PL_EFORMAT, "%s: not a valid xz file (%s)", path,
				r == LZMA_BUF_ERROR ? "truncated" : r == LZMA_DATA_ERROR ? "corrupt data" :
				r == LZMA_MEM_ERROR ? "out of memory" : "decoder error");
	lzma_end(&s);
	return rc;
}

static int read_gz(pl_buf *out, const uint8_t *data, size_t n, const char *path, pl_err *err)
{
	z_stream s;
	uint8_t buf[1 << 16];
	int r, rc = 0;

	memset(&s, 0, sizeof(s));
	/* 16 + MAX_WBITS: a gzip header, not zlib's */
	if (inflateInit2(&s, 16 + MAX_WBITS) != Z_OK)
		return pl_err_set(err, PL_ENOMEM, "%s: cannot start the gzip decoder", path);
	s.next_in = (Bytef *)data;
	for (;;) {
		/* avail_in is 32 bits wide: feed at most 1 GiB at a time */
		if (!s.avail_in && n) {
			s.avail_in = n > (1u << 30) ? (1u << 30) : (uInt)n;
			n -= s.avail_in;
		}
		s.next_out = buf;
		s.avail_out = sizeof(buf);
		r = inflate(&s, Z_NO_FLUSH);
		pl_buf_add(out, buf, sizeof(buf) - s.avail_out);
		if (r == Z_STREAM_END) {
			/* gzip allows members one after another: carry on */
			if (!s.avail_in && !n)
				break;
			if (inflateReset(&s) != Z_OK) {
				rc = pl_err_set(err, PL_EFORMAT, "%s: not a valid gzip file", path);
				break;
			}
			continue;
		}
		if (r != Z_OK && !(r == Z_BUF_ERROR && s.avail_out == 0)) {
			rc = pl_err_set(err, PL_EFORMAT, "%s: not a valid gzip file (%s)", path,
					r == Z_BUF_ERROR ? "truncated" : s.msg ? s.msg : "corrupt data");
			break;
		}
	}
	inflateEnd(&s);
	return rc;
}

int bench_file_read(pl_buf *out, const char *path, pl_err *err)
{
	pl_map m;
	int rc;

	if ((rc = pl_map_open(&m, path, err)) < 0)
		return rc;
	if (m.size >= sizeof(xz_magic) && !memcmp(m.data, xz_magic, sizeof(xz_magic)))
		rc = read_xz(out, m.data, m.size, path, err);
	else if (m.size >= sizeof(gz_magic) && !memcmp(m.data, gz_magic, sizeof(gz_magic)))
		rc = read_gz(out, m.data, m.size, path, err);
	else
		pl_buf_add(out, m.data, m.size);
	pl_map_close(&m);
	return rc;
}
