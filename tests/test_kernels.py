"""The same bytes on the same kind of CPU (issue 25): importing `pipeline` pins the CPU
kernels of NumPy's and SciPy's OpenBLAS, MKL, ATen and oneDNN, replacing what the environment set
and saying so in the stage's log; what cannot be pinned (ONNX Runtime) is recorded without its last
digits; and simulated machines (kernels forced through the environment) change no byte with the
pins on, while with the pins off they change the stages the table in docs/team.md names for
this kind of CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.core import kernels as pins
from pipeline.core.errors import ExportError
from pipeline.deployment.deploy import check_diff
from pipeline.run import lockfile
from tests.helpers import kernels
from tests.helpers.project import tool_env

ROOT = Path(__file__).resolve().parents[1]
AVX2 = pins._cpu_flags() is not None and set(pins.NEEDS) <= pins._cpu_flags()
needs_avx2 = pytest.mark.skipif(not AVX2, reason="the pins apply to x86-64 CPUs with AVX2 and FMA only")
# What a machine may set that differs from every pin: OpenBLAS's and ATen's AVX-512 kernels, oneDNN's
# widest, MKL choosing by CPU.
FOREIGN = {
    "OPENBLAS_CORETYPE": "SkylakeX",
    "ATEN_CPU_CAPABILITY": "avx512",
    "ONEDNN_MAX_CPU_ISA": "AVX512_CORE_AMX",
    "MKL_CBWR": "AUTO",
}
# A stage as the project writes them, reporting the kernels each library runs.
PROBE = """
from pipeline.core import cli
import json, numpy, scipy.linalg, threadpoolctl, torch

def main():
    blas = sorted({i["architecture"] for i in threadpoolctl.threadpool_info() if i["internal_api"] == "openblas"})
    print(json.dumps({"openblas": blas, "aten": torch.backends.cpu.get_cpu_capability()}))

cli.run(main)
"""


def probe(env: dict[str, str]) -> tuple[dict, list[str]]:
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=tool_env() | env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr.splitlines()


@needs_avx2
def test_the_pins_replace_what_the_environment_set_and_the_stage_log_says_what():
    kernels, log = probe(FOREIGN)
    assert kernels == {"openblas": ["Haswell"], "aten": "AVX2"}  # NumPy's and SciPy's OpenBLAS both
    assert log == [
        f"INFO pipeline: {name}={FOREIGN[name]} in the environment replaced by {pin}, the pinned CPU "
        "kernels that give the committed bytes (docs/team.md)"
        for name, pin in pins.CPU_KERNELS.items()
    ]


@needs_avx2
def test_a_value_equal_to_the_pin_is_not_reported():
    kernels, log = probe(dict(pins.CPU_KERNELS))
    assert kernels["openblas"] == ["Haswell"] and log == []


@needs_avx2
def test_pipeline_cpu_kernels_machine_leaves_each_library_its_own_choice():
    kernels, log = probe(FOREIGN | {"PIPELINE_CPU_KERNELS": "machine"})
    assert kernels["openblas"] == ["SkylakeX"]  # what the environment forced, not the pin
    assert log == [
        "INFO pipeline: PIPELINE_CPU_KERNELS=machine: each library picks its own CPU kernels; outputs may "
        "differ from the committed bytes"
    ]


def test_without_avx2_nothing_is_pinned_and_one_line_says_so(monkeypatch):
    """A CPU without AVX2 (an old x86-64; arm64 likewise): the machine's own settings stay."""
    monkeypatch.setattr(pins, "_cpu_flags", lambda: {"sse2", "avx"})
    monkeypatch.setattr(pins.platform, "machine", lambda: "x86_64")
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Sandybridge")
    monkeypatch.delenv("PIPELINE_CPU_KERNELS", raising=False)
    assert pins._pin() == [
        "CPU kernels not pinned (this x86_64 CPU has no AVX2/FMA): the libraries pick their own, "
        "and outputs may differ from the committed bytes (docs/team.md, Bitwise reproducibility)"
    ]
    assert os.environ["OPENBLAS_CORETYPE"] == "Sandybridge"


