"""The one exception type for bad input a user can fix, and how the command line reports it.

Its message names the file and says what to do; the command line prints it
on one line and exits non-zero, without a traceback.
"""
import os
import signal
import sys

# What a process killed by SIGPIPE reports (128 + 13): the status a shell expects from `cmd | head`.
EXIT_BROKEN_PIPE = 141


class InputError(Exception):
    pass


class DecodeError(InputError):
    """A clip that cannot become features (unreadable, empty, non-finite); the message names the file,
    ``why`` says what is wrong without it (for records that must not hold this machine's paths)."""

    def __init__(self, path, why: str):
        super().__init__(f"{path}: {why}")
        self.why = why


def _interrupted(signum, frame):
    """Ctrl-C, as Python's own handler: KeyboardInterrupt. Installed by the command line because,
    measured, with Python's own handler a Ctrl-C during a render's start was sometimes lost (the
    render ran to its end; pyarrow reading the manifest meanwhile is the likely place), and with
    this one none was, in 36 runs."""
    raise KeyboardInterrupt


def run_command(handler, args) -> int:
    """Run a CLI handler: bad input is one line on stderr and exit status 2, never a traceback."""
    signal.signal(signal.SIGINT, _interrupted)
    try:
        status = handler(args)
        sys.stdout.flush()  # here, not at exit, so that a reader gone away (`| head`) is caught below
        return status
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        _json_failure(args, str(err))
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing half-written is kept or used; run the same command again to resume",
              file=sys.stderr)
        _json_failure(args, "interrupted")
        return 130
    except BrokenPipeError:
        # The reader of stdout left (`| head -1`): stop quietly. Point stdout at devnull so that
        # Python's own flush at exit does not fail again and print "Exception ignored".
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _json_failure(args, error: str) -> None:
    """With --json, a script reads the failure on stdout too: one JSON object with "ok": false."""
    if getattr(args, "json", False):
        import json

        try:
            print(json.dumps({"ok": False, "error": error}, sort_keys=True), flush=True)
        except (BrokenPipeError, OSError):  # a reader gone away: stderr has the line already
            pass
