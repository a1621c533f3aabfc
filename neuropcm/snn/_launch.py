"""Start a simulator binary that dies with the process that started it.

Run as a script, never imported by the package (it must start fast, without NeuroPCM or
Brian2)::

    python -S -E _launch.py PARENT_PID STDERR_FILE PROGRAM [ARGS...]

On Linux it asks the kernel (``prctl(PR_SET_PDEATHSIG, SIGKILL)``) to kill it when its
parent dies -- even by ``kill -9``, which the parent cannot catch -- checks that the parent
is still ``PARENT_PID`` (it may have died before the request took effect), sends its
standard error to ``STDERR_FILE`` and replaces itself with ``PROGRAM``; the request
survives that ``exec``. Elsewhere it only redirects and execs.
"""

import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main() -> None:
    parent, stderr_file, program = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            os.write(2, b"neuropcm launcher: prctl(PR_SET_PDEATHSIG) failed\n")
            os._exit(70)
    if os.getppid() != parent:
        os._exit(75)  # the parent is already gone: nobody wants this run
    fd = os.open(stderr_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
    os.execv(program[0], program)


if __name__ == "__main__":
    main()
