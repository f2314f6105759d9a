/* Files and directories: the one set of helpers every module uses to read, write and lay out files.
 *
 * Part of the io layer, which sits below nn, optim, data and the stages: io depends on the core
 * only (src/io: fs, stale temporaries, json, safetensors), so every layer above may save and load.
 *
 * Atomic writes go to a temporary file next to the target, then rename() over it: a reader never
 * sees a half-written file. Temporary names carry the writer's process id, so that a later run can
 * tell the leftovers of a writer that was killed (its process is gone) from a live writer's work:
 *   PATH.tmp-<pid>            a directory (checkpoints, checkpoint.c)
 *   PATH.tmp-<pid>.XXXXXX     a file (mkstemp template: wsss_atomic_file)
 * Only leftovers of processes that are gone are ever removed. Process ids are those of this
 * machine's pid namespace: writers on other hosts sharing the folder (NFS) cannot be told apart.
 *
 * All functions returning int return WSSS_OK, or WSSS_ERR with a message naming the path. */
#ifndef WSSS_FS_H
#define WSSS_FS_H

#include <stddef.h>
#include <stdint.h>

/* ---- whole files ---- */

/* Whole regular file (under 2 GiB) into a malloc'd buffer (free with free()); one byte more is
 * allocated past *size, so text readers may NUL-terminate. A file that shrinks while being read
 * yields the bytes read (decoders report the truncation). */
int wsss_file_read_all(const char *path, uint8_t **data, size_t *size);
/* A regular file mapped read-only: its bytes without a copy, paged in as they are touched (large
 * inputs read front to back, such as COCO's annotation files). The file must not shrink while it
 * is mapped (touching a page past its end raises SIGBUS). An empty file maps to data NULL, size 0. */
typedef struct wsss_file_map {
    const uint8_t *data;
    size_t size;
} wsss_file_map;
int wsss_file_map_open(const char *path, wsss_file_map *m);
/* Give back the pages of [0, upto): they leave this process's resident memory and are read from
 * the file again if touched (a reader that is done with the front of the file keeps its peak
 * memory small). */
void wsss_file_map_release(wsss_file_map *m, size_t upto);
void wsss_file_map_close(wsss_file_map *m);
/* Atomic write without fsync: readers never see a half-written file, but a power loss may lose it
 * (an fsync per image would dominate dataset generation time). */
int wsss_file_write_atomic(const char *path, const void *data, size_t size);
/* Atomic and durable: the file and the rename are fsync'd before returning (checkpoints). */
int wsss_file_write_durable(const char *path, const void *data, size_t size);

/* A file written piece by piece and renamed into place at commit. Writes retry on EINTR; the first
 * failure is kept and reported by commit, so a writer may write everything, then check once. */
typedef struct wsss_atomic_file {
    char *path, *tmp;
    int fd;
    int err;          /* errno of the first failure, 0 if none */
    const char *what; /* the call that failed ("write", "fsync", ...) */
} wsss_atomic_file;

/* Create the temporary file (mode 0644) next to path. */
int wsss_atomic_file_open(wsss_atomic_file *f, const char *path);
void wsss_atomic_file_write(wsss_atomic_file *f, const void *data, size_t size);
/* Close and rename over the target (durable: fsync the file first and the directory after).
 * On any failure the temporary file is removed. Always releases f. */
int wsss_atomic_file_commit(wsss_atomic_file *f, int durable);

/* fsync a directory (best effort: makes renames inside it durable). */
void wsss_fsync_dir(const char *dir);

/* ---- directories and paths ---- */

/* mkdir -p. */
int wsss_mkdirs(const char *path);
/* mkdir -p of the directory part of a file path. */
int wsss_mkdirs_parent(const char *file_path);
/* stat() follows symlinks: 1 for a directory / a regular file, else 0. */
int wsss_path_is_dir(const char *path);
int wsss_path_is_file(const char *path);
/* 1 if anything is at path (lstat: a dangling symlink counts), else 0. */
int wsss_path_exists(const char *path);
/* "dir/rel" (malloc'd): rel itself when it is absolute or dir is empty; no doubled '/'. */
char *wsss_path_join(const char *dir, const char *rel);

/* ---- temporary names of atomic writes (stale_tmp.c) ---- */

/* "PATH.tmp-<pid>.XXXXXX", a mkstemp template for a temporary file next to path (malloc'd). */
char *wsss_tmp_file_template(const char *path);
/* The pid in a directory entry name "<base><tag><pid>" or "<base><tag><pid>.<anything>" (tag such
 * as ".tmp-"), or 0 if name is not of that form. */
long wsss_tmp_name_pid(const char *name, const char *base, const char *tag);
/* 1 if no process has this pid (kill(pid, 0) fails with ESRCH). A live process, or one we may not
 * signal (EPERM), counts as alive. */
int wsss_pid_is_gone(long pid);
/* Removes the regular files next to path named PATH.tmp-<pid>.* whose writer is gone; returns how
 * many were removed. */
int wsss_remove_stale_tmp_files(const char *path);

#endif
