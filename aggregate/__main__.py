import gc
import os
import sys

# One BLAS thread, set before numpy loads. The render computes with one anyway (threadpoolctl: shards must
# not depend on the machine), and OpenBLAS's idle helper threads would otherwise spin for about 0.1 s after
# every start, in this process and in each render worker, on the cores the workers need (measured: 3 % of
# a 400-clip render's CPU). Nothing else this command line does multiplies large matrices.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .cli import main  # noqa: E402

if __name__ == "__main__":  # not when a spawned worker process imports this module
    status = main()
    # The command has finished: every file it wrote is closed, synced and renamed into place. At exit
    # the interpreter would still run one last garbage collection over every object pandas, pyarrow,
    # h5py and scipy keep (0.15 s of a 3 s render on 2 cores, measured, while the render workers end
    # beside it), only to free memory the OS frees anyway. gc.freeze() leaves those objects out of it;
    # atexit handlers and the finalizers of objects freed by reference counting still run as always
    # (CPython promises no __del__ for objects still alive at exit, frozen or not).
    gc.freeze()
    sys.exit(status)
