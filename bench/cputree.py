#!/usr/bin/python3
# bench/run.ts's CPU meter: runs a command and writes, as JSON to the file named first, its wall
# time and the CPU time (user, system) of the command and of every process below it, those that
# left it too. A process that daemonizes (ssh's ControlPersist master: openssh-portable ssh.c
# control_persist_detach, then daemon(3)) is reparented away from its parent, and its CPU time
# would be counted by whoever reaps it, not by the command's parent. So this process makes itself
# the child subreaper (prctl(2) PR_SET_CHILD_SUBREAPER): every orphan below it is reparented to
# it; once the command has exited, what is left (the masters) is sent SIGTERM and reaped, and
# getrusage(2) RUSAGE_CHILDREN then holds all of it. Our own CPU (this Python) is not in it.
# With --acct, BSD process accounting (acct(2), acct(5): one record per process that ends, its
# name, parent and CPU time) is on while the command runs, and the result also has the CPU time by
# process name and parent name ("node <- pulumi") of every process of the tree. Accounting is
# system-wide: only the records of our tree (by parent, from us down) are kept.
#   usage: cputree.py [--acct] <result.json> <command> [args...]
import collections
import ctypes
import json
import os
import resource
import signal
import struct
import subprocess
import sys
import tempfile
import time

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
NODE_THREADS = {"DelayedTaskSche", "libuv-worker", "V8Worker", "SignalInspecto"}


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


def comp_t(v):
    """acct(5)'s comp_t: a 13-bit mantissa and a 3-bit base-8 exponent."""
    return (v & 0x1FFF) << (3 * (v >> 13))


def by_process(log, root):
    """CPU seconds and count by "name <- parent's name" of the processes below `root`, from an
    acct_v3 file (linux/acct.h: 64 bytes a record, times in AHZ = 100 ticks a second)."""
    records = {}
    with open(log, "rb") as f:
        data = f.read()
    for at in range(0, len(data) - 63, 64):
        fields = struct.unpack("<BBHIIIIIIf8H16s", data[at : at + 64])
        if fields[1] != 3:
            continue  # not acct_v3
        pid, ppid, ut, st, comm = fields[6], fields[7], fields[10], fields[11], fields[18]
        name = comm.rstrip(b"\0").decode(errors="replace")
        # A process's record is named after its last thread to end: Node's workers have names of
        # their own (node/src/node_platform.cc, libuv's threadpool).
        records[pid] = (ppid, "node" if name in NODE_THREADS else name, (comp_t(ut) + comp_t(st)) / 100)
    below = collections.defaultdict(list)
    for pid, (ppid, _, _) in records.items():
        below[ppid].append(pid)
    cpu, count = collections.Counter(), collections.Counter()
    todo = list(below[root])
    while todo:
        pid = todo.pop()
        ppid, comm, seconds = records[pid]
        kind = f"{comm} <- {records[ppid][1] if ppid in records else 'cputree'}"
        cpu[kind] += seconds
        count[kind] += 1
        todo += below[pid]
    return {k: {"cpu": round(cpu[k], 2), "count": count[k]} for k in cpu}


def main():
    accounting = sys.argv[1] == "--acct"
    args = sys.argv[2:] if accounting else sys.argv[1:]
    out, argv = args[0], args[1:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit(f"cputree: prctl(PR_SET_CHILD_SUBREAPER): errno {ctypes.get_errno()}")
    if accounting:
        log = tempfile.NamedTemporaryFile(prefix="cputree-acct-", delete=False).name
        if libc.acct(log.encode()) != 0:
            # Measured all the same, without the breakdown.
            accounting = f"acct(2): {os.strerror(ctypes.get_errno())} (process accounting needs root: CAP_SYS_PACCT)"
            os.unlink(log)
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
    result = {"code": code, "wall": wall, "user": usage.ru_utime, "sys": usage.ru_stime, "leftover": [c for _, c in left]}
    if accounting is True:
        libc.acct(None)
        result["by"] = by_process(log, os.getpid())
        os.unlink(log)
    elif accounting:
        result["noAccounting"] = accounting
    with open(out, "w") as f:
        json.dump(result, f)


main()
