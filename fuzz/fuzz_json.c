/* libFuzzer harness: the JSON parser and what reads JSON from user files (a checkpoint's
 * state.json, the stage configs stored in it). A parsed document must survive a round trip
 * through the writer unchanged, the value limit must not change what a document means, and the
 * pull scanner (json_scan.h) must accept what the parser accepts, and reject what it rejects but
 * for duplicate keys, with the same message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/checkpoint.h"
#include "wsss/error.h"
#include "wsss/json.h"
#include "wsss/json_scan.h"
#include "wsss/train_cls.h"
#include "wsss/train_seg.h"

static int same_json(const wsss_json *a, const wsss_json *b) {
    if (a->type != b->type) return 0;
    switch (a->type) {
    case WSSS_JSON_NULL: return 1;
    case WSSS_JSON_BOOL: return a->boolean == b->boolean;
    case WSSS_JSON_NUMBER:
        return a->number == b->number && a->is_int == b->is_int && (!a->is_int || a->ival == b->ival);
    case WSSS_JSON_STRING: return a->str_len == b->str_len && memcmp(a->str, b->str, a->str_len) == 0;
    case WSSS_JSON_ARRAY:
    case WSSS_JSON_OBJECT:
        if (a->n != b->n) return 0;
        for (int i = 0; i < a->n; i++) {
            if (a->type == WSSS_JSON_OBJECT &&
                (a->key_lens[i] != b->key_lens[i] || memcmp(a->keys[i], b->keys[i], a->key_lens[i]) != 0))
                return 0;
            if (!same_json(a->items[i], b->items[i])) return 0;
        }
        return 1;
    }
    return 0;
}

/* The writer takes NUL-terminated keys; a key with \u0000 in it cannot be written back. */
static int has_nul_key(const wsss_json *v) {
    for (int i = 0; i < v->n; i++) {
        if (v->type == WSSS_JSON_OBJECT && strlen(v->keys[i]) != v->key_lens[i]) return 1;
        if (has_nul_key(v->items[i])) return 1;
    }
    return 0;
}

static void write_json(wsss_jw *w, const wsss_json *v) {
    switch (v->type) {
    case WSSS_JSON_NULL: wsss_jw_null(w); break;
    case WSSS_JSON_BOOL: wsss_jw_bool(w, v->boolean); break;
    case WSSS_JSON_NUMBER:
        if (v->is_int) wsss_jw_int(w, v->ival);
        else wsss_jw_double(w, v->number);
        break;
    case WSSS_JSON_STRING: wsss_jw_string_n(w, v->str, v->str_len); break;
    case WSSS_JSON_ARRAY:
        wsss_jw_arr_begin(w);
        for (int i = 0; i < v->n; i++) write_json(w, v->items[i]);
        wsss_jw_arr_end(w);
        break;
    case WSSS_JSON_OBJECT:
        wsss_jw_obj_begin(w);
        for (int i = 0; i < v->n; i++) {
            wsss_jw_key(w, v->keys[i]);
            write_json(w, v->items[i]);
        }
        wsss_jw_obj_end(w);
        break;
    }
}

static void check_round_trip(const wsss_json *v, int indent) {
    wsss_jw w;
    wsss_jw_init(&w, indent);
    write_json(&w, v);
    wsss_json *back = wsss_json_parse(w.buf, w.len);
    if (!back || !same_json(v, back)) abort(); /* the writer's output must read back as the same document */
    wsss_json_free(back);
    wsss_jw_free(&w);
}

/* The readers of JSON from user files, on a document that parses (anything else fails in the parse
 * they start with, which the caller already exercised). */
static void read_as_user_files(const wsss_json *v, const uint8_t *data, size_t size) {
    wsss_ckpt_state st;
    wsss_ckpt_state_init(&st);
    int has_opt = 0;
    (void)wsss_ckpt_state_parse("state.json", (const char *)data, size, &st, &has_opt);
    wsss_ckpt_state_clear(&st);
    if (!wsss_json_get(v, "stage")) return; /* the configs' tag */
    char *z = malloc(size + 1);            /* configs are NUL-terminated text */
    memcpy(z, data, size);
    z[size] = 0;
    void *storage = NULL;
    wsss_train_cls_config cls;
    (void)wsss_cfg_from_json(&wsss_train_cls_config_table, z, &cls, &storage);
    wsss_cfg_free_storage(storage);
    wsss_train_seg_config seg;
    storage = NULL;
    (void)wsss_cfg_from_json(&wsss_train_seg_config_table, z, &seg, &storage);
    wsss_cfg_free_storage(storage);
    free(z);
}

/* The scanner skipping the whole document agrees with the parser's verdict (v) and message. */
static void check_scanner(const char *text, size_t size, const wsss_json *v) {
    char dom_msg[2048];
    snprintf(dom_msg, sizeof dom_msg, "%s", wsss_error_msg());
    wsss_json_scan *sc = wsss_json_scan_new(text, size);
    int ok = wsss_json_scan_skip(sc, NULL, NULL) == WSSS_OK && wsss_json_scan_finish(sc) == WSSS_OK;
    wsss_json_scan_free(sc);
    if (v && !ok) abort();
    /* a duplicate key is found when its object closes; a later error may then be the scanner's */
    if (!v && !ok && strcmp(dom_msg, wsss_error_msg()) != 0 && !strstr(dom_msg, "duplicate key")) abort();
    if (!v && ok && !strstr(dom_msg, "duplicate key")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    wsss_error_clear();
    wsss_json *v = wsss_json_parse(text, size);
    check_scanner(text, size, v);
    if (v) {
        if (!has_nul_key(v)) check_round_trip(v, size % 2 ? 2 : 0); /* compact or indented */
        /* the accessors on whatever came out */
        for (int i = 0; i < wsss_json_len(v); i++) {
            const wsss_json *item = v->type == WSSS_JSON_ARRAY ? wsss_json_at(v, i) : v->items[i];
            int64_t i64;
            double d;
            int b;
            (void)wsss_json_as_int64(item, &i64);
            (void)wsss_json_as_double(item, &d);
            (void)wsss_json_as_bool(item, &b);
            (void)wsss_json_as_string(item);
            /* every member is found by its name (a name with \u0000 in it has no C-string lookup) */
            if (v->type == WSSS_JSON_OBJECT && strlen(v->keys[i]) == v->key_lens[i] &&
                wsss_json_get(v, v->keys[i]) != v->items[i])
                abort();
        }
        if (v->type == WSSS_JSON_OBJECT) read_as_user_files(v, data, size);
    }
    /* a value limit only ever turns a success into a failure */
    wsss_json *lim = wsss_json_parse_limited(text, size, 16);
    if (lim && (!v || !same_json(v, lim))) abort();
    wsss_json_free(lim);
    wsss_json_free(v);
    wsss_error_clear();
    return 0;
}
