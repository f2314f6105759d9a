/* The shared epoch/step training loop: resume, per-epoch atomic checkpoints, signal-safe stop,
 * per-step logging (see trainer.h). */
#include "wsss/trainer.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "wsss/checkpoint.h"
#include "wsss/clock.h"
#include "wsss/dist.h"
#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/progress.h"
#include "wsss/run_layout.h"
#include "wsss/runlog.h"
#include "wsss/runtime.h"
#include "trainer_dist.h"

/* ---- signals ---- */

static volatile sig_atomic_t g_stop;
static int g_installed;
static struct sigaction g_old_int, g_old_term;

static void on_signal(int sig) {
    (void)sig;
    if (!g_stop) {
        static const char msg[] = "\nwsss: interrupted: saving a checkpoint at the next step boundary\n";
        ssize_t r = write(2, msg, sizeof msg - 1);
        (void)r;
    }
    g_stop = 1;
}

void wsss_trainer_signals_install(void) {
    if (g_installed) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, &g_old_int);
    sigaction(SIGTERM, &sa, &g_old_term);
    g_installed = 1;
}

void wsss_trainer_signals_restore(void) {
    if (!g_installed) return;
    sigaction(SIGINT, &g_old_int, NULL);
    sigaction(SIGTERM, &g_old_term, NULL);
    g_installed = 0;
}

int wsss_trainer_interrupted(void) { return g_stop != 0; }

/* ---- setup ---- */

void wsss_trainer_opts_default(wsss_trainer_opts *o) {
    memset(o, 0, sizeof *o);
    o->stage = "train";
    o->epochs = 1;
    o->progress = 1;
    o->log_every = 1;
    o->handle_signals = 1;
}

static unsigned all_parts(int n) { return (1u << n) - 1u; }

static unsigned phase_at(const wsss_trainer *t, int64_t step) {
    return t->opts.phase ? t->opts.phase(t->opts.phase_user, step) : all_parts(t->n_parts);
}

/* The parameters of the parts in `active` get their design trainability, the others none. */
static void apply_phase(wsss_trainer *t, unsigned active) {
    for (int i = 0; i < t->n_parts; i++) {
        wsss_trainer_part *p = &t->parts[i];
        for (int j = 0; j < p->params->n; j++) {
            wsss_param *e = &p->params->items[j];
            if (e->kind == WSSS_KIND_PARAM) e->t->requires_grad = (active >> i & 1u) ? p->design[j] : 0;
        }
    }
    t->active = active;
}

/* "localizer+adversary": the names of a set of parts */
static void phase_name(const wsss_trainer *t, unsigned set, char *buf, size_t cap) {
    buf[0] = 0;
    for (int i = 0; i < t->n_parts; i++) {
        if (!(set >> i & 1u)) continue;
        size_t k = strlen(buf);
        snprintf(buf + k, cap - k, "%s%s", k ? "+" : "", t->parts[i].name);
    }
    if (!buf[0]) snprintf(buf, cap, "none");
}

/* A resumed part's schedule: the stored one, but a poly or cosine schedule decays over the caller's
 * max_iter (the run's length may change on resume with --epochs) */
static wsss_lr_schedule resumed_sched(const wsss_lr_schedule *stored, const wsss_lr_schedule *given) {
    wsss_lr_schedule s = *stored;
    if ((s.kind == WSSS_LR_POLY || s.kind == WSSS_LR_COSINE) && given->kind == s.kind) s.max_iter = given->max_iter;
    return s;
}

