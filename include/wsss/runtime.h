/* Process-wide runtime: kernel backend selection, threading policy, version information. */
#ifndef WSSS_RUNTIME_H
#define WSSS_RUNTIME_H

#define WSSS_VERSION "0.1.0"

typedef enum {
    WSSS_BACKEND_DNNL = 0, /* oneDNN where an op has a oneDNN kernel, plain C elsewhere (default) */
    WSSS_BACKEND_REF       /* plain C reference kernels everywhere: the oracle for tests */
} wsss_backend;

void wsss_set_backend(wsss_backend b);
wsss_backend wsss_get_backend(void);

/* One threading policy for the process: thread count = physical cores unless WSSS_THREADS or
 * set_threads says otherwise; applied to OpenMP (which oneDNN also uses) once. */
void wsss_runtime_init(void);
void wsss_set_threads(int n);
int wsss_get_threads(void);
int wsss_physical_cores(void);

#endif
