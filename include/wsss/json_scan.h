/* A pull scanner over JSON text: the reader walks the document value by value and nothing is
 * built that it does not ask for. For files too large for json.h's DOM: COCO's 450 MB train
 * annotations hold some 60 million numbers, and a DOM node costs about 120 bytes.
 *
 * It accepts exactly the texts wsss_json_parse accepts (one lexer, json_lex.c), with one
 * exception: it keeps no member names, so duplicate keys are not detected (a reader checks the
 * members it reads). Errors carry the DOM parser's messages ("JSON error at byte N: ..."), and
 * after the first every call fails.
 *
 *   wsss_json_scan *sc = wsss_json_scan_new(text, len);
 *   wsss_json_scan_enter(sc, WSSS_JSON_OBJECT);
 *   while ((r = wsss_json_scan_next(sc)) == 1) {    // one member: its name is wsss_json_scan_key
 *       ... read exactly one value: _number, _string, _enter (then its own _next loop), _skip
 *   }                                               // r == 0: the closing '}' was read; < 0: error
 *   wsss_json_scan_finish(sc);                      // nothing but white space may follow
 *   wsss_json_scan_free(sc); */
#ifndef WSSS_JSON_SCAN_H
#define WSSS_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "wsss/json.h"

typedef struct wsss_json_scan wsss_json_scan;

/* A scanner over text[0..len) (not copied: it must outlive the scanner). */
wsss_json_scan *wsss_json_scan_new(const char *text, size_t len);
/* Start again on other text; base is added to the byte offsets of messages (a value cut out of a
 * larger document reports positions in that document). */
void wsss_json_scan_reset(wsss_json_scan *sc, const char *text, size_t len, size_t base);
void wsss_json_scan_free(wsss_json_scan *sc);

/* The type of the next value (white space skipped); WSSS_ERR at the end of input or on a byte no
 * value starts with. Nothing is consumed. */
int wsss_json_scan_peek(wsss_json_scan *sc, wsss_json_type *type);
/* The position of the next byte (in text, without base). */
size_t wsss_json_scan_pos(const wsss_json_scan *sc);

/* Open the object or array that must come next ("expected an object, got ..." otherwise). */
int wsss_json_scan_enter(wsss_json_scan *sc, wsss_json_type container);
/* In the innermost open container: 1 if another item follows (in an object its name has been read,
 * with its ':'), 0 if the container ended (its closing bracket is consumed), WSSS_ERR on bad syntax. */
int wsss_json_scan_next(wsss_json_scan *sc);
/* The name of the member wsss_json_scan_next just read (NUL-terminated; valid until the next call). */
const char *wsss_json_scan_key(const wsss_json_scan *sc, size_t *len);

/* The next value, which must be of that type ("expected a number, got ..." otherwise). The string is
 * decoded into the scanner's buffer: valid until the next string is read. */
int wsss_json_scan_number(wsss_json_scan *sc, wsss_json_number *out);
int wsss_json_scan_string(wsss_json_scan *sc, const char **s, size_t *len);
/* In an array: wsss_json_scan_next and, when the item is a number, wsss_json_scan_number in one
 * call (the hot loop of coordinate and count arrays). 1: *out holds the next item; 0: the array
 * ended; 2: the next item is not a number (nothing of it is consumed: read or skip it); WSSS_ERR. */
int wsss_json_scan_next_number(wsss_json_scan *sc, wsss_json_number *out);
/* Any value, checked but not decoded; [*start, *end) receives its bytes in text (either may be NULL). */
int wsss_json_scan_skip(wsss_json_scan *sc, size_t *start, size_t *end);

/* After the top-level value: only white space may remain. */
int wsss_json_scan_finish(wsss_json_scan *sc);

#endif