def test_onnx_runtime_s_difference_is_recorded_as_its_bound_and_the_figure_logged(caplog):
    """The figures two AMD EPYCs gave for deploy@transfer record the same; LibTorch's (pinned) is kept."""
    where = Path("exports/transfer/model.onnx")
    with caplog.at_level("INFO", logger="pipeline.deployment.deploy"):
        assert (
            check_diff("onnxruntime", 6.68e-06, 1e-4, where)
            == check_diff("onnxruntime", 4.77e-06, 1e-4, where)
            == {"max_abs_diff_at_most": 1e-4}
        )
    assert "onnxruntime: largest |difference| from the eager model 6.68e-06 (export.atol 0.0001)" in caplog.messages
    assert check_diff("cpp", 0.0, 1e-4, where) == {"max_abs_diff": 0.0}
    with pytest.raises(ExportError, match=r"0.0002 away from the eager model's > export.atol=0.0001"):
        check_diff("onnxruntime", 2e-4, 1e-4, where)


# --- simulated machines ---------------------------------------------------------------------------
# With the pins off (PIPELINE_CPU_KERNELS=machine), one library's kernels forced and the others at the
# pins: the stages of the shrunk pipeline whose bytes change (tests/helpers/kernels.py over every
# stage; `python bench/kernels.py` prints the whole table, docs/team.md has it). Which stages a forced
# kernel moves depends on the CPU it runs on, so the table has one column per kind of CPU it was
# measured on: a 2-core AMD EPYC with AVX-512, and a 2-core Intel Xeon with AVX-512 and AMX.
# OPENBLAS_CORETYPE=Zen changed no stage on either, MKL_CBWR=AUTO none on the AMD EPYC.
AVX512 = AVX2 and "avx512f" in pins._cpu_flags()
AMD_EPYC, INTEL_XEON = "AMD, AVX-512", "Intel, AVX-512 and AMX"


def cpu_kind() -> str:
    """The column of the table this machine's CPU belongs to (or a name no column has)."""
    flags = pins._cpu_flags() or set()
    vendor = {"AuthenticAMD": "AMD", "GenuineIntel": "Intel"}.get(lockfile._cpuinfo("vendor_id"), "another vendor")
    wide = ", AVX-512" if "avx512f" in flags else ""
    return f"{vendor}{wide}{' and AMX' if wide and 'amx_tile' in flags else ''}"


TRAINED_BY_ATEN = ["train@mlp", "train@cnn", "train@fashion_mlp", "train_sentiment@sentiment", "train_charrnn@charrnn"]
ATEN_DEFAULT = [*TRAINED_BY_ATEN, "train_transfer@transfer", "train_tabular@logreg", "train_tabular@perceptron"]
# forced setting -> (whether this CPU can run it, {kind of CPU: the stages it changes there})
FORCED = {
    "OPENBLAS_CORETYPE=SkylakeX": (
        AVX512,
        {AMD_EPYC: ["boundary@logreg"], INTEL_XEON: ["boundary@logreg", "boundary@perceptron"]},
    ),
    "ATEN_CPU_CAPABILITY=avx512": (
        AVX512,
        {AMD_EPYC: [*TRAINED_BY_ATEN, "evaluate@mlp"], INTEL_XEON: [*TRAINED_BY_ATEN, "gates@mlp"]},
    ),
    "ATEN_CPU_CAPABILITY=default": (
        AVX2,
        {
            AMD_EPYC: [*ATEN_DEFAULT, "evaluate@mlp", "gates@perceptron", "gates@mlp"],
            INTEL_XEON: [*ATEN_DEFAULT, "gates@perceptron", "gates@mlp", "style@style"],
        },
    ),
    "ONEDNN_MAX_CPU_ISA=AVX512_CORE_AMX": (
        AVX512,
        {
            AMD_EPYC: [
                "train@cnn",
                "train_transfer@transfer",
                "train_sentiment@sentiment",
                "train_charrnn@charrnn",
                "style@style",
            ],
            INTEL_XEON: ["train@cnn", "train_transfer@transfer", "train_sentiment@sentiment", "train_charrnn@charrnn"],
        },
    ),
}
# Every stage any column names: where a CPU the table has no column for looks
CANDIDATES = sorted({stage for _, kinds in FORCED.values() for stages in kinds.values() for stage in stages})


