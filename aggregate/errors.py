"""The one exception type for bad input a user can fix.

Its message names the file and says what to do; the command line prints it
on one line and exits non-zero, without a traceback.
"""


class InputError(Exception):
    pass


def run_command(handler, args) -> int:
    """Run a CLI handler: bad input is one line on stderr and exit status 2, never a traceback."""
    import sys

    try:
        return handler(args)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing half-written is kept or used; run the same command again to resume",
              file=sys.stderr)
        return 130
