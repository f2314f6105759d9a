/* The segmentation inference settings shared by eval-seg and segment (cli.h). */
#include "cli.h"
#include "wsss/error.h"
#include "wsss/segmenter.h"

cli_seg_infer cli_seg_infer_default(void) { return (cli_seg_infer){"0.5,0.75,1,1.25,1.5", 0, 0, 0}; }

int cli_seg_infer_opts(const char *command, const cli_seg_infer *si, wsss_seg_infer_opts *io) {
    wsss_seg_infer_opts_default(io);
    io->flip = !si->no_flip;
    io->direct_conv = si->direct_conv;
    io->crf = si->crf;
    if (wsss_seg_parse_scales(si->scales, io) != WSSS_OK) {
        cli_error(command, "--%s", wsss_error_msg());
        return -1;
    }
    return 0;
}
