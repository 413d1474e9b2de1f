"""Loaded (as ``sitecustomize``) only into nodes that jepsen-lite starts under libfaketime with a
clock skew: it is put first on their PYTHONPATH, never on anyone else's.

Owns one workaround: libfaketime 0.9.10 (Debian 12's) with FAKETIME_DONT_FAKE_MONOTONIC=1 makes
``clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ...)`` — what ``time.sleep`` calls on Python
3.11 — fail with EINVAL, which killed a shard worker's maintenance thread in the first skewed run.
``time.sleep`` here falls back to ``select`` (whose timeout libfaketime leaves alone) until the
monotonic deadline. Must never change what a clock reads: the skew is libfaketime's business.
"""

import errno
import select
import time

_original_sleep = time.sleep


def _sleep_despite_libfaketime(seconds):
    try:
        _original_sleep(seconds)
        return
    except OSError as error:
        if error.errno != errno.EINVAL:
            raise
    deadline = time.monotonic() + seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        select.select([], [], [], remaining)


time.sleep = _sleep_despite_libfaketime
