"""Progress of a run: one line redrawn in place on a terminal, plain lines (every few seconds and at
the end) when stderr is a file or a pipe (a batch job's log)."""
import sys
import time


class Progress:
    def __init__(self, total, stream=None, every_s=None):
        self.total, self.stream = total, stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_s = every_s if every_s is not None else (0.2 if self.tty else 10.0)
        self.start = self.last = time.monotonic()

    def __call__(self, done, errors):
        now = time.monotonic()
        final = done >= self.total
        if not final and now - self.last < self.every_s:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        line = (f"vitrt.dask: {done}/{self.total} images ({100.0 * done / max(self.total, 1):.1f} %), "
                f"{rate:.1f} images/s, {errors} failed")
        if self.tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
