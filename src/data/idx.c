/* IDX (MNIST container) reader. zlib's gzread also reads plain files, so both forms work. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "wsss/error.h"
#include "wsss/fashion_scenes.h"

/* Largest payload accepted: a corrupt header must not trigger a huge allocation. */
#define IDX_MAX_BYTES ((int64_t)1 << 31)

static int read_exact(gzFile f, void *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        unsigned chunk = (n - got) > (1u << 30) ? (1u << 30) : (unsigned)(n - got);
        int r = gzread(f, (uint8_t *)buf + got, chunk);
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

static const char *gz_msg(gzFile f) {
    int errnum = 0;
    const char *m = gzerror(f, &errnum);
    return errnum != Z_OK && m && *m ? m : "file ends early";
}

int wsss_idx_read(const char *path, wsss_idx *out) {
    memset(out, 0, sizeof *out);
    gzFile f = gzopen(path, "rb");
    if (!f) return wsss_error_set("%s: cannot open (expected an IDX file, gzip or plain)", path);
    int rc = WSSS_ERR;
    uint8_t magic[4];
    if (read_exact(f, magic, 4) != 0) {
        wsss_error_set("%s: cannot read the IDX header: %s", path, gz_msg(f));
        goto done;
    }
    if (magic[0] != 0 || magic[1] != 0 || magic[3] < 1 || magic[3] > 4) {
        wsss_error_set("%s: not an IDX file (magic %02x %02x %02x %02x, expected 00 00 08 <1..4>)", path,
                       magic[0], magic[1], magic[2], magic[3]);
        goto done;
    }
    if (magic[2] != 0x08) {
        wsss_error_set("%s: IDX element type 0x%02x, expected 0x08 (unsigned byte)", path, magic[2]);
        goto done;
    }
    out->ndim = magic[3];
    int64_t total = 1;
    for (int i = 0; i < out->ndim; i++) {
        uint8_t b[4];
        if (read_exact(f, b, 4) != 0) {
            wsss_error_set("%s: cannot read IDX dimension %d: %s", path, i, gz_msg(f));
            goto done;
        }
        int64_t d = ((int64_t)b[0] << 24) | ((int64_t)b[1] << 16) | ((int64_t)b[2] << 8) | b[3];
        if (d <= 0 || d > IDX_MAX_BYTES || total * d > IDX_MAX_BYTES) {
            wsss_error_set("%s: IDX dimension %d is %lld (expected 1..%lld elements in total)", path, i,
                           (long long)d, (long long)IDX_MAX_BYTES);
            goto done;
        }
        out->dims[i] = d;
        total *= d;
    }
    out->data = wsss_xmalloc((size_t)total);
    if (read_exact(f, out->data, (size_t)total) != 0) {
        wsss_error_set("%s: IDX data truncated (expected %lld bytes): %s", path, (long long)total, gz_msg(f));
        goto done;
    }
    uint8_t extra;
    if (gzread(f, &extra, 1) != 0) {
        wsss_error_set("%s: unexpected bytes after the IDX data (expected exactly %lld)", path, (long long)total);
        goto done;
    }
    rc = WSSS_OK;
done:
    gzclose(f);
    if (rc != WSSS_OK) wsss_idx_free(out);
    return rc;
}

void wsss_idx_free(wsss_idx *x) {
    free(x->data);
    memset(x, 0, sizeof *x);
}
