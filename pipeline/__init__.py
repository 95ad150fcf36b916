"""Library behind the DVC stages (stages/ holds one thin script per stage).

Importing it pins the CPU kernels that MKL, ATen and oneDNN choose to the AVX2 family on an x86-64
CPU that has AVX2, before torch is imported (they read these settings once, when they first run).
Left to themselves they pick the widest instructions of the CPU at hand (AVX-512 on many Intel
Xeons, AVX2 on many AMD EPYCs), and sums taken in another order round differently: the same
deterministic training wrote other weights on an Intel Xeon than on an AMD EPYC. With the three
pinned, every x86-64 CPU with AVX2 runs the same kernels (docs/team.md, "Bitwise reproducibility",
says what holds and what does not). A value already set in the environment is kept.
"""

import os
import platform

CPU_KERNELS = {"MKL_CBWR": "AVX2", "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def _has_avx2() -> bool:
    try:
        with open("/proc/cpuinfo") as fh:
            return any(line.startswith("flags") and " avx2" in line for line in fh)
    except OSError:  # not Linux: left as the libraries choose
        return False


if platform.machine().lower() in ("x86_64", "amd64") and _has_avx2():
    for _name, _value in CPU_KERNELS.items():
        os.environ.setdefault(_name, _value)
