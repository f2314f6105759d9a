/* The option-table parser, its --help and the one error prefix (cli.h). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "wsss/dataset.h"
#include "wsss/dist.h"
#include "wsss/error.h"

void cli_error(const char *command, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *msg = wsss_xvasprintf(fmt, ap);
    va_end(ap);
    /* one write: the lines of several MPI ranks then never interleave */
    if (wsss_dist_rank() > 0) fprintf(stderr, "wsss %s (rank %d): %s\n", command, wsss_dist_rank(), msg);
    else fprintf(stderr, "wsss %s: %s\n", command, msg);
    free(msg);
}

int cli_fail(const char *command, int code) {
    cli_error(command, "%s", wsss_error_msg());
    return code;
}

static int is_numeric(const cli_opt *o) { return o->kind == CLI_INT || o->kind == CLI_DOUBLE; }

/* The table is code: a numeric option without a range, or an integer range an int cannot hold, is
 * a programmer error. */
static void check_table(const cli_spec *spec) {
    for (int i = 0; i < spec->n_opts; i++) {
        const cli_opt *o = &spec->opts[i];
        WSSS_ASSERT(o->name && o->dest && o->help, "cli option without name, destination or help");
        WSSS_ASSERT((o->kind == CLI_FLAG) == (o->metavar == NULL), "cli: flags take no metavar, values need one");
        if (is_numeric(o)) WSSS_ASSERT(o->min < o->max, "cli: a numeric option needs a range (min < max)");
        if (o->kind == CLI_INT) WSSS_ASSERT(o->min >= INT_MIN && o->max <= INT_MAX, "cli: integer range beyond int");
        for (const char *u = o->unless; u && *u; u += strcspn(u, "|"), u += *u == '|') {
            char name[64];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(u, "|"), u);
            WSSS_ASSERT(cli_find(spec, name) >= 0, "cli: 'unless' names no option of the table");
        }
        WSSS_ASSERT((o->kind == CLI_CHOICE) == (o->choices != NULL), "cli: a choice option needs its list of words");
    }
}

/* "--a or --b" of an 'unless' list "a|b". */
static void unless_text(const char *unless, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = 0;
    for (const char *u = unless; *u && k < cap; u += strcspn(u, "|"), u += *u == '|')
        k += (size_t)snprintf(buf + k, cap - k, "%s--%.*s", k ? " or " : "", (int)strcspn(u, "|"), u);
}

/* Whether an option of the 'unless' list "a|b" was given. */
static int unless_given(const cli_spec *spec, const char *unless, const unsigned char *seen) {
    for (const char *u = unless; *u; u += strcspn(u, "|"), u += *u == '|')
        for (int k = 0; k < spec->n_opts; k++)
            if (strlen(spec->opts[k].name) == strcspn(u, "|") && strncmp(spec->opts[k].name, u, strcspn(u, "|")) == 0 &&
                seen[k])
                return 1;
    return 0;
}

int cli_find(const cli_spec *spec, const char *name) {
    for (int k = 0; k < spec->n_opts; k++)
        if (strcmp(spec->opts[k].name, name) == 0) return k;
    return -1;
}

