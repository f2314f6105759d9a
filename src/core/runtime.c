#include "wsss/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

static wsss_backend g_backend = WSSS_BACKEND_DNNL;
static int g_threads = 0;

void wsss_set_backend(wsss_backend b) { g_backend = b; }
wsss_backend wsss_get_backend(void) {
    static int env_checked;
    if (!env_checked) {
        env_checked = 1;
        const char *e = getenv("WSSS_BACKEND");
        if (e && strcmp(e, "ref") == 0) g_backend = WSSS_BACKEND_REF;
    }
    return g_backend;
}

/* Count distinct (physical id, core id) pairs in /proc/cpuinfo; fall back to online CPUs. */
int wsss_physical_cores(void) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    int pairs[1024][2], n = 0, phys = 0;
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            int v;
            if (sscanf(line, "physical id : %d", &v) == 1) phys = v;
            else if (sscanf(line, "core id : %d", &v) == 1) {
                int seen = 0;
                for (int i = 0; i < n; i++)
                    if (pairs[i][0] == phys && pairs[i][1] == v) seen = 1;
                if (!seen && n < 1024) {
                    pairs[n][0] = phys;
                    pairs[n][1] = v;
                    n++;
                }
            }
        }
        fclose(f);
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 0 || (online > 0 && n > online)) n = online > 0 ? (int)online : 1;
    return n;
}

void wsss_set_threads(int n) {
    if (n < 1) n = 1;
    g_threads = n;
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

int wsss_get_threads(void) {
    if (!g_threads) wsss_runtime_init();
    return g_threads;
}

void wsss_runtime_init(void) {
    if (g_threads) return;
    int n = wsss_physical_cores();
    const char *e = getenv("WSSS_THREADS");
    if (e && atoi(e) > 0) n = atoi(e);
    wsss_set_threads(n);
}
