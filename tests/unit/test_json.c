/* JSON parser and writer: escapes, unicode (surrogate pairs, UTF-8 validation), numbers and exact
 * integers, depth limit, error messages with byte offsets, writer escaping and round trips.
 * Expected values are hand-derived (code points written out as UTF-8 bytes). */
#include <string.h>

#include "test_util.h"
#include "wsss/json.h"

static wsss_json *parse(const char *s) { return wsss_json_parse(s, strlen(s)); }

/* Parsing must fail; the message must contain want (e.g. "byte 3"). */
static void expect_err(const char *text, const char *want) {
    wsss_error_clear();
    wsss_json *v = parse(text);
    CHECK(v == NULL, "accepted invalid JSON: %s", text);
    CHECK(strstr(wsss_error_msg(), want) != NULL, "for %s: message lacks \"%s\": %s", text, want,
          wsss_error_msg());
    wsss_json_free(v);
}

static void expect_string(const char *json, const char *want, size_t want_len) {
    wsss_json *v = parse(json);
    CHECK(v && v->type == WSSS_JSON_STRING, "parse %s: %s", json, wsss_error_msg());
    if (v && v->type == WSSS_JSON_STRING)
        CHECK(v->str_len == want_len && memcmp(v->str, want, want_len) == 0 && v->str[want_len] == 0,
              "string %s decoded wrongly (len %zu)", json, v->str_len);
    wsss_json_free(v);
}

