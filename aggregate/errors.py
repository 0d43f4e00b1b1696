"""The one exception type for bad input a user can fix, and how the command line reports it and ends.

Its message names the file and says what to do; the command line prints it
on one line and exits non-zero, without a traceback.
"""
import atexit
import os
import sys
import threading

# What a process killed by SIGPIPE reports (128 + 13): the status a shell expects from `cmd | head`.
EXIT_BROKEN_PIPE = 141


class InputError(Exception):
    pass


def run_command(handler, args) -> int:
    """Run a CLI handler: bad input is one line on stderr and exit status 2, never a traceback."""
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


def end_process(status: int):
    """End ``python -m aggregate`` with ``status``, without the interpreter's teardown when nothing is left to finish.

    Python's teardown frees pandas, pyarrow, h5py and numpy one object at a time: 0.15-0.2 s,
    as long as rendering 20 clips, for memory the OS takes back at once. When every thread but
    this one is done and no HDF5 file is open, the teardown has nothing left to do for us: the
    atexit handlers run, the standard streams are flushed, and the process ends. Otherwise it
    exits the usual way.
    """
    busy = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if busy or _hdf5_files_open():
        sys.exit(status)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader gone away, or a closed stream: nothing more can reach it
            pass
    os._exit(status)


def _hdf5_files_open() -> bool:
    h5py = sys.modules.get("h5py")
    return h5py is not None and h5py.h5f.get_obj_count(h5py.h5f.OBJ_ALL, h5py.h5f.OBJ_FILE) > 0
