/* Whole-file reads, atomic writes, mkdir -p and path helpers (see fs.h). */
#include "wsss/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wsss/error.h"

/* path opened read-only and its stat, or -1 with the error set when it cannot be opened or is
 * not a regular file (read_all and map_open share it) */
static int open_regular(const char *path, struct stat *sb) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return wsss_error_set("%s: cannot open: %s", path, strerror(errno)), -1;
    if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
        close(fd);
        return wsss_error_set("%s: not a regular file", path), -1;
    }
    return fd;
}

int wsss_file_read_all(const char *path, uint8_t **data, size_t *size) {
    *data = NULL;
    *size = 0;
    struct stat sb;
    int fd = open_regular(path, &sb);
    if (fd < 0) return WSSS_ERR;
    if (sb.st_size > ((off_t)1 << 31)) {
        close(fd);
        return wsss_error_set("%s: file too large (%lld bytes, expected under 2 GiB)", path, (long long)sb.st_size);
    }
    size_t n = (size_t)sb.st_size, got = 0;
    uint8_t *buf = wsss_xmalloc(n + 1);
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break; /* file shrank under us: decode what we have; decoders report truncation */
        got += (size_t)r;
    }
    close(fd);
    *data = buf;
    *size = got;
    return WSSS_OK;
}

int wsss_file_map_open(const char *path, wsss_file_map *m) {
    memset(m, 0, sizeof *m);
    struct stat sb;
    int fd = open_regular(path, &sb);
    if (fd < 0) return WSSS_ERR;
    if (sb.st_size > 0) {
        void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return wsss_error_set("%s: cannot map the file (%lld bytes): %s", path, (long long)sb.st_size, strerror(e));
        }
        (void)madvise(p, (size_t)sb.st_size, MADV_SEQUENTIAL); /* a hint: read ahead, drop behind */
        m->data = p;
        m->size = (size_t)sb.st_size;
    }
    close(fd); /* the mapping keeps the file */
    return WSSS_OK;
}

void wsss_file_map_release(wsss_file_map *m, size_t upto) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    upto = upto < m->size ? upto : m->size;
    upto -= upto % page;
    if (m->data && upto > 0) (void)madvise((void *)m->data, upto, MADV_DONTNEED);
}

void wsss_file_map_close(wsss_file_map *m) {
    if (m->data) munmap((void *)m->data, m->size);
    memset(m, 0, sizeof *m);
}

int wsss_atomic_file_open(wsss_atomic_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    f->tmp = wsss_tmp_file_template(path); /* same directory, so the rename is atomic */
    f->fd = mkstemp(f->tmp);
    if (f->fd < 0) {
        int e = errno;
        free(f->tmp);
        f->tmp = NULL;
        return wsss_error_set("%s: cannot create a temporary file next to it: %s", path, strerror(e));
    }
    f->path = wsss_xstrdup(path);
    (void)fchmod(f->fd, 0644); /* mkstemp creates 0600; these are ordinary shared files */
    return WSSS_OK;
}

static void fail(wsss_atomic_file *f, const char *what, int err) {
    if (f->err) return; /* keep the first failure */
    f->err = err ? err : EIO;
    f->what = what;
}

void wsss_atomic_file_write(wsss_atomic_file *f, const void *data, size_t size) {
    const uint8_t *p = data;
    while (size && !f->err) {
        ssize_t w = write(f->fd, p, size);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            fail(f, "write", w < 0 ? errno : EIO); /* 0 bytes written: no progress */
            break;
        }
        p += w;
        size -= (size_t)w;
    }
}

int wsss_atomic_file_commit(wsss_atomic_file *f, int durable) {
    if (durable && !f->err && fsync(f->fd) != 0) fail(f, "fsync", errno);
    if (close(f->fd) != 0) fail(f, "close", errno);
    if (!f->err && rename(f->tmp, f->path) != 0) fail(f, "rename", errno);
    int rc = WSSS_OK;
    if (f->err) {
        unlink(f->tmp);
        rc = wsss_error_set("%s: %s failed: %s", f->path, f->what, strerror(f->err));
    } else if (durable) {
        char *d = wsss_xstrdup(f->path);
        wsss_fsync_dir(dirname(d)); /* make the rename itself durable */
        free(d);
    }
    free(f->tmp);
    free(f->path);
    memset(f, 0, sizeof *f);
    return rc;
}

static int write_whole(const char *path, const void *data, size_t size, int durable) {
    wsss_atomic_file f;
    if (wsss_atomic_file_open(&f, path) != WSSS_OK) return WSSS_ERR;
    wsss_atomic_file_write(&f, data, size);
    return wsss_atomic_file_commit(&f, durable);
}

int wsss_file_write_atomic(const char *path, const void *data, size_t size) { return write_whole(path, data, size, 0); }

int wsss_file_write_durable(const char *path, const void *data, size_t size) { return write_whole(path, data, size, 1); }

void wsss_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int wsss_mkdirs(const char *path) {
    if (!path || !*path) return WSSS_OK;
    char *p = wsss_xstrdup(path);
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != 0) continue;
        char c = p[i];
        p[i] = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int e = errno;
            wsss_error_set("%s: cannot create directory (%s)", p, strerror(e));
            free(p);
            return WSSS_ERR;
        }
        p[i] = c;
    }
    free(p);
    if (!wsss_path_is_dir(path)) return wsss_error_set("%s: exists and is not a directory", path);
    return WSSS_OK;
}

int wsss_mkdirs_parent(const char *file_path) {
    const char *slash = strrchr(file_path, '/');
    if (!slash || slash == file_path) return WSSS_OK;
    char *d = wsss_xmalloc((size_t)(slash - file_path) + 1);
    memcpy(d, file_path, (size_t)(slash - file_path));
    d[slash - file_path] = 0;
    int rc = wsss_mkdirs(d);
    free(d);
    return rc;
}

int wsss_path_is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int wsss_path_is_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

int wsss_path_exists(const char *path) {
    struct stat sb;
    return lstat(path, &sb) == 0;
}

char *wsss_path_join(const char *dir, const char *rel) {
    if (rel[0] == '/') return wsss_xstrdup(rel);
    size_t a = strlen(dir), b = strlen(rel);
    char *p = wsss_xmalloc(a + b + 2);
    memcpy(p, dir, a);
    size_t k = a;
    if (k > 0 && p[k - 1] != '/') p[k++] = '/';
    memcpy(p + k, rel, b + 1);
    return p;
}
