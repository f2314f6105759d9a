/* JSON tokens (json_lex_internal.h): RFC 8259 strings, numbers and literals, strictly. */
#include "io/json_lex_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"

int wsss_json_lex_error(wsss_json_lex *lx, size_t at, const char *fmt, ...) {
    if (lx->failed) return WSSS_ERR; /* keep the first (innermost) message */
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    lx->failed = 1;
    return wsss_error_set("JSON error at byte %zu: %s", lx->base + at, msg);
}

const char *wsss_json_lex_describe(const wsss_json_lex *lx, size_t at, char *buf, size_t n) {
    if (at >= lx->len) return "end of input";
    unsigned char c = lx->s[at];
    if (c >= 0x20 && c < 0x7f) snprintf(buf, n, "'%c'", c);
    else snprintf(buf, n, "byte 0x%02x", c);
    return buf;
}

void wsss_json_buf_append(char **buf, size_t *len, size_t *cap, const void *src, size_t n) {
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 32;
        while (c < *len + n + 1) c *= 2;
        *buf = wsss_xrealloc(*buf, c);
        *cap = c;
    }
    memcpy(*buf + *len, src, n);
    *len += n;
    (*buf)[*len] = 0;
}

/* ---- strings */

static size_t utf8_encode(uint32_t cp, unsigned char *o) {
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    } else if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    } else if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Length of the valid UTF-8 sequence starting at s[0] (n bytes available), or 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_valid_seq(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t k;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) k = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) k = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) k = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (n < k) return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return k;
}

static int hex4(wsss_json_lex *lx, size_t at, uint32_t *out) {
    if (at + 4 > lx->len) return wsss_json_lex_error(lx, at, "truncated \\u escape (expected 4 hex digits)");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = lx->s[at + i];
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return wsss_json_lex_error(lx, at + i, "invalid hex digit in \\u escape (expected 4 hex digits)");
        v = v * 16 + (uint32_t)d;
    }
    *out = v;
    return WSSS_OK;
}

/* JSON's two-character escapes: the letter after the backslash, and the character it stands for. */
static const char k_escapes[][2] = {{'"', '"'},  {'\\', '\\'}, {'/', '/'},  {'b', '\b'},
                                    {'f', '\f'}, {'n', '\n'},  {'r', '\r'}, {'t', '\t'}};
#define N_ESCAPES (int)(sizeof k_escapes / sizeof k_escapes[0])

/* The character escape letter e stands for, or -1 ('u' and anything else). */
static int unescape_letter(unsigned char e) {
    for (int i = 0; i < N_ESCAPES; i++)
        if ((unsigned char)k_escapes[i][0] == e) return (unsigned char)k_escapes[i][1];
    return -1;
}

char wsss_json_escape_letter(unsigned char c) {
    for (int i = 0; i < N_ESCAPES; i++)
        if ((unsigned char)k_escapes[i][1] == c && c != '/') return k_escapes[i][0];
    return 0;
}

/* The \u escape at lx->pos - 2 (pos just past "\u"): one code point, or a surrogate pair. */
static int unicode_escape(wsss_json_lex *lx, size_t esc, uint32_t *out) {
    uint32_t cp;
    if (hex4(lx, lx->pos, &cp)) return WSSS_ERR;
    lx->pos += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return wsss_json_lex_error(lx, esc, "lone low surrogate \\u%04X", (unsigned)cp);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        uint32_t lo;
        if (lx->pos + 1 >= lx->len || lx->s[lx->pos] != '\\' || lx->s[lx->pos + 1] != 'u')
            return wsss_json_lex_error(lx, esc, "high surrogate \\u%04X not followed by a \\u low surrogate",
                                       (unsigned)cp);
        if (hex4(lx, lx->pos + 2, &lo)) return WSSS_ERR;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return wsss_json_lex_error(lx, lx->pos, "expected a low surrogate after \\u%04X, got \\u%04X", (unsigned)cp,
                                       (unsigned)lo);
        lx->pos += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    *out = cp;
    return WSSS_OK;
}

int wsss_json_lex_string(wsss_json_lex *lx, char **buf, size_t *len, size_t *cap) {
    size_t start = lx->pos;
    lx->pos++; /* opening quote */
    if (buf) {
        *len = 0;
        wsss_json_buf_append(buf, len, cap, "", 0);
    }
    for (;;) {
        if (lx->pos >= lx->len) return wsss_json_lex_error(lx, start, "unterminated string");
        unsigned char c = lx->s[lx->pos];
        if (c == '"') {
            lx->pos++;
            return WSSS_OK;
        }
        if (c < 0x20)
            return wsss_json_lex_error(lx, lx->pos, "control character 0x%02x inside string (must be escaped)", c);
        if (c == '\\') {
            size_t esc = lx->pos;
            if (lx->pos + 1 >= lx->len) return wsss_json_lex_error(lx, start, "unterminated string");
            unsigned char e = lx->s[lx->pos + 1];
            lx->pos += 2;
            const int ch = unescape_letter(e);
            if (ch >= 0) {
                const char c1 = (char)ch;
                if (buf) wsss_json_buf_append(buf, len, cap, &c1, 1);
                continue;
            }
            if (e != 'u')
                return wsss_json_lex_error(lx, esc, "invalid escape '\\%c'", (e >= 0x20 && e < 0x7f) ? e : '?');
            uint32_t cp = 0;
            if (unicode_escape(lx, esc, &cp)) return WSSS_ERR;
            unsigned char u[4];
            if (buf) wsss_json_buf_append(buf, len, cap, u, utf8_encode(cp, u));
            continue;
        }
        /* a run of plain bytes */
        size_t run = lx->pos;
        while (run < lx->len) {
            unsigned char d = lx->s[run];
            if (d == '"' || d == '\\' || d < 0x20) break;
            if (d < 0x80) {
                run++;
                continue;
            }
            size_t k = utf8_valid_seq(lx->s + run, lx->len - run);
            if (!k) return wsss_json_lex_error(lx, run, "invalid UTF-8 in string");
            run += k;
        }
        if (buf) wsss_json_buf_append(buf, len, cap, lx->s + lx->pos, run - lx->pos);
        lx->pos = run;
    }
}

