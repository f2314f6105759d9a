/* JPEG decode/encode with libjpeg(-turbo). libjpeg's default error manager calls exit(); ours
 * formats the message and longjmps back, so a corrupt file is an ordinary error.
 * Decoding keeps libjpeg's defaults (JDCT_ISLOW, fancy upsampling), as PIL does, so pixels match
 * PIL's byte for byte when both use the same libjpeg-turbo. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "data/image_internal.h"
#include "wsss/error.h"

typedef struct jerr_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];
} jerr_mgr;

static void on_error_exit(j_common_ptr cinfo) {
    jerr_mgr *e = (jerr_mgr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jmp, 1);
}

/* Warnings that mean the pixel data is damaged (libjpeg would otherwise fill in grey and carry on)
 * become errors; harmless ones (extra bytes before a marker, odd JFIF revision, bad ICC) are ignored,
 * as PIL ignores them. */
static void on_emit_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return; /* trace messages */
    struct jpeg_error_mgr *err = cinfo->err;
    int code = err->msg_code, fatal = 0;
    switch (code) {
    case JWRN_JPEG_EOF:
    case JWRN_BOGUS_PROGRESSION:
    case JWRN_NOT_SEQUENTIAL: fatal = 1; break;
    case JWRN_EXTRANEOUS_DATA:
    case JWRN_BOGUS_ICC: fatal = 0; break;
    default: /* bad Huffman/arithmetic code, hit marker, resync: libjpeg words them "Corrupt JPEG data" */
        fatal = code >= 0 && code <= err->last_jpeg_message && err->jpeg_message_table[code] &&
                strncmp(err->jpeg_message_table[code], "Corrupt JPEG data", 17) == 0;
        break;
    }
    if (fatal) on_error_exit(cinfo);
    err->num_warnings++;
}

static void init_err(jerr_mgr *e) {
    jpeg_std_error(&e->pub);
    e->pub.error_exit = on_error_exit;
    e->pub.emit_message = on_emit_message;
    e->msg[0] = 0;
}

static int jpeg_fail(const char *path, const jerr_mgr *e) {
    if (e->pub.msg_code == JWRN_JPEG_EOF)
        return wsss_error_set("%s: truncated JPEG (premature end of file)", path);
    return wsss_error_set("%s: corrupt or unsupported JPEG: %s", path, e->msg);
}

/* Decoder state lives in the caller's frame and is reached through a pointer, so nothing that
 * changes after setjmp is a local of the function that called it. */
typedef struct jdec {
    struct jpeg_decompress_struct cinfo;
    jerr_mgr err;
    uint8_t *row; /* scratch row for CMYK */
} jdec;

static int decode_impl(jdec *d, const char *path, const uint8_t *buf, size_t n, wsss_image *out,
                       int header_only) {
    d->cinfo.err = &d->err.pub;
    init_err(&d->err);
    if (setjmp(d->err.jmp)) {
        jpeg_destroy_decompress(&d->cinfo);
        free(d->row);
        d->row = NULL;
        wsss_image_free(out);
        return jpeg_fail(path, &d->err);
    }
    jpeg_create_decompress(&d->cinfo);
    jpeg_mem_src(&d->cinfo, buf, (unsigned long)n);
    jpeg_read_header(&d->cinfo, TRUE);
    struct jpeg_decompress_struct *c = &d->cinfo;
    if (header_only) {
        out->width = (int)c->image_width;
        out->height = (int)c->image_height;
        jpeg_destroy_decompress(c);
        return WSSS_OK;
    }
    if ((int64_t)c->image_width * c->image_height > WSSS_IMAGE_MAX_PIXELS) {
        int64_t w = c->image_width, h = c->image_height;
        jpeg_destroy_decompress(c);
        return wsss_error_set("%s: JPEG is %lldx%lld pixels, more than the %lld-pixel limit", path,
                              (long long)w, (long long)h, (long long)WSSS_IMAGE_MAX_PIXELS);
    }
    int cmyk = 0;
    switch (c->jpeg_color_space) {
    case JCS_GRAYSCALE: c->out_color_space = JCS_GRAYSCALE; break;
    case JCS_CMYK:
    case JCS_YCCK:
        c->out_color_space = JCS_CMYK; /* libjpeg converts YCCK to CMYK; we go CMYK -> RGB below */
        cmyk = 1;
        break;
    default: c->out_color_space = JCS_RGB; break;
    }
    jpeg_start_decompress(c);
    int w = (int)c->output_width, h = (int)c->output_height, nc = c->output_components;
    wsss_image_alloc(out, w, h, 3);
    if (cmyk) d->row = wsss_xmalloc((size_t)w * 4);
    while (c->output_scanline < c->output_height) {
        int y = (int)c->output_scanline;
        uint8_t *dst = out->data + (size_t)y * w * 3;
        JSAMPROW rowp = cmyk ? d->row : dst;
        if (jpeg_read_scanlines(c, &rowp, 1) != 1) continue; /* suspension cannot happen with a memory source */
        if (nc == 1) {
            /* grey -> RGB in place, from the right so the source is read before it is overwritten */
            for (int x = w - 1; x >= 0; x--) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = dst[x];
        } else if (cmyk) {
            /* CMYK JPEGs are in practice written by Adobe software with inverted values; like PIL
             * we assume that convention (with or without the Adobe marker). RGB = (255 - ink) *
             * (255 - black) / 255 with PIL's rounding (Pillow's cmyk2rgb), so the result equals
             * PIL's Image.convert("RGB"). Stored values s are 255 - ink, hence RGB = s_c * s_k / 255. */
            for (int x = 0; x < w; x++) {
                int nk = d->row[4 * x + 3];
                for (int ch = 0; ch < 3; ch++) {
                    int ink = 255 - d->row[4 * x + ch];
                    int t = ink * nk + 128;
                    dst[3 * x + ch] = (uint8_t)(nk - (((t >> 8) + t) >> 8));
                }
            }
        }
    }
    jpeg_finish_decompress(c);
    jpeg_destroy_decompress(c);
    free(d->row);
    d->row = NULL;
    return WSSS_OK;
}

