"""A progress bar on stderr while data loads (tqdm, from the ``bench`` extra)."""

import sys

from tqdm import tqdm


def progress(iterable, total=None, desc=""):
    return tqdm(iterable, total=total, desc=desc, unit="rec", unit_scale=True, leave=False, file=sys.stderr,
                disable=None, mininterval=0.25)
