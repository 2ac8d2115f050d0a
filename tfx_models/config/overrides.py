"""Experiment files and `--set section.key=value` overrides, type-checked against the sections.

Experiments live in tfx_models/experiments/<name>.py (a module-level CONFIG) or
.json; overrides are checked against the dataclass annotations so a typo fails
before any training starts.
"""
from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import json
import types
import typing

from tfx_models.config.checks import validate
from tfx_models.config.sections import (AmplificationConfig, DataConfig, DistillConfig, ExperimentConfig, FlowAuxConfig,
                                        FusionConfig, ModelConfig, SiameseConfig, TrainConfig)


def _section_types(cls) -> dict:
    return typing.get_type_hints(cls)


def _convert(key: str, text: str, annotation):
    """Parses one --set value into the annotated type, naming the key on failure."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (types.UnionType, typing.Union):
        if text.lower() in ("none", "null", ""):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return _convert(key, text, inner[0])
    if origin is tuple:
        parts = [p for p in text.split(",") if p.strip()]
        return tuple(_convert(key, p.strip(), args[0]) for p in parts)
    if annotation is bool:
        lowered = text.lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueError(f"--set {key}={text!r}: expected a bool (true/false)")
    try:
        return annotation(text)
    except ValueError:
        raise ValueError(f"--set {key}={text!r}: expected {annotation.__name__}") from None


def _check_value(key: str, value, annotation):
    """Type check for values from JSON/Python files (lists become tuples)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        return _check_value(key, value, [a for a in args if a is not type(None)][0])
    if origin is tuple:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise TypeError(f"config {key}: expected a list, got {value!r}")
        return tuple(_check_value(key, v, args[0]) for v in value)
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, annotation) or (annotation is int and isinstance(value, bool)):
        raise TypeError(f"config {key}: expected {annotation.__name__}, got {value!r}")
    return value


SECTIONS = {"data": DataConfig, "model": ModelConfig, "fusion": FusionConfig,
            "amplification": AmplificationConfig, "siamese": SiameseConfig, "distill": DistillConfig,
            "flow_aux": FlowAuxConfig, "train": TrainConfig}


def from_dict(raw: dict, source: str = "config") -> ExperimentConfig:
    unknown = set(raw) - {"name", *SECTIONS}
    if unknown:
        raise ValueError(f"{source}: unknown sections {sorted(unknown)}")
    sections = {}
    for name, cls in SECTIONS.items():
        values = dict(raw.get(name, {}))
        hints = _section_types(cls)
        bad = set(values) - set(hints)
        if bad:
            raise ValueError(f"{source}: unknown keys {sorted(f'{name}.{k}' for k in bad)}")
        sections[name] = cls(**{k: _check_value(f"{name}.{k}", v, hints[k]) for k, v in values.items()})
    return validate(ExperimentConfig(name=str(raw.get("name", "experiment")), **sections))


def to_dict(config: ExperimentConfig) -> dict:
    return dataclasses.asdict(config)


def override(config: ExperimentConfig, assignments: list[str]) -> ExperimentConfig:
    """Applies 'section.key=value' strings; unknown keys and bad values name the key."""
    raw = to_dict(config)
    for assignment in assignments:
        if "=" not in assignment:
            raise ValueError(f"--set {assignment!r}: expected section.key=value")
        key, text = assignment.split("=", 1)
        section, _, name = key.strip().partition(".")
        if key.strip() == "name":
            raw["name"] = text
            continue
        if section not in SECTIONS or name not in _section_types(SECTIONS[section]):
            raise ValueError(f"--set {key}: unknown key{closest_keys(key.strip())}")
        raw[section][name] = _convert(key, text, _section_types(SECTIONS[section])[name])
    return from_dict(raw, "--set")


def closest_keys(key: str) -> str:
    """'; did you mean train.steps?' for a misspelt key, or where to find the valid ones."""
    valid = [f"{s}.{k}" for s, c in SECTIONS.items() for k in _section_types(c)]
    close = difflib.get_close_matches(key, valid, n=3, cutoff=0.6)
    if close:
        return f"; did you mean {' or '.join(close)}?"
    section = key.partition(".")[0]
    if section in SECTIONS:
        return f"; {section} has {', '.join(sorted(_section_types(SECTIONS[section])))}"
    return f"; sections are {', '.join(SECTIONS)}"


def load_experiment(path: str) -> ExperimentConfig:
    """An experiment file: a .py with a module-level CONFIG, or a .json dict."""
    if path.endswith(".json"):
        # A run's config.json sits in its run dir, which may be on any path tf.io.gfile knows.
        import tensorflow as tf  # only here: importing the config leaf need not start TensorFlow

        if not tf.io.gfile.exists(path):
            raise FileNotFoundError(f"{path}: no such experiment file")
        with tf.io.gfile.GFile(path) as f:
            return from_dict(json.load(f), path)
    if not path.endswith(".py"):
        raise ValueError(f"{path}: experiment files are .py (defining CONFIG) or .json")
    spec = importlib.util.spec_from_file_location("_experiment", path)
    if spec is None:
        raise FileNotFoundError(f"{path}: no such experiment file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such experiment file") from None
    config = getattr(module, "CONFIG", None)
    if not isinstance(config, ExperimentConfig):
        raise ValueError(f"{path}: must define CONFIG = ExperimentConfig(...)")
    # Round-trip through the checks so a hand-written file gets the same validation.
    return from_dict(to_dict(config), path)
