/* Extra training images with image-level labels appended to a dataset: MCIS's extra-data settings
 * (the paper's settings 2 and 3, specs/mcis.md §9), which only lengthen the classifier's training
 * list; the pair sampler then treats them like any other image.
 * Each extra folder is a VOC-format folder (dataset.h; its "train" split and image-level labels)
 * or an ImageFolder (image_folder.h; ROOT/train/<class>/<image>). Its classes are matched to the
 * base dataset's by name under the folder-name normalisation of image_folder.h ("T-shirt/top" =
 * "t-shirt-top"), after an optional class map file (lines "extra class = dataset class", blank
 * lines and '#' comments skipped, names compared the same way); a class without a match is an
 * error naming the folder, the class and the names expected. Extra sample ids are "extra<k>/<id>" (k = 1, 2, ... in the order given). The result
 * has no masks or saliency maps: it is a classifier's training list. */
#ifndef WSSS_DATASET_EXTRA_H
#define WSSS_DATASET_EXTRA_H

#include "wsss/dataset.h"

/* base's samples followed by those of every folder of dirs (comma-separated), as one dataset with
 * base's classes; class_map: NULL or the map file. WSSS_ERR (message naming the folder, or the map
 * file and line) and *out = NULL on a problem. */
int wsss_dataset_with_extra(const wsss_dataset *base, const char *dirs, const char *class_map,
                            wsss_dataset **out);

#endif
