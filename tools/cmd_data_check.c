/* `wsss data check ROOT`: open a VOC- or COCO-format dataset, decode every listed sample, and report
 * problems and a summary (images, classes, images per class, labels per image). A COCO dataset's
 * annotation problems (each naming the file, the annotation id and the problem) are found by the
 * open, which also makes its mask cache current; the masks are then decoded like a VOC folder's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "wsss/dataset.h"
#include "wsss/error.h"

typedef struct check_state {
    int skip_bad;
    int64_t problems;
} check_state;

static void report(check_state *st, const char *msg) {
    st->problems++;
    cli_error("data check", "%s: %s", st->skip_bad ? "warning" : "error", msg);
}

static void on_open_problem(void *user, const char *msg) { report(user, msg); }

static void print_ids(char *buf, size_t cap, const uint8_t *present, int from, int nc) {
    size_t k = 0;
    buf[0] = 0;
    for (int c = from; c < nc && k + 8 < cap; c++)
        if (present[c]) k += (size_t)snprintf(buf + k, cap - k, "%s%d", k ? " " : "", c);
    if (k == 0) snprintf(buf, cap, "none");
}

/* Problems of sample i once decoded: bad files, sizes, class ids, labels that disagree with the mask.
 * Returns a malloc'd message or NULL. */
static char *check_sample(const wsss_dataset *ds, int64_t i) {
    wsss_sample s;
    if (wsss_dataset_load(ds, i, WSSS_LOAD_IMAGE | WSSS_LOAD_MASK | WSSS_LOAD_SALIENCY, &s) != WSSS_OK)
        return wsss_xstrdup(wsss_error_msg());
    char *msg = NULL;
    if (s.mask.data && ds->label_source == WSSS_LABELS_FROM_FILE) {
        uint8_t present[WSSS_MAX_CLASSES + 1];
        wsss_mask_classes(&s.mask, ds->num_classes, ds->mask_paths[i], present); /* already validated by load */
        const uint8_t *lab = wsss_dataset_labels(ds, i);
        int differ = 0;
        for (int c = 1; c < ds->num_classes; c++) differ |= (present[c] != 0) != (lab[c] != 0);
        if (differ) {
            char a[1024], b[1024];
            print_ids(a, sizeof a, lab, 1, ds->num_classes);
            print_ids(b, sizeof b, present, 1, ds->num_classes);
            size_t n = strlen(ds->root) + strlen(ds->ids[i]) + strlen(ds->mask_paths[i]) + 2200;
            msg = wsss_xmalloc(n);
            snprintf(msg, n, "%s/cls_labels.txt: labels of id '%s' (%s) differ from the classes in its mask %s (%s)",
                     ds->root, ds->ids[i], a, ds->mask_paths[i], b);
        }
    }
    wsss_sample_free(&s);
    return msg;
}

