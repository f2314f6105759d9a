/* The shared epoch/step training loop: resume, per-epoch atomic checkpoints, signal-safe stop,
 * per-step logging (see trainer.h). */
#include "wsss/trainer.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "wsss/checkpoint.h"
#include "wsss/clock.h"
#include "wsss/error.h"
#include "wsss/fs.h"
#include "wsss/progress.h"
#include "wsss/run_layout.h"
#include "wsss/runlog.h"
#include "wsss/runtime.h"

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

int wsss_trainer_init(wsss_trainer *t, const wsss_trainer_opts *opts, wsss_params *model, wsss_optim *opt,
                      const wsss_lr_schedule *sched, wsss_loader *loader, uint64_t seed) {
    memset(t, 0, sizeof *t);
    if (opts) t->opts = *opts;
    else wsss_trainer_opts_default(&t->opts);
    if (t->opts.log_every <= 0) t->opts.log_every = 1;
    if (t->opts.epochs < 0) return wsss_error_set("epochs %lld: expected >= 0", (long long)t->opts.epochs);
    t->model = model;
    t->opt = opt;
    t->loader = loader;
    t->sched = *sched;
    t->steps_per_epoch = wsss_loader_batches_per_epoch(loader);
    if (t->steps_per_epoch <= 0)
        return wsss_error_set("the dataset gives no batch per epoch (too few images for the batch size "
                              "with drop-last?)");
    wsss_rng_seed(&t->rng, seed);
    if (t->opts.ckpt_dir) wsss_ckpt_clean_stale(t->opts.ckpt_dir); /* leftovers of a killed run */
    if (!t->opts.resume_dir) return WSSS_OK;

    wsss_ckpt_state ckpt_state;
    wsss_ckpt_state_init(&ckpt_state);
    if (wsss_ckpt_load(t->opts.resume_dir, model, opt, &ckpt_state) != WSSS_OK) {
        wsss_ckpt_state_clear(&ckpt_state);
        return WSSS_ERR;
    }
    int rc = WSSS_OK;
    if (ckpt_state.n_data_pos != 2 || ckpt_state.step < 0 || ckpt_state.epoch < 0 || ckpt_state.data_pos[0] < 0 || ckpt_state.data_pos[1] < 0) {
        rc = wsss_error_set("%s/state.json: data_pos: expected [loader epoch, loader index] (not a trainer "
                            "checkpoint?)",
                            t->opts.resume_dir);
    } else if (wsss_loader_seek(loader, ckpt_state.data_pos[0], ckpt_state.data_pos[1]) != WSSS_OK) {
        wsss_error_prefix("%s/state.json: data_pos", t->opts.resume_dir);
        rc = WSSS_ERR;
    } else {
        t->step = ckpt_state.step;
        t->epoch = ckpt_state.epoch;
        t->sched = ckpt_state.sched;
        /* the run's length may change on resume (--epochs): a poly or cosine schedule decays over
         * the new one */
        if ((ckpt_state.sched.kind == WSSS_LR_POLY || ckpt_state.sched.kind == WSSS_LR_COSINE) &&
            sched->kind == ckpt_state.sched.kind)
            t->sched.max_iter = sched->max_iter;
        t->rng = ckpt_state.rng;
        t->last_lr = ckpt_state.lr;
        t->resumed = 1;
    }
    wsss_ckpt_state_clear(&ckpt_state);
    return rc;
}

void wsss_trainer_free(wsss_trainer *t) { memset(t, 0, sizeof *t); }

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
    wsss_ckpt_state ckpt_state;
    wsss_ckpt_state_init(&ckpt_state);
    ckpt_state.step = t->step;
    ckpt_state.epoch = t->epoch;
    ckpt_state.sched = t->sched;
    ckpt_state.lr = t->last_lr;
    ckpt_state.rng = t->rng;
    ckpt_state.n_data_pos = 2;
    wsss_loader_position(t->loader, &ckpt_state.data_pos[0], &ckpt_state.data_pos[1]);
    wsss_ckpt_state_set_config(&ckpt_state, t->opts.config);
    int rc = wsss_ckpt_save(dir, t->model, t->opt, &ckpt_state);
    wsss_ckpt_state_clear(&ckpt_state);
    return rc;
}

/* ---- the loop ---- */

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
    double t_start = wsss_now_seconds();
    while (t->epoch < o->epochs) {
        double t0 = wsss_now_seconds(), w0 = wsss_loader_wait_seconds(t->loader);
        const wsss_batch *b = NULL;
        if (wsss_loader_next(t->loader, &b) != WSSS_OK) {
            rc = WSSS_ERR;
            break;
        }
        double lr = wsss_lr_at(&t->sched, t->step);
        wsss_params_zero_grad(t->model, 0);
        wsss_trainer_stats stats;
        memset(&stats, 0, sizeof stats);
        if (fn(user, t, b, lr, &stats) != WSSS_OK) {
            rc = WSSS_ERR;
            break;
        }
        if (!isfinite(stats.loss)) {
            rc = wsss_error_set("the loss is not finite at step %lld (epoch %lld); lower the learning rate "
                                "(nothing ckpt_state for this step)",
                                (long long)t->step, (long long)t->epoch);
            break;
        }
        wsss_optim_step(t->opt, lr);
        t->step++;
        steps_here++;
        t->last_loss = stats.loss;
        t->last_lr = lr;
        t->epoch_loss_sum += stats.loss;
        t->epoch_steps++;
        t->images += b->n;
        double dt = wsss_now_seconds() - t0, wait = wsss_loader_wait_seconds(t->loader) - w0;
        if (o->progress) wsss_progress_add(&prog, 1);
        if (log && (t->step % o->log_every == 0 || b->last_in_epoch)) {
            wsss_runlog_begin(log);
            wsss_runlog_kv_int(log, "step", t->step);
            wsss_runlog_kv_int(log, "epoch", t->epoch);
            wsss_runlog_kv_double(log, "loss", stats.loss);
            for (int k = 0; k < stats.n_aux && k < WSSS_TRAINER_MAX_AUX; k++)
                wsss_runlog_kv_double(log, stats.aux_name[k], stats.aux[k]);
            wsss_runlog_kv_double(log, "lr", lr);
            wsss_runlog_kv_double(log, "images_per_s", dt > 0 ? (double)b->n / dt : NAN);
            wsss_runlog_kv_double(log, "data_wait_s", wait);
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
                for (int k = 0; k < es.n_aux && k < WSSS_TRAINER_MAX_AUX; k++)
                    wsss_runlog_kv_double(log, es.aux_name[k], es.aux[k]);
                wsss_runlog_end(log);
            }
            t->epoch++;
            t->epoch_loss_sum = 0;
            t->epoch_steps = 0;
            if (o->ckpt_dir) {
                if (wsss_trainer_save(t, o->ckpt_dir) != WSSS_OK) {
                    rc = WSSS_ERR;
                    break;
                }
                saved_at_step = t->step;
            }
        }
        int stop = (o->handle_signals && g_stop) || (o->stop_after > 0 && steps_here >= o->stop_after);
        if (stop && t->epoch < o->epochs) {
            if (o->ckpt_dir && saved_at_step != t->step && wsss_trainer_save(t, o->ckpt_dir) != WSSS_OK) {
                rc = WSSS_ERR;
                break;
            }
            rc = WSSS_TRAINER_INTERRUPTED;
            break;
        }
    }
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
    return rc;
}
