/* state.json of a checkpoint directory (checkpoint.h): the state's text form, written and parsed
 * with every field validated (errors name the file and the field). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wsss/checkpoint.h"
#include "wsss/error.h"
#include "wsss/json.h"

#define CKPT_FORMAT "wsss-checkpoint"

void wsss_ckpt_state_init(wsss_ckpt_state *s) {
    memset(s, 0, sizeof *s);
    s->sched = wsss_lr_constant(0.0);
}

void wsss_ckpt_state_clear(wsss_ckpt_state *s) {
    free(s->config);
    s->config = NULL;
}

void wsss_ckpt_state_set_config(wsss_ckpt_state *s, const char *config) {
    free(s->config);
    s->config = config ? wsss_xstrdup(config) : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* state.json                                                                                  */

static void hex_u64(char *buf, size_t n, uint64_t v) { snprintf(buf, n, "0x%016" PRIx64, v); }

static void write_sched(wsss_jw *w, const wsss_lr_schedule *s) {
    wsss_jw_key(w, "lr_schedule");
    wsss_jw_obj_begin(w);
    wsss_jw_kv_string(w, "kind", wsss_lr_kind_name(s->kind));
    wsss_jw_kv_double(w, "base_lr", s->base_lr);
    wsss_jw_kv_double(w, "gamma", s->gamma);
    wsss_jw_key(w, "milestones");
    wsss_jw_arr_begin(w);
    for (int i = 0; i < s->n_milestones; i++) wsss_jw_int(w, s->milestones[i]);
    wsss_jw_arr_end(w);
    wsss_jw_kv_double(w, "power", s->power);
    wsss_jw_kv_int(w, "max_iter", s->max_iter);
    wsss_jw_obj_end(w);
}

/* "parts" and "phase" of a multi-part checkpoint */
static void write_parts(wsss_jw *w, const wsss_ckpt_state *state) {
    wsss_jw_key(w, "parts");
    wsss_jw_arr_begin(w);
    for (int i = 0; i < state->n_parts; i++) {
        const wsss_ckpt_part *p = &state->parts[i];
        wsss_jw_obj_begin(w);
        wsss_jw_kv_string(w, "name", p->name);
        wsss_jw_kv_int(w, "steps", p->steps);
        wsss_jw_kv_double(w, "lr", p->lr);
        write_sched(w, &p->sched);
        wsss_jw_obj_end(w);
    }
    wsss_jw_arr_end(w);
    wsss_jw_kv_int(w, "phase", state->phase);
}

char *wsss_ckpt_state_to_json(const wsss_ckpt_state *state, int has_optimizer) {
    wsss_jw w;
    wsss_jw_init(&w, 2);
    char hex[32];
    wsss_jw_obj_begin(&w);
    wsss_jw_kv_string(&w, "format", CKPT_FORMAT);
    wsss_jw_kv_int(&w, "version", WSSS_CKPT_VERSION);
    wsss_jw_kv_int(&w, "step", state->step);
    wsss_jw_kv_int(&w, "epoch", state->epoch);
    wsss_jw_kv_double(&w, "lr", state->lr);

    write_sched(&w, &state->sched);

    /* RNG words as hex strings: JSON numbers cannot hold 64-bit integers portably. The spare is
     * stored as its IEEE-754 bit pattern so it round-trips exactly. */
    wsss_jw_key(&w, "rng");
    wsss_jw_obj_begin(&w);
    wsss_jw_key(&w, "s");
    wsss_jw_arr_begin(&w);
    for (int i = 0; i < 4; i++) {
        hex_u64(hex, sizeof hex, state->rng.s[i]);
        wsss_jw_string(&w, hex);
    }
    wsss_jw_arr_end(&w);
    uint64_t bits;
    memcpy(&bits, &state->rng.spare, sizeof bits);
    hex_u64(hex, sizeof hex, bits);
    wsss_jw_kv_string(&w, "spare_bits", hex);
    wsss_jw_kv_bool(&w, "has_spare", state->rng.has_spare);
    wsss_jw_obj_end(&w);

    wsss_jw_key(&w, "data_position");
    wsss_jw_arr_begin(&w);
    for (int i = 0; i < state->n_data_pos; i++) wsss_jw_int(&w, state->data_pos[i]);
    wsss_jw_arr_end(&w);

    wsss_jw_key(&w, "config");
    if (state->config)
        wsss_jw_string(&w, state->config);
    else
        wsss_jw_null(&w);

    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    wsss_jw_kv_string(&w, "timestamp", ts);
    wsss_jw_kv_bool(&w, "has_optimizer", has_optimizer);
    if (state->n_parts > 0) write_parts(&w, state);
    wsss_jw_obj_end(&w);
    wsss_jw_append(&w, "\n", 1);
    char *out = wsss_jw_take(&w);
    wsss_jw_free(&w); /* take leaves w re-initialised */
    return out;
}

