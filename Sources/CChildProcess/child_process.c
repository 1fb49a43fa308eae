#define _GNU_SOURCE
#include "child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

// Between fork and exec only async-signal-safe calls: the other threads of the parent did not
// come along, and whatever lock they held stays held in the child.
static void fail(int report, int code) {
    ssize_t written;
    do { written = write(report, &code, sizeof code); } while (written < 0 && errno == EINTR);
    _exit(127);
}

static int move_to(int fd, int target) {
    if (fd < 0 || fd == target) return 0;
    return dup2(fd, target) < 0 ? -1 : 0;
}

pid_t triage_spawn(
    const char *path, char *const argv[], char *const envp[],
    int stdin_fd, int stdout_fd, int stderr_fd,
    const char *directory, int death_signal, int *error)
{
    // The child reports a failed chdir/exec through this pipe; exec closes it (O_CLOEXEC), so
    // end-of-file means the new program runs.
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) { *error = errno; return -1; }
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) {
        *error = errno;
        close(report[0]);
        close(report[1]);
        return -1;
    }
    if (child == 0) {
        if (death_signal != 0) {
            if (prctl(PR_SET_PDEATHSIG, death_signal) != 0) fail(report[1], errno);
            // The parent may have died before the prctl: then nobody would send the signal.
            if (getppid() != parent) _exit(127);
        }
        // The report pipe's write end must not land on 0-2; move it above them first.
        int reporter = report[1];
        if (reporter <= 2) {
            reporter = fcntl(reporter, F_DUPFD_CLOEXEC, 3);
            if (reporter < 0) _exit(127);
        }
        // Sources that sit on 0-2 are copied up first so that one dup2 does not clobber another.
        int fds[3] = {stdin_fd, stdout_fd, stderr_fd};
        for (int i = 0; i < 3; i++) {
            if (fds[i] >= 0 && fds[i] <= 2 && fds[i] != i) {
                fds[i] = fcntl(fds[i], F_DUPFD, 3);
                if (fds[i] < 0) fail(reporter, errno);
            }
        }
        for (int i = 0; i < 3; i++) {
            if (move_to(fds[i], i) != 0) fail(reporter, errno);
        }
        // Nothing else is inherited: a stray pipe end in a child keeps another reader from its EOF.
        if (reporter > 3) {
            if (syscall(SYS_close_range, 3, reporter - 1, 0) != 0) {
                for (int fd = 3; fd < reporter; fd++) close(fd);
            }
        }
        if (syscall(SYS_close_range, reporter + 1, ~0U, 0) != 0) {
            struct rlimit limit;
            int highest = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 65536 ? (int)limit.rlim_cur : 65536;
            for (int fd = reporter + 1; fd < highest; fd++) close(fd);
        }
        // Ignored signals survive exec (the Swift runtime ignores SIGPIPE): the child starts
        // with the defaults, as a shell would give it.
        struct sigaction standard = {0};
        standard.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; s++) {
            if (s != SIGKILL && s != SIGSTOP) sigaction(s, &standard, NULL);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (directory != NULL && chdir(directory) != 0) fail(reporter, errno);
        execve(path, argv, envp);
        fail(reporter, errno);
    }
    close(report[1]);
    int code = 0;
    ssize_t got;
    do { got = read(report[0], &code, sizeof code); } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got == (ssize_t)sizeof code) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        *error = code;
        return -1;
    }
    return child;
}

int triage_pipe(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}
