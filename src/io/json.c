/* Strict JSON DOM parser and writer (see include/wsss/json.h). */
#include "wsss/json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"

/* ======================================================================== parser */

typedef struct {
    const unsigned char *s;
    size_t len, pos;
    int failed;
    size_t n_values, max_values; /* resource limit: a DOM node costs ~100 bytes */
} parser;

static int perr(parser *p, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int perr(parser *p, size_t at, const char *fmt, ...) {
    if (p->failed) return WSSS_ERR; /* keep the first (innermost) message */
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    p->failed = 1;
    return wsss_error_set("JSON error at byte %zu: %s", at, msg);
}

static void skip_ws(parser *p) {
    while (p->pos < p->len) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static const char *describe(parser *p, size_t at, char *buf, size_t n) {
    if (at >= p->len) return "end of input";
    unsigned char c = p->s[at];
    if (c >= 0x20 && c < 0x7f)
        snprintf(buf, n, "'%c'", c);
    else
        snprintf(buf, n, "byte 0x%02x", c);
    return buf;
}

static wsss_json *new_node(wsss_json_type t, size_t off) {
    wsss_json *v = wsss_xcalloc(1, sizeof *v);
    v->type = t;
    v->offset = off;
    return v;
}

/* growable byte buffer for decoded strings */
typedef struct {
    char *b;
    size_t len, cap;
} bytes;

/* Appends n bytes to a NUL-terminated growable buffer (the parser's strings and the writer). */
static void buf_append(char **buf, size_t *len, size_t *cap, const void *src, size_t n) {
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

static void bytes_put(bytes *b, const void *src, size_t n) { buf_append(&b->b, &b->len, &b->cap, src, n); }

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

static int hex4(parser *p, size_t at, uint32_t *out) {
    if (at + 4 > p->len) return perr(p, at, "truncated \\u escape (expected 4 hex digits)");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p->s[at + i];
        int d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return perr(p, at + i, "invalid hex digit in \\u escape (expected 4 hex digits)");
        v = v * 16 + (uint32_t)d;
    }
    *out = v;
    return WSSS_OK;
}

/* p->pos at the opening quote; on success p->pos is past the closing quote. */
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

/* The escape letter the writer uses for c, or 0 (c is written as it is, '/' included). */
static char escape_letter(unsigned char c) {
    for (int i = 0; i < N_ESCAPES; i++)
        if ((unsigned char)k_escapes[i][1] == c && c != '/') return k_escapes[i][0];
    return 0;
}

static int parse_string(parser *p, char **out, size_t *out_len) {
    size_t start = p->pos;
    p->pos++; /* opening quote */
    bytes b = {0};
    bytes_put(&b, "", 0);
    for (;;) {
        if (p->pos >= p->len) {
            free(b.b);
            return perr(p, start, "unterminated string");
        }
        unsigned char c = p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) {
            free(b.b);
            return perr(p, p->pos, "control character 0x%02x inside string (must be escaped)", c);
        }
        if (c == '\\') {
            size_t esc = p->pos;
            if (p->pos + 1 >= p->len) {
                free(b.b);
                return perr(p, start, "unterminated string");
            }
            unsigned char e = p->s[p->pos + 1];
            p->pos += 2;
            const int ch = unescape_letter(e);
            if (ch >= 0) {
                const char c1 = (char)ch;
                bytes_put(&b, &c1, 1);
                continue;
            }
            switch (e) {
            case 'u': {
                uint32_t cp;
                if (hex4(p, p->pos, &cp)) {
                    free(b.b);
                    return WSSS_ERR;
                }
                p->pos += 4;
                if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    free(b.b);
                    return perr(p, esc, "lone low surrogate \\u%04X", (unsigned)cp);
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;
                    if (p->pos + 1 >= p->len || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                        free(b.b);
                        return perr(p, esc, "high surrogate \\u%04X not followed by a \\u low surrogate",
                                    (unsigned)cp);
                    }
                    if (hex4(p, p->pos + 2, &lo)) {
                        free(b.b);
                        return WSSS_ERR;
                    }
                    if (lo < 0xDC00 || lo > 0xDFFF) {
                        free(b.b);
                        return perr(p, p->pos, "expected a low surrogate after \\u%04X, got \\u%04X",
                                    (unsigned)cp, (unsigned)lo);
                    }
                    p->pos += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                unsigned char u[4];
                bytes_put(&b, u, utf8_encode(cp, u));
                continue;
            }
            default:
                free(b.b);
                return perr(p, esc, "invalid escape '\\%c'", (e >= 0x20 && e < 0x7f) ? e : '?');
            }
        }
        /* a run of plain bytes */
        size_t run = p->pos;
        while (run < p->len) {
            unsigned char d = p->s[run];
            if (d == '"' || d == '\\' || d < 0x20) break;
            if (d < 0x80) {
                run++;
                continue;
            }
            size_t k = utf8_valid_seq(p->s + run, p->len - run);
            if (!k) {
                free(b.b);
                return perr(p, run, "invalid UTF-8 in string");
            }
            run += k;
        }
        bytes_put(&b, p->s + p->pos, run - p->pos);
        p->pos = run;
    }
    *out = b.b;
    *out_len = b.len;
    return WSSS_OK;
}

static int parse_number(parser *p, wsss_json **out) {
    size_t start = p->pos, i = p->pos;
    const unsigned char *s = p->s;
    int integral = 1;
    if (i < p->len && s[i] == '-') i++;
    if (i >= p->len || !(s[i] >= '0' && s[i] <= '9'))
        return perr(p, start, "invalid number (expected a digit)");
    if (s[i] == '0') {
        i++;
        if (i < p->len && s[i] >= '0' && s[i] <= '9')
            return perr(p, start, "invalid number (leading zero)");
    } else {
        while (i < p->len && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < p->len && s[i] == '.') {
        integral = 0;
        i++;
        if (i >= p->len || !(s[i] >= '0' && s[i] <= '9'))
            return perr(p, i, "invalid number (expected a digit after '.')");
        while (i < p->len && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        integral = 0;
        i++;
        if (i < p->len && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= p->len || !(s[i] >= '0' && s[i] <= '9'))
            return perr(p, i, "invalid number (expected a digit in the exponent)");
        while (i < p->len && s[i] >= '0' && s[i] <= '9') i++;
    }
    size_t n = i - start;
    char small[64], *tmp = n < sizeof small ? small : wsss_xmalloc(n + 1);
    memcpy(tmp, s + start, n);
    tmp[n] = 0;
    errno = 0;
    double d = strtod(tmp, NULL);
    int range_err = !isfinite(d);
    wsss_json *v = new_node(WSSS_JSON_NUMBER, start);
    v->number = d;
    if (integral) {
        errno = 0;
        long long ll = strtoll(tmp, NULL, 10);
        if (errno == 0) {
            v->is_int = 1;
            v->ival = (int64_t)ll;
        }
    }
    if (tmp != small) free(tmp);
    if (range_err) {
        free(v);
        return perr(p, start, "number out of range of a double");
    }
    p->pos = i;
    *out = v;
    return WSSS_OK;
}

static int parse_value(parser *p, wsss_json **out, int depth);

/* Just past a container's opening bracket: consumes `close` if the container is empty. */
static int empty_container(parser *p, char close) {
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return 1;
    }
    return 0;
}

/* After a container item: consumes ',' (returns 1: another item follows) or `close` (returns 0);
 * anything else is an error (returns WSSS_ERR). `what` names the container in the message. */
static int next_item(parser *p, char close, const char *what) {
    char d[32];
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == ',') {
        p->pos++;
        return 1;
    }
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return 0;
    }
    return perr(p, p->pos, "expected ',' or '%c' in %s, got %s", close, what, describe(p, p->pos, d, sizeof d));
}