/* Field readers: error "<file>: field '<name>' ..." on anything unexpected. */
static const wsss_json *field(const char *file, const wsss_json *obj, const char *prefix, const char *key,
                              wsss_json_type type) {
    const wsss_json *v = wsss_json_get(obj, key);
    if (!v) {
        wsss_error_set("%s: field '%s%s' missing", file, prefix, key);
        return NULL;
    }
    if (!wsss_json_is(v, type)) {
        wsss_error_set("%s: field '%s%s' is a %s, expected a %s", file, prefix, key, wsss_json_type_name(v->type),
                       wsss_json_type_name(type));
        return NULL;
    }
    return v;
}

static int field_int(const char *file, const wsss_json *obj, const char *prefix, const char *key, int64_t *out) {
    const wsss_json *v = field(file, obj, prefix, key, WSSS_JSON_NUMBER);
    if (!v) return WSSS_ERR;
    if (wsss_json_as_int64(v, out) != WSSS_OK)
        return wsss_error_set("%s: field '%s%s' is %g, expected an integer", file, prefix, key, v->number);
    return WSSS_OK;
}

static int field_double(const char *file, const wsss_json *obj, const char *prefix, const char *key, double *out) {
    const wsss_json *v = field(file, obj, prefix, key, WSSS_JSON_NUMBER);
    if (!v) return WSSS_ERR;
    *out = v->number;
    return WSSS_OK;
}

