/* A small strict JSON (RFC 8259) DOM parser and a JSON writer / string builder.
 *
 * Parser: objects, arrays, strings (all escapes incl. \uXXXX and surrogate pairs, decoded to UTF-8;
 * raw bytes must be valid UTF-8), numbers (double, plus an exact int64 when the literal is an
 * integer), true/false/null. Nesting deeper than WSSS_JSON_MAX_DEPTH, duplicate object keys,
 * trailing garbage, leading zeros, control characters in strings, lone surrogates and
 * out-of-range numbers are errors: wsss_json_parse returns NULL and sets a message that gives
 * the byte offset ("byte 17: expected ':' after object key"). Object member order is kept.
 *
 * For documents too large for a tree (COCO's annotation files) the pull scanner of json_scan.h
 * reads the same texts without building one.
 *
 * Writer: appends compact (or indented) JSON to a growable buffer; strings are escaped, commas and
 * colons are inserted automatically. It is also usable as a plain string builder. */
#ifndef WSSS_JSON_H
#define WSSS_JSON_H

#include <stddef.h>
#include <stdint.h>

#define WSSS_JSON_MAX_DEPTH 64

typedef enum {
    WSSS_JSON_NULL = 0,
    WSSS_JSON_BOOL,
    WSSS_JSON_NUMBER,
    WSSS_JSON_STRING,
    WSSS_JSON_ARRAY,
    WSSS_JSON_OBJECT
} wsss_json_type;

typedef struct wsss_json wsss_json;
struct wsss_json {
    wsss_json_type type;
    size_t offset;     /* byte offset of the value in the parsed text (for error messages) */
    int boolean;       /* BOOL */
    double number;     /* NUMBER */
    int is_int;        /* NUMBER written as an integer literal (no '.', no exponent) that fits int64 */
    int64_t ival;      /* exact value when is_int */
    char *str;         /* STRING: NUL-terminated UTF-8 (may also contain NULs from \u0000) */
    size_t str_len;    /* STRING: length in bytes, without the terminator */
    int n;             /* ARRAY/OBJECT: number of items / members */
    wsss_json **items; /* ARRAY items / OBJECT member values, in document order */
    char **keys;       /* OBJECT member names (NUL-terminated UTF-8), in document order */
    size_t *key_lens;  /* OBJECT member name lengths in bytes */
    size_t *key_offsets; /* OBJECT byte offsets of the member names (for error messages) */
};

/* A number as the readers lex it (the DOM's NUMBER fields; json_scan.h's numbers). */
typedef struct wsss_json_number {
    double number; /* the nearest double */
    int is_int;    /* an integer literal (no '.', no exponent) that fits int64 */
    int64_t ival;  /* its exact value when is_int */
} wsss_json_number;
/* Its exact integer value, by wsss_json_as_int64's rule: WSSS_OK or WSSS_ERR (no message). */
int wsss_json_number_int64(const wsss_json_number *n, int64_t *out);

/* Parse exactly one JSON value (surrounded by optional whitespace) from text[0..len).
 * Returns NULL + error message (with byte offset) on any error. Free with wsss_json_free. */
wsss_json *wsss_json_parse(const char *text, size_t len);
/* Same, failing once the document holds more than max_values values (a memory bound for
 * untrusted input: each value costs about 100 bytes of DOM). */
wsss_json *wsss_json_parse_limited(const char *text, size_t len, size_t max_values);
void wsss_json_free(wsss_json *v);
const char *wsss_json_type_name(wsss_json_type t); /* "object", "array", ... */

/* ---- accessors (all NULL-safe: a NULL value yields NULL / 0 / error) ---- */
const wsss_json *wsss_json_get(const wsss_json *obj, const char *key); /* NULL if absent / not object */
int wsss_json_len(const wsss_json *v);                                   /* array/object size, else 0 */
const wsss_json *wsss_json_at(const wsss_json *arr, int i);            /* NULL if out of range */
int wsss_json_is(const wsss_json *v, wsss_json_type t);
/* Typed getters: WSSS_OK and *out set when v has the type, else WSSS_ERR (no message set). */
int wsss_json_as_double(const wsss_json *v, double *out);
/* Exact integer: an integer literal in int64 range, or a number whose double value is integral
 * and |v| <= 2^53 (exactly representable). */
int wsss_json_as_int64(const wsss_json *v, int64_t *out);
int wsss_json_as_bool(const wsss_json *v, int *out);
const char *wsss_json_as_string(const wsss_json *v); /* NULL unless STRING */
/* Convenience: member lookups with defaults (the default when absent or of the wrong type). */
const char *wsss_json_get_string(const wsss_json *obj, const char *key, const char *dflt);
double wsss_json_get_double(const wsss_json *obj, const char *key, double dflt);
int64_t wsss_json_get_int64(const wsss_json *obj, const char *key, int64_t dflt);
int wsss_json_get_bool(const wsss_json *obj, const char *key, int dflt);

/* ---- writer / string builder ---- */
typedef struct wsss_jw {
    char *buf;   /* NUL-terminated output (never NULL after init) */
    size_t len, cap;
    int indent;  /* 0 = compact; >0 = spaces per nesting level, newline per item */
    int depth;
    unsigned char first[WSSS_JSON_MAX_DEPTH + 1]; /* no item written yet at this depth */
    unsigned char is_obj[WSSS_JSON_MAX_DEPTH + 1];
    int after_key; /* a key was written; the next value follows its ':' */
} wsss_jw;

void wsss_jw_init(wsss_jw *w, int indent);
void wsss_jw_free(wsss_jw *w);
/* Take ownership of the output string (caller frees); w is reset to empty. */
char *wsss_jw_take(wsss_jw *w);

void wsss_jw_obj_begin(wsss_jw *w);
void wsss_jw_obj_end(wsss_jw *w);
void wsss_jw_arr_begin(wsss_jw *w);
void wsss_jw_arr_end(wsss_jw *w);
void wsss_jw_key(wsss_jw *w, const char *key); /* inside an object, before each value */
void wsss_jw_string(wsss_jw *w, const char *s);
void wsss_jw_string_n(wsss_jw *w, const char *s, size_t n);
void wsss_jw_int(wsss_jw *w, int64_t v);
/* Shortest decimal that reads back to exactly v; non-finite values (not JSON) are written as null. */
void wsss_jw_double(wsss_jw *w, double v);
void wsss_jw_bool(wsss_jw *w, int v);
void wsss_jw_null(wsss_jw *w);
/* Convenience: key + value. */
void wsss_jw_kv_string(wsss_jw *w, const char *key, const char *s);
void wsss_jw_kv_int(wsss_jw *w, const char *key, int64_t v);
void wsss_jw_kv_double(wsss_jw *w, const char *key, double v);
void wsss_jw_kv_bool(wsss_jw *w, const char *key, int v);

/* Plain string-builder use (no JSON bookkeeping). */
void wsss_jw_append(wsss_jw *w, const char *s, size_t n);
void wsss_jw_printf(wsss_jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a quoted, escaped JSON string (no comma handling). */
void wsss_jw_append_quoted(wsss_jw *w, const char *s, size_t n);

#endif
