"""The re-split job against ingesting the other split directly: same bytes, every entry accounted for."""
from __future__ import annotations

import dataclasses
import json
import os

import pytest

from beam_pipelines.ingest import run_ingest
from beam_pipelines.options import pipeline_options
from beam_pipelines.resplit import main as resplit_main
from beam_pipelines.resplit import run_resplit
from tests.test_ingest import CONFIG, IN_MEMORY, entry, write_clip

CLASSES = ["Class0", "Class1"]


def job_args(split: int) -> dict:
    return {"data_format": "csv", "split": split, "classes": CLASSES}


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    """Two splits of the same six clips and one empty file, with the subsets swapped around."""
    root = tmp_path_factory.mktemp("videos")
    clips = [entry(write_clip(str(root / f"v_C{i % 2}_g{i:02d}_c01.avi"), seed=i), label=i % 2) for i in range(6)]
    open(root / "empty.avi", "wb").close()
    broken = entry(root / "empty.avi")
    first = [dataclasses.replace(e, subset="test" if i >= 4 else "train") for i, e in enumerate(clips)] + [broken]
    second = [dataclasses.replace(e, subset="test" if i < 2 else "train") for i, e in enumerate(clips)] + [broken]
    source = tmp_path_factory.mktemp("split1")
    run_ingest(first, str(source), CONFIG, pipeline_options(IN_MEMORY), dataset="toy", **job_args(1))
    return {"root": root, "first": first, "second": second, "source": source}


def published(folder) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder)) if name != "summary.json"}


def test_resplit_writes_what_ingesting_the_split_directly_writes(splits, tmp_path):
    direct = run_ingest(splits["second"], str(tmp_path / "direct"), CONFIG, pipeline_options(IN_MEMORY),
                        dataset="toy", **job_args(2))
    resplit = run_resplit(splits["second"], str(splits["source"]), str(tmp_path / "resplit"),
                          pipeline_options(IN_MEMORY), **job_args(2))
    want, got = published(tmp_path / "direct"), published(tmp_path / "resplit")
    assert sorted(got) == sorted(want)
    assert sum(name.endswith(".tfrecord") for name in got) == 4
    for name in want:
        assert got[name] == want[name], name
    info = json.loads(got["dataset_info.json"])
    assert info["split"] == 2 and info["counts"] == {"train": 4, "test": 2}
    for key in ("inputs", "written", "dead_lettered", "counts", "frames", "dead_lettered_by_stage"):
        assert resplit[key] == direct[key], key
    assert (resplit["inputs"], resplit["written"], resplit["dead_lettered"]) == (7, 6, 1)
    assert resplit["source_records"] == 6 and resplit["source_records_not_in_split"] == 0


def test_an_entry_missing_from_the_source_is_dead_lettered_and_unlisted_records_are_counted(splits, tmp_path):
    root = splits["root"]
    new = entry(write_clip(str(root / "v_C0_g09_c01.avi"), seed=9), subset="test")
    entries = splits["second"][1:] + [new]  # the first clip left out, a clip the source never saw added
    summary = run_resplit(entries, str(splits["source"]), str(tmp_path / "out"), pipeline_options(IN_MEMORY),
                          **job_args(3))
    assert (summary["inputs"], summary["written"], summary["dead_lettered"]) == (7, 5, 2)
    assert summary["source_records_not_in_split"] == 1
    with open(summary["dead_letter_file"]) as f:
        rows = {row["path"]: row for row in map(json.loads, f)}
    assert rows[new.path]["stage"] == "resplit"
    assert str(splits["source"]) in rows[new.path]["reason"] and "split 3" in rows[new.path]["reason"]
    # The source's own reason for the empty file is carried over, not replaced.
    assert rows[str(root / "empty.avi")]["stage"] == "decode"
    assert "empty" in rows[str(root / "empty.avi")]["reason"]


def test_resplit_refuses_its_source_as_output_and_another_dataset(splits):
    source = str(splits["source"])
    with pytest.raises(ValueError, match="must differ"):
        run_resplit(splits["second"], source, source, pipeline_options(IN_MEMORY), **job_args(2))
    with pytest.raises(ValueError, match="not the same dataset"):
        run_resplit(splits["second"], source, source + "-x", pipeline_options(IN_MEMORY),
                    data_format="csv", split=2, classes=["Other0", "Other1"])


def test_the_command_line_names_a_source_folder_that_holds_no_records(splits, tmp_path, capsys):
    manifest = tmp_path / "videos.csv"
    manifest.write_text("path,label,split\n" + "".join(f"{e.path},{e.label_name},{e.subset}\n"
                                                        for e in splits["second"]))
    assert resplit_main(["--records", str(tmp_path / "nothing"), "--format", "csv", "--manifest", str(manifest),
                         "--split", "2", "--output", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'nothing'}/dataset_info.json: missing")
