/* Temporary names of atomic writes carry the writer's process id, so that a later run can tell the
 * leftovers of a writer that was killed (its process is gone) from a live writer's work in progress:
 *   PATH.tmp-<pid>            a directory (checkpoints, checkpoint.c)
 *   PATH.tmp-<pid>.XXXXXX     a file (mkstemp template: the safetensors and image writers)
 * Only leftovers of processes that are gone are ever removed. Process ids are those of this
 * machine's pid namespace: writers on other hosts sharing the folder (NFS) cannot be told apart. */
#ifndef WSSS_IO_STALE_TMP_H
#define WSSS_IO_STALE_TMP_H

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
