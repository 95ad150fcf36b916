"""distributed: how train@ stages start, as one process or as DDP ranks under torchrun."""

from __future__ import annotations

from pydantic import field_validator

from pipeline.core.params import Section

TORCHRUN_OPTIONS = {
    "--standalone",
    "--nproc-per-node",
    "--nnodes",
    "--node-rank",
    "--rdzv-backend",
    "--rdzv-endpoint",
    "--rdzv-id",
    "--master-addr",
    "--master-port",
    "--max-restarts",
}


class DistributedParams(Section):
    launcher: str  # "python -m", or "torchrun [options] -m"

    @field_validator("launcher")
    @classmethod
    def _launcher(cls, value: str) -> str:
        words = value.split()
        if words == ["python", "-m"]:
            return value
        if len(words) < 2 or words[0] != "torchrun" or words[-1] != "-m":
            raise ValueError(
                "must be 'python -m' (one process) or 'torchrun <options> -m', e.g. "
                "'torchrun --standalone --nproc-per-node 2 -m'"
            )
        unknown = sorted({w.split("=")[0] for w in words[1:-1] if w.startswith("-")} - TORCHRUN_OPTIONS)
        if unknown:
            raise ValueError(
                f"unknown torchrun option(s) {', '.join(unknown)}; allowed: {', '.join(sorted(TORCHRUN_OPTIONS))}"
            )
        return value
