/* `wsss version`: version and runtime information. */
#include <stdio.h>

#include "commands.h"
#include "wsss/dnnl_info.h"
#include "wsss/runtime.h"

int cmd_version(int argc, char **argv) {
    static const cli_spec spec = {"version", NULL, "Print version and runtime information.", NULL, 0, 0, 0, NULL};
    int rc = cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return cli_parse_exit(rc);
    printf("wsss %s\n", WSSS_VERSION);
    printf("oneDNN %s\n", wsss_dnnl_version_string());
    printf("cpu isa %s\n", wsss_dnnl_cpu_isa());
    printf("threads %d\n", wsss_get_threads());
    return CLI_EXIT_OK;
}