/* Duplicate-key check: sort member indices by key (bytes, then length). */
/* qsort has no context argument in C11; a thread-local keeps concurrent parses independent */
static _Thread_local const wsss_json *t_sort_obj;
static int cmp_members(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    size_t li = t_sort_obj->key_lens[i], lj = t_sort_obj->key_lens[j];
    int c = memcmp(t_sort_obj->keys[i], t_sort_obj->keys[j], li < lj ? li : lj);
    if (c) return c;
    return li < lj ? -1 : li > lj;
}

static int check_duplicates(parser *p, const wsss_json *obj) {
    if (obj->n < 2) return WSSS_OK;
    int *idx = wsss_xmalloc(sizeof(int) * (size_t)obj->n);
    for (int i = 0; i < obj->n; i++) idx[i] = i;
    t_sort_obj = obj;
    qsort(idx, (size_t)obj->n, sizeof(int), cmp_members);
    t_sort_obj = NULL;
    for (int k = 1; k < obj->n; k++) {
        int i = idx[k - 1], j = idx[k];
        if (obj->key_lens[i] == obj->key_lens[j] &&
            memcmp(obj->keys[i], obj->keys[j], obj->key_lens[i]) == 0) {
            int later = i > j ? i : j;
            free(idx);
            return perr(p, obj->key_offsets[later], "duplicate key \"%s\" in object", obj->keys[later]);
        }
    }
    free(idx);
    return WSSS_OK;
}