int cmd_data_check(int argc, char **argv) {
    const char *split = "train", *mask_dir = NULL, *saliency = NULL;
    static const wsss_choice mask_modes[] = {{"auto", WSSS_MASKS_AUTO}, {"optional", WSSS_MASKS_OPTIONAL},
                                             {"required", WSSS_MASKS_REQUIRED}, {"none", WSSS_MASKS_NONE}, {NULL, 0}};
    wsss_mask_mode masks = WSSS_MASKS_AUTO;
    int skip_bad = 0;
    cli_coco coco = {0};
    const cli_opt opts[] = {
        {"split", CLI_STRING, &split, "S",
         "split name (ImageSets/Segmentation/S.txt, or COCO's annotations/instances_S.json) or a list file path",
         .flags = 0},
        CLI_OPTS_COCO(&coco.annotations, &coco.images, &coco.masks),
        {"skip-bad", CLI_FLAG, &skip_bad, NULL, "warn about bad samples, skip them and exit 0", .flags = 0},
        {"masks", CLI_CHOICE, &masks, "MODE", "auto | optional | required | none", .choices = mask_modes},
        {"mask-dir", CLI_STRING, &mask_dir, "DIR", "mask folder (default SegmentationClassAug, else SegmentationClass; COCO: the mask cache)", .flags = 0},
        {"saliency", CLI_STRING, &saliency, "DIR", "saliency map folder to check as well", .flags = 0},
    };
    const cli_spec spec = {"data check", "[ROOT]",
                           "Validate a VOC- or COCO-format dataset (ROOT, or --coco-annotations and --coco-images): "
                           "every listed image decodes, masks exist and match their image, class ids are in range, "
                           "labels agree with masks, COCO annotations are well formed; then print a summary.",
                           opts, (int)(sizeof opts / sizeof opts[0]), 0, 1, NULL};
    char **pos;
    int n_pos;
    int rc = cli_parse(&spec, argc, argv, &pos, &n_pos);
    if (rc) return cli_parse_exit(rc);
    const char *root = n_pos ? pos[0] : NULL;
    free(pos);
    if (!root && !coco.annotations) {
        cli_error(spec.command, "missing ROOT (or --coco-annotations FILE; see wsss data check --help)");
        return CLI_EXIT_USAGE;
    }

    wsss_dataset_opts o;
    cli_dataset_opts(&o, split, masks, 1, &coco);
    o.mask_dir = mask_dir;
    o.saliency_dir = saliency;
    /* skip_bad: always collect every problem; the flag decides the exit code */
    check_state st = {skip_bad, 0};
    o.warn = on_open_problem;
    o.warn_user = &st;
    wsss_dataset *ds;
    if (wsss_dataset_open(root, &o, &ds) != WSSS_OK) {
        cli_error(spec.command, "error: %s", wsss_error_msg());
        if (st.problems) cli_error(spec.command, "%lld problem%s found", (long long)st.problems, st.problems == 1 ? "" : "s");
        return CLI_EXIT_FAILURE;
    }

    /* decode everything; messages are printed afterwards in list order */
    int64_t n = ds->n;
    char **msg = wsss_xcalloc((size_t)n, sizeof(char *));
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t i = 0; i < n; i++) msg[i] = check_sample(ds, i);
    int64_t bad_samples = 0;
    for (int64_t i = 0; i < n; i++)
        if (msg[i]) {
            report(&st, msg[i]);
            bad_samples++;
            free(msg[i]);
        }
    free(msg);

    int nc = ds->num_classes;
    printf("dataset      %s\n", ds->root);
    printf("list         %s\n", ds->list_path);
    printf("images       %lld listed and found, %lld skipped at open, %lld failed to load\n", (long long)n,
           (long long)ds->n_skipped, (long long)bad_samples);
    printf("classes      %d (including background)\n", nc);
    printf("labels       %s\n", !ds->has_labels ? "not available for every image"
                                : ds->label_source == WSSS_LABELS_FROM_FILE ? "from cls_labels.txt"
                                : ds->label_source == WSSS_LABELS_FROM_ANNOTATIONS ? "from COCO annotations"
                                                                            : "from masks");
    int64_t with_mask = 0;
    for (int64_t i = 0; ds->mask_paths && i < n; i++) with_mask += ds->mask_paths[i] != NULL;
    printf("masks        %lld of %lld images\n", (long long)with_mask, (long long)n);
    printf("images per class:\n");
    for (int c = 1; c < nc; c++) printf("  %3d %-20s %lld\n", c, ds->class_names[c], (long long)ds->class_count[c]);
    int64_t *per = wsss_xcalloc((size_t)nc + 1, sizeof(int64_t));
    int most = 0;
    int ids[WSSS_MAX_CLASSES + 1];
    for (int64_t i = 0; i < n; i++) {
        int k = wsss_dataset_label_ids(ds, i, ids);
        per[k]++;
        most = k > most ? k : most;
    }
    printf("labels per image:\n");
    for (int k = 0; k <= most; k++) printf("  %3d %lld\n", k, (long long)per[k]);
    free(per);
    printf("problems     %lld%s\n", (long long)st.problems,
           st.problems && skip_bad ? " (bad samples skipped: --skip-bad)" : "");
    wsss_dataset_free(ds);
    if (st.problems && skip_bad)
        cli_error(spec.command, "%lld problem%s, bad samples skipped", (long long)st.problems, st.problems == 1 ? "" : "s");
    return st.problems && !skip_bad ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}
