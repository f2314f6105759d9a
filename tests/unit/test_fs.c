/* File helpers (wsss/fs.h): path joins, mkdir -p, path tests, whole-file reads, atomic writes and
 * their failure messages. Files are checked with the test harness's own reader, not wsss's. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"
#include "wsss/fs.h"

static const char *g_dir;

static void check_join(const char *dir, const char *rel, const char *want) {
    char *got = wsss_path_join(dir, rel);
    CHECK(strcmp(got, want) == 0, "join(\"%s\", \"%s\") = \"%s\", expected \"%s\"", dir, rel, got, want);
    free(got);
}

static void test_join(void) {
    check_join("a", "b", "a/b");
    check_join("a/", "b", "a/b");
    check_join("", "b", "b");
    check_join("/x/y", "b/c.txt", "/x/y/b/c.txt");
    check_join("a", "/abs/b", "/abs/b"); /* an absolute rel stands alone */
}

/* Entries of dir whose name contains ".tmp-" (leftovers of atomic writes). */
static int count_tmp(const char *dir) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) n += strstr(e->d_name, ".tmp-") != NULL;
    if (d) closedir(d);
    return n;
}

static void test_dirs(void) {
    const char *deep = test_path(g_dir, "m/n/o");
    CHECK(wsss_mkdirs(deep) == WSSS_OK, "mkdir -p: %s", wsss_error_msg());
    CHECK(wsss_path_is_dir(deep) && !wsss_path_is_file(deep) && wsss_path_exists(deep), "the new directory");
    CHECK(wsss_mkdirs(deep) == WSSS_OK, "mkdir -p of an existing directory is fine");
    CHECK(wsss_mkdirs_parent(test_path(g_dir, "p/q/file.txt")) == WSSS_OK && wsss_path_is_dir(test_path(g_dir, "p/q")),
          "mkdir -p of a file's parent");

    const char *file = test_path(g_dir, "plain.txt");
    test_write_file(file, "x", 1);
    CHECK(wsss_path_is_file(file) && !wsss_path_is_dir(file), "a regular file");
    CHECK(wsss_mkdirs(file) == WSSS_ERR && strstr(wsss_error_msg(), "exists and is not a directory") &&
              strstr(wsss_error_msg(), file),
          "mkdir -p over a file: %s", wsss_error_msg());
    const char *under = test_path(g_dir, "plain.txt/sub");
    CHECK(wsss_mkdirs(under) == WSSS_ERR && strstr(wsss_error_msg(), "cannot create directory"),
          "mkdir -p below a file: %s", wsss_error_msg());

    const char *dangling = test_path(g_dir, "dangling");
    unlink(dangling);
    CHECK(symlink("does-not-exist", dangling) == 0, "symlink");
    CHECK(wsss_path_exists(dangling) && !wsss_path_is_file(dangling) && !wsss_path_is_dir(dangling),
          "a dangling symlink exists but is neither file nor directory");
    CHECK(!wsss_path_exists(test_path(g_dir, "nothing here")), "a missing path does not exist");
}

static void test_read_write(void) {
    const char *p = test_path(g_dir, "data.bin");
    static const char text[] = "line 1\nline 2\n";
    CHECK(wsss_file_write_atomic(p, text, sizeof text - 1) == WSSS_OK, "atomic write: %s", wsss_error_msg());
    size_t n = 0;
    char *back = test_read_file(p, &n);
    CHECK(back && n == sizeof text - 1 && memcmp(back, text, n) == 0, "written bytes");
    free(back);
    struct stat sb;
    CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0644, "mode 0644, not mkstemp's 0600 (got %o)",
          (unsigned)(sb.st_mode & 0777));

    uint8_t *data = NULL;
    size_t size = 0;
    CHECK(wsss_file_read_all(p, &data, &size) == WSSS_OK && size == sizeof text - 1 && memcmp(data, text, size) == 0,
          "read back");
    free(data);

    CHECK(wsss_file_write_durable(p, "new", 3) == WSSS_OK, "durable write over it: %s", wsss_error_msg());
    back = test_read_file(p, &n);
    CHECK(back && n == 3 && memcmp(back, "new", 3) == 0, "replaced content");
    free(back);

    const char *empty = test_path(g_dir, "empty.bin");
    CHECK(wsss_file_write_atomic(empty, "", 0) == WSSS_OK, "an empty file");
    CHECK(wsss_file_read_all(empty, &data, &size) == WSSS_OK && size == 0 && data != NULL, "reads as 0 bytes");
    free(data);

    CHECK(wsss_file_read_all(test_path(g_dir, "missing.bin"), &data, &size) == WSSS_ERR &&
              strstr(wsss_error_msg(), "missing.bin: cannot open") && data == NULL,
          "missing file: %s", wsss_error_msg());
    CHECK(wsss_file_read_all(g_dir, &data, &size) == WSSS_ERR && strstr(wsss_error_msg(), "not a regular file"),
          "a directory: %s", wsss_error_msg());
    CHECK(count_tmp(g_dir) == 0, "no temporary files left by successful writes");
}

