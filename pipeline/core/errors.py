"""Errors a user can act on. Each message names the file or key at fault and the fix."""


class PipelineError(Exception):
    """Base class: a stage that raises one exits with status 2 and prints only the message."""


class ConfigError(PipelineError):
    """params.yaml is invalid: unknown key, wrong type or impossible value."""


class DataError(PipelineError):
    """A data file is missing, corrupt, fails its checksum or could not be downloaded."""


class TrainingError(PipelineError):
    """Training diverged or produced nothing usable."""
