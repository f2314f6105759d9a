/* Error reporting: user/file/config errors return WSSS_ERR and leave a message;
 * programmer errors abort with file:line (WSSS_ASSERT). */
#ifndef WSSS_ERROR_H
#define WSSS_ERROR_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

enum { WSSS_OK = 0, WSSS_ERR = -1 };

/* Set the calling thread's error message (printf-style). Always returns WSSS_ERR. */
int wsss_error_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prefix the current message, e.g. with the file being read: "a.png: <old message>". */
int wsss_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The calling thread's last error message ("" if none). */
const char *wsss_error_msg(void);
void wsss_error_clear(void);

void wsss_assert_fail(const char *expr, const char *file, int line, const char *msg);

#define WSSS_ASSERT(cond, msg)                                                 \
    do {                                                                       \
        if (!(cond)) wsss_assert_fail(#cond, __FILE__, __LINE__, (msg));       \
    } while (0)

/* malloc/calloc that abort on out-of-memory (an OOM is not a recoverable user error here). */
void *wsss_xmalloc(size_t n);
void *wsss_xcalloc(size_t count, size_t size);
void *wsss_xrealloc(void *p, size_t n);
char *wsss_xstrdup(const char *s);
/* printf into a fresh malloc'd string (aborts on out-of-memory, like the above). */
char *wsss_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *wsss_xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
