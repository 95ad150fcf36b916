"""The benchmarks (bench/README.md). A package so that `bench/speed.py`'s parts, one module per
measurement, import each other, and tests import them."""
