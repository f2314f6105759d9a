/* safetensors: round trips of every dtype (0-d, empty, strided views, metadata), the on-disk layout
 * of written files, strict rejection of malformed files built here byte by byte, and atomic writes. */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "wsss/fs.h"
#include "wsss/json.h"
#include "wsss/safetensors.h"

static const char *g_dir;

static const char *tmp_path(const char *name) { return test_path(g_dir, name); }

/* A file: 8-byte header length (hlen, or strlen(header) if hlen == UINT64_MAX), header, data. */
static void write_st(const char *path, const char *header, uint64_t hlen, size_t data_len) {
    size_t h = strlen(header);
    if (hlen == UINT64_MAX) hlen = h;
    size_t n = 8 + h + data_len;
    uint8_t *b = calloc(1, n);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(hlen >> (8 * i));
    memcpy(b + 8, header, h);
    for (size_t i = 0; i < data_len; i++) b[8 + h + i] = (uint8_t)i;
    test_write_file(path, b, n);
    free(b);
}

/* Opening must fail, the message must name the file and contain `want`. */
static void expect_bad(const char *what, const char *path, const char *want) {
    wsss_safetensors *st = (wsss_safetensors *)0x1;
    wsss_error_clear();
    int rc = wsss_st_open(path, &st);
    const char *msg = wsss_error_msg();
    CHECK(rc == WSSS_ERR, "%s: expected an error", what);
    CHECK(st == NULL, "%s: output not NULL on error", what);
    CHECK(strstr(msg, path) != NULL, "%s: message does not name the file: %s", what, msg);
    CHECK(strstr(msg, want) != NULL, "%s: message lacks \"%s\": %s", what, want, msg);
    if (getenv("WSSS_TEST_VERBOSE")) printf("%-30s %s\n", what, msg);
    if (rc == WSSS_OK) wsss_st_close(st);
}

static void bad_header(const char *what, const char *header, size_t data_len, const char *want) {
    const char *p = tmp_path("bad.safetensors");
    write_st(p, header, UINT64_MAX, data_len);
    expect_bad(what, p, want);
}