/* The key of the object member in slot v->n - 1 and its ':' ("KEY": ...). */
static int parse_member_key(parser *p, wsss_json *v) {
    char d[32];
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != '"')
        return perr(p, p->pos, "expected a string key in object, got %s", describe(p, p->pos, d, sizeof d));
    const size_t kpos = p->pos;
    if (parse_string(p, &v->keys[v->n - 1], &v->key_lens[v->n - 1])) return WSSS_ERR;
    v->key_offsets[v->n - 1] = kpos;
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != ':')
        return perr(p, p->pos, "expected ':' after object key \"%s\", got %s", v->keys[v->n - 1],
                    describe(p, p->pos, d, sizeof d));
    p->pos++;
    return WSSS_OK;
}

/* An object ('{' and members "KEY": VALUE) or an array ('[' and VALUE items) at p->pos. */
static int parse_container(parser *p, wsss_json **out, int depth, int object) {
    const char close = object ? '}' : ']';
    wsss_json *v = new_node(object ? WSSS_JSON_OBJECT : WSSS_JSON_ARRAY, p->pos);
    int cap = 0;
    p->pos++; /* the opening bracket */
    if (empty_container(p, close)) {
        *out = v;
        return WSSS_OK;
    }
    for (int more = 1; more;) {
        if (v->n == cap) {
            cap = cap ? cap * 2 : 8;
            v->items = wsss_xrealloc(v->items, sizeof(wsss_json *) * (size_t)cap);
            if (object) {
                v->keys = wsss_xrealloc(v->keys, sizeof(char *) * (size_t)cap);
                v->key_lens = wsss_xrealloc(v->key_lens, sizeof(size_t) * (size_t)cap);
                v->key_offsets = wsss_xrealloc(v->key_offsets, sizeof(size_t) * (size_t)cap);
            }
        }
        v->items[v->n] = NULL;
        if (object) v->keys[v->n] = NULL;
        v->n++;
        if (object && parse_member_key(p, v)) goto fail;
        skip_ws(p);
        if (parse_value(p, &v->items[v->n - 1], depth + 1)) goto fail;
        if ((more = next_item(p, close, object ? "object" : "array")) < 0) goto fail;
    }
    if (object && check_duplicates(p, v)) goto fail;
    *out = v;
    return WSSS_OK;
fail:
    wsss_json_free(v);
    return WSSS_ERR;
}

static int match_word(parser *p, const char *w) {
    size_t n = strlen(w);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, w, n) != 0) return 0;
    p->pos += n;
    return 1;
}