static int parse_hex_u64(const char *s, uint64_t *out) {
    if (!s || strncmp(s, "0x", 2) != 0 || strlen(s) != 18) return WSSS_ERR;
    uint64_t v = 0;
    for (int i = 2; i < 18; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return WSSS_ERR;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return WSSS_OK;
}

/* the "lr_schedule" object of obj (at: where obj is, "" or "parts[i].", for messages) */
static int parse_sched(const char *file, const wsss_json *obj, const char *at, wsss_lr_schedule *s) {
    char pre[64];
    snprintf(pre, sizeof pre, "%slr_schedule.", at);
    const wsss_json *sched = field(file, obj, at, "lr_schedule", WSSS_JSON_OBJECT), *v, *arr;
    if (!sched) return WSSS_ERR;
    if (!(v = field(file, sched, pre, "kind", WSSS_JSON_STRING))) return WSSS_ERR;
    if (wsss_lr_kind_parse(v->str, &s->kind) != WSSS_OK)
        return wsss_error_set("%s: field '%skind' is \"%s\", expected \"constant\", \"step\", \"poly\" or \"cosine\"",
                              file, pre, v->str);
    if (field_double(file, sched, pre, "base_lr", &s->base_lr) || field_double(file, sched, pre, "gamma", &s->gamma) ||
        field_double(file, sched, pre, "power", &s->power) || field_int(file, sched, pre, "max_iter", &s->max_iter))
        return WSSS_ERR;
    if (!(arr = field(file, sched, pre, "milestones", WSSS_JSON_ARRAY))) return WSSS_ERR;
    if (arr->n > WSSS_LR_MAX_MILESTONES)
        return wsss_error_set("%s: field '%smilestones' has %d entries, at most %d allowed", file, pre, arr->n,
                              WSSS_LR_MAX_MILESTONES);
    s->n_milestones = arr->n;
    for (int i = 0; i < arr->n; i++)
        if (wsss_json_as_int64(arr->items[i], &s->milestones[i]) != WSSS_OK)
            return wsss_error_set("%s: field '%smilestones[%d]' is not an integer", file, pre, i);
    if ((s->kind == WSSS_LR_POLY || s->kind == WSSS_LR_COSINE) && s->max_iter <= 0)
        return wsss_error_set("%s: field '%smax_iter' is %lld, expected > 0 for a %s schedule", file, pre,
                              (long long)s->max_iter, wsss_lr_kind_name(s->kind));
    return WSSS_OK;
}

int wsss_ckpt_part_name_ok(const char *name) {
    const size_t n = name ? strlen(name) : 0;
    if (n < 1 || n >= WSSS_CKPT_PART_NAME) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_')) return 0;
    return 1;
}

/* the optional "parts" and "phase" of a multi-part checkpoint (both or neither) */
static int parse_parts(const char *file, const wsss_json *root, wsss_ckpt_state *s) {
    const wsss_json *arr = wsss_json_get(root, "parts"), *ph = wsss_json_get(root, "phase");
    if (!arr && !ph) return WSSS_OK;
    if (!(arr = field(file, root, "", "parts", WSSS_JSON_ARRAY))) return WSSS_ERR;
    if (arr->n < 2 || arr->n > WSSS_CKPT_MAX_PARTS)
        return wsss_error_set("%s: field 'parts' has %d entries, expected 2 to %d", file, arr->n, WSSS_CKPT_MAX_PARTS);
    s->n_parts = arr->n;
    for (int i = 0; i < arr->n; i++) {
        char at[32];
        snprintf(at, sizeof at, "parts[%d].", i);
        const wsss_json *p = arr->items[i], *v;
        if (!wsss_json_is(p, WSSS_JSON_OBJECT))
            return wsss_error_set("%s: field 'parts[%d]' is a %s, expected a object", file, i, wsss_json_type_name(p->type));
        wsss_ckpt_part *part = &s->parts[i];
        if (!(v = field(file, p, at, "name", WSSS_JSON_STRING))) return WSSS_ERR;
        if (!wsss_ckpt_part_name_ok(v->str))
            return wsss_error_set("%s: field '%sname' is \"%s\", expected 1 to %d characters of a-z, 0-9 and _", file,
                                  at, v->str, WSSS_CKPT_PART_NAME - 1);
        for (int j = 0; j < i; j++)
            if (strcmp(s->parts[j].name, v->str) == 0)
                return wsss_error_set("%s: field '%sname': part \"%s\" appears twice", file, at, v->str);
        snprintf(part->name, sizeof part->name, "%s", v->str);
        if (field_int(file, p, at, "steps", &part->steps) || field_double(file, p, at, "lr", &part->lr) ||
            parse_sched(file, p, at, &part->sched) != WSSS_OK)
            return WSSS_ERR;
        if (part->steps < 0) return wsss_error_set("%s: field '%ssteps' is negative", file, at);
    }
    int64_t phase;
    if (field_int(file, root, "", "phase", &phase)) return WSSS_ERR;
    if (phase < 0 || phase >= ((int64_t)1 << arr->n))
        return wsss_error_set("%s: field 'phase' is %lld, expected a set of the %d parts (0 to %d)", file,
                              (long long)phase, arr->n, (1 << arr->n) - 1);
    s->phase = (unsigned)phase;
    return WSSS_OK;
}

int wsss_ckpt_state_parse(const char *file, const char *text, size_t len, wsss_ckpt_state *state, int *has_optimizer) {
    wsss_json *root = wsss_json_parse(text, len);
    if (!root) return wsss_error_prefix("%s", file);
    int rc = WSSS_ERR;
    wsss_ckpt_state s;
    wsss_ckpt_state_init(&s);
    const wsss_json *v, *rng, *arr;
    if (!wsss_json_is(root, WSSS_JSON_OBJECT)) {
        wsss_error_set("%s: expected a JSON object at the top level, found a %s", file, wsss_json_type_name(root->type));
        goto done;
    }
    if (!(v = field(file, root, "", "format", WSSS_JSON_STRING))) goto done;
    if (strcmp(v->str, CKPT_FORMAT) != 0) {
        wsss_error_set("%s: field 'format' is \"%s\", expected \"%s\"", file, v->str, CKPT_FORMAT);
        goto done;
    }
    int64_t version;
    if (field_int(file, root, "", "version", &version)) goto done;
    if (version != WSSS_CKPT_VERSION) {
        wsss_error_set("%s: field 'version' is %lld, expected %d (checkpoint written by another wsss version)", file,
                       (long long)version, WSSS_CKPT_VERSION);
        goto done;
    }
    if (field_int(file, root, "", "step", &s.step) || field_int(file, root, "", "epoch", &s.epoch) ||
        field_double(file, root, "", "lr", &s.lr))
        goto done;
    if (s.step < 0 || s.epoch < 0) {
        wsss_error_set("%s: field '%s' is negative", file, s.step < 0 ? "step" : "epoch");
        goto done;
    }

    if (parse_sched(file, root, "", &s.sched) != WSSS_OK) goto done;

    if (!(rng = field(file, root, "", "rng", WSSS_JSON_OBJECT))) goto done;
    if (!(arr = field(file, rng, "rng.", "s", WSSS_JSON_ARRAY))) goto done;
    if (arr->n != 4) {
        wsss_error_set("%s: field 'rng.s' has %d entries, expected 4", file, arr->n);
        goto done;
    }
    for (int i = 0; i < 4; i++)
        if (parse_hex_u64(wsss_json_as_string(arr->items[i]), &s.rng.s[i]) != WSSS_OK) {
            wsss_error_set("%s: field 'rng.s[%d]' is not a \"0x\" + 16 hex digit string", file, i);
            goto done;
        }
    if (!(s.rng.s[0] | s.rng.s[1] | s.rng.s[2] | s.rng.s[3])) {
        wsss_error_set("%s: field 'rng.s' is all zero (not a valid xoshiro256** state)", file);
        goto done;
    }
    uint64_t bits;
    if (!(v = field(file, rng, "rng.", "spare_bits", WSSS_JSON_STRING))) goto done;
    if (parse_hex_u64(v->str, &bits) != WSSS_OK) {
        wsss_error_set("%s: field 'rng.spare_bits' is not a \"0x\" + 16 hex digit string", file);
        goto done;
    }
    memcpy(&s.rng.spare, &bits, sizeof bits);
    if (!(v = field(file, rng, "rng.", "has_spare", WSSS_JSON_BOOL))) goto done;
    s.rng.has_spare = v->boolean;

    if (!(arr = field(file, root, "", "data_position", WSSS_JSON_ARRAY))) goto done;
    if (arr->n > WSSS_CKPT_MAX_DATA_POS) {
        wsss_error_set("%s: field 'data_position' has %d entries, at most %d allowed", file, arr->n,
                       WSSS_CKPT_MAX_DATA_POS);
        goto done;
    }
    s.n_data_pos = arr->n;
    for (int i = 0; i < arr->n; i++)
        if (wsss_json_as_int64(arr->items[i], &s.data_pos[i]) != WSSS_OK) {
            wsss_error_set("%s: field 'data_position[%d]' is not an integer", file, i);
            goto done;
        }

    v = wsss_json_get(root, "config");
    if (!v) {
        wsss_error_set("%s: field 'config' missing", file);
        goto done;
    }
    if (wsss_json_is(v, WSSS_JSON_STRING)) {
        if (strlen(v->str) != v->str_len) {
            wsss_error_set("%s: field 'config' contains a NUL character", file);
            goto done;
        }
        s.config = wsss_xstrdup(v->str);
    } else if (!wsss_json_is(v, WSSS_JSON_NULL)) {
        wsss_error_set("%s: field 'config' is a %s, expected a string or null", file, wsss_json_type_name(v->type));
        goto done;
    }
    if (!(v = field(file, root, "", "timestamp", WSSS_JSON_STRING))) goto done;
    snprintf(s.timestamp, sizeof s.timestamp, "%s", v->str);
    if (!(v = field(file, root, "", "has_optimizer", WSSS_JSON_BOOL))) goto done;
    *has_optimizer = v->boolean;
    if (parse_parts(file, root, &s) != WSSS_OK) goto done;

    wsss_ckpt_state_clear(state); /* hand s over, its config string with it */
    *state = s;
    s.config = NULL;
    rc = WSSS_OK;
done:
    wsss_ckpt_state_clear(&s);
    wsss_json_free(root);
    return rc;
}

