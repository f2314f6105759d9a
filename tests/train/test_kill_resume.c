/* Hard stops: `wsss train-cls` is killed with SIGKILL at random points (start-up, steps, checkpoint
 * writes, the final model write) many times, and resumed from its checkpoint each time. After
 * every kill the checkpoint (once one exists) must load, strictly, with a step that never goes
 * back; at the end the model must equal, byte for byte, the model of an uninterrupted run with the
 * same settings (one thread: the project promises exact resume), and no temporary or moved-aside
 * directory or file of a killed save may remain.
 *
 * The kill points are drawn from a seeded generator, spread over the length of the uninterrupted
 * run; the seed is printed (WSSS_KILL_SEED=<seed> repeats a sequence, WSSS_KILLS=<n> sets how many
 * kills). Where each kill landed is printed, never asserted: it depends on the machine's speed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"
#include "wsss/checkpoint.h"
#include "wsss/classifier.h"
#include "wsss/rng.h"

#define ARCH "resnet18-os16"
#define EPOCHS "4"
#define TOTAL_STEPS 8 /* 4 epochs of 8 images in batches of 4 */
#define MNIST "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"

static char g_dir[1024], g_data[1100], g_log[1100];

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int exists(const char *p) { return access(p, F_OK) == 0; }

/* Starts the CLI with args (NULL-terminated after argv[0]), output appended to g_log. */
static pid_t spawn(char *const argv[]) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(g_log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(WSSS_CLI_PATH, argv);
        _exit(127);
    }
    return pid;
}

/* Waits for pid; after kill_after seconds (< 0: never) kills it with SIGKILL. Returns the exit
 * code, or -1 if it was killed. */
static int wait_or_kill(pid_t pid, double kill_after) {
    double t0 = now_s();
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, kill_after < 0 ? 0 : WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) return -2;
        if (kill_after >= 0 && now_s() - t0 >= kill_after) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return WIFSIGNALED(status) ? -1 : WEXITSTATUS(status);
        }
        if (kill_after >= 0) nanosleep(&(struct timespec){0, 2000000}, NULL);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A save killed between its two renames leaves the checkpoint at DIR.old-<pid> (DIR missing). */
static int has_moved_checkpoint(const char *cls_dir) {
    int n = 0;
    DIR *d = opendir(cls_dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) n += strncmp(e->d_name, "ckpt.old-", 9) == 0;
    if (d) closedir(d);
    return n > 0;
}

/* train-cls: a fresh run into run_dir, or, as a user would, a resume of its checkpoint when there
 * is one (the resume itself puts a moved-aside checkpoint back). */
static pid_t start_training(const char *run_dir) {
    char ckpt[1200], state[1300], cls_dir[1200];
    snprintf(ckpt, sizeof ckpt, "%s/cls/ckpt", run_dir);
    snprintf(cls_dir, sizeof cls_dir, "%s/cls", run_dir);
    snprintf(state, sizeof state, "%s/state.json", ckpt);
    if (exists(state) || has_moved_checkpoint(cls_dir)) {
        char *argv[] = {"wsss", "train-cls", "--resume", ckpt, "--quiet", NULL};
        return spawn(argv);
    }
    char *argv[] = {"wsss", "train-cls", "--data", g_data, "--run", (char *)run_dir, "--arch", ARCH, "--epochs", EPOCHS,
                    "--batch", "4", "--size", "32", "--lr", "0.01", "--seed", "3", "--quiet", NULL};
    return spawn(argv);
}

/* Names in dir that a killed save leaves: "*.tmp-<pid>*" and "*.old-<pid>". Prints them. */
static int count_leftovers(const char *dir) {
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        if (strstr(e->d_name, ".tmp-") || strstr(e->d_name, ".old-")) {
            printf("    leftover %s/%s\n", dir, e->d_name);
            n++;
        }
    if (d) closedir(d);
    return n;
}

