/* The pull scanner (json_scan.h): the DOM parser's grammar, walked without a tree. */
#include "wsss/json_scan.h"

#include <stdlib.h>
#include <string.h>

#include "io/json_lex_internal.h"
#include "wsss/error.h"

struct wsss_json_scan {
    wsss_json_lex lx;
    int open;                                /* containers entered and not yet closed */
    char closer[WSSS_JSON_MAX_DEPTH + 1];    /* their closing brackets */
    unsigned char first[WSSS_JSON_MAX_DEPTH + 1]; /* no item read yet */
    char *key, *str;                         /* decoded member name and last string */
    size_t key_len, key_cap, str_len, str_cap;
};

wsss_json_scan *wsss_json_scan_new(const char *text, size_t len) {
    wsss_json_scan *sc = wsss_xcalloc(1, sizeof *sc);
    wsss_json_scan_reset(sc, text, len, 0);
    return sc;
}

void wsss_json_scan_reset(wsss_json_scan *sc, const char *text, size_t len, size_t base) {
    sc->lx = (wsss_json_lex){(const unsigned char *)text, len, 0, base, 0};
    sc->open = 0;
}

void wsss_json_scan_free(wsss_json_scan *sc) {
    if (!sc) return;
    free(sc->key);
    free(sc->str);
    free(sc);
}

size_t wsss_json_scan_pos(const wsss_json_scan *sc) { return sc->lx.pos; }

const char *wsss_json_scan_key(const wsss_json_scan *sc, size_t *len) {
    if (len) *len = sc->key_len;
    return sc->key ? sc->key : "";
}

static int at_char(const wsss_json_scan *sc, char c) { return sc->lx.pos < sc->lx.len && sc->lx.s[sc->lx.pos] == c; }

/* White space, then the first byte of a value that sits inside `extra` more containers than are
 * open: the DOM parser's depth limit and end-of-input message. */
static inline int value_start(wsss_json_scan *sc, int extra, unsigned char *c) {
    wsss_json_lex *lx = &sc->lx;
    if (lx->failed) return WSSS_ERR;
    wsss_json_lex_ws(lx);
    if (sc->open + extra + 1 > WSSS_JSON_MAX_DEPTH)
        return wsss_json_lex_error(lx, lx->pos, "nesting deeper than %d levels", WSSS_JSON_MAX_DEPTH);
    if (lx->pos >= lx->len) return wsss_json_lex_error(lx, lx->pos, "expected a value, got end of input");
    *c = lx->s[lx->pos];
    return WSSS_OK;
}

static int type_of(unsigned char c, wsss_json_type *t) {
    switch (c) {
    case '{': *t = WSSS_JSON_OBJECT; return WSSS_OK;
    case '[': *t = WSSS_JSON_ARRAY; return WSSS_OK;
    case '"': *t = WSSS_JSON_STRING; return WSSS_OK;
    case 't':
    case 'f': *t = WSSS_JSON_BOOL; return WSSS_OK;
    case 'n': *t = WSSS_JSON_NULL; return WSSS_OK;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            *t = WSSS_JSON_NUMBER;
            return WSSS_OK;
        }
        return WSSS_ERR;
    }
}

int wsss_json_scan_peek(wsss_json_scan *sc, wsss_json_type *type) {
    unsigned char c = 0;
    if (value_start(sc, 0, &c)) return WSSS_ERR;
    if (type_of(c, type) == WSSS_OK) return WSSS_OK;
    char d[32];
    return wsss_json_lex_error(&sc->lx, sc->lx.pos, "expected a value, got %s",
                               wsss_json_lex_describe(&sc->lx, sc->lx.pos, d, sizeof d));
}

/* The next value must be of type t. */
static int expect_type(wsss_json_scan *sc, wsss_json_type t) {
    wsss_json_type have;
    unsigned char c = 0;
    if (value_start(sc, 0, &c)) return WSSS_ERR;
    if (type_of(c, &have) == WSSS_OK && have == t) return WSSS_OK;
    if (type_of(c, &have) != WSSS_OK) return wsss_json_scan_peek(sc, &have); /* its message */
    char d[32];
    const char *article = t == WSSS_JSON_ARRAY || t == WSSS_JSON_OBJECT ? "an" : "a";
    return wsss_json_lex_error(&sc->lx, sc->lx.pos, "expected %s %s, got %s", article, wsss_json_type_name(t),
                               wsss_json_lex_describe(&sc->lx, sc->lx.pos, d, sizeof d));
}

/* A member's name and its ':' at pos (white space skipped), decoded into sc->key. */
static int member_key(wsss_json_scan *sc) {
    wsss_json_lex *lx = &sc->lx;
    char d[32];
    wsss_json_lex_ws(lx);
    if (!at_char(sc, '"'))
        return wsss_json_lex_error(lx, lx->pos, "expected a string key in object, got %s",
                                   wsss_json_lex_describe(lx, lx->pos, d, sizeof d));
    if (wsss_json_lex_string(lx, &sc->key, &sc->key_len, &sc->key_cap)) return WSSS_ERR;
    wsss_json_lex_ws(lx);
    if (!at_char(sc, ':'))
        return wsss_json_lex_error(lx, lx->pos, "expected ':' after object key \"%s\", got %s", sc->key,
                                   wsss_json_lex_describe(lx, lx->pos, d, sizeof d));
    lx->pos++;
    return WSSS_OK;
}

/* After an item of a container closed by `close`: 1 (',' read: another item follows), 0 (the
 * closing bracket read) or WSSS_ERR. first: no item was read yet (no ',' expected). */
