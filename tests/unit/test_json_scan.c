/* The pull scanner (json_scan.h) against the DOM parser it must agree with: every document of a
 * corpus of valid and broken texts is accepted or rejected alike, with the same message (byte
 * offset included); duplicate keys are the one documented difference. Then a walk of a document
 * with hand-written expected values, skipped ranges, the depth limit and the base offset. */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "wsss/json.h"
#include "wsss/json_scan.h"

/* Skip the whole document with the scanner: WSSS_OK or WSSS_ERR (message set). */
static int scan_all(const char *text, size_t len) {
    wsss_json_scan *sc = wsss_json_scan_new(text, len);
    int rc = wsss_json_scan_skip(sc, NULL, NULL);
    if (rc == WSSS_OK) rc = wsss_json_scan_finish(sc);
    wsss_json_scan_free(sc);
    return rc;
}

static void agree(const char *text, size_t len) {
    wsss_error_clear();
    wsss_json *v = wsss_json_parse(text, len);
    char dom_msg[2048];
    snprintf(dom_msg, sizeof dom_msg, "%s", v ? "" : wsss_error_msg());
    wsss_error_clear();
    int rc = scan_all(text, len);
    CHECK((v != NULL) == (rc == WSSS_OK), "DOM %s, scanner %s: %.*s", v ? "accepts" : "rejects",
          rc == WSSS_OK ? "accepts" : "rejects", (int)len, text);
    if (!v && rc != WSSS_OK)
        CHECK(strcmp(dom_msg, wsss_error_msg()) == 0, "messages differ for %.*s:\n  DOM:  %s\n  scan: %s", (int)len,
              text, dom_msg, wsss_error_msg());
    wsss_json_free(v);
}

static void test_corpus(void) {
    static const char *const docs[] = {
        /* valid */
        "0", "-0", "42", "-17.5e-3", "1E+2", "true", "false", "null", "\"\"", "\"a\\u00e9\\ud83d\\ude00\\n\"",
        "[]", "{}", " [ 1 , 2 , [ ] , { } ] ", "{\"a\":{\"b\":[1,{\"c\":null}]},\"d\":\"e\"}",
        "{\"segmentation\":[[1.5,2,3.25,4]],\"iscrowd\":0}", "\t\r\n[\"x\"]\n",
        "9223372036854775807", "-9223372036854775808", "123456789012345678901234567890", "1.7976931348623157e308",
        "\"raw \xc3\xa9 \xe2\x82\xac\"",
        /* broken */
        "", " ", "[", "]", "{", "}", "[1,]", "[,1]", "[1 2]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}", "{1:2}",
        "{\"a\" 1}", "[1]x", "[1] [2]", "01", "-", "1.", "1.e3", "1e", "1e+", "--1", "+1", "1.5.2", ".5", "1e999",
        "-1e999", "tru", "nul", "falsy", "True", "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"",
        "\"a\nb\"", "\"\x80\"", "\"\xc0\xaf\"", "[\"a\",\"\xed\xa0\x80\"]", "{\"k\":[1,{\"m\":[true,fals]}]}",
        "[1,2,3", "{\"a\":[1,2}", "[{]}", "[\"a\":1]", "{\"a\":1 \"b\":2}", "'x'", "[01]", "[1,\"\\q\"]",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) agree(docs[i], strlen(docs[i]));
    /* a NUL byte inside a document and a document ending early */
    agree("[1,\0]", 5);
    agree("{\"a\":1}", 5);
    /* the one difference: duplicate keys */
    const char *dup = "{\"a\":1,\"a\":2}";
    wsss_json *v = wsss_json_parse(dup, strlen(dup));
    CHECK(v == NULL && scan_all(dup, strlen(dup)) == WSSS_OK, "duplicate keys: DOM rejects, scanner accepts");
    wsss_json_free(v);
}

/* n nested arrays, innermost holding one number when with_item. */
static char *nested(int n, int with_item) {
    char *s = malloc((size_t)2 * n + 2);
    int k = 0;
    for (int i = 0; i < n; i++) s[k++] = '[';
    if (with_item) s[k++] = '7';
    for (int i = 0; i < n; i++) s[k++] = ']';
    s[k] = 0;
    return s;
}