static int parse_value(parser *p, wsss_json **out, int depth) {
    char d[32];
    *out = NULL;
    if (depth > WSSS_JSON_MAX_DEPTH)
        return perr(p, p->pos, "nesting deeper than %d levels", WSSS_JSON_MAX_DEPTH);
    if (p->pos >= p->len) return perr(p, p->pos, "expected a value, got end of input");
    if (++p->n_values > p->max_values)
        return perr(p, p->pos, "more than %zu JSON values (limit)", p->max_values);
    size_t at = p->pos;
    switch (p->s[p->pos]) {
    case '{': return parse_container(p, out, depth, 1);
    case '[': return parse_container(p, out, depth, 0);
    case '"': {
        char *s;
        size_t n;
        if (parse_string(p, &s, &n)) return WSSS_ERR;
        *out = new_node(WSSS_JSON_STRING, at);
        (*out)->str = s;
        (*out)->str_len = n;
        return WSSS_OK;
    }
    case 't':
    case 'f':
    case 'n':
        if (match_word(p, "true") || match_word(p, "false")) {
            *out = new_node(WSSS_JSON_BOOL, at);
            (*out)->boolean = p->s[at] == 't';
            return WSSS_OK;
        }
        if (match_word(p, "null")) {
            *out = new_node(WSSS_JSON_NULL, at);
            return WSSS_OK;
        }
        return perr(p, at, "invalid literal (expected true, false or null)");
    default:
        if (p->s[p->pos] == '-' || (p->s[p->pos] >= '0' && p->s[p->pos] <= '9'))
            return parse_number(p, out);
        return perr(p, at, "expected a value, got %s", describe(p, at, d, sizeof d));
    }
}

wsss_json *wsss_json_parse(const char *text, size_t len) {
    return wsss_json_parse_limited(text, len, SIZE_MAX);
}

wsss_json *wsss_json_parse_limited(const char *text, size_t len, size_t max_values) {
    parser p = {(const unsigned char *)text, len, 0, 0, 0, max_values};
    wsss_json *v = NULL;
    skip_ws(&p);
    if (parse_value(&p, &v, 1)) return NULL;
    skip_ws(&p);
    if (p.pos != p.len) {
        char d[32];
        perr(&p, p.pos, "trailing characters after the JSON value (%s)", describe(&p, p.pos, d, sizeof d));
        wsss_json_free(v);
        return NULL;
    }
    return v;
}

