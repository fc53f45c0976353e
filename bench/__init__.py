"""Benchmark scripts: each prints a table next to its reference measured in the same run."""