static void test_depth(void) {
    const int ns[] = {63, 64, 65, 200};
    for (int i = 0; i < 4; i++)
        for (int item = 0; item < 2; item++) {
            char *s = nested(ns[i], item);
            agree(s, strlen(s));
            free(s);
        }
    char *deep = nested(64, 1); /* the 7 sits inside 64 containers: too deep for both */
    CHECK(scan_all(deep, strlen(deep)) == WSSS_ERR && strstr(wsss_error_msg(), "nesting deeper than 64"), "%s",
          wsss_error_msg());
    free(deep);
}

static void test_walk(void) {
    const char *doc = "{\"images\": [{\"id\": 3, \"file_name\": \"a\\u00e9.jpg\", \"w\": 2.5}],"
                      " \"skip\": {\"x\": [1, [2, {\"y\": null}]]}, \"n\": -12, \"big\": 12345678901234567890}";
    wsss_json_scan *sc = wsss_json_scan_new(doc, strlen(doc));
    wsss_json_type t;
    CHECK(wsss_json_scan_peek(sc, &t) == WSSS_OK && t == WSSS_JSON_OBJECT, "peek object");
    CHECK(wsss_json_scan_enter(sc, WSSS_JSON_OBJECT) == WSSS_OK, "enter: %s", wsss_error_msg());
    const char *want_keys[] = {"images", "skip", "n", "big"};
    int k = 0, r;
    while ((r = wsss_json_scan_next(sc)) == 1) {
        size_t kl;
        const char *key = wsss_json_scan_key(sc, &kl);
        CHECK(k < 4 && strcmp(key, want_keys[k]) == 0 && kl == strlen(want_keys[k]), "key %d: %s", k, key);
        if (k == 0) {
            CHECK(wsss_json_scan_enter(sc, WSSS_JSON_ARRAY) == WSSS_OK, "images array");
            CHECK(wsss_json_scan_next(sc) == 1 && wsss_json_scan_enter(sc, WSSS_JSON_OBJECT) == WSSS_OK, "image");
            wsss_json_number num;
            const char *s;
            size_t sl;
            CHECK(wsss_json_scan_next(sc) == 1 && wsss_json_scan_number(sc, &num) == WSSS_OK && num.is_int &&
                      num.ival == 3,
                  "id");
            CHECK(wsss_json_scan_next(sc) == 1 && wsss_json_scan_string(sc, &s, &sl) == WSSS_OK && sl == 7 &&
                      memcmp(s, "a\xc3\xa9.jpg", 7) == 0,
                  "file_name decoded");
            CHECK(wsss_json_scan_next(sc) == 1 && wsss_json_scan_number(sc, &num) == WSSS_OK && !num.is_int &&
                      num.number == 2.5,
                  "w");
            CHECK(wsss_json_scan_next(sc) == 0, "image object ends");
            CHECK(wsss_json_scan_next(sc) == 0, "images array ends");
        } else if (k == 1) {
            size_t a, b;
            CHECK(wsss_json_scan_skip(sc, &a, &b) == WSSS_OK, "skip: %s", wsss_error_msg());
            const char *want = "{\"x\": [1, [2, {\"y\": null}]]}";
            CHECK(b - a == strlen(want) && memcmp(doc + a, want, b - a) == 0, "skipped range %.*s", (int)(b - a),
                  doc + a);
        } else if (k == 2) {
            wsss_json_number num;
            int64_t v;
            CHECK(wsss_json_scan_number(sc, &num) == WSSS_OK && wsss_json_number_int64(&num, &v) == WSSS_OK && v == -12,
                  "n");
        } else {
            wsss_json_number num;
            int64_t v;
            CHECK(wsss_json_scan_number(sc, &num) == WSSS_OK && !num.is_int && num.number == 12345678901234567890.0 &&
                      wsss_json_number_int64(&num, &v) == WSSS_ERR,
                  "beyond int64: a double, not an exact integer");
        }
        k++;
    }
    CHECK(r == 0 && k == 4, "4 members (r %d, k %d)", r, k);
    CHECK(wsss_json_scan_finish(sc) == WSSS_OK, "finish");

    /* a value of the wrong type: named, with its offset */
    const char *bad = "[\"x\"]";
    wsss_json_scan_reset(sc, bad, strlen(bad), 1000);
    wsss_json_number num;
    CHECK(wsss_json_scan_enter(sc, WSSS_JSON_ARRAY) == WSSS_OK && wsss_json_scan_next(sc) == 1 &&
              wsss_json_scan_number(sc, &num) == WSSS_ERR,
          "a string is not a number");
    CHECK(strcmp(wsss_error_msg(), "JSON error at byte 1001: expected a number, got '\"'") == 0, "%s",
          wsss_error_msg());
    CHECK(wsss_json_scan_next(sc) == WSSS_ERR, "after an error every call fails");
    /* base offsets in syntax errors too */
    wsss_json_scan_reset(sc, "[1,]", 4, 500);
    CHECK(wsss_json_scan_skip(sc, NULL, NULL) == WSSS_ERR &&
              strcmp(wsss_error_msg(), "JSON error at byte 503: expected a value, got ']'") == 0,
          "%s", wsss_error_msg());
    wsss_json_scan_free(sc);
}