static int count_tmp_files(void) {
    DIR *d = opendir(g_dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp-")) n++;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------ round trips */

static void test_round_trip(void) {
    const char *path = tmp_path("rt.safetensors");
    int64_t s23[2] = {2, 3}, s0[2] = {0, 4}, s5[5] = {1, 2, 1, 3, 2}, s4[1] = {4}, s7[1] = {7};
    wsss_tensor *f32 = wsss_tensor_new(WSSS_F32, 2, s23);
    wsss_tensor *f64 = wsss_tensor_new(WSSS_F64, 5, s5);
    wsss_tensor *u8 = wsss_tensor_new(WSSS_U8, 1, s7);
    wsss_tensor *i32 = wsss_tensor_new(WSSS_I32, 1, s4);
    wsss_tensor *i64 = wsss_tensor_new(WSSS_I64, 1, s4);
    wsss_tensor *scalar = wsss_tensor_new(WSSS_F64, 0, NULL);
    wsss_tensor *empty = wsss_tensor_new(WSSS_F32, 2, s0);
    float fv[6] = {1.5f, -0.0f, 3.4028235e38f, 1e-45f, -7.25f, 0.1f};
    memcpy(f32->data, fv, sizeof fv);
    for (int i = 0; i < 12; i++) wsss_f64(f64)[i] = 1.0 / (i + 1) - 0.3;
    for (int i = 0; i < 7; i++) ((uint8_t *)u8->data)[i] = (uint8_t)(i * 40);
    int32_t iv[4] = {INT32_MIN, -1, 0, INT32_MAX};
    memcpy(i32->data, iv, sizeof iv);
    int64_t lv[4] = {INT64_MIN, -3, (int64_t)1 << 60 | 1, INT64_MAX}; /* not representable as double */
    memcpy(i64->data, lv, sizeof lv);
    wsss_f64(scalar)[0] = 3.141592653589793;

    wsss_st_writer *w = wsss_st_writer_new();
    /* added out of order: the file must come out sorted */
    wsss_st_writer_add(w, "z.f32", f32);
    wsss_st_writer_add(w, "a.f64", f64);
    wsss_st_writer_add(w, "m.u8", u8);
    wsss_st_writer_add(w, "b.i32", i32);
    wsss_st_writer_add(w, "b.i64", i64);
    wsss_st_writer_add(w, "scalar", scalar);
    wsss_st_writer_add(w, "empty", empty);
    wsss_st_writer_add(w, "quote\"and\\slash \xc3\xa9", u8);
    wsss_st_writer_meta(w, "format", "pt");
    wsss_st_writer_meta(w, "note", "line1\nline2 \"q\" \xe2\x82\xac");
    wsss_st_writer_meta(w, "format", "pt2"); /* later value replaces */
    CHECK(wsss_st_writer_save(w, path) == WSSS_OK, "save: %s", wsss_error_msg());
    wsss_st_writer_free(w);

    wsss_safetensors *st;
    CHECK(wsss_st_open(path, &st) == WSSS_OK, "open: %s", wsss_error_msg());
    if (!st) return;
    CHECK(st->n_entries == 8, "n_entries %d", st->n_entries);
    CHECK(st->n_meta == 2, "n_meta %d", st->n_meta);
    CHECK(wsss_st_meta(st, "format") && strcmp(wsss_st_meta(st, "format"), "pt2") == 0, "meta format");
    CHECK(wsss_st_meta(st, "note") && strcmp(wsss_st_meta(st, "note"), "line1\nline2 \"q\" \xe2\x82\xac") == 0,
          "meta note");
    CHECK(wsss_st_meta(st, "absent") == NULL, "absent meta");
    /* names sorted byte-wise, data laid out in the same order without gaps */
    for (int i = 1; i < st->n_entries; i++) {
        CHECK(strcmp(st->entries[i - 1].name, st->entries[i].name) < 0, "order %s, %s",
              st->entries[i - 1].name, st->entries[i].name);
        CHECK(st->entries[i].offset == st->entries[i - 1].offset + st->entries[i - 1].nbytes,
              "contiguous data at %s", st->entries[i].name);
    }
    CHECK((st->data - (const uint8_t *)st->map) % 8 == 0, "data section 8-byte aligned");

    const char *names[7] = {"z.f32", "a.f64", "m.u8", "b.i32", "b.i64", "scalar", "empty"};
    wsss_tensor *orig[7] = {f32, f64, u8, i32, i64, scalar, empty};
    for (int k = 0; k < 7; k++) {
        wsss_tensor *t = wsss_st_load(st, names[k]);
        CHECK(t != NULL, "load %s: %s", names[k], wsss_error_msg());
        if (!t) continue;
        CHECK(t->dtype == orig[k]->dtype, "%s dtype", names[k]);
        CHECK(wsss_tensor_same_shape(t, orig[k]), "%s shape", names[k]);
        CHECK(memcmp(t->data, orig[k]->data, wsss_tensor_nbytes(orig[k])) == 0, "%s bytes differ", names[k]);
        CHECK(t->ctx == NULL && t->requires_grad == 0, "%s persistent plain tensor", names[k]);
        wsss_tensor_free(t);
    }
    wsss_tensor *q = wsss_st_load(st, "quote\"and\\slash \xc3\xa9");
    CHECK(q && memcmp(q->data, u8->data, 7) == 0, "escaped name round trip");
    wsss_tensor_free(q);
    CHECK(wsss_st_load(st, "nope") == NULL, "missing tensor gives NULL");
    CHECK(strstr(wsss_error_msg(), "nope") && strstr(wsss_error_msg(), path), "missing msg: %s",
          wsss_error_msg());

    /* load_into: exact match required; convert: dtype conversion */
    wsss_tensor *dst = wsss_tensor_new(WSSS_F32, 2, s23);
    CHECK(wsss_st_load_into(st, "z.f32", dst) == WSSS_OK, "load_into");
    CHECK(memcmp(dst->data, fv, sizeof fv) == 0, "load_into values");
    wsss_tensor *wrong = wsss_tensor_new(WSSS_F32, 1, s4);
    CHECK(wsss_st_load_into(st, "z.f32", wrong) == WSSS_ERR, "load_into shape mismatch");
    CHECK(strstr(wsss_error_msg(), "[2, 3]") && strstr(wsss_error_msg(), "[4]") &&
              strstr(wsss_error_msg(), "z.f32"),
          "shape mismatch msg: %s", wsss_error_msg());
    wsss_tensor *as64 = wsss_tensor_new(WSSS_F64, 2, s23);
    CHECK(wsss_st_load_into(st, "z.f32", as64) == WSSS_ERR, "load_into dtype mismatch");
    CHECK(wsss_st_load_convert(st, "z.f32", as64) == WSSS_OK, "convert f32->f64");
    for (int i = 0; i < 6; i++) CHECK(wsss_f64(as64)[i] == (double)fv[i], "f32->f64 value %d", i);
    wsss_tensor *i64as32 = wsss_tensor_new(WSSS_I32, 1, s4);
    CHECK(wsss_st_load_convert(st, "b.i64", i64as32) == WSSS_ERR, "i64 -> i32 out of range rejected");
    CHECK(strstr(wsss_error_msg(), "does not fit"), "range msg: %s", wsss_error_msg());
    wsss_tensor *i32as64 = wsss_tensor_new(WSSS_I64, 1, s4);
    CHECK(wsss_st_load_convert(st, "b.i32", i32as64) == WSSS_OK, "i32 -> i64");
    for (int i = 0; i < 4; i++) CHECK(((int64_t *)i32as64->data)[i] == iv[i], "i32->i64 value %d", i);
    wsss_tensor *fasint = wsss_tensor_new(WSSS_I32, 2, s23);
    CHECK(wsss_st_load_convert(st, "z.f32", fasint) == WSSS_ERR, "float -> int rejected");
    wsss_tensor *u8asf = wsss_tensor_new(WSSS_F32, 1, s7);
    CHECK(wsss_st_load_convert(st, "m.u8", u8asf) == WSSS_OK, "u8 -> f32");
    CHECK(wsss_f32(u8asf)[6] == 240.0f, "u8->f32 value");
    /* load into a strided (transposed) destination */
    int64_t s32[2] = {3, 2};
    wsss_tensor *base = wsss_tensor_new(WSSS_F32, 2, s32);
    wsss_tensor *tv = wsss_tensor_header_like(base);
    tv->ndim = 2, tv->shape[0] = 2, tv->shape[1] = 3, tv->stride[0] = 1, tv->stride[1] = 2;
    CHECK(wsss_st_load_into(st, "z.f32", tv) == WSSS_OK, "load into view");
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 3; c++)
            CHECK(wsss_f32(base)[c * 2 + r] == fv[r * 3 + c], "view element %d,%d", r, c);
    wsss_tensor_free(tv);
    wsss_tensor_free(base);
    wsss_tensor_free(dst), wsss_tensor_free(wrong), wsss_tensor_free(as64), wsss_tensor_free(i64as32);
    wsss_tensor_free(i32as64), wsss_tensor_free(fasint), wsss_tensor_free(u8asf);
    wsss_st_close(st);
    for (int k = 0; k < 7; k++) wsss_tensor_free(orig[k]);
}

/* Writing a non-contiguous view stores its logical contents (also exact for I64). */
static void test_write_views(void) {
    const char *path = tmp_path("views.safetensors");
    int64_t s[3] = {2, 3, 4};
    wsss_tensor *a = wsss_tensor_new(WSSS_I64, 3, s);
    for (int i = 0; i < 24; i++) ((int64_t *)a->data)[i] = ((int64_t)1 << 55) + i;
    /* permute (2,0,1): shape (4,2,3) */
    wsss_tensor *p = wsss_tensor_header_like(a);
    p->ndim = 3;
    p->shape[0] = 4, p->shape[1] = 2, p->shape[2] = 3;
    p->stride[0] = 1, p->stride[1] = 12, p->stride[2] = 4;
    /* flip of dim 1 of a F32 tensor (negative stride), plus a broadcast (stride 0) view */
    int64_t s2[2] = {2, 5};
    wsss_tensor *b = wsss_tensor_new(WSSS_F32, 2, s2);
    for (int i = 0; i < 10; i++) wsss_f32(b)[i] = (float)i + 0.5f;
    wsss_tensor *fl = wsss_tensor_header_like(b);
    fl->ndim = 2, fl->shape[0] = 2, fl->shape[1] = 5, fl->stride[0] = 5, fl->stride[1] = -1;
    fl->data = wsss_f32(b) + 4;
    wsss_tensor *bc = wsss_tensor_header_like(b);
    bc->ndim = 2, bc->shape[0] = 3, bc->shape[1] = 5, bc->stride[0] = 0, bc->stride[1] = 1;

    wsss_st_writer *w = wsss_st_writer_new();
    wsss_st_writer_add(w, "perm", p);
    wsss_st_writer_add(w, "flip", fl);
    wsss_st_writer_add(w, "bcast", bc);
    CHECK(wsss_st_writer_save(w, path) == WSSS_OK, "save views: %s", wsss_error_msg());
    wsss_st_writer_free(w);
    wsss_safetensors *st;
    CHECK(wsss_st_open(path, &st) == WSSS_OK, "open: %s", wsss_error_msg());
    if (!st) return;
    wsss_tensor *rp = wsss_st_load(st, "perm"), *rf = wsss_st_load(st, "flip"), *rb = wsss_st_load(st, "bcast");
    CHECK(rp->shape[0] == 4 && rp->shape[1] == 2 && rp->shape[2] == 3, "perm shape");
    int bad = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 2; j++)
            for (int k = 0; k < 3; k++)
                bad += ((int64_t *)rp->data)[(i * 2 + j) * 3 + k] != ((int64_t)1 << 55) + j * 12 + k * 4 + i;
    CHECK(bad == 0, "perm values: %d wrong", bad);
    bad = 0;
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 5; c++) bad += wsss_f32(rf)[r * 5 + c] != (float)(r * 5 + 4 - c) + 0.5f;
    CHECK(bad == 0, "flip values: %d wrong", bad);
    bad = 0;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 5; c++) bad += wsss_f32(rb)[r * 5 + c] != (float)c + 0.5f;
    CHECK(bad == 0, "broadcast values: %d wrong", bad);
    wsss_tensor_free(rp), wsss_tensor_free(rf), wsss_tensor_free(rb);
    wsss_st_close(st);
    wsss_tensor_free(p), wsss_tensor_free(fl), wsss_tensor_free(bc), wsss_tensor_free(a), wsss_tensor_free(b);
}

