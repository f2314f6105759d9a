/* A run configuration struct described by a table of (name, kind, offset) fields, written to and
 * read from JSON with one generic routine, so a stage's config and its checkpointed text stay in
 * sync (train-cls, train-seg and the methods built on them each declare only their table).
 *
 * The JSON object carries a tag (tag_key: tag, e.g. "stage": "train-cls") that from_json checks,
 * so one stage's checkpoint is not mistaken for another's. Fields missing from the text keep the
 * defaults already in the struct (older configs stay readable). */
#ifndef WSSS_CONFIG_TABLE_H
#define WSSS_CONFIG_TABLE_H

#include <stddef.h>

/* One accepted word of a setting and the enum value it stands for; lists end with {NULL, 0}. The
 * command line (tools/cli.h) and the stored configs share these lists, so a setting has one
 * spelling everywhere. */
typedef struct wsss_choice {
    const char *name;
    int value;
} wsss_choice;

/* The value named name in choices: WSSS_OK, or WSSS_ERR without a message. */
int wsss_choice_parse(const wsss_choice *choices, const char *name, int *value);
/* Whether value is one of the list's (a typed setting outside its list is a programmer error). */
int wsss_choice_has(const wsss_choice *choices, int value);
/* The word of value (a value missing from the list is a programmer error). */
const char *wsss_choice_name(const wsss_choice *choices, int value);
/* "a, b or c" into buf. */
void wsss_choice_list(const wsss_choice *choices, char *buf, size_t cap);

typedef enum { WSSS_CFG_STR, WSSS_CFG_INT, WSSS_CFG_DBL, WSSS_CFG_ENUM } wsss_cfg_kind;

typedef struct wsss_cfg_field {
    const char *name;
    wsss_cfg_kind kind; /* STR: const char *, INT: int, DBL: double, ENUM: an enum stored as its word */
    size_t offset;
    const wsss_choice *choices; /* ENUM only */
} wsss_cfg_field;

#define WSSS_CFG_S(type, f) {#f, WSSS_CFG_STR, offsetof(type, f), NULL}
#define WSSS_CFG_I(type, f) {#f, WSSS_CFG_INT, offsetof(type, f), NULL}
#define WSSS_CFG_D(type, f) {#f, WSSS_CFG_DBL, offsetof(type, f), NULL}
#define WSSS_CFG_E(type, f, choices) {#f, WSSS_CFG_ENUM, offsetof(type, f), (choices)}

/* A configuration struct's description: its tag, its fields and its defaults. */
typedef struct wsss_cfg_table {
    const char *tag_key, *tag; /* e.g. "stage": "train-cls" */
    const wsss_cfg_field *fields;
    int n_fields;
    size_t size;                    /* sizeof the struct */
    void (*set_default)(void *cfg); /* the struct's defaults */
} wsss_cfg_table;

/* JSON text (malloc'd) of the fields of the struct at base. */
char *wsss_cfg_to_json(const wsss_cfg_table *t, const void *base);
/* The defaults, then text parsed into the struct at base. Parsed strings point into *storage,
 * freed with wsss_cfg_free_storage (also after a failure). */
int wsss_cfg_from_json(const wsss_cfg_table *t, const char *text, void *base, void **storage);
void wsss_cfg_free_storage(void *storage);

#endif
