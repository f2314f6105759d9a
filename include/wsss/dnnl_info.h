/* What oneDNN reports about itself, for `wsss --version` and benchmark headers. */
#ifndef WSSS_DNNL_INFO_H
#define WSSS_DNNL_INFO_H

/* "2.6.3 (git hash ...)" */
const char *wsss_dnnl_version_string(void);
/* The ISA oneDNN dispatches to on this CPU, e.g. "avx512_core". */
const char *wsss_dnnl_cpu_isa(void);

#endif
