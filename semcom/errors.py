"""Errors a user can act on. The CLI prints them as one line, without a traceback."""


class SemcomError(Exception):
    """Base class of errors caused by input (files, settings), not by a bug."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message: what a one-line error quotes of a library's."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class ScenarioError(SemcomError):
    """A scenario file is malformed; the message names the file and the key."""

    def __init__(self, file: str, key: str, message: str) -> None:
        self.file, self.key, self.detail = file, key, message
        super().__init__(f"{file}: {key}: {message}" if key else f"{file}: {message}")


class ModelStoreError(SemcomError):
    """A stored model is missing, corrupt, tampered with, or made for something else."""


class TrainingDivergedError(SemcomError):
    """Training produced a model that must not be stored (NaN loss, chance-level accuracy)."""
