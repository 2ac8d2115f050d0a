"""Every `python -m X ...` the README and docs/ show (in code blocks and inline code) names a module
that exists, and its flags parse with that module's own parser, so a renamed module or flag, or a
newly required one, cannot leave a command in the docs that fails.

No command runs: each module is run as __main__ in this process until it asks argparse to parse,
and that parser is kept (one TensorFlow start for all of them, not one subprocess each).
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import glob
import io
import os
import re
import runpy
import shlex
import sys
import warnings

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OURS = ("beam_pipelines", "tfx_models", "serving", "results", "benchmarks", "media")
FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
INLINE = re.compile(r"`(python -m [^`]+)`")
COMMAND = re.compile(r"(?:^|\s)(?:\S*/)?python3?\s+(-m\s+[\w.]+|[\w/]+\.py)(.*)$")
STOP = {"|", "||", "&&", ";", ">", ">>", "2>", "2>&1", "&"}


def documented_commands() -> list[tuple[str, str, list[str] | None]]:
    """(page, module, args) of every documented command of one of our modules; args None for a
    module only named in prose (`python -m tfx_models.train` trains ...)."""
    pages = [os.path.join(REPO, "README.md"), *sorted(glob.glob(os.path.join(REPO, "docs", "*.md")))]
    found = []
    for page in pages:
        text = open(page).read()
        lines = [line for block in FENCE.findall(text) for line in block.replace("\\\n", " ").splitlines()]
        inline = INLINE.findall(FENCE.sub("", text).replace("\n", " "))
        for line in lines + inline:
            command = parse_command(line)
            if command and command[0].split(".")[0] in OURS and not command[0].endswith("."):  # benchmarks.*
                module, args = command
                found.append((os.path.relpath(page, REPO), module, args if args or line not in inline else None))
    return found


def parse_command(line: str) -> tuple[str, list[str]] | None:
    line = re.sub(r"\s#.*$", "", line)  # a trailing comment
    match = COMMAND.search(line)
    if not match:
        return None
    target, rest = match.groups()
    rest = re.sub(r"<[^>]*>", "PLACEHOLDER", rest)  # <25 x 10 split folder>
    module = target.split()[-1] if target.startswith("-m") else target[:-len(".py")].replace("/", ".")
    try:
        tokens = shlex.split(rest)
    except ValueError:
        tokens = rest.split()
    args = []
    for token in tokens:
        if token in STOP:
            break
        token = token.strip("[]").split("|")[0]  # [--format csv]: optional; tiny|small: one of
        if token:
            args.append(token)
    return module, args


class Parsed(Exception):
    def __init__(self, parser: argparse.ArgumentParser, strict: bool):
        super().__init__()
        self.parser, self.strict = parser, strict


def parser_of(module: str) -> tuple[argparse.ArgumentParser, bool]:
    """The parser `python -m module` builds, and whether it refuses unknown flags (parse_args) or passes
    them on (parse_known_args: the Beam jobs hand the rest to Beam's PipelineOptions)."""
    original_args, original_known = argparse.ArgumentParser.parse_args, argparse.ArgumentParser.parse_known_args

    def parse_args(self, *args, **kwargs):
        raise Parsed(self, True)

    def parse_known_args(self, *args, **kwargs):
        raise Parsed(self, False)

    argparse.ArgumentParser.parse_args, argparse.ArgumentParser.parse_known_args = parse_args, parse_known_args
    saved_argv = sys.argv
    sys.argv = [module]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # runpy: "found in sys.modules"
            runpy.run_module(module, run_name="__main__", alter_sys=True)
    except Parsed as parsed:
        return parsed.parser, parsed.strict
    finally:
        argparse.ArgumentParser.parse_args, argparse.ArgumentParser.parse_known_args = original_args, original_known
        sys.argv = saved_argv
    raise AssertionError(f"python -m {module} finished without parsing a command line")


def flags(args: list[str]) -> list[str]:
    return [a.split("=")[0] for a in args if a.startswith("--")]


@functools.cache
def beam_flags() -> set[str]:
    """Every flag Beam's PipelineOptions knows (the Beam jobs pass the flags they do not know to it),
    with the Dask runner's, which register when its module is imported, as `--runner=DaskRunner` does."""
    import apache_beam.runners.dask.dask_runner  # noqa: F401
    from apache_beam.options.pipeline_options import PipelineOptions

    parsers = []
    PipelineOptions([]).get_all_options(add_extra_args_fn=parsers.append)  # the parser Beam builds
    return set(re.findall(r"--\w[\w-]*", parsers[0].format_help()))


def check(parser: argparse.ArgumentParser, strict: bool, args: list[str]) -> str | None:
    """None if the arguments parse, else argparse's message. A command shown with `...` (flags left
    out) is checked only for flags the module does not know."""
    if "..." in args:
        own = set(re.findall(r"--\w[\w-]*", parser.format_help()))
        rest = [f for f in flags(args) if f not in own]
    else:
        stderr = io.StringIO()
        try:
            with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
                rest = [] if strict and parser.parse_args(args) else parser.parse_known_args(args)[1]
        except SystemExit:
            return stderr.getvalue().strip().splitlines()[-1]
    unknown = [f for f in flags(rest) if strict or f not in beam_flags()]
    return f"unknown flags: {' '.join(unknown)}" if unknown else None


def test_the_docs_show_commands_of_our_modules():
    modules = {module for _, module, _ in documented_commands()}
    assert {"tfx_models.train", "beam_pipelines.ingest", "serving.client", "results.findings"} <= modules


def test_every_documented_command_parses_with_its_modules_parser():
    commands = documented_commands()
    parsers, failures = {}, []
    for module in sorted({module for _, module, _ in commands}):
        try:
            parsers[module] = parser_of(module)
        except (ImportError, AssertionError) as error:  # a module that does not exist (any more)
            failures.append(f"python -m {module}: {error}")
    for page, module, args in commands:
        if module in parsers and args is not None:
            message = check(*parsers[module], args)
            if message:
                failures.append(f"{page}: python -m {module} {' '.join(args)}\n    {message}")
    assert not failures, "\n".join(failures)


def test_the_check_catches_a_wrong_flag_a_missing_required_one_and_a_missing_module():
    parser, strict = parser_of("tfx_models.train")
    assert check(parser, strict, ["--config", "x.py", "--run_dir", "r"]) is None
    assert "unrecognized arguments: --bogus" in check(parser, strict, ["--config", "x.py", "--run_dir", "r",
                                                                       "--bogus"])
    assert "required: --run_dir" in check(parser, strict, ["--config", "x.py"])
    with pytest.raises(ImportError):
        parser_of("tfx_models.no_such_module")
    assert parse_command("python -m m.n --a 1 [--b c] x|y <a b> | tail  # note") == (
        "m.n", ["--a", "1", "--b", "c", "x", "PLACEHOLDER"])
    ingest, known_only = parser_of("beam_pipelines.ingest")
    assert not known_only
    assert check(ingest, known_only, ["...", "--runner=PortableRunner", "--num_shards", "2"]) is None
    assert check(ingest, known_only, ["...", "--runer=PortableRunner"]) == "unknown flags: --runer"
