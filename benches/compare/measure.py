#!/usr/bin/env python3
"""Run one client command and measure it alone: wall seconds, user and sys CPU seconds (from
wait4(2)'s rusage, to the microsecond) and peak RSS of the client process (and any children it
waits for).

Peak RSS comes from GNU time (%M) wrapped around the command: ru_maxrss survives execve, so a
client forked from this Python process would be charged Python's ~14 MiB; forked from
/usr/bin/time it is charged ~1 MiB (`/usr/bin/time -f %M true` prints about 1000 KiB). The CPU
figures include /usr/bin/time's own, about a millisecond.

  measure.py TIMEOUT_S RESULT_FILE LOG_FILE -- COMMAND...

Writes one line to RESULT_FILE: "status rc wall_s user_s sys_s maxrss_kib", status being ok,
failed (non-zero exit) or timeout (killed after TIMEOUT_S, with its whole process group).
The command's stdout and stderr go to LOG_FILE. Exits 0 unless the command could not start.
"""
import os
import signal
import subprocess
import sys
import threading
import time


def main():
    timeout, result, log = float(sys.argv[1]), sys.argv[2], sys.argv[3]
    if sys.argv[4] != "--":
        sys.exit("usage: measure.py TIMEOUT_S RESULT_FILE LOG_FILE -- COMMAND...")
    rss_file = result + ".rss"
    argv = ["/usr/bin/time", "-f", "%M", "-o", rss_file, "--"] + sys.argv[5:]
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        timed_out = []

        def kill():
            timed_out.append(True)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        _, wstatus, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        timer.cancel()
    status = "timeout" if timed_out else None
    rc = os.waitstatus_to_exitcode(wstatus)
    if status is None:
        status = "ok" if rc == 0 else "failed"
    rss = ""
    try:
        with open(rss_file) as f:  # "Command exited with non-zero status N" may come first
            lines = [line for line in f.read().split() if line.isdigit()]
            rss = lines[-1] if lines else ""
        os.unlink(rss_file)
    except OSError:
        pass
    with open(result, "w") as f:
        f.write(f"{status} {rc} {wall:.4f} {ru.ru_utime:.4f} {ru.ru_stime:.4f} {rss or '-'}\n")


if __name__ == "__main__":
    main()
