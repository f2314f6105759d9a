/* The JSON tokens shared by the DOM parser (json.c), the pull scanner (json_scan.c) and the writer
 * (json_write.c): white space, strings, numbers, literals, and the one error format. Private to
 * src/io. One lexer for both readers keeps them accepting exactly the same texts. */
#ifndef WSSS_IO_JSON_LEX_INTERNAL_H
#define WSSS_IO_JSON_LEX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "wsss/json.h"

typedef struct wsss_json_lex {
    const unsigned char *s;
    size_t len, pos;
    size_t base; /* byte offset of s[0] in the whole document: messages give base + position */
    int failed;  /* an error was reported; later ones keep the first (innermost) message */
} wsss_json_lex;

/* Sets "JSON error at byte <base + at>: <message>" (once) and returns WSSS_ERR. */
int wsss_json_lex_error(wsss_json_lex *lx, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* White space skipped (inline: the readers call it between every two tokens). */
static inline void wsss_json_lex_ws(wsss_json_lex *lx) {
    while (lx->pos < lx->len) {
        const unsigned char c = lx->s[lx->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        lx->pos++;
    }
}
/* "'x'", "byte 0xNN" or "end of input": what stands at `at`, for messages. */
const char *wsss_json_lex_describe(const wsss_json_lex *lx, size_t at, char *buf, size_t n);

/* The string at pos (its opening quote); pos moves past the closing quote. Decoded into the
 * growable NUL-terminated buffer *buf (*len bytes, *cap allocated; *len is reset to 0 first), or
 * only validated when buf is NULL. */
int wsss_json_lex_string(wsss_json_lex *lx, char **buf, size_t *len, size_t *cap);

/* The number at pos (a '-' or a digit); out NULL: validate only (no conversion). */
int wsss_json_lex_number(wsss_json_lex *lx, wsss_json_number *out);
/* true, false or null at pos: *type and *boolean receive what it is. */
int wsss_json_lex_literal(wsss_json_lex *lx, wsss_json_type *type, int *boolean);

/* Appends n bytes to a NUL-terminated growable buffer. */
void wsss_json_buf_append(char **buf, size_t *len, size_t *cap, const void *src, size_t n);
/* The escape letter the writer uses for byte c ('n' for '\n'), or 0 (written as it is). */
char wsss_json_escape_letter(unsigned char c);

#endif
