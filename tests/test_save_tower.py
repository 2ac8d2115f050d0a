"""save_tower: a trained spatial run's tower as the weights file model.weights loads (Table 1a)."""
import os
import shutil

import numpy as np
import pytest

from tests.test_conv_fusion_runs import SMALL, stream_run
from tests.test_train_support import write_records
from tfx_models import cli, config as config_lib
from tfx_models.backbones.weights import weighted_layers
from tfx_models.kinds.two_stream import build_model_from_config
from tfx_models.runs import load_model_from_run
from tfx_models.export.tower import main, save_tower


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("save_tower")
    records = write_records(str(root / "records"), "pre", ["a", "b", "c"], frames=4)
    return {stream: stream_run(str(root / stream), records, stream) for stream in ("spatial", "temporal")}


def _config(name, *overrides):
    return config_lib.override(config_lib.ExperimentConfig(name=name), ["data.stream=spatial", *overrides, *SMALL])


def test_a_model_built_on_the_file_has_the_runs_tower_weights(runs, tmp_path):
    path = str(tmp_path / "tower" / "pre.weights.h5")
    written = save_tower(runs["spatial"], path)
    assert written["width"] == 0.125 and written["crop_size"] == 32 and written["pretrained_on"] == {"pre": 3}
    loaded = build_model_from_config(_config("last", f"model.weights={path}", "model.dropout=0.9",
                                             "model.train_tower=false"), {"ucf101": 5})
    trained = weighted_layers(load_model_from_run(runs["spatial"])[0].get_layer("tower"))
    tower = weighted_layers(loaded.get_layer("tower"))
    assert sorted(tower) == sorted(trained) == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"]
    for name, layer in tower.items():
        for ours, theirs in zip(layer.get_weights(), trained[name].get_weights(), strict=True):
            assert np.array_equal(ours, theirs), name
    # A tower built without the file has other weights, so the comparison above can fail.
    scratch = weighted_layers(build_model_from_config(_config("scratch"), {"ucf101": 5}).get_layer("tower"))
    assert not np.array_equal(scratch["fc7"].get_weights()[0], trained["fc7"].get_weights()[0])
    # The head is the new task's, untouched by the file.
    assert loaded.get_layer("logits").get_weights()[0].shape == (256, 5)


def test_a_temporal_run_a_run_without_checkpoint_and_a_bad_name_are_refused(runs, tmp_path, capsys):
    assert cli.run(main, ["--run", runs["temporal"], "--out", str(tmp_path / "t.weights.h5")]) == 2
    assert ("a stream run of the temporal stream on cnn_m_2048; model.weights takes the tower of a spatial "
            "stream run on cnn_m_2048") in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "t.weights.h5")
    untrained = tmp_path / "untrained"
    untrained.mkdir()
    for name in ("config.json", "run_info.json"):
        shutil.copy(os.path.join(runs["spatial"], name), untrained / name)
    with pytest.raises(FileNotFoundError, match="no complete checkpoint"):
        save_tower(str(untrained), str(tmp_path / "u.weights.h5"))
    with pytest.raises(ValueError, match="must end in .weights.h5"):
        save_tower(runs["spatial"], str(tmp_path / "s.h5"))
