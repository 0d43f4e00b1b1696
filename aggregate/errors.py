"""The one exception type for bad input a user can fix.

Its message names the file and says what to do; the command line prints it
on one line and exits non-zero, without a traceback.
"""


class InputError(Exception):
    pass