/* The written header: 8-byte multiple padded with spaces, compact JSON, __metadata__ first, an
 * empty writer gives "{}" padded. Checked on the raw bytes. */
static void test_layout(void) {
    const char *path = tmp_path("layout.safetensors");
    int64_t s1[1] = {3};
    wsss_tensor *t = wsss_tensor_new(WSSS_F32, 1, s1);
    wsss_st_writer *w = wsss_st_writer_new();
    wsss_st_writer_add(w, "w", t);
    wsss_st_writer_meta(w, "k", "v");
    CHECK(wsss_st_writer_save(w, path) == WSSS_OK, "save");
    wsss_st_writer_free(w);
    size_t n;
    uint8_t *b = test_read_file(path, &n);
    const char *want = "{\"__metadata__\":{\"k\":\"v\"},\"w\":{\"dtype\":\"F32\",\"shape\":[3],"
                       "\"data_offsets\":[0,12]}}";
    size_t wl = strlen(want), padded = (wl + 7) / 8 * 8;
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
    CHECK(hl == padded, "header length %llu, expected %zu", (unsigned long long)hl, padded);
    CHECK(n == 8 + padded + 12, "file size %zu", n);
    CHECK(memcmp(b + 8, want, wl) == 0, "header text: %.*s", (int)hl, (const char *)b + 8);
    int spaces = 1;
    for (size_t i = 8 + wl; i < 8 + padded; i++) spaces &= b[i] == ' ';
    CHECK(spaces, "padding is spaces");
    free(b);

    w = wsss_st_writer_new();
    CHECK(wsss_st_writer_save(w, path) == WSSS_OK, "save empty");
    wsss_st_writer_free(w);
    b = test_read_file(path, &n);
    CHECK(n == 16 && b[0] == 8 && memcmp(b + 8, "{}      ", 8) == 0, "empty file layout");
    free(b);
    wsss_safetensors *st;
    CHECK(wsss_st_open(path, &st) == WSSS_OK && st->n_entries == 0, "open empty: %s", wsss_error_msg());
    wsss_st_close(st);

    /* writer refuses duplicates and the reserved name, leaving no file behind */
    const char *p2 = tmp_path("dup.safetensors");
    w = wsss_st_writer_new();
    wsss_st_writer_add(w, "x", t);
    wsss_st_writer_add(w, "x", t);
    CHECK(wsss_st_writer_save(w, p2) == WSSS_ERR, "duplicate names rejected by writer");
    CHECK(strstr(wsss_error_msg(), "duplicate") && strstr(wsss_error_msg(), p2), "dup msg: %s",
          wsss_error_msg());
    wsss_st_writer_free(w);
    w = wsss_st_writer_new();
    wsss_st_writer_add(w, "__metadata__", t);
    CHECK(wsss_st_writer_save(w, p2) == WSSS_ERR, "reserved name rejected by writer");
    wsss_st_writer_free(w);
    struct stat sb;
    CHECK(stat(p2, &sb) != 0, "no file after refused write");
    wsss_tensor_free(t);
}

