#!/usr/bin/python3
# bench/run.ts's CPU meter: runs a command and writes, as JSON to the file named first, its wall
# time and the CPU time (user, system) of the command and of every process below it, those that
# left it too. A process that daemonizes (ssh's ControlPersist master: openssh-portable ssh.c
# control_persist_detach, then daemon(3)) is reparented away from its parent, and its CPU time
# would be counted by whoever reaps it, not by the command's parent. So this process makes itself
# the child subreaper (prctl(2) PR_SET_CHILD_SUBREAPER): every orphan below it is reparented to
# it; once the command has exited, what is left (the masters) is sent SIGTERM and reaped, and
# getrusage(2) RUSAGE_CHILDREN then holds all of it. Our own CPU (this Python) is not in it.
#   usage: cputree.py <result.json> <command> [args...]
import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


def children(pid):
    """Our direct children now: /proc/<pid>/stat's 4th field is the parent (proc(5))."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # gone meanwhile
        # comm, in parentheses, may hold spaces: the fields after it start at the last ')'.
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append((int(entry), comm))
    return found


def main():
    out, argv = sys.argv[1], sys.argv[2:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"cputree: prctl(PR_SET_CHILD_SUBREAPER): errno {ctypes.get_errno()}")
    start = time.monotonic()
    code = subprocess.call(argv)
    wall = time.monotonic() - start
    left = children(os.getpid())
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    # Reap everything below us, the left-overs' own children too (they are reparented to us);
    # whatever has not ended on SIGTERM within 10 s gets SIGKILL.
    deadline = time.monotonic() + 10
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            if time.monotonic() > deadline:
                for stuck, _ in children(os.getpid()):
                    os.kill(stuck, signal.SIGKILL)
            time.sleep(0.05)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, "w") as f:
        json.dump({"code": code, "wall": wall, "user": usage.ru_utime, "sys": usage.ru_stime, "leftover": [c for _, c in left]}, f)


main()
