#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "wsss/error.h"

void cli_usage(const cli_spec *spec, FILE *out) {
    fprintf(out, "usage: wsss %s [options]%s%s\n\n%s\n\noptions:\n", spec->command,
            spec->positional ? " " : "", spec->positional ? spec->positional : "", spec->summary);
    for (int i = 0; i < spec->n_opts; i++) {
        const cli_opt *o = &spec->opts[i];
        char left[96];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
        char def[96] = "";
        switch (o->kind) {
        case CLI_INT: snprintf(def, sizeof def, " (default %d)", *(int *)o->dest); break;
        case CLI_DOUBLE: snprintf(def, sizeof def, " (default %g)", *(double *)o->dest); break;
        case CLI_STRING:
            if (*(const char **)o->dest) snprintf(def, sizeof def, " (default %s)", *(const char **)o->dest);
            break;
        case CLI_FLAG: break;
        }
        fprintf(out, "  %-26s %s%s%s\n", left, o->help, o->required ? " (required)" : "", def);
    }
    fprintf(out, "  %-26s %s\n", "--help", "show this help");
}

static int parse_value(const cli_spec *spec, const cli_opt *o, const char *v) {
    char *end;
    switch (o->kind) {
    case CLI_INT: {
        long x = strtol(v, &end, 10);
        if (*v == 0 || *end != 0) {
            fprintf(stderr, "wsss %s: --%s expects an integer, got '%s'\n", spec->command, o->name, v);
            return -1;
        }
        *(int *)o->dest = (int)x;
        return 0;
    }
    case CLI_DOUBLE: {
        double x = strtod(v, &end);
        if (*v == 0 || *end != 0) {
            fprintf(stderr, "wsss %s: --%s expects a number, got '%s'\n", spec->command, o->name, v);
            return -1;
        }
        *(double *)o->dest = x;
        return 0;
    }
    case CLI_STRING: *(const char **)o->dest = v; return 0;
    case CLI_FLAG: *(int *)o->dest = 1; return 0;
    }
    return -1;
}

int cli_parse(const cli_spec *spec, int argc, char **argv, char ***pos, int *n_pos) {
    char **positional = wsss_xcalloc((size_t)argc + 1, sizeof *positional);
    int np = 0;
    int *seen = wsss_xcalloc((size_t)spec->n_opts + 1, sizeof *seen);
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_usage(spec, stdout);
            rc = 1;
            break;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == 0) {
            positional[np++] = argv[i];
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const cli_opt *o = NULL;
        int oi = -1;
        for (int k = 0; k < spec->n_opts; k++)
            if (strlen(spec->opts[k].name) == len && strncmp(spec->opts[k].name, name, len) == 0) {
                o = &spec->opts[k];
                oi = k;
            }
        if (!o) {
            fprintf(stderr, "wsss %s: unknown option '%s' (see wsss %s --help)\n", spec->command, a, spec->command);
            rc = -1;
            break;
        }
        seen[oi] = 1;
        if (o->kind == CLI_FLAG) {
            if (eq) {
                fprintf(stderr, "wsss %s: --%s takes no value\n", spec->command, o->name);
                rc = -1;
            } else {
                *(int *)o->dest = 1;
            }
            continue;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) {
            fprintf(stderr, "wsss %s: --%s needs a value (%s)\n", spec->command, o->name, o->metavar ? o->metavar : "value");
            rc = -1;
            break;
        }
        if (parse_value(spec, o, v) != 0) rc = -1;
    }
    for (int k = 0; rc == 0 && k < spec->n_opts; k++)
        if (spec->opts[k].required && !seen[k]) {
            fprintf(stderr, "wsss %s: --%s is required (see wsss %s --help)\n", spec->command, spec->opts[k].name, spec->command);
            rc = -1;
        }
    if (rc == 0 && (np < spec->min_positional || (spec->max_positional >= 0 && np > spec->max_positional))) {
        fprintf(stderr, "wsss %s: expected %s, got %d argument%s (see wsss %s --help)\n", spec->command,
                spec->positional ? spec->positional : "no positional arguments", np, np == 1 ? "" : "s", spec->command);
        rc = -1;
    }
    free(seen);
    if (rc != 0) {
        free(positional);
        return rc;
    }
    *pos = positional;
    *n_pos = np;
    return 0;
}