/* ------------------------------------------------------------------ malformed files */

#define T(name, shape, off) "\"" name "\":{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":" off "}"

static void test_malformed(void) {
    const char *p = tmp_path("bad.safetensors");
    /* sizes and header length */
    test_write_file(p, "", 0);
    expect_bad("empty file", p, "at least 8");
    test_write_file(p, "\x02\0\0\0\0", 5);
    expect_bad("5-byte file", p, "at least 8");
    write_st(p, "{}", 1000, 0);
    expect_bad("header length past EOF", p, "header length 1000");
    write_st(p, "{}", (uint64_t)1 << 63, 0);
    expect_bad("header length 2^63", p, "header length 9223372036854775808");
    write_st(p, "{}", UINT64_MAX - 3, 0);
    expect_bad("header length near 2^64", p, "header length");
    write_st(p, "{}", 0, 0);
    expect_bad("header length 0", p, "header length 0");
    test_write_file(p, "\0\0\0\0\0\0\0\0", 8);
    expect_bad("8 zero bytes", p, "only the 8-byte header length");
    {
        /* a (sparse) file big enough for a 100 MB + 1 header: refused by the size limit, before any
         * of it is read */
        uint64_t hl = 100000001;
        uint8_t lb[8];
        for (int i = 0; i < 8; i++) lb[i] = (uint8_t)(hl >> (8 * i));
        FILE *f = fopen(p, "wb");
        fwrite(lb, 1, 8, f);
        fclose(f);
        CHECK(truncate(p, (off_t)(8 + hl + 16)) == 0, "truncate");
        expect_bad("header over 100 MB", p, "header length 100000001 is invalid");
    }
    expect_bad("missing file", tmp_path("does_not_exist.safetensors"), "cannot open");
    expect_bad("directory", g_dir, "not a regular file");

    /* JSON */
    bad_header("unterminated string", "{\"a", 0, "unterminated string");
    bad_header("unterminated object", "{\"a\":{}", 0, "expected ',' or '}'");
    bad_header("trailing garbage", "{} x", 0, "trailing characters");
    bad_header("two objects", "{}{}", 0, "trailing characters");
    bad_header("array, not object", "[1,2]", 0, "expected a JSON object");
    bad_header("leading space", " {}", 0, "does not start with '{'");
    bad_header("trailing comma", "{\"a\":1,}", 0, "expected a string key");
    bad_header("bad escape", "{\"a\\q\":1}", 0, "invalid escape");
    bad_header("raw control char", "{\"a\tb\":1}", 0, "control character");
    bad_header("invalid UTF-8", "{\"\xff\":1}", 0, "invalid UTF-8");
    bad_header("lone surrogate", "{\"\\ud800\":1}", 0, "surrogate");
    {
        /* a header with an embedded NUL byte inside the declared length */
        uint8_t b[8 + 8] = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', 0, ' ', ' ', ' ', ' ', ' '};
        test_write_file(p, b, sizeof b);
        expect_bad("NUL after object", p, "trailing characters");
    }
    bad_header("entry not an object", "{\"a\":5}", 0, "expected an object");
    bad_header("number header value", "{\"a\":[1]}", 0, "\"a\"");

    /* entries */
    bad_header("missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "missing member \"dtype\"");
    bad_header("missing shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "missing member \"shape\"");
    bad_header("missing offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing member \"data_offsets\"");
    bad_header("extra member", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
               "unexpected member \"x\"");
    bad_header("dtype not string", "{\"a\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
               "dtype is a JSON number");
    bad_header("unsupported F16", "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
               "unsupported dtype F16");
    bad_header("unsupported BF16", "{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
               "unsupported dtype BF16");
    bad_header("unknown dtype", "{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
               "unknown dtype \"Q7\"");
    bad_header("lower-case dtype", "{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
               "dtype");
    bad_header("shape not array", "{" T("a", "\"x\"", "[0,4]") "}", 4, "shape is a JSON string");
    bad_header("shape float", "{" T("a", "[1.0]", "[0,4]") "}", 4, "shape[0]");
    bad_header("negative dim", "{" T("a", "[-1,2]", "[0,4]") "}", 4, "shape[0]");
    bad_header("shape with string", "{" T("a", "[1,\"2\"]", "[0,4]") "}", 4, "shape[1]");
    bad_header("6 dims", "{" T("a", "[1,1,1,1,1,1]", "[0,4]") "}", 4, "6 dimensions");
    bad_header("dim beyond int64", "{" T("a", "[18446744073709551616]", "[0,4]") "}", 4, "shape[0]");
    bad_header("shape product overflow", "{" T("a", "[4294967296,4294967296,4]", "[0,4]") "}", 4,
               "overflow");
    bad_header("bytes overflow", "{" T("a", "[2305843009213693952,2]", "[0,4]") "}", 4, "overflow");
    /* found by fuzz_safetensors: empty, but loading it overflowed the strides / element count */
    bad_header("empty, other dims overflow (zero first)", "{" T("a", "[0,1099511627776,1099511627776]", "[0,0]") "}",
               0, "shape product overflows");
    bad_header("empty, other dims overflow (zero last)", "{" T("a", "[1099511627776,1099511627776,0]", "[0,0]") "}",
               0, "shape product overflows");
    bad_header("offsets not array", "{" T("a", "[1]", "{}") "}", 4, "data_offsets is not [begin, end]");
    bad_header("offsets one number", "{" T("a", "[1]", "[0]") "}", 4, "data_offsets is not [begin, end]");
    bad_header("offsets three numbers", "{" T("a", "[1]", "[0,4,4]") "}", 4, "data_offsets is not");
    bad_header("offsets float", "{" T("a", "[1]", "[0,4.0]") "}", 4, "data_offsets is not");
    bad_header("offsets negative", "{" T("a", "[1]", "[-4,0]") "}", 4, "data_offsets is not");
    bad_header("begin > end", "{" T("a", "[1]", "[8,4]") "}", 8, "begin > end");
    bad_header("lying length (too few bytes)", "{" T("a", "[2,3]", "[0,20]") "}", 20, "needs 24 bytes");
    bad_header("lying length (too many bytes)", "{" T("a", "[2,3]", "[0,28]") "}", 28, "span 28 bytes");
    bad_header("offsets outside data", "{" T("a", "[2,3]", "[0,24]") "}", 12, "past the data section");
    bad_header("offsets far outside", "{" T("a", "[1]", "[18446744073709551612,18446744073709551616]") "}", 4,
               "data_offsets");
    bad_header("truncated data section", "{" T("a", "[4]", "[0,16]") "," T("b", "[4]", "[16,32]") "}", 20,
               "\"b\": data_offsets end 32 is past the data section of 20 bytes");
    bad_header("overlap", "{" T("a", "[4]", "[0,16]") "," T("b", "[4]", "[8,24]") "}", 24, "overlap");
    bad_header("same range twice", "{" T("a", "[2]", "[0,8]") "," T("b", "[2]", "[0,8]") "}", 16, "overlap");
    bad_header("hole", "{" T("a", "[2]", "[0,8]") "," T("b", "[2]", "[16,24]") "}", 24, "gap");
    bad_header("trailing data", "{" T("a", "[2]", "[0,8]") "}", 12, "cover 8");
    bad_header("duplicate names", "{" T("a", "[1]", "[0,4]") "," T("a", "[1]", "[4,8]") "}", 8,
               "duplicate key \"a\"");
    bad_header("NUL in name", "{" T("a\\u0000b", "[1]", "[0,4]") "}", 4, "NUL");

    /* metadata */
    bad_header("metadata not object", "{\"__metadata__\":[]}", 0, "__metadata__ is a JSON array");
    bad_header("metadata number value", "{\"__metadata__\":{\"a\":\"x\",\"b\":1}}", 0,
               "__metadata__ \"b\" is a JSON number");
    bad_header("metadata nested", "{\"__metadata__\":{\"a\":{}}}", 0, "expected a string");
    bad_header("metadata null", "{\"__metadata__\":{\"a\":null}}", 0, "expected a string");

    /* valid edge cases that must be accepted */
    const char *ok_headers[] = {
        "{}",
        "{}       ",
        "{\"__metadata__\":{}}",
        "{" T("e", "[0,5]", "[0,0]") "," T("s", "[]", "[0,4]") "}",
        "{" T("e", "[0,1099511627776,1024]", "[0,0]") "}", /* empty with large other dims that fit */
        "{\"__metadata__\":{\"\\u00e9\\ud83d\\ude00\":\"\\n\"}," T("a", "[1,1,1,1,1]", "[0,4]") "}",
        /* entries in any order, empty tensors anywhere */
        "{" T("b", "[1]", "[4,8]") "," T("z", "[0]", "[8,8]") "," T("a", "[1]", "[0,4]") "}",
    };
    size_t ok_data[] = {0, 0, 0, 4, 0, 4, 8};
    for (size_t i = 0; i < sizeof ok_headers / sizeof *ok_headers; i++) {
        write_st(p, ok_headers[i], UINT64_MAX, ok_data[i]);
        wsss_safetensors *st;
        int rc = wsss_st_open(p, &st);
        CHECK(rc == WSSS_OK, "valid header %zu rejected: %s", i, wsss_error_msg());
        for (int k = 0; rc == WSSS_OK && k < st->n_entries; k++) { /* every tensor loads */
            wsss_tensor *t = wsss_st_load(st, st->entries[k].name);
            CHECK(t && wsss_tensor_nbytes(t) == st->entries[k].nbytes, "valid header %zu: load %s", i,
                  st->entries[k].name);
            wsss_tensor_free(t);
        }
        if (rc == WSSS_OK) wsss_st_close(st);
    }
    write_st(p, "{" T("s", "[]", "[0,4]") "}", UINT64_MAX, 4);
    wsss_safetensors *st;
    CHECK(wsss_st_open(p, &st) == WSSS_OK, "scalar");
    if (st) {
        wsss_tensor *t = wsss_st_load(st, "s");
        uint8_t want[4] = {0, 1, 2, 3};
        CHECK(t && t->ndim == 0 && memcmp(t->data, want, 4) == 0, "scalar value");
        wsss_tensor_free(t);
        wsss_st_close(st);
    }
}

