/* JSON writer and string builder (see include/wsss/json.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/json_lex_internal.h"
#include "wsss/error.h"
#include "wsss/json.h"

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

void wsss_jw_append(wsss_jw *w, const char *s, size_t n) { wsss_json_buf_append(&w->buf, &w->len, &w->cap, s, n); }

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
        const char letter = wsss_json_escape_letter(c);
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
