/* Table-driven config <-> JSON (config_table.h). */
#include "wsss/config_table.h"

#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wsss/error.h"
#include "wsss/json.h"

int wsss_choice_parse(const wsss_choice *choices, const char *name, int *value) {
    for (const wsss_choice *c = choices; name && c->name; c++)
        if (strcmp(c->name, name) == 0) {
            *value = c->value;
            return WSSS_OK;
        }
    return WSSS_ERR;
}

int wsss_choice_has(const wsss_choice *choices, int value) {
    for (const wsss_choice *c = choices; c->name; c++)
        if (c->value == value) return 1;
    return 0;
}

const char *wsss_choice_name(const wsss_choice *choices, int value) {
    for (const wsss_choice *c = choices; c->name; c++)
        if (c->value == value) return c->name;
    WSSS_ASSERT(0, "a setting's value outside its list of choices");
    return NULL;
}

void wsss_choice_list(const wsss_choice *choices, char *buf, size_t cap) {
    int n = 0;
    while (choices[n].name) n++;
    buf[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t k = strlen(buf);
        snprintf(buf + k, cap - k, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ", choices[i].name);
    }
}

char *wsss_cfg_to_json(const wsss_cfg_table *t, const void *base) {
    const char *tag_key = t->tag_key, *tag = t->tag;
    const wsss_cfg_field *fields = t->fields;
    const int n = t->n_fields;
    wsss_jw w;
    wsss_jw_init(&w, 0);
    wsss_jw_obj_begin(&w);
    wsss_jw_kv_string(&w, tag_key, tag);
    for (int i = 0; i < n; i++) {
        const wsss_cfg_field *f = &fields[i];
        const char *p = (const char *)base + f->offset;
        wsss_jw_key(&w, f->name);
        switch (f->kind) {
        case WSSS_CFG_STR: {
            const char *s = *(const char *const *)p;
            if (s) wsss_jw_string(&w, s);
            else wsss_jw_null(&w);
            break;
        }
        case WSSS_CFG_INT: wsss_jw_int(&w, *(const int *)p); break;
        case WSSS_CFG_DBL: wsss_jw_double(&w, *(const double *)p); break;
        case WSSS_CFG_ENUM: wsss_jw_string(&w, wsss_choice_name(f->choices, *(const int *)p)); break;
        }
    }
    wsss_jw_obj_end(&w);
    char *text = wsss_jw_take(&w);
    wsss_jw_free(&w); /* take leaves a fresh empty buffer behind */
    return text;
}

/* the parsed strings, owned until wsss_cfg_free_storage */
typedef struct str_store {
    int n;
    char **s;
} str_store;

int wsss_cfg_from_json(const wsss_cfg_table *t, const char *text, void *base, void **storage) {
    const char *tag_key = t->tag_key, *tag = t->tag;
    const wsss_cfg_field *fields = t->fields;
    const int n = t->n_fields;
    t->set_default(base);
    *storage = NULL;
    wsss_json *j = wsss_json_parse(text, strlen(text));
    if (!j) return WSSS_ERR;
    const char *got = wsss_json_get_string(j, tag_key, NULL);
    if (!wsss_json_is(j, WSSS_JSON_OBJECT) || !got || strcmp(got, tag) != 0) {
        wsss_json_free(j);
        return wsss_error_set("the stored configuration is not a %s configuration", tag);
    }
    str_store *ss = wsss_xcalloc(1, sizeof *ss);
    ss->s = wsss_xcalloc((size_t)n + 1, sizeof *ss->s);
    *storage = ss;
    int rc = WSSS_OK;
    for (int i = 0; i < n && rc == WSSS_OK; i++) {
        const wsss_cfg_field *f = &fields[i];
        char *p = (char *)base + f->offset;
        const wsss_json *v = wsss_json_get(j, f->name);
        if (!v) continue; /* an older config without the field keeps the default */
        switch (f->kind) {
        case WSSS_CFG_STR:
            if (wsss_json_is(v, WSSS_JSON_NULL)) {
                *(const char **)p = NULL;
            } else if (wsss_json_is(v, WSSS_JSON_STRING)) {
                ss->s[ss->n] = wsss_xstrdup(v->str);
                *(const char **)p = ss->s[ss->n++];
            } else {
                rc = wsss_error_set("config field \"%s\": expected a string", f->name);
            }
            break;
        case WSSS_CFG_INT: {
            int64_t x;
            if (wsss_json_as_int64(v, &x) != WSSS_OK || x < INT_MIN || x > INT_MAX)
                rc = wsss_error_set("config field \"%s\": expected an integer", f->name);
            else
                *(int *)p = (int)x;
            break;
        }
        case WSSS_CFG_DBL:
            if (wsss_json_as_double(v, (double *)p) != WSSS_OK)
                rc = wsss_error_set("config field \"%s\": expected a number", f->name);
            break;
        case WSSS_CFG_ENUM: { /* stored as its word, as the string fields these replaced */
            const char *word = wsss_json_is(v, WSSS_JSON_STRING) ? v->str : NULL;
            if (wsss_choice_parse(f->choices, word, (int *)p) != WSSS_OK) {
                char list[256];
                wsss_choice_list(f->choices, list, sizeof list);
                rc = wsss_error_set("config field \"%s\": %s%s%s (expected %s)", f->name, word ? "\"" : "",
                                    word ? word : "not a string", word ? "\"" : "", list);
            }
            break;
        }
        }
    }
    wsss_json_free(j);
    return rc;
}

void wsss_cfg_free_storage(void *storage) {
    str_store *ss = storage;
    if (!ss) return;
    for (int i = 0; i < ss->n; i++) free(ss->s[i]);
    free(ss->s);
    free(ss);
}
