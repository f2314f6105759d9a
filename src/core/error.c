#include "wsss/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char g_msg[2048];

int wsss_error_set(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    return WSSS_ERR;
}

int wsss_error_prefix(const char *fmt, ...) {
    char prefix[1024], old[sizeof g_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_msg, sizeof old);
    /* "prefix: old", truncated to the buffer */
    size_t n = strnlen(prefix, sizeof g_msg - 3);
    memcpy(g_msg, prefix, n);
    memcpy(g_msg + n, ": ", 2);
    size_t m = strnlen(old, sizeof g_msg - n - 3);
    memcpy(g_msg + n + 2, old, m);
    g_msg[n + 2 + m] = 0;
    return WSSS_ERR;
}

const char *wsss_error_msg(void) { return g_msg; }

void wsss_error_clear(void) { g_msg[0] = 0; }

void wsss_assert_fail(const char *expr, const char *file, int line, const char *msg) {
    fprintf(stderr, "wsss: internal error at %s:%d: assertion '%s' failed%s%s\n", file, line, expr,
            msg ? ": " : "", msg ? msg : "");
    abort();
}

void *wsss_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "wsss: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

void *wsss_xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) {
        fprintf(stderr, "wsss: out of memory allocating %zu x %zu bytes\n", count, size);
        abort();
    }
    return p;
}

void *wsss_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "wsss: out of memory reallocating %zu bytes\n", n);
        abort();
    }
    return q;
}

char *wsss_xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = wsss_xmalloc(n);
    memcpy(d, s, n);
    return d;
}

char *wsss_xvasprintf(const char *fmt, va_list ap) {
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0) {
        fprintf(stderr, "wsss: out of memory formatting a string\n");
        abort();
    }
    return s;
}

char *wsss_xasprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s = wsss_xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}
