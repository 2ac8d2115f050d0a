"""Every registered model kind is complete: a builder, a loss, an input spec, a test-time sampler,
its own validation and at least one experiment file (docs/adding_a_model_family.md)."""
from __future__ import annotations

import glob
import os

import pytest

from tfx_models import config as config_lib, kinds

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def experiment_kinds() -> dict[str, list[str]]:
    """model.kind -> the experiment files that train it."""
    found: dict[str, list[str]] = {}
    for path in sorted(glob.glob(os.path.join(REPO, "tfx_models", "experiments", "*.py"))):
        found.setdefault(config_lib.load_experiment(path).model.kind, []).append(os.path.basename(path))
    return found


@pytest.mark.parametrize("name", sorted(kinds.KINDS))
def test_every_kind_is_complete(name):
    kind = kinds.KINDS[name]
    assert kind.name == name
    for part in ("build", "loss", "streams", "test_sampler", "validate"):
        assert callable(getattr(kind, part)), f"kind {name!r} has no {part}"
    assert experiment_kinds().get(name), f"kind {name!r} has no file in tfx_models/experiments/"


def test_every_experiment_names_a_registered_kind():
    assert set(experiment_kinds()) <= set(kinds.KINDS)


def test_a_kind_checks_its_own_section():
    config = config_lib.override(config_lib.ExperimentConfig(), ["model.kind=conv_fusion", "fusion.type=bogus"])
    with pytest.raises(ValueError, match="fusion.type='bogus'"):
        kinds.kind_of(config)
    # The stream kind does not read the fusion section, so it does not judge it.
    assert kinds.kind_of(config_lib.override(config, ["model.kind=stream"])).name == "stream"