static int resume(wsss_trainer *t) {
    const char *dir = t->opts.resume_dir;
    const char *names[WSSS_TRAINER_MAX_PARTS];
    wsss_params *params[WSSS_TRAINER_MAX_PARTS];
    wsss_optim *opts[WSSS_TRAINER_MAX_PARTS];
    for (int i = 0; i < t->n_parts; i++) {
        names[i] = t->parts[i].name;
        params[i] = t->parts[i].params;
        opts[i] = t->parts[i].opt;
    }
    wsss_ckpt_state st;
    wsss_ckpt_state_init(&st);
    if (wsss_ckpt_load_parts(dir, t->n_parts, names, params, opts, &st) != WSSS_OK) {
        wsss_ckpt_state_clear(&st);
        return WSSS_ERR;
    }
    int rc = WSSS_OK;
    if (st.n_data_pos != 2 || st.step < 0 || st.epoch < 0 || st.data_pos[0] < 0 || st.data_pos[1] < 0) {
        rc = wsss_error_set("%s/state.json: data_pos: expected [loader epoch, loader index] (not a trainer "
                            "checkpoint?)",
                            dir);
    } else if (t->n_parts > 1 && st.step > 0 && st.phase != phase_at(t, st.step - 1)) {
        char stored[128], rule[128];
        phase_name(t, st.phase, stored, sizeof stored);
        phase_name(t, phase_at(t, st.step - 1), rule, sizeof rule);
        rc = wsss_error_set("%s/state.json: field 'phase': step %lld trained %s, but this run's phase rule says %s "
                            "(a setting that decides the phases differs from the run's)",
                            dir, (long long)st.step - 1, stored, rule);
    } else if (wsss_loader_seek(t->loader, st.data_pos[0], st.data_pos[1]) != WSSS_OK) {
        wsss_error_prefix("%s/state.json: data_pos", dir);
        rc = WSSS_ERR;
    } else {
        t->step = st.step;
        t->epoch = st.epoch;
        t->rng = st.rng;
        if (t->n_parts == 1) {
            t->parts[0].sched = resumed_sched(&st.sched, &t->parts[0].sched);
            t->parts[0].steps = st.step;
            t->parts[0].last_lr = st.lr;
        } else {
            for (int i = 0; i < t->n_parts; i++) {
                t->parts[i].sched = resumed_sched(&st.parts[i].sched, &t->parts[i].sched);
                t->parts[i].steps = st.parts[i].steps;
                t->parts[i].last_lr = st.parts[i].lr;
            }
        }
        t->last_lr = t->parts[0].last_lr;
        t->resumed = 1;
    }
    wsss_ckpt_state_clear(&st);
    return rc;
}

int wsss_trainer_init_parts(wsss_trainer *t, const wsss_trainer_opts *opts, int n, const wsss_trainer_part *parts,
                            wsss_loader *loader, uint64_t seed) {
    memset(t, 0, sizeof *t);
    WSSS_ASSERT(n >= 1 && n <= WSSS_TRAINER_MAX_PARTS && n <= WSSS_CKPT_MAX_PARTS, "trainer: 1 to 4 parts");
    if (opts) t->opts = *opts;
    else wsss_trainer_opts_default(&t->opts);
    if (t->opts.log_every <= 0) t->opts.log_every = 1;
    if (wsss_dist_rank() != 0) { /* rank 0 alone writes logs, progress and checkpoints */
        t->opts.log_path = NULL;
        t->opts.ckpt_dir = NULL;
        t->opts.progress = 0;
    }
    t->n_parts = n;
    for (int i = 0; i < n; i++) {
        wsss_trainer_part *p = &t->parts[i];
        *p = parts[i];
        WSSS_ASSERT(p->params && p->opt && p->name, "trainer part: name, parameters and optimizer");
        WSSS_ASSERT(n == 1 || wsss_ckpt_part_name_ok(p->name), "trainer part name: [a-z0-9_], 1..31 characters");
        for (int j = 0; j < i; j++) WSSS_ASSERT(strcmp(t->parts[j].name, p->name) != 0, "trainer part names differ");
        p->steps = 0;
        p->last_lr = 0;
        p->epoch_loss_sum = 0;
        p->epoch_loss_n = 0;
        p->design = wsss_xmalloc((size_t)(p->params->n ? p->params->n : 1));
        for (int j = 0; j < p->params->n; j++) p->design[j] = (unsigned char)(p->params->items[j].t->requires_grad != 0);
    }
    t->active = all_parts(n);
    if (t->opts.epochs < 0) return wsss_error_set("epochs %lld: expected >= 0", (long long)t->opts.epochs);
    t->loader = loader;
    t->steps_per_epoch = wsss_loader_batches_per_epoch(loader);
    if (t->steps_per_epoch <= 0)
        return wsss_error_set("the dataset gives no batch per epoch (too few images for the batch size "
                              "with drop-last?)");
    wsss_rng_seed(&t->rng, seed);
    if (t->opts.ckpt_dir) wsss_ckpt_clean_stale(t->opts.ckpt_dir); /* leftovers of a killed run */
    if (t->opts.resume_dir && resume(t) != WSSS_OK) return WSSS_ERR;
    return wsss_trainer_dist_start(t);
}

int wsss_trainer_init(wsss_trainer *t, const wsss_trainer_opts *opts, wsss_params *model, wsss_optim *opt,
                      const wsss_lr_schedule *sched, wsss_loader *loader, uint64_t seed) {
    const wsss_trainer_part one = {.name = "model", .params = model, .opt = opt, .sched = *sched};
    return wsss_trainer_init_parts(t, opts, 1, &one, loader, seed);
}