static void test_write_failures(void) {
    /* the target is a directory: the temporary file is written, the rename fails and it is removed */
    const char *d = test_path(g_dir, "a_directory");
    CHECK(wsss_mkdirs(d) == WSSS_OK, "mkdir");
    CHECK(wsss_file_write_atomic(d, "abc", 3) == WSSS_ERR && strstr(wsss_error_msg(), "rename failed") &&
              strstr(wsss_error_msg(), d),
          "write onto a directory: %s", wsss_error_msg());
    CHECK(count_tmp(g_dir) == 0, "the temporary file is removed after a failed rename");

    /* no directory to put the temporary file in */
    const char *nodir = test_path(g_dir, "no/such/dir/f.txt");
    CHECK(wsss_file_write_atomic(nodir, "abc", 3) == WSSS_ERR &&
              strstr(wsss_error_msg(), "cannot create a temporary file next to it") && strstr(wsss_error_msg(), nodir),
          "write into a missing directory: %s", wsss_error_msg());

    /* piecewise: several writes, one commit */
    const char *p = test_path(g_dir, "pieces.txt");
    wsss_atomic_file f;
    CHECK(wsss_atomic_file_open(&f, p) == WSSS_OK, "open");
    CHECK(!wsss_path_exists(p), "nothing at the target before commit");
    wsss_atomic_file_write(&f, "ab", 2);
    wsss_atomic_file_write(&f, "cd", 2);
    CHECK(wsss_atomic_file_commit(&f, 1) == WSSS_OK, "commit: %s", wsss_error_msg());
    size_t n = 0;
    char *back = test_read_file(p, &n);
    CHECK(back && n == 4 && memcmp(back, "abcd", 4) == 0, "pieces in order");
    free(back);
}

/* A mapped file shows the written bytes, still after its front pages are given back. */
static void test_map(void) {
    char *p = wsss_path_join(g_dir, "mapped.bin");
    const size_t n = 3 * 4096 + 123;
    unsigned char *want = malloc(n);
    for (size_t i = 0; i < n; i++) want[i] = (unsigned char)(i * 7 + i / 4096);
    test_write_file(p, want, n);
    wsss_file_map m;
    CHECK(wsss_file_map_open(p, &m) == WSSS_OK && m.size == n && memcmp(m.data, want, n) == 0, "map: %s",
          wsss_error_msg());
    wsss_file_map_release(&m, 2 * 4096 + 5);
    CHECK(memcmp(m.data, want, n) == 0, "the bytes again after release");
    wsss_file_map_close(&m);
    CHECK(m.data == NULL && m.size == 0, "closed");
    test_write_file(p, "", 0);
    CHECK(wsss_file_map_open(p, &m) == WSSS_OK && m.data == NULL && m.size == 0, "empty file");
    wsss_file_map_close(&m);
    CHECK(wsss_file_map_open(g_dir, &m) == WSSS_ERR && strstr(wsss_error_msg(), "not a regular file"), "a folder: %s",
          wsss_error_msg());
    free(want);
    free(p);
}

int main(void) {
    g_dir = test_tmp_dir("test_fs");
    test_join();
    test_dirs();
    test_read_write();
    test_write_failures();
    test_map();
    return test_summary("test_fs");
}
