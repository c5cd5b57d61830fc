"""How the micro-benchmarks time one call: timeit, calibrated, repeated, interleaved by the caller.

Shared by micro/core.py and micro/expressions.py.  pyperf was tried for this
and not taken: its figures are a mean and deviation over worker processes,
each benchmark run alone, while these tables are ratios of two calls timed in
the same process, run after run in alternation, so that the machine's drift
hits both sides alike (pyperf cannot interleave two benchmarks).  Tried on
``pack_item`` (pure and compiled) on the shared machine: ``pyperf --fast``
took 34 s for the two and reported 64.9 +- 17.8 us and 3.14 +- 1.03 us (the
load's interference averaged in); ``per_call_us`` took 1.3 s for five
repeats of each and gave 14.5-26 us and 0.48-1.1 us.  A table of forty
functions would take pyperf a quarter of an hour in its fast mode.
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