void wsss_trainer_free(wsss_trainer *t) {
    if (t->n_parts > 0 && t->parts[0].design && t->active != all_parts(t->n_parts)) apply_phase(t, all_parts(t->n_parts));
    for (int i = 0; i < t->n_parts; i++) free(t->parts[i].design);
    memset(t, 0, sizeof *t);
}

char *wsss_trainer_ckpt_config(const char *dir) {
    wsss_ckpt_state ckpt_state;
    wsss_ckpt_state_init(&ckpt_state);
    if (wsss_ckpt_load_state(dir, &ckpt_state) != WSSS_OK) {
        wsss_ckpt_state_clear(&ckpt_state);
        return NULL;
    }
    char *c = ckpt_state.config;
    ckpt_state.config = NULL;
    wsss_ckpt_state_clear(&ckpt_state);
    if (!c) wsss_error_set("%s/state.json: the checkpoint holds no run configuration", dir);
    return c;
}

int wsss_trainer_save(const wsss_trainer *t, const char *dir) {
    if (wsss_mkdirs_parent(dir) != WSSS_OK) return WSSS_ERR;
    wsss_ckpt_state st;
    wsss_ckpt_state_init(&st);
    st.step = t->step;
    st.epoch = t->epoch;
    st.sched = t->parts[0].sched;
    st.lr = t->parts[0].last_lr;
    st.rng = t->rng;
    st.n_data_pos = 2;
    wsss_loader_position(t->loader, &st.data_pos[0], &st.data_pos[1]);
    wsss_ckpt_state_set_config(&st, t->opts.config);
    int rc;
    if (t->n_parts == 1) {
        rc = wsss_ckpt_save(dir, t->parts[0].params, t->parts[0].opt, &st);
    } else {
        const wsss_params *params[WSSS_TRAINER_MAX_PARTS];
        const wsss_optim *opts[WSSS_TRAINER_MAX_PARTS];
        st.n_parts = t->n_parts;
        st.phase = t->step > 0 ? phase_at(t, t->step - 1) : 0;
        for (int i = 0; i < t->n_parts; i++) {
            const wsss_trainer_part *p = &t->parts[i];
            snprintf(st.parts[i].name, sizeof st.parts[i].name, "%s", p->name);
            st.parts[i].steps = p->steps;
            st.parts[i].lr = p->last_lr;
            st.parts[i].sched = p->sched;
            params[i] = p->params;
            opts[i] = p->opt;
        }
        rc = wsss_ckpt_save_parts(dir, params, opts, &st);
    }
    wsss_ckpt_state_clear(&st);
    return rc;
}

/* ---- the loop ---- */

/* "<prefix><part name>": value * scale of each part (the per-part losses of a several-part run) */
static void log_part_values(wsss_runlog *log, const wsss_trainer *t, const char *prefix, const double *v, double scale) {
    for (int i = 0; i < t->n_parts; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s%s", prefix, t->parts[i].name);
        wsss_runlog_kv_double(log, key, v[i] * scale);
    }
}

/* the progress bar's note: each part's loss, the stepping ones marked with * */
static void progress_losses(wsss_progress *prog, const wsss_trainer *t, const wsss_trainer_stats *stats) {
    char note[160] = "";
    for (int i = 0; i < t->n_parts; i++) {
        size_t k = strlen(note);
        snprintf(note + k, sizeof note - k, "%s%s%s %.4g", k ? " " : "", (t->active >> i & 1u) ? "*" : "",
                 t->parts[i].name, stats->part_loss[i]);
    }
    wsss_progress_set_note(prog, note);
}

