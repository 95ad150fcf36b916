"""Library behind the DVC stages (stages/ holds one thin script per stage).

Importing it pins the CPU kernels first, before anything loads NumPy or torch (pipeline/core/kernels.py).
It holds nothing else, and `make deps` keeps it so: the core folder, a dependency of every stage, then
covers what this file does."""

import pipeline.core.kernels  # noqa: F401