/* ------------------------------------------------------------------ atomic writes */

static void test_atomic(void) {
    int64_t s[1] = {4};
    wsss_tensor *t = wsss_tensor_new(WSSS_F32, 1, s);
    wsss_tensor_fill(t, 2.0);

    /* a path in a directory that does not exist */
    char missing[1300];
    snprintf(missing, sizeof missing, "%s/no/such/dir/x.safetensors", g_dir);
    wsss_st_writer *w = wsss_st_writer_new();
    wsss_st_writer_add(w, "t", t);
    CHECK(wsss_st_writer_save(w, missing) == WSSS_ERR, "save into missing dir fails");
    CHECK(strstr(wsss_error_msg(), missing) != NULL, "msg names path: %s", wsss_error_msg());

    /* an existing good file */
    const char *good = tmp_path("good.safetensors");
    char goodp[1300];
    snprintf(goodp, sizeof goodp, "%s", good);
    CHECK(wsss_st_writer_save(w, goodp) == WSSS_OK, "save good");
    wsss_st_writer_free(w);
    size_t n0, n1;
    uint8_t *before = test_read_file(goodp, &n0);

    /* a write that fails half-way (file size limit => EFBIG) must leave the old file intact */
    int64_t big[1] = {100000};
    wsss_tensor *bt = wsss_tensor_new(WSSS_F32, 1, big);
    w = wsss_st_writer_new();
    wsss_st_writer_add(w, "big", bt);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 65536;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    int have_limit = setrlimit(RLIMIT_FSIZE, &lim) == 0;
    int rc = wsss_st_writer_save(w, goodp);
    if (have_limit) setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_handler);
    if (have_limit) {
        CHECK(rc == WSSS_ERR, "write beyond the file size limit fails");
        CHECK(strstr(wsss_error_msg(), goodp) != NULL, "msg: %s", wsss_error_msg());
    }
    uint8_t *after = test_read_file(goodp, &n1);
    CHECK(after && n0 == n1 && memcmp(before, after, n0) == 0, "existing file unchanged after failed write");
    free(after);

    /* the target is a directory: rename fails after the temp file is written */
    const char *dirp = tmp_path("a_directory");
    char dirpath[1300];
    snprintf(dirpath, sizeof dirpath, "%s", dirp);
    mkdir(dirpath, 0755);
    CHECK(wsss_st_writer_save(w, dirpath) == WSSS_ERR, "save onto a directory fails");
    CHECK(strstr(wsss_error_msg(), "rename"), "rename msg: %s", wsss_error_msg());
    CHECK(count_tmp_files() == 0, "temporary files removed after failures");
    wsss_st_writer_free(w);

    /* overwriting succeeds and replaces */
    w = wsss_st_writer_new();
    wsss_st_writer_add(w, "other", t);
    CHECK(wsss_st_writer_save(w, goodp) == WSSS_OK, "overwrite");
    wsss_st_writer_free(w);
    wsss_safetensors *st;
    CHECK(wsss_st_open(goodp, &st) == WSSS_OK && wsss_st_find(st, "other") && !wsss_st_find(st, "t"),
          "overwritten content");
    wsss_st_close(st);
    struct stat sb;
    CHECK(stat(goodp, &sb) == 0 && (sb.st_mode & 0777) == 0644, "file mode 0644 (got %o)",
          (unsigned)(sb.st_mode & 0777));
    free(before);
    wsss_tensor_free(t);
    wsss_tensor_free(bt);
}