/* next_number: numbers in one call, anything else left for the caller. */
static void test_next_number(void) {
    const char *doc = "[1, \"x\", -2.5e1, [3], 7]";
    wsss_json_scan *sc = wsss_json_scan_new(doc, strlen(doc));
    wsss_json_number num;
    const char *s;
    CHECK(wsss_json_scan_enter(sc, WSSS_JSON_ARRAY) == WSSS_OK, "enter");
    CHECK(wsss_json_scan_next_number(sc, &num) == 1 && num.is_int && num.ival == 1, "1");
    CHECK(wsss_json_scan_next_number(sc, &num) == 2 && wsss_json_scan_string(sc, &s, NULL) == WSSS_OK &&
              strcmp(s, "x") == 0,
          "a string is left to read");
    CHECK(wsss_json_scan_next_number(sc, &num) == 1 && !num.is_int && num.number == -25.0, "-2.5e1");
    CHECK(wsss_json_scan_next_number(sc, &num) == 2 && wsss_json_scan_skip(sc, NULL, NULL) == WSSS_OK,
          "an array is left to skip");
    CHECK(wsss_json_scan_next_number(sc, &num) == 1 && num.ival == 7, "7");
    CHECK(wsss_json_scan_next_number(sc, &num) == 0 && wsss_json_scan_finish(sc) == WSSS_OK, "the end");
    wsss_json_scan_reset(sc, "[1 2]", 5, 0);
    CHECK(wsss_json_scan_enter(sc, WSSS_JSON_ARRAY) == WSSS_OK && wsss_json_scan_next_number(sc, &num) == 1 &&
              wsss_json_scan_next_number(sc, &num) == WSSS_ERR && strstr(wsss_error_msg(), "expected ',' or ']'"),
          "bad syntax: %s", wsss_error_msg());
    wsss_json_scan_free(sc);
}

/* Numbers read without strtod (the short forms' fast path) equal strtod's, bit for bit, on random
 * integers and decimals of every length around the fast path's limits. */
static void test_numbers_vs_strtod(void) {
    uint64_t state = 88172645463325252ULL;
    int bad = 0;
    for (int t = 0; t < 200000; t++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17; /* xorshift64 */
        char lit[64];
        int k = 0, digits = 1 + (int)(state % 20), point = (int)((state >> 8) % (uint64_t)(digits + 1));
        if ((state >> 16) & 1) lit[k++] = '-';
        for (int d = 0; d < digits; d++) {
            if (d == point && d > 0) lit[k++] = '.';
            int digit = (int)((state >> (20 + d % 40)) % 10);
            lit[k++] = (char)('0' + (d == 0 && digits > 1 && point != 1 ? 1 + digit % 9 : digit));
        }
        lit[k] = 0;
        wsss_json_scan *sc = wsss_json_scan_new(lit, (size_t)k);
        wsss_json_number num;
        const double want = strtod(lit, NULL);
        if (wsss_json_scan_number(sc, &num) != WSSS_OK || memcmp(&num.number, &want, sizeof want) != 0) {
            if (bad++ < 5) CHECK(0, "%s: read %.17g, strtod %.17g (%s)", lit, num.number, want, wsss_error_msg());
        }
        wsss_json_scan_free(sc);
    }
    CHECK(bad == 0, "%d of 200000 numbers differ from strtod", bad);
}

int main(void) {
    test_corpus();
    test_depth();
    test_walk();
    test_next_number();
    test_numbers_vs_strtod();
    return test_summary("test_json_scan");
}
