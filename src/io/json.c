/* Strict JSON DOM parser and its accessors (see include/wsss/json.h); the tokens are json_lex.c's. */
#include "wsss/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/json_lex_internal.h"
#include "wsss/error.h"

/* ======================================================================== parser */

typedef struct {
    wsss_json_lex lx;
    size_t n_values, max_values; /* resource limit: a DOM node costs ~100 bytes */
} parser;

#define perr(p, at, ...) wsss_json_lex_error(&(p)->lx, (at), __VA_ARGS__)

static void skip_ws(parser *p) { wsss_json_lex_ws(&p->lx); }

static wsss_json *new_node(wsss_json_type t, size_t off) {
    wsss_json *v = wsss_xcalloc(1, sizeof *v);
    v->type = t;
    v->offset = off;
    return v;
}

/* A decoded string at lx.pos (its opening quote) into a fresh buffer. */
static int parse_string(parser *p, char **out, size_t *out_len) {
    char *b = NULL;
    size_t len = 0, cap = 0;
    if (wsss_json_lex_string(&p->lx, &b, &len, &cap)) {
        free(b);
        return WSSS_ERR;
    }
    *out = b;
    *out_len = len;
    return WSSS_OK;
}

static int parse_number(parser *p, wsss_json **out) {
    const size_t start = p->lx.pos;
    wsss_json_number num;
    if (wsss_json_lex_number(&p->lx, &num)) return WSSS_ERR;
    wsss_json *v = new_node(WSSS_JSON_NUMBER, start);
    v->number = num.number;
    v->is_int = num.is_int;
    v->ival = num.ival;
    *out = v;
    return WSSS_OK;
}

static int parse_value(parser *p, wsss_json **out, int depth);

/* Just past a container's opening bracket: consumes `close` if the container is empty. */
static int empty_container(parser *p, char close) {
    skip_ws(p);
    if (p->lx.pos < p->lx.len && p->lx.s[p->lx.pos] == close) {
        p->lx.pos++;
        return 1;
    }
    return 0;
}

/* After a container item: consumes ',' (returns 1: another item follows) or `close` (returns 0);
 * anything else is an error (returns WSSS_ERR). `what` names the container in the message. */
static int next_item(parser *p, char close, const char *what) {
    char d[32];
    skip_ws(p);
    if (p->lx.pos < p->lx.len && p->lx.s[p->lx.pos] == ',') {
        p->lx.pos++;
        return 1;
    }
    if (p->lx.pos < p->lx.len && p->lx.s[p->lx.pos] == close) {
        p->lx.pos++;
        return 0;
    }
    return perr(p, p->lx.pos, "expected ',' or '%c' in %s, got %s", close, what,
                wsss_json_lex_describe(&p->lx, p->lx.pos, d, sizeof d));
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
    if (p->lx.pos >= p->lx.len || p->lx.s[p->lx.pos] != '"')
        return perr(p, p->lx.pos, "expected a string key in object, got %s",
                    wsss_json_lex_describe(&p->lx, p->lx.pos, d, sizeof d));
    const size_t kpos = p->lx.pos;
    if (parse_string(p, &v->keys[v->n - 1], &v->key_lens[v->n - 1])) return WSSS_ERR;
    v->key_offsets[v->n - 1] = kpos;
    skip_ws(p);
    if (p->lx.pos >= p->lx.len || p->lx.s[p->lx.pos] != ':')
        return perr(p, p->lx.pos, "expected ':' after object key \"%s\", got %s", v->keys[v->n - 1],
                    wsss_json_lex_describe(&p->lx, p->lx.pos, d, sizeof d));
    p->lx.pos++;
    return WSSS_OK;
}

/* An object ('{' and members "KEY": VALUE) or an array ('[' and VALUE items) at p->lx.pos. */
static int parse_container(parser *p, wsss_json **out, int depth, int object) {
    const char close = object ? '}' : ']';
    wsss_json *v = new_node(object ? WSSS_JSON_OBJECT : WSSS_JSON_ARRAY, p->lx.pos);
    int cap = 0;
    p->lx.pos++; /* the opening bracket */
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

static int parse_value(parser *p, wsss_json **out, int depth) {
    char d[32];
    *out = NULL;
    if (depth > WSSS_JSON_MAX_DEPTH)
        return perr(p, p->lx.pos, "nesting deeper than %d levels", WSSS_JSON_MAX_DEPTH);
    if (p->lx.pos >= p->lx.len) return perr(p, p->lx.pos, "expected a value, got end of input");
    if (++p->n_values > p->max_values)
        return perr(p, p->lx.pos, "more than %zu JSON values (limit)", p->max_values);
    size_t at = p->lx.pos;
    switch (p->lx.s[p->lx.pos]) {
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
    case 'n': {
        wsss_json_type t;
        int b;
        if (wsss_json_lex_literal(&p->lx, &t, &b)) return WSSS_ERR;
        *out = new_node(t, at);
        (*out)->boolean = b;
        return WSSS_OK;
    }
    default:
        if (p->lx.s[p->lx.pos] == '-' || (p->lx.s[p->lx.pos] >= '0' && p->lx.s[p->lx.pos] <= '9'))
            return parse_number(p, out);
        return perr(p, at, "expected a value, got %s", wsss_json_lex_describe(&p->lx, at, d, sizeof d));
    }
}

wsss_json *wsss_json_parse(const char *text, size_t len) {
    return wsss_json_parse_limited(text, len, SIZE_MAX);
}

wsss_json *wsss_json_parse_limited(const char *text, size_t len, size_t max_values) {
    parser p = {{(const unsigned char *)text, len, 0, 0, 0}, 0, max_values};
    wsss_json *v = NULL;
    skip_ws(&p);
    if (parse_value(&p, &v, 1)) return NULL;
    skip_ws(&p);
    if (p.lx.pos != p.lx.len) {
        char d[32];
        perr(&p, p.lx.pos, "trailing characters after the JSON value (%s)",
             wsss_json_lex_describe(&p.lx, p.lx.pos, d, sizeof d));
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

int wsss_json_number_int64(const wsss_json_number *n, int64_t *out) {
    if (n->is_int) {
        *out = n->ival;
        return WSSS_OK;
    }
    double d = n->number;
    if (d == floor(d) && fabs(d) <= 9007199254740992.0) {
        *out = (int64_t)d;
        return WSSS_OK;
    }
    return WSSS_ERR;
}

int wsss_json_as_int64(const wsss_json *v, int64_t *out) {
    if (!v || v->type != WSSS_JSON_NUMBER) return WSSS_ERR;
    const wsss_json_number n = {v->number, v->is_int, v->ival};
    return wsss_json_number_int64(&n, out);
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
