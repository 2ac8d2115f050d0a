"""The record visualiser writes a PNG of frames above their flow."""
from __future__ import annotations

import cv2
import pytest

from beam_pipelines import visualize
from beam_pipelines.ingest_transforms import IngestConfig
from tests.test_ingest import entry, ingest, write_clip


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    videos, output = tmp_path_factory.mktemp("videos"), tmp_path_factory.mktemp("records")
    clips = [entry(write_clip(str(videos / f"v_C0_g0{i}_c01.avi"), frames=5, seed=i), subset="test") for i in range(2)]
    ingest(clips, output, IngestConfig(size=32, num_shards=1))
    return output


def test_writes_a_png_with_one_column_per_requested_frame(records, tmp_path, capsys):
    widths = {}
    for frames in (2, 4):
        png = tmp_path / f"record{frames}.png"
        visualize.run(["--records", str(records), "--subset", "test", "--index", "1",
                       "--frames", str(frames), "--out", str(png)])
        image = cv2.imread(str(png))
        assert image is not None and image.shape[0] > 100
        widths[frames] = image.shape[1]
    assert widths[4] > 1.6 * widths[2]
    assert str(tmp_path / "record4.png") in capsys.readouterr().out


def test_names_the_subset_size_when_the_index_is_past_the_end(records, tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        visualize.run(["--records", str(records), "--subset", "test", "--index", "2", "--out", str(tmp_path / "x.png")])
    assert caught.value.code == 2
    assert "test has 2 records, no index 2" in capsys.readouterr().err


def test_names_the_folder_when_there_are_no_shards(tmp_path, capsys):
    with pytest.raises(SystemExit):
        visualize.run(["--records", str(tmp_path), "--subset", "train", "--out", str(tmp_path / "x.png")])
    assert f"{tmp_path}: no train shards" in capsys.readouterr().err