/* Writers name their temporary file PATH.tmp-<pid>.XXXXXX; the leftovers of a killed writer (pid
 * gone) are removed by wsss_remove_stale_tmp_files, a live writer's never. */
static void test_stale_tmp_files(void) {
    const char *target = tmp_path("model.safetensors");
    long dead = test_dead_pid(), live = (long)getppid();
    char stale[1300], alive[1300], own[1300], no_suffix[1300], other[1300];
    snprintf(stale, sizeof stale, "%s.tmp-%ld.Xy12Ab", target, dead);
    snprintf(alive, sizeof alive, "%s.tmp-%ld.Xy12Ab", target, live);
    snprintf(own, sizeof own, "%s.tmp-%ld.Xy12Ab", target, (long)getpid());
    snprintf(no_suffix, sizeof no_suffix, "%s.tmp-%ld", target, dead);
    snprintf(other, sizeof other, "%s.tmp-%ld.Xy12Ab", tmp_path("other.safetensors"), dead);
    const char *all[] = {stale, alive, own, no_suffix, other};
    for (int i = 0; i < 5; i++) test_write_file(all[i], "partial", 7);
    CHECK(wsss_remove_stale_tmp_files(target) == 1, "one stale temporary removed");
    CHECK(access(stale, F_OK) != 0, "the dead writer's temporary is gone");
    for (int i = 1; i < 5; i++) {
        CHECK(access(all[i], F_OK) == 0, "kept: %s", all[i]);
        unlink(all[i]);
    }
    /* a writer killed mid-write (here by SIGXFSZ past a 4 KiB file-size limit) leaves its temporary
     * named with its pid; the next clean-up removes it */
    fflush(NULL);
    pid_t child = fork();
    if (child == 0) {
        struct rlimit no_core = {0, 0}, small = {4096, 4096};
        setrlimit(RLIMIT_CORE, &no_core);
        setrlimit(RLIMIT_FSIZE, &small);
        signal(SIGXFSZ, SIG_DFL);
        int64_t s[1] = {100000};
        wsss_tensor *t = wsss_tensor_new(WSSS_F32, 1, s);
        wsss_st_writer *w = wsss_st_writer_new();
        wsss_st_writer_add(w, "t", t);
        wsss_st_writer_save(w, target);
        _exit(0); /* not reached: the write past the limit kills the process */
    }
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ, "the writer was killed mid-write (status %d)", status);
    snprintf(stale, sizeof stale, "%s.tmp-%ld.", "model.safetensors", (long)child);
    int found = 0;
    DIR *d = opendir(g_dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) found += strncmp(e->d_name, stale, strlen(stale)) == 0;
    closedir(d);
    CHECK(found == 1, "the killed writer left %s* (found %d)", stale, found);
    CHECK(wsss_remove_stale_tmp_files(target) == 1 && count_tmp_files() == 0, "and it is cleaned up");
}