def test_the_cpu_kind_names_vendor_and_width(monkeypatch):
    monkeypatch.setattr(lockfile, "_cpuinfo", lambda field: "GenuineIntel")
    monkeypatch.setattr(pins, "_cpu_flags", lambda: {"avx2", "fma", "avx512f", "amx_tile"})
    assert cpu_kind() == INTEL_XEON
    monkeypatch.setattr(lockfile, "_cpuinfo", lambda field: "AuthenticAMD")
    monkeypatch.setattr(pins, "_cpu_flags", lambda: {"avx2", "fma", "avx512f"})
    assert cpu_kind() == AMD_EPYC
    monkeypatch.setattr(pins, "_cpu_flags", lambda: {"avx2", "fma"})
    assert cpu_kind() == "AMD"


@pytest.mark.slow
@needs_avx2
def test_simulated_machines_change_no_byte_with_the_pins_on(reproduced_copy):
    """Every stage but build_cpp (a compiler, no numbers), rerun on the recorded inputs in another
    folder (a clone) with two threads where the session runs one, and every library's setting forced
    away from its pin at once: the pins replace each before its library loads, so this one run
    stands for any choice of the four. (test_team's bitwise test covers the same through `dvc`.)"""
    stages = [name for name in kernels.commands(reproduced_copy.path) if name != "build_cpp"]
    assert len(stages) > 50
    threads = {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    assert kernels.changes(reproduced_copy.path, stages, tool_env() | FOREIGN | threads) == {}


@pytest.mark.slow
@pytest.mark.parametrize("forced", FORCED)
def test_with_the_pins_off_a_forced_kernel_changes_the_stages_the_table_names(reproduced_copy, forced):
    """Proof that each pin matters: without it, another machine's choice writes other bytes. On a
    kind of CPU the table has a column for, exactly the stages it names change; on another kind,
    every stage of every column runs and at least one changes."""
    possible, kinds = FORCED[forced]
    if not possible:
        pytest.skip(f"{forced} needs a CPU with {'AVX-512' if AVX2 else 'AVX2'}")
    name, _, value = forced.partition("=")
    env = tool_env() | pins.CPU_KERNELS | {name: value, "PIPELINE_CPU_KERNELS": "machine"}
    stages = kinds.get(cpu_kind())
    changed = kernels.changes(reproduced_copy.path, stages or CANDIDATES, env)
    if stages is None:
        assert changed, f"{forced} changed no stage on this CPU ({cpu_kind()})"
    else:
        assert sorted(changed) == sorted(stages), cpu_kind()


@needs_avx2
def test_make_repro_says_what_it_replaced_once_before_the_stages(tmp_path):
    """Under `make repro` the stages inherit the scheduler's pinned settings: the scheduler says it."""
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline.run.parallel", "--jobs", "1"],
        cwd=tmp_path,
        env=tool_env() | {"PYTHONPATH": str(ROOT), "OPENBLAS_CORETYPE": "SkylakeX"},
        capture_output=True,
        text=True,
    )
    assert proc.stderr.splitlines()[0] == (
        "note: OPENBLAS_CORETYPE=SkylakeX in the environment replaced by Haswell, "
        "the pinned CPU kernels that give the committed bytes (docs/team.md)"
    )
