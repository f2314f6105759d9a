/* What the training commands share (cli.h): --resume DIR against the command line (a resumed run
 * keeps the checkpoint's settings; options marked CLI_RESUMABLE may change, any other given option
 * must repeat the stored value) and the exit code of a run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "wsss/dist.h"
#include "wsss/error.h"
#include "wsss/trainer.h"

static size_t value_size(cli_kind k) {
    switch (k) {
    case CLI_FLAG:
    case CLI_INT:
    case CLI_CHOICE: return sizeof(int);
    case CLI_DOUBLE: return sizeof(double);
    case CLI_STRING: return sizeof(const char *);
    }
    return 0;
}

static int same_value(cli_kind k, const void *a, const void *b) {
    switch (k) {
    case CLI_FLAG:
    case CLI_INT:
    case CLI_CHOICE: return *(const int *)a == *(const int *)b;
    case CLI_DOUBLE: return *(const double *)a == *(const double *)b;
    case CLI_STRING: {
        const char *x = *(const char *const *)a, *y = *(const char *const *)b;
        return x == y || (x && y && strcmp(x, y) == 0);
    }
    }
    return 0;
}

/* "--epochs, --log-every and --quiet": the visible options that may change on resume. */
static void resumable_list(const cli_spec *spec, char *buf, size_t cap) {
    int n = 0, total = 0;
    for (int i = 0; i < spec->n_opts; i++)
        total += (spec->opts[i].flags & (CLI_RESUMABLE | CLI_HIDDEN)) == CLI_RESUMABLE;
    buf[0] = 0;
    for (int i = 0; i < spec->n_opts; i++) {
        const cli_opt *o = &spec->opts[i];
        if ((o->flags & (CLI_RESUMABLE | CLI_HIDDEN)) != CLI_RESUMABLE) continue;
        size_t k = strlen(buf);
        n++;
        snprintf(buf + k, cap - k, "%s--%s", n == 1 ? "" : n == total ? " and " : ", ", o->name);
    }
}

int cli_resume_merge(const cli_spec *spec, void *cfg, const void *cli_cfg, size_t cfg_size, const char *resume_dir) {
    WSSS_ASSERT(spec->given, "cli_resume_merge needs the given options (cli_spec.given)");
    const uintptr_t lo = (uintptr_t)cfg, hi = lo + cfg_size;
    int refused = 0;
    for (int i = 0; i < spec->n_opts; i++) {
        const cli_opt *o = &spec->opts[i];
        const uintptr_t at = (uintptr_t)o->dest;
        if (!spec->given[i] || at < lo || at >= hi) continue; /* not given, or not part of the stored config */
        const void *from_cli = (const char *)cli_cfg + (at - lo);
        if (o->flags & CLI_RESUMABLE) {
            memcpy(o->dest, from_cli, value_size(o->kind));
        } else if (!same_value(o->kind, o->dest, from_cli)) {
            char given[256], stored[256];
            cli_value_text(o, from_cli, given, sizeof given);
            cli_value_text(o, o->dest, stored, sizeof stored);
            if (o->kind == CLI_FLAG)
                cli_error(spec->command, "--%s: the run in %s was started without it, and --resume keeps its settings",
                          o->name, resume_dir);
            else
                cli_error(spec->command, "--%s %s: the run in %s was started with %s, and --resume keeps its settings",
                          o->name, given, resume_dir, stored);
            refused++;
        }
    }
    if (refused) {
        char list[256];
        resumable_list(spec, list, sizeof list);
        cli_error(spec->command, "with --resume only %s may change (start a new run for other settings)", list);
        return -1;
    }
    return 0;
}

/* The options not on the command line take their values from defaults (a struct like cfg). */
static void apply_defaults(const cli_spec *spec, void *cfg, const void *defaults, size_t cfg_size) {
    const uintptr_t lo = (uintptr_t)cfg, hi = lo + cfg_size;
    for (int i = 0; i < spec->n_opts; i++) {
        const cli_opt *o = &spec->opts[i];
        const uintptr_t at = (uintptr_t)o->dest;
        if (spec->given[i] || at < lo || at >= hi) continue;
        memcpy(o->dest, (const char *)defaults + (at - lo), value_size(o->kind));
    }
}

int cli_train_resume(const cli_spec *spec, const char *resume_dir, const wsss_cfg_table *table, void *cfg,
                     void **storage, int quiet) {
    const size_t cfg_size = table->size;
    void *from_cli = wsss_xmalloc(cfg_size);
    memcpy(from_cli, cfg, cfg_size);
    char *text = wsss_trainer_ckpt_config(resume_dir);
    int code = CLI_EXIT_OK;
    if (!text || wsss_cfg_from_json(table, text, cfg, storage) != WSSS_OK) {
        cli_error(spec->command, "--resume %s: %s", resume_dir, wsss_error_msg());
        code = CLI_EXIT_FAILURE;
    } else if (cli_resume_merge(spec, cfg, from_cli, cfg_size, resume_dir) != 0) {
        code = CLI_EXIT_USAGE;
    } else if (!quiet) {
        fprintf(stderr, "%s: resuming from %s with its stored settings\n", spec->command, resume_dir);
    }
    free(text);
    free(from_cli);
    return code;
}

int cli_train_main(const cli_spec *spec, int argc, char **argv, const cli_train_stage *t) {
    return cli_train_main_defaults(spec, argc, argv, t, NULL);
}

int cli_train_main_defaults(const cli_spec *spec, int argc, char **argv, const cli_train_stage *t,
                            void (*defaults)(void *defaults, const void *cfg)) {
    int rc = cli_parse(spec, argc, argv, NULL, NULL);
    if (rc) return cli_parse_exit(rc);
    void *storage = NULL;
    const char *resume = *t->resume;
    if (resume) {
        int code = cli_train_resume(spec, resume, t->table, t->cfg, &storage, *t->quiet);
        if (code != CLI_EXIT_OK) {
            wsss_cfg_free_storage(storage);
            return code;
        }
        *t->ckpt = resume; /* keep checkpointing where the run is resumed from */
    } else if (defaults) {
        WSSS_ASSERT(spec->given, "settings-dependent defaults need the given options (cli_spec.given)");
        void *d = wsss_xmalloc(t->table->size);
        defaults(d, t->cfg);
        apply_defaults(spec, t->cfg, d, t->table->size);
        free(d);
    }
    *t->progress = !*t->quiet;
    *t->stop_after = *t->stop_after_opt;
    int code;
    if (t->check(t->cfg) != WSSS_OK) {
        code = cli_fail(spec->command, CLI_EXIT_USAGE);
    } else {
        char *ckpt = t->ckpt_dir(t->cfg);
        code = cli_train_exit(spec->command, t->run(t->cfg, resume), ckpt);
        free(ckpt);
    }
    wsss_cfg_free_storage(storage);
    return code;
}

int cli_train_exit(const char *command, int run_rc, const char *ckpt_dir) {
    if (run_rc == WSSS_TRAINER_INTERRUPTED) {
        if (wsss_dist_rank() == 0) /* the rank that saved it */
            cli_error(command, "interrupted; checkpoint saved in %s (continue with --resume %s)", ckpt_dir, ckpt_dir);
        return CLI_EXIT_INTERRUPTED;
    }
    return run_rc == WSSS_OK ? CLI_EXIT_OK : cli_fail(command, CLI_EXIT_FAILURE);
}
