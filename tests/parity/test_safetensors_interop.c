/* Interop with PyTorch: reads tests/fixtures/st_interop.safetensors (written from torch by
 * scripts/gen_st_interop.py via scripts/st_io.py) and checks every value against the generator's
 * formulas (IEEE-exact, so equality is required), the metadata and the non-ASCII name. Then writes
 * a subset with the C writer and requires the same bytes as the file st_io.save produced
 * (embedded in the fixture as the U8 tensor "pyfile"). */
#include <string.h>

#include "test_util.h"
#include "wsss/safetensors.h"

static wsss_tensor *need(wsss_safetensors *st, const char *name, wsss_dtype dt, int ndim, const int64_t *shape) {
    wsss_tensor *t = wsss_st_load(st, name);
    CHECK(t != NULL, "load %s: %s", name, wsss_error_msg());
    if (!t) exit(test_summary("test_safetensors_interop"));
    CHECK(t->dtype == dt, "%s dtype %s", name, wsss_dtype_name(t->dtype));
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
    char b[64];
    CHECK(ok, "%s shape %s", name, wsss_shape_str(t, b, sizeof b));
    return t;
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/st_interop.safetensors", WSSS_FIXTURE_DIR);
    wsss_safetensors *st;
    if (wsss_st_open(path, &st) != WSSS_OK) {
        fprintf(stderr, "FATAL: %s\n", wsss_error_msg());
        return 1;
    }
    CHECK(st->n_entries == 13, "13 tensors, got %d", st->n_entries);
    CHECK(st->n_meta == 3, "3 metadata entries");
    CHECK(strcmp(wsss_st_meta(st, "format"), "pt") == 0, "meta format");
    CHECK(strcmp(wsss_st_meta(st, "note"), "line1\nquote\" \xc3\xa9") == 0, "meta note with escapes");
    CHECK(strcmp(wsss_st_meta(st, "generator"), "gen_st_interop.py") == 0, "meta generator");

    int bad;
    int64_t s_odd[3] = {3, 5, 7};
    wsss_tensor *t = need(st, "f32.odd", WSSS_F32, 3, s_odd);
    bad = 0;
    for (int i = 0; i < 105; i++) bad += f32_bits(wsss_f32(t)[i]) != f32_bits(((float)i - 50.0f) / 3.0f);
    CHECK(bad == 0, "f32.odd: %d values differ", bad);
    wsss_tensor_free(t);

    int64_t s8[1] = {8};
    t = need(st, "f32.special", WSSS_F32, 1, s8);
    float *f = wsss_f32(t);
    CHECK(f32_bits(f[0]) == 0 && f32_bits(f[1]) == 0x80000000u, "+0, -0");
    CHECK(isinf(f[2]) && f[2] > 0 && isinf(f[3]) && f[3] < 0, "+inf, -inf");
    CHECK(isnan(f[4]), "nan");
    CHECK(f32_bits(f[5]) == 1u && f32_bits(f[6]) == 0x7f7fffffu && f32_bits(f[7]) == 0x00800000u,
          "denormal min, max, normal min");
    wsss_tensor_free(t);

    int64_t s5[5] = {2, 1, 3, 1, 2};
    t = need(st, "f64.five", WSSS_F64, 5, s5);
    bad = 0;
    for (int i = 0; i < 12; i++) bad += wsss_f64(t)[i] != (double)i / 3.0 - 1.0;
    CHECK(bad == 0, "f64.five: %d values differ", bad);
    wsss_tensor_free(t);

    t = need(st, "f64.scalar", WSSS_F64, 0, NULL);
    CHECK(wsss_f64(t)[0] == 3.141592653589793, "pi");
    wsss_tensor_free(t);

    int64_t s_img[3] = {4, 3, 5};
    t = need(st, "u8.img", WSSS_U8, 3, s_img);
    bad = 0;
    for (int i = 0; i < 60; i++) bad += ((uint8_t *)t->data)[i] != (uint8_t)((i * 37) % 256);
    CHECK(bad == 0, "u8.img: %d values differ", bad);
    wsss_tensor_free(t);

    int64_t s11[1] = {11};
    t = need(st, "i32.lab", WSSS_I32, 1, s11);
    int32_t want32[11] = {INT32_MIN, INT32_MAX, -1, 0, 255, 0, -7919, -15838, -23757, -31676, -39595};
    CHECK(memcmp(t->data, want32, sizeof want32) == 0, "i32.lab values");
    wsss_tensor_free(t);

    int64_t s23[2] = {2, 3};
    t = need(st, "i64.big", WSSS_I64, 2, s23);
    int64_t want64[6] = {((int64_t)1 << 62) + 1, INT64_MIN, INT64_MAX, -1, 0, 12345678901234567LL};
    CHECK(memcmp(t->data, want64, sizeof want64) == 0, "i64.big values (beyond double precision)");
    wsss_tensor_free(t);

    t = need(st, "bn.num_batches_tracked", WSSS_I64, 0, NULL);
    CHECK(*(int64_t *)t->data == 1234, "num_batches_tracked");
    wsss_tensor_free(t);

    int64_t s04[2] = {0, 4}, s302[3] = {3, 0, 2};
    t = need(st, "empty.f32", WSSS_F32, 2, s04);
    wsss_tensor_free(t);
    t = need(st, "empty.i64", WSSS_I64, 3, s302);
    wsss_tensor_free(t);

    int64_t s52[2] = {5, 2};
    t = need(st, "t.transposed", WSSS_F32, 2, s52);
    bad = 0;
    for (int r = 0; r < 5; r++)
        for (int c = 0; c < 2; c++) bad += wsss_f32(t)[r * 2 + c] != (float)(c * 5 + r);
    CHECK(bad == 0, "transposed (logical order): %d values differ", bad);
    wsss_tensor_free(t);

    int64_t s3[1] = {3};
    t = need(st, "name with spaces/\xc3\xa9\xe2\x82\xac", WSSS_I32, 1, s3); /* \u00e9\u20ac in the header */
    CHECK(((int32_t *)t->data)[0] == 7 && ((int32_t *)t->data)[2] == 9, "unicode-named tensor values");
    wsss_tensor_free(t);

    /* writer: same bytes as st_io.save for the same tensors */
    const char *names[6] = {"f32.odd", "i64.big", "u8.img", "f64.scalar", "empty.f32", "i32.lab"};
    wsss_tensor *ts[6];
    wsss_st_writer *w = wsss_st_writer_new();
    for (int i = 0; i < 6; i++) {
        ts[i] = wsss_st_load(st, names[i]);
        wsss_st_writer_add(w, names[i], ts[i]);
    }
    char out[1200];
    snprintf(out, sizeof out, "%s/c_written.safetensors", test_tmp_dir("test_safetensors_interop"));
    CHECK(wsss_st_writer_save(w, out) == WSSS_OK, "C write: %s", wsss_error_msg());
    wsss_st_writer_free(w);
    for (int i = 0; i < 6; i++) wsss_tensor_free(ts[i]);
    wsss_tensor *py = wsss_st_load(st, "pyfile");
    FILE *fp = fopen(out, "rb");
    size_t n = 0;
    uint8_t *buf = NULL;
    if (fp) {
        buf = malloc((size_t)py->shape[0] + 16);
        n = fread(buf, 1, (size_t)py->shape[0] + 16, fp);
        fclose(fp);
    }
    CHECK(buf && n == (size_t)py->shape[0], "C file is %zu bytes, python's %lld", n, (long long)py->shape[0]);
    if (buf && n == (size_t)py->shape[0]) {
        size_t first = n;
        for (size_t i = 0; i < n && first == n; i++)
            if (buf[i] != ((uint8_t *)py->data)[i]) first = i;
        CHECK(first == n, "C writer output differs from st_io.save at byte %zu", first);
    }
    free(buf);
    wsss_tensor_free(py);
    wsss_st_close(st);
    return test_summary("test_safetensors_interop");
}
