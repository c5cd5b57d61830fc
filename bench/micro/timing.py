"""How the micro-benchmarks time one call: timeit, calibrated, repeated, interleaved by the caller.

Shared by micro/core.py and micro/expressions.py.  pyperf was considered for
this and not taken: its figures are a mean and deviation over many worker
processes, each run alone, while these tables are ratios of two calls timed
in the same process, run after run in alternation, so that the machine's
drift hits both sides alike (pyperf cannot interleave two benchmarks), and a
table of some forty functions would take pyperf's default 20 processes each.
"""

import timeit


def calibrate(timer, target=0.01):
    """How many calls of ``timer`` take about ``target`` seconds."""
    number = 1
    while True:
        elapsed = timer.timeit(number)
        if elapsed >= target / 4:
            return max(1, int(number * target / elapsed))
        number *= 4


def per_call_us(fn, repeats=7, budget=0.02):
    """Microseconds per call of ``fn``: the fastest of ``repeats`` runs of about ``budget`` seconds each."""
    timer = timeit.Timer(fn)
    number = calibrate(timer, budget)
    return min(timer.timeit(number) / number for _ in range(repeats)) * 1e6
