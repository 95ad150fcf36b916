"""Errors a user can act on. Each message names the file or key at fault and the fix."""


class PipelineError(Exception):
    """Base class: a stage that raises one exits with status 2 and prints only the message."""


class ConfigError(PipelineError):
    """params.yaml is invalid: unknown key, wrong type or impossible value."""


class DataError(PipelineError):
    """A data file is missing, corrupt, fails its checksum or could not be downloaded."""


class TrainingError(PipelineError):
    """Training diverged or produced nothing usable."""


class ExportError(PipelineError):
    """An exported model does not reproduce the eager model's outputs."""


class ExportFolderError(PipelineError):
    """The folder is not a usable export, or the runtime or device asked for is not available."""


class CppError(PipelineError):
    """The C++ program cannot be built, or failed on an input."""


class SchedulerError(PipelineError):
    """DVC could not tell the scheduler what to run (its message says why)."""


class RemoteError(PipelineError):
    """No remote to talk to (exit 2): the message says how to add one."""
