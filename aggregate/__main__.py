import os
import sys

# One BLAS thread, set before numpy loads. The render computes with one anyway (threadpoolctl: shards must
# not depend on the machine), and OpenBLAS's idle helper threads would otherwise spin for about 0.1 s after
# every start, in this process and in each render worker, on the cores the workers need (measured: 3 % of
# a 400-clip render's CPU). Nothing else this command line does multiplies large matrices.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .cli import main  # noqa: E402

if __name__ == "__main__":  # not when a spawned worker process imports this module
    sys.exit(main())
