/* Temporary names with the writer's pid, and removal of the leftovers of writers that are gone
 * (fs.h). */
#include "wsss/fs.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wsss/error.h"

char *wsss_tmp_file_template(const char *path) {
    size_t n = strlen(path) + 40;
    char *t = wsss_xmalloc(n);
    snprintf(t, n, "%s.tmp-%ld.XXXXXX", path, (long)getpid());
    return t;
}

long wsss_tmp_name_pid(const char *name, const char *base, const char *tag) {
    size_t bl = strlen(base), tl = strlen(tag);
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, tag, tl) != 0) return 0;
    const char *digits = name + bl + tl;
    long pid = 0;
    const char *p = digits;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (pid > 99999999) return 0; /* longer than any pid */
        pid = pid * 10 + (*p - '0');
    }
    if (p == digits || (*p != 0 && *p != '.')) return 0;
    return pid;
}

int wsss_pid_is_gone(long pid) {
    if (pid <= 0) return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int wsss_remove_stale_tmp_files(const char *path) {
    char *dcopy = wsss_xstrdup(path), *bcopy = wsss_xstrdup(path);
    const char *dir = dirname(dcopy), *base = basename(bcopy);
    int removed = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        long pid = wsss_tmp_name_pid(e->d_name, base, ".tmp-");
        if (!pid || !strchr(e->d_name + strlen(base) + 5, '.') || !wsss_pid_is_gone(pid)) continue;
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        char *p = wsss_xmalloc(n);
        snprintf(p, n, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) && unlink(p) == 0) removed++;
        free(p);
    }
    if (d) closedir(d);
    free(dcopy);
    free(bcopy);
    return removed;
}
