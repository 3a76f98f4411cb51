"""Errors a user can cause. Each message says what was wrong and what is accepted."""


class InputError(ValueError):
    """A file, archive, table or checkpoint supplied by the user cannot be used."""


class UnsafeInputError(InputError):
    """The input was refused on safety grounds (path traversal, bombs, pickled code)."""


class ModelOutputError(InputError):
    """A model produced output of the wrong shape or non-finite values."""


class AmbiguousColumnsError(InputError):
    """A table has several plausible label columns; the caller must choose one.

    ``candidates`` lists the column names a user may pick from.
    """

    def __init__(self, message: str, candidates: list[str]):
        super().__init__(message)
        self.candidates = candidates