int wsss_trainer_run(wsss_trainer *t, wsss_trainer_step_fn fn, void *user) {
    const wsss_trainer_opts *o = &t->opts;
    if (t->epoch >= o->epochs) return WSSS_OK;
    if (o->handle_signals) {
        g_stop = 0;
        wsss_trainer_signals_install();
    }
    wsss_runlog *log = NULL;
    if (o->log_path && wsss_runlog_open(o->log_path, o->stage, &log) != WSSS_OK) {
        if (o->handle_signals) wsss_trainer_signals_restore();
        return WSSS_ERR;
    }
    if (log) {
        wsss_runlog_begin(log);
        wsss_runlog_kv_string(log, "event", t->resumed ? "resume" : "start");
        wsss_runlog_kv_int(log, "step", t->step);
        wsss_runlog_kv_int(log, "epoch", t->epoch);
        wsss_runlog_kv_int(log, "epochs", o->epochs);
        wsss_runlog_kv_int(log, "steps_per_epoch", t->steps_per_epoch);
        wsss_runlog_kv_int(log, "threads", wsss_get_threads());
        wsss_runlog_kv_int(log, "loader_workers", wsss_loader_workers(t->loader));
        if (wsss_dist_size() > 1) wsss_runlog_kv_int(log, "ranks", wsss_dist_size());
        if (o->note) wsss_runlog_kv_string(log, "note", o->note);
        wsss_runlog_end(log);
    }
    wsss_progress prog;
    const int64_t total = o->epochs * t->steps_per_epoch;
    char label[48];
    snprintf(label, sizeof label, "%s", o->stage);
    if (o->progress) wsss_progress_start(&prog, label, total - t->step);
    int rc = WSSS_OK;
    int64_t steps_here = 0;
    int64_t saved_at_step = -1;
    int collective_exit = 0; /* every rank leaves the loop at the same step (else: abort the job) */
    double t_start = wsss_now_seconds();
    while (t->epoch < o->epochs) {
        double t0 = wsss_now_seconds(), w0 = wsss_loader_wait_seconds(t->loader);
        wsss_dist_stats ds0;
        wsss_dist_get_stats(&ds0);
        const wsss_batch *b = NULL;
        int failed = wsss_loader_next(t->loader, &b) != WSSS_OK;
        const unsigned phase = phase_at(t, t->step);
        WSSS_ASSERT(phase != 0 && phase <= all_parts(t->n_parts), "the phase rule gave no part, or an unknown one");
        if (phase != t->active) apply_phase(t, phase);
        double lr = wsss_lr_at(&t->parts[0].sched, t->step);
        wsss_trainer_stats stats;
        memset(&stats, 0, sizeof stats);
        if (!failed) {
            for (int i = 0; i < t->n_parts; i++) wsss_params_zero_grad(t->parts[i].params, 0);
            failed = fn(user, t, b, lr, &stats) != WSSS_OK;
        }
        /* with several ranks: global losses, and a failure or a signal anywhere stops every rank here */
        int agreed_stop = o->handle_signals && g_stop;
        if (wsss_trainer_dist_agree(t, b, &stats, &failed, &agreed_stop) != WSSS_OK || failed) {
            rc = WSSS_ERR;
            collective_exit = 1;
            break;
        }
        if (!isfinite(stats.loss)) {
            rc = wsss_error_set("the loss is not finite at step %lld (epoch %lld); lower the learning rate "
                                "(nothing saved for this step)",
                                (long long)t->step, (long long)t->epoch);
            collective_exit = 1;
            break;
        }
        wsss_trainer_dist_grads(t, b);
        if (o->before_step && o->before_step(o->before_step_user, t) != WSSS_OK) {
            rc = WSSS_ERR;
            break;
        }
        for (int i = 0; i < t->n_parts; i++) {
            wsss_trainer_part *p = &t->parts[i];
            if (!(phase >> i & 1u)) continue;
            p->last_lr = i == 0 ? lr : wsss_lr_at(&p->sched, t->step);
            wsss_optim_step(p->opt, p->last_lr);
            p->steps++;
        }
        for (int i = 0; i < t->n_parts && stats.has_part_loss; i++)
            if (isfinite(stats.part_loss[i])) {
                t->parts[i].epoch_loss_sum += stats.part_loss[i];
                t->parts[i].epoch_loss_n++;
            }
        t->step++;
        steps_here++;
        t->last_loss = stats.loss;
        t->last_lr = lr;
        t->epoch_loss_sum += stats.loss;
        t->epoch_steps++;
        t->images += b->n_global; /* all ranks' */
        double dt = wsss_now_seconds() - t0, wait = wsss_loader_wait_seconds(t->loader) - w0;
        if (o->progress) {
            if (stats.has_part_loss) progress_losses(&prog, t, &stats);
            wsss_progress_add(&prog, 1);
        }
        if (log && (t->step % o->log_every == 0 || b->last_in_epoch)) {
            wsss_runlog_begin(log);
            wsss_runlog_kv_int(log, "step", t->step);
            wsss_runlog_kv_int(log, "epoch", t->epoch);
            wsss_runlog_kv_double(log, "loss", stats.loss);
            if (t->n_parts > 1) {
                char name[128];
                phase_name(t, phase, name, sizeof name);
                wsss_runlog_kv_string(log, "phase", name);
            }
            if (stats.has_part_loss) log_part_values(log, t, "loss_", stats.part_loss, 1.0);
            for (int k = 0; k < stats.n_aux && k < WSSS_TRAINER_MAX_AUX; k++)
                wsss_runlog_kv_double(log, stats.aux_name[k], stats.aux[k]);
            wsss_runlog_kv_double(log, "lr", lr);
            wsss_runlog_kv_double(log, "images_per_s", dt > 0 ? (double)b->n_global / dt : NAN);
            wsss_runlog_kv_double(log, "data_wait_s", wait);
            if (wsss_dist_size() > 1) {
                wsss_dist_stats ds1;
                wsss_dist_get_stats(&ds1);
                wsss_runlog_kv_double(log, "allreduce_s", ds1.allreduce_seconds - ds0.allreduce_seconds);
            }
            if (wsss_runlog_end(log) != WSSS_OK) {
                rc = WSSS_ERR;
                break;
            }
        }
        int end_of_epoch = b->last_in_epoch;
        if (end_of_epoch) {
            wsss_trainer_stats es;
            memset(&es, 0, sizeof es);
            if (o->epoch_end && o->epoch_end(o->epoch_user, t, &es) != WSSS_OK) {
                rc = WSSS_ERR;
                break;
            }
            if (log) {
                wsss_runlog_begin(log);
                wsss_runlog_kv_string(log, "event", "epoch");
                wsss_runlog_kv_int(log, "step", t->step);
                wsss_runlog_kv_int(log, "epoch", t->epoch + 1);
                wsss_runlog_kv_double(log, "epoch_loss", t->epoch_loss_sum / (double)t->epoch_steps);
                if (t->n_parts > 1) {
                    double means[WSSS_TRAINER_MAX_PARTS];
                    for (int i = 0; i < t->n_parts; i++)
                        means[i] = t->parts[i].epoch_loss_n ? t->parts[i].epoch_loss_sum / (double)t->parts[i].epoch_loss_n
                                                            : NAN;
                    log_part_values(log, t, "epoch_loss_", means, 1.0);
                }
                for (int k = 0; k < es.n_aux && k < WSSS_TRAINER_MAX_AUX; k++)
                    wsss_runlog_kv_double(log, es.aux_name[k], es.aux[k]);
                wsss_runlog_end(log);
            }
            t->epoch++;
            t->epoch_loss_sum = 0;
            t->epoch_steps = 0;
            for (int i = 0; i < t->n_parts; i++) {
                t->parts[i].epoch_loss_sum = 0;
                t->parts[i].epoch_loss_n = 0;
            }
            if (o->ckpt_dir) {
                if (wsss_trainer_save(t, o->ckpt_dir) != WSSS_OK) {
                    rc = WSSS_ERR;
                    break;
                }
                saved_at_step = t->step;
            }
        }
        /* one process looks at the flag again (a signal during this step stops it now); several ranks
         * stop where they agreed to */
        const int signalled = wsss_dist_size() > 1 ? agreed_stop : o->handle_signals && g_stop;
        int stop = signalled || (o->stop_after > 0 && steps_here >= o->stop_after);
        if (stop && t->epoch < o->epochs) {
            collective_exit = 1;
            if (o->ckpt_dir && saved_at_step != t->step && wsss_trainer_save(t, o->ckpt_dir) != WSSS_OK) {
                rc = WSSS_ERR;
                break;
            }
            rc = WSSS_TRAINER_INTERRUPTED;
            break;
        }
    }
    if (t->epoch >= o->epochs) collective_exit = 1;
    if (wsss_dist_size() > 1 && !collective_exit) {
        /* this rank alone left the loop (a log or checkpoint write, an epoch-end pass): the others
         * wait in the next step's collectives, so the job ends here */
        fprintf(stderr, "wsss: rank %d: %s\n", wsss_dist_rank(), wsss_error_msg());
        wsss_dist_abort(1);
    }
    if (t->active != all_parts(t->n_parts)) apply_phase(t, all_parts(t->n_parts)); /* the design state back */
    t->seconds += wsss_now_seconds() - t_start;
    if (o->progress) wsss_progress_finish(&prog);
    if (log) {
        wsss_runlog_begin(log);
        wsss_runlog_kv_string(log, "event", rc == WSSS_OK ? "end" : rc == WSSS_TRAINER_INTERRUPTED ? "interrupted" : "error");
        wsss_runlog_kv_int(log, "step", t->step);
        wsss_runlog_kv_int(log, "epoch", t->epoch);
        wsss_runlog_kv_double(log, "seconds", t->seconds);
        wsss_runlog_kv_double(log, "images_per_s", t->seconds > 0 ? (double)t->images / t->seconds : NAN);
        if (rc == WSSS_ERR) wsss_runlog_kv_string(log, "error", wsss_error_msg());
        wsss_runlog_end(log);
        wsss_runlog_close(log);
    }
    if (o->handle_signals) wsss_trainer_signals_restore();
    return wsss_trainer_dist_finish(rc); /* after rank 0's last write */
}