int wsss_jpeg_decode(const char *path, const uint8_t *buf, size_t n, wsss_image *out) {
    jdec d;
    memset(&d, 0, sizeof d);
    memset(out, 0, sizeof *out);
    return decode_impl(&d, path, buf, n, out, 0);
}

int wsss_jpeg_read_size(const char *path, const uint8_t *buf, size_t n, int *w, int *h) {
    jdec d;
    memset(&d, 0, sizeof d);
    wsss_image tmp = {0, 0, 0, NULL};
    int rc = decode_impl(&d, path, buf, n, &tmp, 1);
    *w = tmp.width;
    *h = tmp.height;
    return rc;
}

/* Growable in-memory destination we own, so an error mid-way can always free the buffer
 * (jpeg_mem_dest keeps its current buffer private until finish). */
typedef struct jenc {
    struct jpeg_compress_struct cinfo;
    jerr_mgr err;
    struct jpeg_destination_mgr dst;
    uint8_t *mem;
    size_t cap;
} jenc;

static void dst_init(j_compress_ptr c) {
    jenc *e = (jenc *)c; /* cinfo is the first member */
    e->cap = 65536;
    e->mem = wsss_xmalloc(e->cap);
    e->dst.next_output_byte = e->mem;
    e->dst.free_in_buffer = e->cap;
}

static boolean dst_empty(j_compress_ptr c) {
    jenc *e = (jenc *)c;
    size_t used = e->cap; /* libjpeg calls this only when the buffer is completely full */
    e->cap *= 2;
    e->mem = wsss_xrealloc(e->mem, e->cap);
    e->dst.next_output_byte = e->mem + used;
    e->dst.free_in_buffer = e->cap - used;
    return TRUE;
}

static void dst_term(j_compress_ptr c) { (void)c; }

static int encode_impl(jenc *e, const char *path, const wsss_image *img, int quality) {
    e->cinfo.err = &e->err.pub;
    init_err(&e->err);
    if (setjmp(e->err.jmp)) {
        jpeg_destroy_compress(&e->cinfo);
        free(e->mem);
        e->mem = NULL;
        return wsss_error_set("%s: JPEG encoding failed: %s", path, e->err.msg);
    }
    jpeg_create_compress(&e->cinfo);
    e->dst.init_destination = dst_init;
    e->dst.empty_output_buffer = dst_empty;
    e->dst.term_destination = dst_term;
    e->cinfo.dest = &e->dst;
    struct jpeg_compress_struct *c = &e->cinfo;
    c->image_width = (JDIMENSION)img->width;
    c->image_height = (JDIMENSION)img->height;
    c->input_components = img->channels;
    c->in_color_space = img->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(c); /* YCbCr 4:2:0, ISLOW DCT, as PIL's default save */
    jpeg_set_quality(c, quality, TRUE);
    jpeg_start_compress(c, TRUE);
    size_t stride = (size_t)img->width * img->channels;
    while (c->next_scanline < c->image_height) {
        JSAMPROW row = img->data + (size_t)c->next_scanline * stride;
        jpeg_write_scanlines(c, &row, 1);
    }
    jpeg_finish_compress(c);
    jpeg_destroy_compress(c);
    return WSSS_OK;
}

int wsss_jpeg_encode(const char *path, const wsss_image *img, int quality, uint8_t **out, size_t *n) {
    jenc e;
    memset(&e, 0, sizeof e);
    *out = NULL;
    *n = 0;
    if (encode_impl(&e, path, img, quality) != WSSS_OK) return WSSS_ERR;
    *out = e.mem;
    *n = e.cap - e.dst.free_in_buffer;
    return WSSS_OK;
}
