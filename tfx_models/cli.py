"""What every command line shares: a quiet TensorFlow start and a user's mistake as one `error:` line.

Import this module before TensorFlow. TensorFlow's startup notices (oneDNN,
"Could not find cuda drivers", CPU-instruction hints, absl::InitializeLog) are
written before its log level is read, so `quiet_tensorflow` imports it with
stderr pointed at /dev/null; `--verbose` keeps them. A ValueError or OSError
reaching `run` is a user's mistake (a bad flag, value or path): one line and
exit status 2; `--debug` shows the traceback instead.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable

VERBOSE, DEBUG = "--verbose", "--debug"
USER_ERRORS = (ValueError, OSError)


def quiet_tensorflow(argv: list[str] | None = None) -> None:
    """Imports TensorFlow with its C++ startup noise discarded, unless --verbose is in argv."""
    if VERBOSE in (sys.argv if argv is None else argv) or "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe logs here, not at import
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def add_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(VERBOSE, action="store_true", help="show TensorFlow's startup messages")
    parser.add_argument(DEBUG, action="store_true", help="show the traceback of an error")
    return parser


def run(main: Callable[[list[str] | None], object], argv: list[str] | None = None) -> int:
    """main(argv) with a user's mistake printed as `error: ...` (status 2) unless --debug.

    An int main returns is the exit status; anything else (a benchmark's or table's results) means 0.
    """
    args = sys.argv[1:] if argv is None else argv
    if DEBUG in args:
        return exit_status(main(argv))
    try:
        return exit_status(main(argv))
    except USER_ERRORS as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2


def exit_status(result: object) -> int:
    return result if isinstance(result, int) else 0


def one_line(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return " ".join(text.split())


quiet_tensorflow()
