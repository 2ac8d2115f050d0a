"""The one exception every dataset reader raises for a bad index file."""
from __future__ import annotations


class DatasetError(ValueError):
    """Bad dataset index: the message names the file and, where there is one, the 1-based line."""

    def __init__(self, path: str, reason: str, line: int | None = None):
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {reason}")
        self.path = str(path)
        self.line = line
        self.reason = reason