static void test_strings(void) {
    expect_string("\"\"", "", 0);
    expect_string("\"abc\"", "abc", 3);
    expect_string("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\" \\ / \b \f \n \r \t", 15);
    expect_string("\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6);   /* A é € */
    expect_string("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);               /* U+1F600 */
    expect_string("\"\\uD834\\uDD1E\"", "\xf0\x9d\x84\x9e", 4);               /* U+1D11E */
    expect_string("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4);               /* U+10FFFF */
    expect_string("\"a\\u0000b\"", "a\0b", 3);
    expect_string("\"\\u07ff\\u0800\\uffff\"", "\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 8);
    expect_string("\"raw \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", "raw \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 15);
    expect_string("\x20\t\r\n\"ws\" \n", "ws", 2);

    expect_err("\"abc", "unterminated string");
    expect_err("\"abc\\", "unterminated string");
    expect_err("\"\\x\"", "invalid escape");
    expect_err("\"\\u12\"", "hex digit");
    expect_err("\"\\u12", "truncated \\u escape");
    expect_err("\"\\ud800\"", "high surrogate");
    expect_err("\"\\ud800\\u0041\"", "low surrogate");
    expect_err("\"\\udc00\"", "lone low surrogate");
    expect_err("\"a\nb\"", "control character 0x0a");
    expect_err("\"\x80\"", "invalid UTF-8");
    expect_err("\"\xc0\xaf\"", "invalid UTF-8");         /* overlong '/' */
    expect_err("\"\xed\xa0\x80\"", "invalid UTF-8");     /* encoded surrogate */
    expect_err("\"\xf4\x90\x80\x80\"", "invalid UTF-8"); /* > U+10FFFF */
    expect_err("\"\xe2\x82\"", "invalid UTF-8");         /* truncated sequence */
    expect_err("'single'", "byte 0");
}

static void test_numbers(void) {
    struct {
        const char *s;
        double d;
        int is_int;
        int64_t i;
    } cases[] = {
        {"0", 0, 1, 0},
        {"-0", -0.0, 1, 0},
        {"42", 42, 1, 42},
        {"-17", -17, 1, -17},
        {"9223372036854775807", 9223372036854775807.0, 1, INT64_MAX},
        {"-9223372036854775808", -9223372036854775808.0, 1, INT64_MIN},
        {"9007199254740993", 9007199254740992.0, 1, 9007199254740993LL}, /* exact int, rounded double */
        {"1.5", 1.5, 0, 0},
        {"-0.25e2", -25, 0, 0},
        {"1E3", 1000, 0, 0},
        {"1e-3", 0.001, 0, 0},
        {"2.5E+1", 25, 0, 0},
        {"0.1", 0.1, 0, 0},
        {"1.7976931348623157e308", 1.7976931348623157e308, 0, 0},
        {"4.9e-324", 4.9e-324, 0, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        wsss_json *v = parse(cases[k].s);
        CHECK(v && v->type == WSSS_JSON_NUMBER, "number %s: %s", cases[k].s, wsss_error_msg());
        if (!v) continue;
        CHECK(v->number == cases[k].d, "number %s = %.17g", cases[k].s, v->number);
        CHECK(v->is_int == cases[k].is_int, "number %s is_int %d", cases[k].s, v->is_int);
        if (cases[k].is_int) CHECK(v->ival == cases[k].i, "number %s ival %lld", cases[k].s, (long long)v->ival);
        wsss_json_free(v);
    }
    /* int64 accessor */
    int64_t i;
    wsss_json *v = parse("[3, 3.0, 1e2, 3.5, 9223372036854775808, 1e300, \"3\"]");
    CHECK(wsss_json_as_int64(wsss_json_at(v, 0), &i) == WSSS_OK && i == 3, "int 3");
    CHECK(wsss_json_as_int64(wsss_json_at(v, 1), &i) == WSSS_OK && i == 3, "integral double 3.0");
    CHECK(wsss_json_as_int64(wsss_json_at(v, 2), &i) == WSSS_OK && i == 100, "1e2");
    CHECK(wsss_json_as_int64(wsss_json_at(v, 3), &i) == WSSS_ERR, "3.5 not an integer");
    CHECK(wsss_json_as_int64(wsss_json_at(v, 4), &i) == WSSS_ERR, "2^63 not an int64");
    CHECK(!wsss_json_at(v, 4)->is_int, "2^63 is_int 0");
    CHECK(wsss_json_as_int64(wsss_json_at(v, 5), &i) == WSSS_ERR, "1e300 not exact");
    CHECK(wsss_json_as_int64(wsss_json_at(v, 6), &i) == WSSS_ERR, "string not an integer");
    wsss_json_free(v);

    expect_err("01", "leading zero");
    expect_err("-", "expected a digit");
    expect_err("+1", "byte 0");
    expect_err("1.", "after '.'");
    expect_err(".5", "byte 0");
    expect_err("1e", "exponent");
    expect_err("1e+", "exponent");
    expect_err("1e999", "out of range");
    expect_err("-1e999", "out of range");
    expect_err("NaN", "byte 0");
    expect_err("Infinity", "byte 0");
    expect_err("0x10", "trailing characters");
    expect_err("1 2", "byte 2: trailing characters");
}

static void test_structure(void) {
    const char *doc = " {\"a\": [1, true, false, null, {\"b\": \"c\"}], \"d\": {}, \"e\": [], \"f\": -2.5,"
                      " \"g\": \"x\", \"h\": true} ";
    wsss_json *v = parse(doc);
    CHECK(v && v->type == WSSS_JSON_OBJECT, "object: %s", wsss_error_msg());
    if (!v) return;
    CHECK(wsss_json_len(v) == 6, "6 members");
    CHECK(strcmp(v->keys[0], "a") == 0 && strcmp(v->keys[5], "h") == 0, "member order kept");
    const wsss_json *a = wsss_json_get(v, "a");
    CHECK(wsss_json_is(a, WSSS_JSON_ARRAY) && wsss_json_len(a) == 5, "array a");
    int b;
    CHECK(wsss_json_as_bool(wsss_json_at(a, 1), &b) == WSSS_OK && b == 1, "true");
    CHECK(wsss_json_as_bool(wsss_json_at(a, 2), &b) == WSSS_OK && b == 0, "false");
    CHECK(wsss_json_is(wsss_json_at(a, 3), WSSS_JSON_NULL), "null");
    CHECK(wsss_json_at(a, 5) == NULL && wsss_json_at(a, -1) == NULL, "out of range");
    CHECK(strcmp(wsss_json_get_string(wsss_json_at(a, 4), "b", "?"), "c") == 0, "nested");
    CHECK(wsss_json_len(wsss_json_get(v, "d")) == 0 && wsss_json_is(wsss_json_get(v, "d"), WSSS_JSON_OBJECT),
          "empty object");
    CHECK(wsss_json_len(wsss_json_get(v, "e")) == 0 && wsss_json_is(wsss_json_get(v, "e"), WSSS_JSON_ARRAY),
          "empty array");
    CHECK(wsss_json_get_double(v, "f", 0) == -2.5, "get_double");
    CHECK(wsss_json_get_double(v, "g", 7) == 7, "get_double default on wrong type");
    CHECK(wsss_json_get_int64(v, "zz", 9) == 9, "get_int64 default when absent");
    CHECK(wsss_json_get_bool(v, "h", 0) == 1, "get_bool");
    CHECK(wsss_json_get(v, "zz") == NULL && wsss_json_get(a, "a") == NULL, "get on absent / non-object");
    CHECK(wsss_json_as_string(wsss_json_get(v, "g")) && !wsss_json_as_string(wsss_json_get(v, "f")), "as_string");
    CHECK(wsss_json_get(v, "a")->offset == 7, "offset of a value (%zu)", wsss_json_get(v, "a")->offset);
    CHECK(wsss_json_get(NULL, "a") == NULL && wsss_json_len(NULL) == 0, "NULL-safe accessors");
    wsss_json_free(v);

    /* depth: 64 nested arrays parse, 65 do not */
    char deep[200];
    for (int n = 64; n <= 65; n++) {
        for (int i = 0; i < n; i++) deep[i] = '[', deep[2 * n - 1 - i] = ']';
        deep[2 * n] = 0;
        wsss_json *d = parse(deep);
        if (n == 64) CHECK(d != NULL, "64 levels: %s", wsss_error_msg());
        else CHECK(d == NULL && strstr(wsss_error_msg(), "byte 64: nesting deeper than 64"), "65 levels: %s",
                   wsss_error_msg());
        wsss_json_free(d);
    }
    /* a very deep document must not recurse unboundedly */
    size_t big = 200000;
    char *huge = malloc(big + 1);
    memset(huge, '[', big);
    huge[big] = 0;
    wsss_json *h = wsss_json_parse(huge, big);
    CHECK(h == NULL && strstr(wsss_error_msg(), "nesting"), "huge depth rejected");
    free(huge);

    expect_err("", "byte 0: expected a value, got end of input");
    expect_err("   ", "byte 3");
    expect_err("{", "byte 1: expected a string key");
    expect_err("{\"a\"}", "byte 4: expected ':'");
    expect_err("{\"a\":}", "byte 5: expected a value");
    expect_err("{\"a\":1,}", "byte 7: expected a string key");
    expect_err("{\"a\":1 \"b\":2}", "byte 7: expected ',' or '}'");
    expect_err("{a:1}", "expected a string key");
    expect_err("[1,]", "byte 3: expected a value");
    expect_err("[1 2]", "expected ',' or ']'");
    expect_err("[", "end of input");
    expect_err("tru", "invalid literal");
    expect_err("nul", "invalid literal");
    expect_err("True", "expected a value");
    expect_err("{\"a\":1,\"a\":2}", "duplicate key \"a\"");
    expect_err("{\"k\":{\"x\":1,\"y\":2,\"x\":3}}", "byte 18: duplicate key \"x\"");
    expect_err("{\"\\u0061\":1,\"a\":2}", "duplicate key"); /* same key after unescaping */
    expect_err("[1] // comment", "trailing characters");
    wsss_json *lim = wsss_json_parse_limited("[1,2,3]", 7, 4);
    CHECK(lim != NULL && wsss_json_len(lim) == 3, "4 values within a limit of 4");
    wsss_json_free(lim);
    CHECK(wsss_json_parse_limited("[1,2,3,4]", 9, 4) == NULL && strstr(wsss_error_msg(), "byte 7: more than 4"),
          "limit exceeded: %s", wsss_error_msg());
    expect_err("\xef\xbb\xbf{}", "byte 0"); /* a BOM is not JSON */
    /* explicit length: bytes after len are not looked at, a NUL inside is an error */
    wsss_json *v2 = wsss_json_parse("[1]garbage", 3);
    CHECK(v2 && wsss_json_len(v2) == 1, "explicit length");
    wsss_json_free(v2);
    CHECK(wsss_json_parse("[1]\0", 4) == NULL, "NUL after value is trailing garbage");
    /* keys differing only in a NUL are distinct */
    v2 = parse("{\"a\\u0000\":1,\"a\":2}");
    CHECK(v2 && v2->key_lens[0] == 2 && v2->key_lens[1] == 1, "NUL in key kept with its length");
    wsss_json_free(v2);
}

static void test_writer(void) {
    wsss_jw w;
    wsss_jw_init(&w, 0);
    wsss_jw_obj_begin(&w);
    wsss_jw_kv_string(&w, "s", "q\"b\\n\n\t\x01\x1f\x7f \xc3\xa9/");
    wsss_jw_kv_int(&w, "i", INT64_MIN);
    wsss_jw_kv_double(&w, "d", 0.1);
    wsss_jw_kv_double(&w, "big", 1e300);
    wsss_jw_kv_double(&w, "two", 2.0);
    wsss_jw_kv_double(&w, "nan", NAN);
    wsss_jw_kv_bool(&w, "t", 1);
    wsss_jw_key(&w, "arr");
    wsss_jw_arr_begin(&w);
    wsss_jw_int(&w, 1);
    wsss_jw_arr_begin(&w);
    wsss_jw_arr_end(&w);
    wsss_jw_obj_begin(&w);
    wsss_jw_obj_end(&w);
    wsss_jw_null(&w);
    wsss_jw_double(&w, -1.25e-7);
    wsss_jw_arr_end(&w);
    wsss_jw_key(&w, "k\"ey");
    wsss_jw_string_n(&w, "a\0b", 3);
    wsss_jw_obj_end(&w);
    const char *want = "{\"s\":\"q\\\"b\\\\n\\n\\t\\u0001\\u001f\\u007f \xc3\xa9/\",\"i\":-9223372036854775808,"
                       "\"d\":0.1,\"big\":1e+300,\"two\":2.0,\"nan\":null,\"t\":true,"
                       "\"arr\":[1,[],{},null,-1.25e-07],\"k\\\"ey\":\"a\\u0000b\"}";
    CHECK(strcmp(w.buf, want) == 0, "writer output:\n%s\nexpected:\n%s", w.buf, want);

    /* parse back */
    wsss_json *v = wsss_json_parse(w.buf, w.len);
    CHECK(v != NULL, "writer output parses: %s", wsss_error_msg());
    CHECK(strcmp(wsss_json_get_string(v, "s", ""), "q\"b\\n\n\t\x01\x1f\x7f \xc3\xa9/") == 0, "string back");
    CHECK(wsss_json_get_int64(v, "i", 0) == INT64_MIN, "int back");
    CHECK(wsss_json_get_double(v, "d", 0) == 0.1, "double back");
    const wsss_json *s = wsss_json_get(v, "k\"ey");
    CHECK(s && s->str_len == 3 && memcmp(s->str, "a\0b", 3) == 0, "NUL string back");
    wsss_json_free(v);

    /* shortest round-trip doubles */
    double vals[] = {1.0 / 3.0, 5e-324, 1.7976931348623157e308, -0.0, 123456789.0, 0.30000000000000004, 1e21};
    for (size_t k = 0; k < sizeof vals / sizeof *vals; k++) {
        wsss_jw d;
        wsss_jw_init(&d, 0);
        wsss_jw_double(&d, vals[k]);
        wsss_json *p = wsss_json_parse(d.buf, d.len);
        CHECK(p && p->number == vals[k] && signbit(p->number) == signbit(vals[k]), "double %.17g -> %s", vals[k],
              d.buf);
        wsss_json_free(p);
        wsss_jw_free(&d);
    }

    char *taken = wsss_jw_take(&w);
    CHECK(w.len == 0 && w.buf[0] == 0, "take resets");
    free(taken);

    /* indented output */
    wsss_jw_free(&w);
    wsss_jw_init(&w, 2);
    wsss_jw_obj_begin(&w);
    wsss_jw_kv_int(&w, "a", 1);
    wsss_jw_key(&w, "b");
    wsss_jw_arr_begin(&w);
    wsss_jw_int(&w, 2);
    wsss_jw_int(&w, 3);
    wsss_jw_arr_end(&w);
    wsss_jw_key(&w, "c");
    wsss_jw_obj_begin(&w);
    wsss_jw_obj_end(&w);
    wsss_jw_obj_end(&w);
    const char *want2 = "{\n  \"a\": 1,\n  \"b\": [\n    2,\n    3\n  ],\n  \"c\": {}\n}";
    CHECK(strcmp(w.buf, want2) == 0, "indented:\n%s", w.buf);

    /* plain string builder */
    wsss_jw_free(&w);
    wsss_jw_init(&w, 0);
    for (int i = 0; i < 1000; i++) wsss_jw_printf(&w, "%d,", i % 10);
    CHECK(w.len == 2000 && strncmp(w.buf, "0,1,2,", 6) == 0, "builder growth");
    wsss_jw_free(&w);
}

int main(void) {
    test_strings();
    test_numbers();
    test_structure();
    test_writer();
    return test_summary("test_json");
}
