#ifndef TRIAGE_CHILD_PROCESS_H
#define TRIAGE_CHILD_PROCESS_H

#include <sys/types.h>

/// Starts `path` with `argv` and `envp` (NULL-terminated) in a child process that dies with the
/// calling thread: the child sets PR_SET_PDEATHSIG to `death_signal` (0: none) before it execs, and
/// exits at once if its parent is already gone. The parent of a process, for PR_SET_PDEATHSIG, is
/// the *thread* that forked it, so call this from a thread that lives as long as the process.
///
/// The child's standard input, output and error become `stdin_fd`, `stdout_fd` and `stderr_fd`
/// (-1: inherited); every other descriptor is closed. `directory` (or NULL) is its working
/// directory. Returns the child's pid, or -1 with `*error` set to the errno of the fork, or of the
/// child's failed chdir or exec.
pid_t triage_spawn(
    const char *path, char *const argv[], char *const envp[],
    int stdin_fd, int stdout_fd, int stderr_fd,
    const char *directory, int death_signal, int *error);

/// pipe2(fds, O_CLOEXEC): a pipe whose ends no other child inherits (Swift's Glibc lacks pipe2).
int triage_pipe(int fds[2]);

#endif
