"""Micro-benchmarks: one compiled module against its pure-Python twin, per function."""