/* ---- numbers and literals */

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* One pass over the literal: its grammar, and its digits as an integer m, frac of them after the
 * '.' (m is used only while it is exact). The common short forms need no strtod and give its
 * result: an integer of at most 18 digits is exact in int64, and its conversion to double rounds
 * to nearest as strtod does; a decimal of at most 15 digits is m / 10^frac with m < 2^53 and
 * frac <= 15, both exact doubles, so the one correctly rounded division is the nearest double
 * (Clinger's fast path). */
int wsss_json_lex_number(wsss_json_lex *lx, wsss_json_number *out) {
    static const double pow10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    const unsigned char *s = lx->s;
    const size_t start = lx->pos, len = lx->len;
    size_t i = start;
    int integral = 1, exponent = 0, digits = 0, frac = 0;
    uint64_t m = 0; /* the digits as an integer: exact while digits <= 19, used only up to 18 */
    const int neg = i < len && s[i] == '-';
    i += (size_t)neg;
    if (i >= len || !is_digit(s[i])) return wsss_json_lex_error(lx, start, "invalid number (expected a digit)");
    if (s[i] == '0') {
        i++;
        digits = 1;
        if (i < len && is_digit(s[i])) return wsss_json_lex_error(lx, start, "invalid number (leading zero)");
    } else {
        const size_t d0 = i;
        for (; i < len && is_digit(s[i]); i++) m = m * 10 + (uint64_t)(s[i] - '0'); /* wraps past 19 digits */
        digits = (int)(i - d0 < 1000 ? i - d0 : 1000);
    }
    if (i < len && s[i] == '.') {
        integral = 0;
        i++;
        if (i >= len || !is_digit(s[i]))
            return wsss_json_lex_error(lx, i, "invalid number (expected a digit after '.')");
        const size_t d0 = i;
        for (; i < len && is_digit(s[i]); i++) m = m * 10 + (uint64_t)(s[i] - '0');
        frac = (int)(i - d0 < 1000 ? i - d0 : 1000);
        digits += frac;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        integral = 0;
        exponent = 1;
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= len || !is_digit(s[i]))
            return wsss_json_lex_error(lx, i, "invalid number (expected a digit in the exponent)");
        while (i < len && is_digit(s[i])) i++;
    }
    const size_t n = i - start;
    if (!out && !exponent && n <= 300) { /* validation only: at most 300 digits cannot overflow a double */
        lx->pos = i;
        return WSSS_OK;
    }
    wsss_json_number tmp;
    if (!out) out = &tmp;
    if (!exponent && digits <= (integral ? 18 : 15)) {
        out->is_int = integral;
        out->ival = integral ? (neg ? -(int64_t)m : (int64_t)m) : 0;
        const double mag = integral ? (double)m : (double)m / pow10[frac];
        out->number = neg ? -mag : mag; /* "-0" is -0.0, as strtod reads it */
        lx->pos = i;
        return WSSS_OK;
    }
    char small[64], *text = n < sizeof small ? small : wsss_xmalloc(n + 1);
    memcpy(text, s + start, n);
    text[n] = 0;
    out->number = strtod(text, NULL);
    out->is_int = 0;
    out->ival = 0;
    if (integral) {
        errno = 0;
        long long ll = strtoll(text, NULL, 10);
        if (errno == 0) {
            out->is_int = 1;
            out->ival = (int64_t)ll;
        }
    }
    if (text != small) free(text);
    if (!isfinite(out->number)) return wsss_json_lex_error(lx, start, "number out of range of a double");
    lx->pos = i;
    return WSSS_OK;
}

static int match_word(wsss_json_lex *lx, const char *w) {
    size_t n = strlen(w);
    if (lx->len - lx->pos < n || memcmp(lx->s + lx->pos, w, n) != 0) return 0;
    lx->pos += n;
    return 1;
}

int wsss_json_lex_literal(wsss_json_lex *lx, wsss_json_type *type, int *boolean) {
    const size_t at = lx->pos;
    *boolean = 0;
    if (match_word(lx, "true") || match_word(lx, "false")) {
        *type = WSSS_JSON_BOOL;
        *boolean = lx->s[at] == 't';
        return WSSS_OK;
    }
    if (match_word(lx, "null")) {
        *type = WSSS_JSON_NULL;
        return WSSS_OK;
    }
    return wsss_json_lex_error(lx, at, "invalid literal (expected true, false or null)");
}