void wsss_json_free(wsss_json *v) {
    if (!v) return;
    for (int i = 0; i < v->n; i++) {
        if (v->items) wsss_json_free(v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->key_lens);
    free(v->key_offsets);
    free(v->str);
    free(v);
}

const char *wsss_json_type_name(wsss_json_type t) {
    switch (t) {
    case WSSS_JSON_NULL: return "null";
    case WSSS_JSON_BOOL: return "boolean";
    case WSSS_JSON_NUMBER: return "number";
    case WSSS_JSON_STRING: return "string";
    case WSSS_JSON_ARRAY: return "array";
    case WSSS_JSON_OBJECT: return "object";
    }
    return "?";
}

/* ======================================================================== accessors */

const wsss_json *wsss_json_get(const wsss_json *obj, const char *key) {
    if (!obj || obj->type != WSSS_JSON_OBJECT) return NULL;
    size_t kl = strlen(key);
    for (int i = 0; i < obj->n; i++)
        if (obj->key_lens[i] == kl && memcmp(obj->keys[i], key, kl) == 0) return obj->items[i];
    return NULL;
}

int wsss_json_len(const wsss_json *v) {
    if (!v || (v->type != WSSS_JSON_ARRAY && v->type != WSSS_JSON_OBJECT)) return 0;
    return v->n;
}

const wsss_json *wsss_json_at(const wsss_json *arr, int i) {
    if (!arr || arr->type != WSSS_JSON_ARRAY || i < 0 || i >= arr->n) return NULL;
    return arr->items[i];
}

int wsss_json_is(const wsss_json *v, wsss_json_type t) { return v && v->type == t; }

int wsss_json_as_double(const wsss_json *v, double *out) {
    if (!v || v->type != WSSS_JSON_NUMBER) return WSSS_ERR;
    *out = v->number;
    return WSSS_OK;
}

int wsss_json_as_int64(const wsss_json *v, int64_t *out) {
    if (!v || v->type != WSSS_JSON_NUMBER) return WSSS_ERR;
    if (v->is_int) {
        *out = v->ival;
        return WSSS_OK;
    }
    double d = v->number;
    if (d == floor(d) && fabs(d) <= 9007199254740992.0) {
        *out = (int64_t)d;
        return WSSS_OK;
    }
    return WSSS_ERR;
}

int wsss_json_as_bool(const wsss_json *v, int *out) {
    if (!v || v->type != WSSS_JSON_BOOL) return WSSS_ERR;
    *out = v->boolean;
    return WSSS_OK;
}

const char *wsss_json_as_string(const wsss_json *v) {
    return v && v->type == WSSS_JSON_STRING ? v->str : NULL;
}

const char *wsss_json_get_string(const wsss_json *obj, const char *key, const char *dflt) {
    const char *s = wsss_json_as_string(wsss_json_get(obj, key));
    return s ? s : dflt;
}

double wsss_json_get_double(const wsss_json *obj, const char *key, double dflt) {
    double d;
    return wsss_json_as_double(wsss_json_get(obj, key), &d) == WSSS_OK ? d : dflt;
}

int64_t wsss_json_get_int64(const wsss_json *obj, const char *key, int64_t dflt) {
    int64_t v;
    return wsss_json_as_int64(wsss_json_get(obj, key), &v) == WSSS_OK ? v : dflt;
}

int wsss_json_get_bool(const wsss_json *obj, const char *key, int dflt) {
    int b;
    return wsss_json_as_bool(wsss_json_get(obj, key), &b) == WSSS_OK ? b : dflt;
}

/* ======================================================================== writer */

void wsss_jw_init(wsss_jw *w, int indent) {
    memset(w, 0, sizeof *w);
    w->cap = 256;
    w->buf = wsss_xmalloc(w->cap);
    w->buf[0] = 0;
    w->indent = indent;
    w->first[0] = 1;
}

void wsss_jw_free(wsss_jw *w) {
    free(w->buf);
    memset(w, 0, sizeof *w);
}

char *wsss_jw_take(wsss_jw *w) {
    char *s = w->buf;
    int indent = w->indent;
    w->buf = NULL;
    wsss_jw_init(w, indent);
    return s;
}

void wsss_jw_append(wsss_jw *w, const char *s, size_t n) { buf_append(&w->buf, &w->len, &w->cap, s, n); }

void wsss_jw_printf(wsss_jw *w, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *tmp = wsss_xvasprintf(fmt, ap);
    va_end(ap);
    wsss_jw_append(w, tmp, strlen(tmp));
    free(tmp);
}

void wsss_jw_append_quoted(wsss_jw *w, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    wsss_jw_append(w, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        const char letter = escape_letter(c);
        if (letter) {
            u[0] = '\\', u[1] = letter, u[2] = 0;
            esc = u;
        } else if (c < 0x20 || c == 0x7f) {
            u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0', u[4] = hex[c >> 4], u[5] = hex[c & 15];
            u[6] = 0;
            esc = u;
        }
        if (esc) {
            wsss_jw_append(w, s + run, i - run);
            wsss_jw_append(w, esc, strlen(esc));
            run = i + 1;
        }
    }
    wsss_jw_append(w, s + run, n - run);
    wsss_jw_append(w, "\"", 1);
}

static void newline_indent(wsss_jw *w) {
    if (!w->indent) return;
    wsss_jw_append(w, "\n", 1);
    for (int i = 0; i < w->depth * w->indent; i++) wsss_jw_append(w, " ", 1);
}

/* Separator before a value or key at the current depth. */
static void before_item(wsss_jw *w) {
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (!w->first[w->depth]) wsss_jw_append(w, ",", 1);
    w->first[w->depth] = 0;
    if (w->depth > 0) newline_indent(w);
}

static void open_container(wsss_jw *w, char c, int is_obj) {
    before_item(w);
    wsss_jw_append(w, &c, 1);
    WSSS_ASSERT(w->depth < WSSS_JSON_MAX_DEPTH, "JSON writer nesting too deep");
    w->depth++;
    w->first[w->depth] = 1;
    w->is_obj[w->depth] = (unsigned char)is_obj;
}

static void close_container(wsss_jw *w, char c, int is_obj) {
    WSSS_ASSERT(w->depth > 0 && w->is_obj[w->depth] == is_obj && !w->after_key,
                "JSON writer: mismatched end");
    int empty = w->first[w->depth];
    w->depth--;
    if (!empty) newline_indent(w);
    wsss_jw_append(w, &c, 1);
}

void wsss_jw_obj_begin(wsss_jw *w) { open_container(w, '{', 1); }
void wsss_jw_obj_end(wsss_jw *w) { close_container(w, '}', 1); }
void wsss_jw_arr_begin(wsss_jw *w) { open_container(w, '[', 0); }
void wsss_jw_arr_end(wsss_jw *w) { close_container(w, ']', 0); }

void wsss_jw_key(wsss_jw *w, const char *key) {
    WSSS_ASSERT(w->depth > 0 && w->is_obj[w->depth] && !w->after_key, "JSON writer: key outside object");
    before_item(w);
    wsss_jw_append_quoted(w, key, strlen(key));
    wsss_jw_append(w, w->indent ? ": " : ":", w->indent ? 2 : 1);
    w->after_key = 1;
}

static void before_value(wsss_jw *w) {
    WSSS_ASSERT(w->after_key || w->depth == 0 || !w->is_obj[w->depth],
                "JSON writer: value in object without a key");
    before_item(w);
}

void wsss_jw_string_n(wsss_jw *w, const char *s, size_t n) {
    before_value(w);
    wsss_jw_append_quoted(w, s, n);
}

void wsss_jw_string(wsss_jw *w, const char *s) { wsss_jw_string_n(w, s, strlen(s)); }

void wsss_jw_int(wsss_jw *w, int64_t v) {
    before_value(w);
    wsss_jw_printf(w, "%lld", (long long)v);
}

void wsss_jw_double(wsss_jw *w, double v) {
    before_value(w);
    if (!isfinite(v)) {
        wsss_jw_append(w, "null", 4);
        return;
    }
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    /* keep it a JSON number that reads back as floating point: "1" -> "1.0" is not needed by JSON,
     * but integral doubles stay distinguishable from ints for human readers */
    if (!strpbrk(buf, ".eEn")) strncat(buf, ".0", sizeof buf - strlen(buf) - 1);
    wsss_jw_append(w, buf, strlen(buf));
}

void wsss_jw_bool(wsss_jw *w, int v) {
    before_value(w);
    wsss_jw_append(w, v ? "true" : "false", v ? 4 : 5);
}

void wsss_jw_null(wsss_jw *w) {
    before_value(w);
    wsss_jw_append(w, "null", 4);
}

void wsss_jw_kv_string(wsss_jw *w, const char *key, const char *s) {
    wsss_jw_key(w, key);
    wsss_jw_string(w, s);
}
void wsss_jw_kv_int(wsss_jw *w, const char *key, int64_t v) {
    wsss_jw_key(w, key);
    wsss_jw_int(w, v);
}
void wsss_jw_kv_double(wsss_jw *w, const char *key, double v) {
    wsss_jw_key(w, key);
    wsss_jw_double(w, v);
}
void wsss_jw_kv_bool(wsss_jw *w, const char *key, int v) {
    wsss_jw_key(w, key);
    wsss_jw_bool(w, v);
}