static inline int after_item(wsss_json_scan *sc, char close, int first) {
    wsss_json_lex *lx = &sc->lx;
    wsss_json_lex_ws(lx);
    if (at_char(sc, close)) {
        lx->pos++;
        return 0;
    }
    if (!first && at_char(sc, ',')) {
        lx->pos++;
        return 1;
    }
    if (first) return 1; /* the first item starts here */
    char d[32];
    return wsss_json_lex_error(lx, lx->pos, "expected ',' or '%c' in %s, got %s", close,
                               close == '}' ? "object" : "array", wsss_json_lex_describe(lx, lx->pos, d, sizeof d));
}

int wsss_json_scan_enter(wsss_json_scan *sc, wsss_json_type container) {
    WSSS_ASSERT(container == WSSS_JSON_OBJECT || container == WSSS_JSON_ARRAY, "scan_enter: a container type");
    if (expect_type(sc, container)) return WSSS_ERR;
    sc->lx.pos++;
    sc->closer[sc->open] = container == WSSS_JSON_OBJECT ? '}' : ']';
    sc->first[sc->open] = 1;
    sc->open++;
    return WSSS_OK;
}

int wsss_json_scan_next(wsss_json_scan *sc) {
    WSSS_ASSERT(sc->open > 0, "scan_next outside a container");
    if (sc->lx.failed) return WSSS_ERR;
    const int k = sc->open - 1;
    const int r = after_item(sc, sc->closer[k], sc->first[k]);
    sc->first[k] = 0;
    if (r == 0) sc->open--;
    if (r == 1 && sc->closer[k] == '}' && member_key(sc)) return WSSS_ERR;
    return r;
}

int wsss_json_scan_next_number(wsss_json_scan *sc, wsss_json_number *out) {
    WSSS_ASSERT(sc->open > 0 && sc->closer[sc->open - 1] == ']', "scan_next_number outside an array");
    const int r = wsss_json_scan_next(sc);
    unsigned char c = 0;
    if (r != 1) return r;
    if (value_start(sc, 0, &c)) return WSSS_ERR;
    if (c != '-' && (c < '0' || c > '9')) return 2;
    return wsss_json_lex_number(&sc->lx, out) ? WSSS_ERR : 1;
}

int wsss_json_scan_number(wsss_json_scan *sc, wsss_json_number *out) {
    if (expect_type(sc, WSSS_JSON_NUMBER)) return WSSS_ERR;
    return wsss_json_lex_number(&sc->lx, out);
}

int wsss_json_scan_string(wsss_json_scan *sc, const char **s, size_t *len) {
    if (expect_type(sc, WSSS_JSON_STRING)) return WSSS_ERR;
    if (wsss_json_lex_string(&sc->lx, &sc->str, &sc->str_len, &sc->str_cap)) return WSSS_ERR;
    *s = sc->str;
    if (len) *len = sc->str_len;
    return WSSS_OK;
}

/* One scalar at pos, validated only. */
static int skip_scalar(wsss_json_scan *sc, unsigned char c) {
    wsss_json_type t;
    int b;
    if (c == '"') return wsss_json_lex_string(&sc->lx, NULL, NULL, NULL);
    if (c == 't' || c == 'f' || c == 'n') return wsss_json_lex_literal(&sc->lx, &t, &b);
    if (c == '-' || (c >= '0' && c <= '9')) return wsss_json_lex_number(&sc->lx, NULL);
    char d[32];
    return wsss_json_lex_error(&sc->lx, sc->lx.pos, "expected a value, got %s",
                               wsss_json_lex_describe(&sc->lx, sc->lx.pos, d, sizeof d));
}

/* Iterative, with its own stack of closing brackets: a deep value cannot exhaust the C stack. */
int wsss_json_scan_skip(wsss_json_scan *sc, size_t *start, size_t *end) {
    wsss_json_lex *lx = &sc->lx;
    char stack[WSSS_JSON_MAX_DEPTH + 1];
    int n = 0;
    unsigned char c = 0;
    if (value_start(sc, 0, &c)) return WSSS_ERR;
    if (start) *start = lx->pos;
    for (;;) {
        /* a value starts at pos (white space skipped) inside n skipped containers */
        if (c == '{' || c == '[') {
            stack[n++] = c == '{' ? '}' : ']';
            lx->pos++;
            const int r = after_item(sc, stack[n - 1], 1);
            if (r < 0) return WSSS_ERR;
            if (r == 1) { /* its first item */
                if ((stack[n - 1] == '}' && member_key(sc)) || value_start(sc, n, &c)) return WSSS_ERR;
                continue;
            }
            n--; /* empty */
        } else if (skip_scalar(sc, c)) {
            return WSSS_ERR;
        }
        /* close what ends here */
        int more = 0;
        while (n > 0 && !more) {
            const int r = after_item(sc, stack[n - 1], 0);
            if (r < 0) return WSSS_ERR;
            if (r == 0) n--;
            else if (stack[n - 1] == '}' && member_key(sc)) return WSSS_ERR;
            else more = 1;
        }
        if (!more) break;
        if (value_start(sc, n, &c)) return WSSS_ERR;
    }
    if (end) *end = lx->pos;
    return WSSS_OK;
}

int wsss_json_scan_finish(wsss_json_scan *sc) {
    WSSS_ASSERT(sc->open == 0, "scan_finish inside a container");
    wsss_json_lex *lx = &sc->lx;
    if (lx->failed) return WSSS_ERR;
    wsss_json_lex_ws(lx);
    if (lx->pos == lx->len) return WSSS_OK;
    char d[32];
    return wsss_json_lex_error(lx, lx->pos, "trailing characters after the JSON value (%s)",
                               wsss_json_lex_describe(lx, lx->pos, d, sizeof d));
}
