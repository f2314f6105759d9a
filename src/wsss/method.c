/* The registry of WSSS methods (method.h). */
#include "wsss/method.h"

#include <stddef.h>

#include "wsss/error.h"

const wsss_choice wsss_method_choices[] = {
    {"cam", WSSS_METHOD_CAM}, {"mcis", WSSS_METHOD_MCIS}, {"eader", WSSS_METHOD_EADER},
    {"mcis+eader", WSSS_METHOD_MCIS_EADER}, {NULL, 0}};

const wsss_method_ops *wsss_method_get(wsss_method_kind kind) {
    WSSS_ASSERT(wsss_choice_has(wsss_method_choices, (int)kind), "method kind");
    static const wsss_method_ops *const by_kind[] = {&wsss_method_cam, &wsss_method_mcis, &wsss_method_eader,
                                                     &wsss_method_mcis_eader};
    return by_kind[kind];
}