/* wsss_st_open_memory: the same validation on bytes in memory, messages naming the given name. */
static void test_open_memory(void) {
    const char header[] = "{" T("a", "[2]", "[0,8]") "}";
    size_t h = strlen(header);
    uint8_t buf[8 + sizeof header + 8];
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, header, h);
    float vals[2] = {1.5f, -2.0f};
    memcpy(buf + 8 + h, vals, 8);
    wsss_safetensors *st = NULL;
    CHECK(wsss_st_open_memory("mem.safetensors", buf, 8 + h + 8, &st) == WSSS_OK, "open_memory: %s",
          wsss_error_msg());
    if (st) {
        memset(buf + 8 + h, 0, 8); /* the reader keeps its own copy */
        wsss_tensor *t = wsss_st_load(st, "a");
        CHECK(t && wsss_tensor_get(t, 1) == -2.0, "open_memory: tensor values");
        wsss_tensor_free(t);
        wsss_st_close(st);
    }
    st = (wsss_safetensors *)0x1;
    CHECK(wsss_st_open_memory("mem.safetensors", buf, 8 + h + 4, &st) == WSSS_ERR && st == NULL,
          "open_memory: truncated data accepted");
    CHECK(strstr(wsss_error_msg(), "mem.safetensors") && strstr(wsss_error_msg(), "past the data section"),
          "open_memory message: %s", wsss_error_msg());
    CHECK(wsss_st_open_memory("mem.safetensors", buf, 5, &st) == WSSS_ERR && strstr(wsss_error_msg(), "at least 8"),
          "open_memory: 5 bytes: %s", wsss_error_msg());
}

int main(void) {
    g_dir = test_tmp_dir("test_safetensors");
    test_open_memory();
    test_stale_tmp_files();
    test_round_trip();
    test_write_views();
    test_layout();
    test_malformed();
    test_atomic();
    return test_summary("test_safetensors");
}
