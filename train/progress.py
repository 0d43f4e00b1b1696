"""Progress of a training run as plain lines: each epoch's figures and the time left, and within a long
epoch a line now and then, so a log (or a terminal) shows where a seven-hour run is.

On a terminal Keras draws its progress bar within the epoch and this adds the line at each
epoch's end; elsewhere (a log file, a pipe, a batch job) Keras draws nothing and this writes
every line: carriage returns and bars make unreadable logs.
"""
from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone

SHOWN = ("loss", "val_loss", "val_pr_auc")  # of an epoch's logs, in its line
EVERY = 60.0  # seconds between lines within an epoch


def duration(seconds: float) -> str:
    """'45 s', '12 min', '2 h 05 min'."""
    seconds = max(0, int(round(seconds)))
    if seconds < 90:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60:02d} min"


def epoch_progress(epochs: int, batches: int, clips: int, within_epoch: bool,
                   may_stop_early: bool = False, stream=None, every: float = EVERY):
    """A Keras callback printing one line per epoch (figures, seconds, time left) and, with
    ``within_epoch``, a line every ``every`` seconds inside an epoch.

    The time left counts the epochs still to run at the mean pace of this session's epochs
    after its first (which also builds the model's graph), or the first alone."""
    import keras

    out = stream or sys.stdout

    class EpochProgress(keras.callbacks.Callback):
        async_safe = True  # its batch hook reads only the clock and its own counters

        def on_train_begin(self, logs=None):
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch, self.start = epoch, time.perf_counter()
            self.last = self.start

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            if not within_epoch or now - self.last < every:
                return
            self.last = now
            done = min(batch + 1, batches)
            pace = done / (now - self.start)
            print(f"  epoch {self.epoch + 1}/{epochs}: batch {done:,} of {batches:,} ({100 * done / batches:.0f} %), "
                  f"{pace * clips / batches:,.0f} clips/s; this epoch ends in about "
                  f"{duration((batches - done) / pace)}", file=out, flush=True)

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)
            figures = ", ".join(f"{k} {logs[k]:.4f}" for k in SHOWN if logs and k in logs)
            left = epochs - (epoch + 1)
            pace = sum(self.seconds[1:]) / len(self.seconds[1:]) if len(self.seconds) > 1 else self.seconds[0]
            if left:
                end = datetime.now(timezone.utc) + timedelta(seconds=left * pace)
                eta = (f"{'at most ' if may_stop_early else ''}about {duration(left * pace)} left "
                       f"({left} epoch{'s' if left > 1 else ''}; ends near {end:%H:%M} UTC)")
            else:
                eta = "the last epoch"
            print(f"epoch {epoch + 1}/{epochs}: {duration(self.seconds[-1])}; {figures}; {eta}", file=out,
                  flush=True)

    return EpochProgress()
