/* Single-label image datasets in torchvision's ImageFolder layout (Fashion-Objects, an ImageNet-style
 * folder, MCIS's "extra single-label data"):
 *   ROOT/<split>/<class>/<file>.jpg|.jpeg|.png     (extension in any case)
 * Class index = position of the class folder in the sorted folder names (strcmp order, as
 * torchvision sorts them); samples are ordered by class, then by file name (strcmp). So the same
 * folder always gives the same classes and samples in the same order.
 * Names starting with '.' are ignored (hidden files, editor and OS metadata). Anything else that is
 * not an image file name (another extension, a folder inside a class folder, a file where class
 * folders are expected) is a problem: an error naming it, or with skip_bad a warning and the entry
 * skipped. A class folder without images is always an error (the class would have no samples).
 * Opening reads directory listings only; a corrupt image is found when it is decoded
 * (wsss_dataset_load / the loader), with the decoder's error naming the file. */
#ifndef WSSS_IMAGE_FOLDER_H
#define WSSS_IMAGE_FOLDER_H

#include <stdint.h>

#include "wsss/dataset.h"

typedef struct wsss_image_folder_opts {
    int skip_bad;              /* 0: the first problem fails the open; 1: warn, skip the entry, go on */
    wsss_dataset_warn_fn warn; /* NULL: warnings go to stderr as "wsss: warning: msg" */
    void *warn_user;
} wsss_image_folder_opts;

void wsss_image_folder_opts_default(wsss_image_folder_opts *o);

/* All fields are read-only for users. */
typedef struct wsss_image_folder {
    char *dir;            /* ROOT/<split> */
    int num_classes;
    char **class_names;   /* [num_classes] the class folder names, sorted */
    int64_t *class_count; /* [num_classes] images per class (each >= 1) */
    int64_t n;            /* number of images */
    char **paths;         /* [n] image paths (dir/<class>/<file>) */
    char **ids;           /* [n] "<class>/<file>": unique within the split */
    int *labels;          /* [n] class index 0..num_classes-1 */
    int64_t n_skipped;    /* entries skipped with skip_bad */
} wsss_image_folder;

/* Open ROOT/<split> (opts NULL = defaults). Errors name the folder or file: ROOT or the split folder
 * missing, no class folders, a class folder without images, a non-image entry (unless skip_bad). */
int wsss_image_folder_open(const char *root, const char *split, const wsss_image_folder_opts *opts,
                           wsss_image_folder **out);
void wsss_image_folder_free(wsss_image_folder *f);

/* The folder form of a class name: lower-cased, every run of characters other than a-z and 0-9
 * replaced by '-', ends trimmed ("T-shirt/top" -> "t-shirt-top", "Ankle boot" -> "ankle-boot").
 * Malloc'd; may be "" for a name without letters or digits. */
char *wsss_class_folder_name(const char *class_name);

/* Match the folder's classes to a dataset's class names (e.g. its classes.txt, background first)
 * under that normalisation, applied to both sides: map[k] receives the class index (1 ..
 * num_classes-1) of folder k. Errors name the folder and `names_source` (the file the names came
 * from, for messages): a folder matching no class (the message lists the folder names expected),
 * matching the background (index 0) or two classes, or two folders matching one class. Dataset
 * classes without a folder are fine. */
int wsss_image_folder_match_classes(const wsss_image_folder *f, char *const *class_names, int num_classes,
                                    const char *names_source, int *map);

/* The folder as a wsss_dataset, so the loader (loader.h) can read it: image i is f->paths[i], no
 * masks, exactly one label. map NULL: the classes are "background" followed by the folder names
 * (folder k is class k + 1); else folder k is class map[k] of class_names[num_classes] (from
 * wsss_image_folder_match_classes). A batch's label row is then one-hot over the num_classes - 1
 * foreground classes: for single-label (softmax) training the target of a row is its argmax. */
int wsss_image_folder_to_dataset(const wsss_image_folder *f, const int *map, char *const *class_names,
                                 int num_classes, wsss_dataset **out);

#endif