/* Shortest decimal text that reads back as v; whole numbers without an exponent ("1000"). */
static void double_text(double v, char *buf, size_t cap) {
    if (v == (double)(long long)v && v > -1e15 && v < 1e15) {
        snprintf(buf, cap, "%lld", (long long)v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

void cli_range_text(const cli_opt *o, char *buf, size_t cap) {
    if (o->kind == CLI_INT) {
        snprintf(buf, cap, "%lld..%lld", (long long)o->min, (long long)o->max);
        return;
    }
    char lo[32], hi[32];
    double_text(o->min, lo, sizeof lo);
    double_text(o->max, hi, sizeof hi);
    snprintf(buf, cap, "%s %s %s %s %s", lo, o->flags & CLI_MIN_OPEN ? "<" : "<=", o->metavar,
             o->flags & CLI_MAX_OPEN ? "<" : "<=", hi);
}

void cli_value_text(const cli_opt *o, const void *value, char *buf, size_t cap) {
    switch (o->kind) {
    case CLI_FLAG: snprintf(buf, cap, "%s", *(const int *)value ? "on" : "off"); break;
    case CLI_INT: snprintf(buf, cap, "%d", *(const int *)value); break;
    case CLI_DOUBLE: double_text(*(const double *)value, buf, cap); break;
    case CLI_STRING: {
        const char *s = *(const char *const *)value;
        snprintf(buf, cap, "%s", s ? s : "(unset)");
        break;
    }
    case CLI_CHOICE: snprintf(buf, cap, "%s", wsss_choice_name(o->choices, *(const int *)value)); break;
    }
}

static void add_note(char *notes, size_t cap, const char *part) {
    size_t k = strlen(notes);
    snprintf(notes + k, cap - k, "%s%s", k ? ", " : "", part);
}

void cli_usage(const cli_spec *spec, FILE *out) {
    check_table(spec);
    fprintf(out, "usage: wsss %s [options]%s%s\n\n%s\n\noptions:\n", spec->command,
            spec->positional ? " " : "", spec->positional ? spec->positional : "", spec->summary);
    for (int i = 0; i < spec->n_opts; i++) {
        const cli_opt *o = &spec->opts[i];
        if (o->flags & CLI_HIDDEN) continue;
        char left[96];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
        /* "(required, 1..4096, default 16)": each part only where it says something */
        char notes[256] = "", r[128];
        if (o->flags & CLI_REQUIRED) {
            char names[96];
            if (o->unless) unless_text(o->unless, names, sizeof names);
            if (o->unless) snprintf(r, sizeof r, "required unless %s", names);
            add_note(notes, sizeof notes, o->unless ? r : "required");
        }
        if (is_numeric(o)) {
            cli_range_text(o, r, sizeof r);
            add_note(notes, sizeof notes, r);
        }
        if (o->default_text || is_numeric(o) || o->kind == CLI_CHOICE ||
            (o->kind == CLI_STRING && *(const char **)o->dest && **(const char **)o->dest)) {
            char v[96];
            if (o->default_text) snprintf(v, sizeof v, "%s", o->default_text);
            else cli_value_text(o, o->dest, v, sizeof v);
            snprintf(r, sizeof r, "default %s", v);
            add_note(notes, sizeof notes, r);
        }
        const int k = notes[0] != 0;
        fprintf(out, "  %-26s %s%s%s%s\n", left, o->help, k ? " (" : "", notes, k ? ")" : "");
    }
    fprintf(out, "  %-26s %s\n", "--help", "show this help");
}

static int parse_value(const cli_spec *spec, const cli_opt *o, const char *v) {
    char range[96];
    if (is_numeric(o)) cli_range_text(o, range, sizeof range);
    char *end;
    errno = 0;
    switch (o->kind) {
    case CLI_INT: {
        long long x = strtoll(v, &end, 10);
        if (*v == 0 || *end != 0) {
            cli_error(spec->command, "--%s %s: not an integer (expected %s)", o->name, v, range);
            return -1;
        }
        if (errno == ERANGE || x < (long long)o->min || x > (long long)o->max) {
            cli_error(spec->command, "--%s %s: out of range (expected %s)", o->name, v, range);
            return -1;
        }
        *(int *)o->dest = (int)x;
        return 0;
    }
    case CLI_DOUBLE: {
        double x = strtod(v, &end);
        if (*v == 0 || *end != 0) {
            cli_error(spec->command, "--%s %s: not a number (expected %s)", o->name, v, range);
            return -1;
        }
        const int low_ok = o->flags & CLI_MIN_OPEN ? x > o->min : x >= o->min;
        const int high_ok = o->flags & CLI_MAX_OPEN ? x < o->max : x <= o->max;
        if (!(low_ok && high_ok)) { /* NaN fails both */
            cli_error(spec->command, "--%s %s: out of range (expected %s)", o->name, v, range);
            return -1;
        }
        *(double *)o->dest = x;
        return 0;
    }
    case CLI_STRING: *(const char **)o->dest = v; return 0;
    case CLI_CHOICE:
        if (wsss_choice_parse(o->choices, v, (int *)o->dest) != WSSS_OK) {
            char words[256];
            wsss_choice_list(o->choices, words, sizeof words);
            cli_error(spec->command, "--%s %s: expected %s", o->name, v, words);
            return -1;
        }
        return 0;
    case CLI_FLAG: *(int *)o->dest = 1; return 0;
    }
    return -1;
}

/* "-x" or "--x": an option; "-", "--", "-3" and "-.5" are arguments. */
static int looks_like_option(const char *a) {
    if (a[0] != '-' || a[1] == 0) return 0;
    if (a[1] == '-') return a[2] != 0;
    return !(a[1] == '.' || (a[1] >= '0' && a[1] <= '9'));
}

static int check_positional(const cli_spec *spec, char **positional, int np) {
    if (spec->max_positional >= 0 && np > spec->max_positional) {
        if (spec->max_positional == 0)
            cli_error(spec->command, "unexpected argument '%s' (the command takes options only; see wsss %s --help)",
                      positional[0], spec->command);
        else
            cli_error(spec->command, "unexpected argument '%s' (expected %s; see wsss %s --help)",
                      positional[spec->max_positional], spec->positional, spec->command);
        return -1;
    }
    if (np < spec->min_positional) {
        cli_error(spec->command, "missing %s (see wsss %s --help)", spec->positional, spec->command);
        return -1;
    }
    return 0;
}

int cli_parse(const cli_spec *spec, int argc, char **argv, char ***pos, int *n_pos) {
    check_table(spec);
    WSSS_ASSERT(pos || spec->max_positional == 0, "cli_parse: a command with arguments needs pos");
    char **positional = wsss_xcalloc((size_t)argc + 1, sizeof *positional);
    int np = 0;
    unsigned char *seen = wsss_xcalloc((size_t)spec->n_opts + 1, 1);
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_usage(spec, stdout);
            rc = 1;
            break;
        }
        if (!looks_like_option(a)) {
            positional[np++] = argv[i];
            continue;
        }
        const char *name = a + (a[1] == '-' ? 2 : 1), *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int oi = -1;
        for (int k = 0; a[1] == '-' && k < spec->n_opts; k++)
            if (strlen(spec->opts[k].name) == len && strncmp(spec->opts[k].name, name, len) == 0) oi = k;
        if (oi < 0) {
            cli_error(spec->command, "unknown option '%.*s' (see wsss %s --help)", (int)(name - a + len), a,
                      spec->command);
            rc = -1;
            break;
        }
        const cli_opt *o = &spec->opts[oi];
        seen[oi] = 1;
        if (o->kind == CLI_FLAG) {
            if (eq) {
                cli_error(spec->command, "--%s takes no value (got '%s')", o->name, eq + 1);
                rc = -1;
            } else {
                *(int *)o->dest = 1;
            }
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) {
            cli_error(spec->command, "--%s needs a value (%s)", o->name, o->metavar);
            rc = -1;
            break;
        }
        if (parse_value(spec, o, v) != 0) rc = -1;
    }
    for (int k = 0; rc == 0 && k < spec->n_opts; k++) {
        const cli_opt *o = &spec->opts[k];
        if (!(o->flags & CLI_REQUIRED) || seen[k] || (o->unless && unless_given(spec, o->unless, seen))) continue;
        char names[96];
        if (o->unless) unless_text(o->unless, names, sizeof names);
        if (o->unless)
            cli_error(spec->command, "--%s is required unless %s is given (see wsss %s --help)", o->name, names,
                      spec->command);
        else
            cli_error(spec->command, "--%s is required (see wsss %s --help)", o->name, spec->command);
        rc = -1;
    }
    if (rc == 0) rc = check_positional(spec, positional, np);
    if (spec->given) memcpy(spec->given, seen, (size_t)spec->n_opts);
    free(seen);
    if (rc != 0) {
        free(positional);
        return rc;
    }
    if (pos) {
        *pos = positional;
        *n_pos = np;
    } else {
        free(positional);
    }
    return 0;
}

const cli_command *cli_command_find(const cli_command *table, const char *name) {
    for (const cli_command *c = table; c->name; c++)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}

void cli_command_list(FILE *out, const cli_command *table, int width) {
    for (const cli_command *c = table; c->name; c++) fprintf(out, "  %-*s %s\n", width, c->name, c->summary);
}

int cli_parse_one_arg(const cli_spec *spec, int argc, char **argv, const char **arg) {
    WSSS_ASSERT(spec->min_positional == 1 && spec->max_positional == 1, "cli_parse_one_arg: one argument");
    char **pos;
    int np;
    int rc = cli_parse(spec, argc, argv, &pos, &np);
    if (rc) return rc;
    *arg = pos[0];
    free(pos);
    return 0;
}

void cli_dataset_opts(struct wsss_dataset_opts *o, const char *split, int masks, int skip_bad, const cli_coco *coco) {
    wsss_dataset_opts_default(o);
    o->split = split;
    o->masks = (wsss_mask_mode)masks;
    o->skip_bad = skip_bad;
    o->coco_annotations = coco->annotations;
    o->coco_images = coco->images;
    o->coco_masks = coco->masks;
}