/* The checkpoint loads strictly (state, every model tensor, the optimizer file); *step gets its step. */
static int checkpoint_loads(wsss_classifier *c, const char *ckpt, int64_t *step) {
    wsss_ckpt_state st;
    wsss_ckpt_state_init(&st);
    int ok = wsss_ckpt_load(ckpt, &c->m.params, NULL, &st) == WSSS_OK;
    if (!ok) printf("    load failed: %s\n", wsss_error_msg());
    *step = st.step;
    wsss_ckpt_state_clear(&st);
    char optim[1200];
    snprintf(optim, sizeof optim, "%s/optim.safetensors", ckpt);
    wsss_safetensors *o = NULL;
    if (ok && wsss_st_open(optim, &o) != WSSS_OK) {
        printf("    optimizer state: %s\n", wsss_error_msg());
        ok = 0;
    }
    wsss_st_close(o);
    return ok;
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "%s", test_tmp_dir("test_kill_resume"));
    snprintf(g_data, sizeof g_data, "%s/data", g_dir);
    snprintf(g_log, sizeof g_log, "%s/cli.log", g_dir);
    if (access(WSSS_CLI_PATH, X_OK) != 0 || !exists(MNIST)) {
        CHECK(0, "needs the CLI (%s) and the Fashion-MNIST files (%s; make deps installs them)", WSSS_CLI_PATH, MNIST);
        return test_summary("test_kill_resume");
    }
    setenv("WSSS_THREADS", "1", 1); /* exact resume is promised on one thread */
    setenv("WSSS_PROGRESS", "0", 1);
    char *gen[] = {"wsss", "data", "fashion-scenes", "--out", g_data, "--train", "8", "--val", "2", "--size", "32",
                   "--quiet", NULL};
    CHECK(wait_or_kill(spawn(gen), -1) == 0, "dataset generation (see %s)", g_log);

    /* the uninterrupted run: the model to reproduce, and the time scale for the kill points */
    char ref_run[1200], ref_model[1300], run[1200], model[1400], ckpt[1400], cls_dir[1300];
    snprintf(ref_run, sizeof ref_run, "%s/ref", g_dir);
    snprintf(ref_model, sizeof ref_model, "%s/cls/model.safetensors", ref_run);
    snprintf(run, sizeof run, "%s/killed", g_dir);
    snprintf(cls_dir, sizeof cls_dir, "%s/cls", run);
    snprintf(model, sizeof model, "%s/model.safetensors", cls_dir);
    snprintf(ckpt, sizeof ckpt, "%s/ckpt", cls_dir);
    double t0 = now_s();
    CHECK(wait_or_kill(start_training(ref_run), -1) == 0, "uninterrupted run (see %s)", g_log);
    double t_ref = now_s() - t0;

    const char *seed_env = getenv("WSSS_KILL_SEED"), *kills_env = getenv("WSSS_KILLS");
    uint64_t seed = seed_env ? strtoull(seed_env, NULL, 10) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    int kills = kills_env ? atoi(kills_env) : 12;
    printf("kill seed %llu (WSSS_KILL_SEED=%llu repeats it), %d kills; uninterrupted run %.1f s\n",
           (unsigned long long)seed, (unsigned long long)seed, kills, t_ref);
    wsss_rng rng;
    wsss_rng_seed(&rng, seed);

    wsss_classifier c;
    CHECK(wsss_classifier_create(&c, ARCH, 10) == WSSS_OK, "classifier: %s", wsss_error_msg());
    int64_t last_step = -1;
    int killed = 0, mid_save = 0, finished_first = 0;
    for (int k = 0; k < kills; k++) {
        /* kill points spread over [0.05, 0.6] of the uninterrupted run (start-up, steps, saves), shrunk
         * with the work left so that later runs are still killed at work (the final model write too) */
        double left = last_step < 0 ? 1.0 : (double)(TOTAL_STEPS - last_step) / TOTAL_STEPS;
        double at = t_ref * (0.05 + 0.55 * wsss_rng_uniform(&rng)) * (0.3 + 0.7 * left);
        int rc = wait_or_kill(start_training(run), at);
        int leftovers = count_leftovers(cls_dir) > 0;
        printf("  kill %2d at %.2f s: %s%s\n", k + 1, at, rc == -1 ? "killed" : "exited before the kill",
               leftovers ? " (a save's temporaries left behind)" : "");
        if (rc == -1) killed++;
        else finished_first++;
        CHECK(rc == -1 || rc == 0, "run %d exited with %d (see %s)", k + 1, rc, g_log);
        mid_save += leftovers;
        if (!exists(ckpt) && !has_moved_checkpoint(cls_dir)) {
            CHECK(last_step < 0, "after kill %d the checkpoint is gone", k + 1);
            continue; /* killed before the first save completed */
        }
        int64_t step = -1;
        CHECK(checkpoint_loads(&c, ckpt, &step), "after kill %d the checkpoint loads", k + 1);
        CHECK(step >= last_step, "after kill %d the checkpoint went back from step %lld to %lld", k + 1,
              (long long)last_step, (long long)step);
        if (step > last_step) last_step = step;
    }
    printf("%d runs killed (%d left a save's temporaries), %d ended before their kill; last checkpoint step %lld\n",
           killed, mid_save, finished_first, (long long)last_step);

    CHECK(wait_or_kill(start_training(run), -1) == 0, "the final resume completes (see %s)", g_log);
    int64_t step = -1;
    CHECK(checkpoint_loads(&c, ckpt, &step) && step == TOTAL_STEPS, "final checkpoint at step %d (got %lld)", TOTAL_STEPS,
          (long long)step);
    size_t n_ref = 0, n_got = 0;
    char *want = test_read_file(ref_model, &n_ref), *got = test_read_file(model, &n_got);
    CHECK(want && got && n_ref == n_got && memcmp(want, got, n_ref) == 0,
          "the killed-and-resumed model equals the uninterrupted one byte for byte (%zu vs %zu bytes)", n_got, n_ref);
    free(want);
    free(got);
    CHECK(count_leftovers(cls_dir) == 0, "no temporary or moved-aside checkpoint left in %s", cls_dir);
    wsss_classifier_free(&c);
    return test_summary("test_kill_resume");
}
