"""The CPU kernels of NumPy's and SciPy's OpenBLAS, MKL, ATen and oneDNN, pinned to the AVX2 family
before they load (pipeline/__init__.py imports this first, for every stage and every test): left to
themselves they pick the CPU's widest (AVX-512 on some), which sums in another order and writes other
bytes. A value the environment set is replaced, and `KERNEL_NOTES` (which every stage logs) says so;
without AVX2 and FMA nothing is pinned. `PIPELINE_CPU_KERNELS=machine` leaves each library its own
choice. docs/team.md, "Bitwise reproducibility", says which machines give the committed bytes and which
stage each kernel moves.
"""

import os
import platform

CPU_KERNELS = {
    "OPENBLAS_CORETYPE": "Haswell",
    "MKL_CBWR": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
}
CHOICE = "PIPELINE_CPU_KERNELS"  # "pinned" (the default) or "machine"
NEEDS = ("avx2", "fma")  # what the pinned kernels run on: Intel since Haswell, AMD since Zen
KERNEL_NOTES: list[str] = []  # one line each: what the pins replaced, or why there are none


def _cpu_flags() -> set[str] | None:
    try:
        with open("/proc/cpuinfo") as fh:
            return next((set(line.partition(":")[2].split()) for line in fh if line.startswith("flags")), set())
    except OSError:  # not Linux
        return None


def _pin() -> list[str]:
    """Set CPU_KERNELS in the environment; the lines to log."""
    choice = os.environ.get(CHOICE, "pinned")
    if choice == "machine":
        return [
            f"{CHOICE}=machine: each library picks its own CPU kernels; outputs may differ from the committed bytes"
        ]
    notes = [] if choice == "pinned" else [f"{CHOICE}={choice} is neither `pinned` nor `machine`: pinned"]
    flags = _cpu_flags()
    if platform.machine().lower() not in ("x86_64", "amd64") or flags is None or not set(NEEDS) <= flags:
        cpu = (
            f"this {platform.machine()} CPU has no {'/'.join(f.upper() for f in NEEDS)}"
            if flags is not None
            else f"the CPU's flags cannot be read on {platform.system()}"
        )
        return notes + [
            f"CPU kernels not pinned ({cpu}): the libraries pick their own, and outputs may differ from "
            "the committed bytes (docs/team.md, Bitwise reproducibility)"
        ]
    for name, value in CPU_KERNELS.items():
        if os.environ.get(name, value) != value:
            notes.append(
                f"{name}={os.environ[name]} in the environment replaced by {value}, the pinned CPU kernels "
                "that give the committed bytes (docs/team.md)"
            )
        os.environ[name] = value
    return notes


KERNEL_NOTES.extend(_pin())
