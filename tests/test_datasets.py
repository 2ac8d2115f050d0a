"""Dataset readers against the synthetic layouts and hand-written files with the real quirks."""
from __future__ import annotations

import os

import pytest

from beam_pipelines.datasets import DatasetError, VideoEntry, load_class_names, load_entries
from beam_pipelines.datasets.__main__ import main
from beam_pipelines.synth import PROFILES, layout


def _write(path, text, encoding="utf-8"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(text.encode(encoding))
    return str(path)


@pytest.fixture(scope="module")
def synth_indexes(tmp_path_factory):
    """The small profile's index files only: readers must not need the videos to exist."""
    out = tmp_path_factory.mktemp("layouts")
    jobs = layout.plan(PROFILES["small"], multiview=True)
    layout.write_ucf_lists(str(out / "ucf101"), [j for j in jobs if j.dataset == "ucf101"])
    layout.write_hmdb_splits(str(out / "hmdb51"), [j for j in jobs if j.dataset == "hmdb51"])
    layout.write_manifest(str(out / "multiview"), [j for j in jobs if j.dataset == "multiview"])
    return out


def test_reads_synthetic_ucf_layout(synth_indexes):
    root = str(synth_indexes / "ucf101")
    names = load_class_names("ucf101", root=root)
    assert names == sorted(names) and len(names) == 10
    for split in (1, 2, 3):
        entries = load_entries("ucf101", split, root=root)
        assert len(entries) == 180 and sum(e.subset == "test" for e in entries) == 60
        assert entries == sorted(entries, key=lambda e: e.path)
        assert len({e.id for e in entries}) == 180
        for entry in entries[:20]:
            assert os.path.isabs(entry.path) and entry.path.startswith(os.path.join(root, "UCF-101", entry.label_name))
            assert names[entry.label] == entry.label_name and entry.dataset == "ucf101"
            assert entry.group == os.path.basename(entry.path).split("_")[2] and entry.view == 0


def test_reads_synthetic_hmdb_layout_with_odd_file_names(synth_indexes):
    root = str(synth_indexes / "hmdb51")
    names = load_class_names("hmdb51", root=root)
    assert names == ["bounce_ball", "shake_ball", "slide_box", "spin_ball", "swing_ball", "toss_apple",
                     "toss_lemon", "toss_melon"]
    entries = load_entries("hmdb51", 2, root=root)
    assert len(entries) == 144 and sum(e.subset == "test" for e in entries) == 48
    odd = [e for e in entries if e.path.endswith(layout.hmdb_file_name("toss_apple", 1, 2))]
    assert len(odd) == 1 and "Bob's_Backyard_(2009)" in odd[0].path
    assert odd[0].group == os.path.basename(odd[0].path)[:-4] and odd[0].label == names.index("toss_apple")


def test_reads_synthetic_multiview_manifest(synth_indexes):
    manifest = str(synth_indexes / "multiview" / "manifest.csv")
    entries = load_entries("csv", manifest=manifest)
    assert len(entries) == 360 and {e.view for e in entries} == {0, 1}
    assert all(e.dataset == "manifest" and e.path.startswith(str(synth_indexes / "multiview")) for e in entries)
    assert load_class_names("csv", manifest=manifest) == load_class_names("ucf101", root=str(synth_indexes / "ucf101"))


@pytest.fixture()
def ucf_root(tmp_path):
    lists = tmp_path / "ucfTrainTestlist"
    _write(lists / "classInd.txt", "1 ApplyEyeMakeup\r\n2 HandstandPushups\r\n3 YoYo  \r\n\r\n\r\n")
    for split in (1, 2, 3):
        _write(lists / f"trainlist0{split}.txt",
               "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\n"
               "HandstandPushups/v_HandStandPushups_g08_c02.avi 2 \r\n"
               "YoYo/v_YoYo_g09_c01.avi 3\r\n\r\n")
        _write(lists / f"testlist0{split}.txt",
               "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\r\nYoYo/v_YoYo_g01_c04.avi  \r\n\r\n")
    return tmp_path


def test_ucf_reader_handles_crlf_trailing_spaces_and_blank_lines(ucf_root):
    assert load_class_names("ucf101", root=str(ucf_root)) == ["ApplyEyeMakeup", "HandstandPushups", "YoYo"]
    entries = load_entries("ucf101", 1, root=str(ucf_root))
    assert [(e.label, e.subset, e.group) for e in entries] == [
        (0, "test", "g01"), (0, "train", "g08"), (1, "train", "g08"), (2, "test", "g01"), (2, "train", "g09")]
    # The real lists spell this class's files "HandStand"; the folder decides the class.
    assert entries[2] == VideoEntry(path=str(ucf_root / "UCF-101" / "HandstandPushups" / "v_HandStandPushups_g08_c02.avi"),
                                    label=1, label_name="HandstandPushups", subset="train", group="g08",
                                    dataset="ucf101")
    assert entries[2].id == "ucf101/v_HandStandPushups_g08_c02.avi"


@pytest.mark.parametrize("file,text,where,words", [
    ("trainlist01.txt", "YoYo/v_YoYo_g08_c01.avi 3\r\nYoYo/v_YoYo_g08_c02.avi one\r\n", ":2:", "malformed"),
    ("trainlist01.txt", "YoYo/v_YoYo_g08_c01.avi 4\r\n", ":1:", "out of range"),
    ("trainlist01.txt", "YoYo/v_YoYo_g08_c01.avi 0\r\n", ":1:", "out of range"),
    ("trainlist01.txt", "YoYo/v_YoYo_g08_c01.avi 1\r\n", ":1:", "disagrees|is 'ApplyEyeMakeup'"),
    ("testlist01.txt", "YoYo/v_YoYo_g01_c01.avi\r\nJuggle/v_Juggle_g01_c01.avi\r\n", ":2:", "unknown class 'Juggle'"),
    ("testlist01.txt", "YoYo/v_YoYo_first.avi\r\n", ":1:", "group"),
    ("trainlist01.txt", "\r\n\r\n", "trainlist01.txt: ", "empty dataset"),
    ("classInd.txt", "1 ApplyEyeMakeup\r\n3 YoYo\r\n", ":2:", "out of order"),
    ("classInd.txt", "ApplyEyeMakeup 1\r\n", ":1:", "malformed"),
])
def test_ucf_reader_errors_name_file_and_line(ucf_root, file, text, where, words):
    path = _write(ucf_root / "ucfTrainTestlist" / file, text)
    with pytest.raises(DatasetError, match="|".join(words.split("|"))) as caught:
        load_entries("ucf101", 1, root=str(ucf_root))
    assert str(caught.value).startswith(path) and where in str(caught.value)


def test_ucf_reader_reports_missing_split_file(ucf_root):
    os.remove(ucf_root / "ucfTrainTestlist" / "testlist02.txt")
    with pytest.raises(DatasetError, match=r"testlist02\.txt: file does not exist"):
        load_entries("ucf101", 2, root=str(ucf_root))
    assert len(load_entries("ucf101", 1, root=str(ucf_root))) == 5
    with pytest.raises(ValueError, match="split must be 1, 2 or 3"):
        load_entries("ucf101", 4, root=str(ucf_root))


@pytest.fixture()
def hmdb_root(tmp_path):
    splits = tmp_path / "testTrainMulti_7030_splits"
    for split in (1, 2, 3):
        _write(splits / f"brush_hair_test_split{split}.txt",
               "April_09_brush_hair_u_nm_np1_ba_goo_0.avi 1 \r\n"
               "Glory_(1989)_#2_&_Friends!_brush_hair_h_cm_np1_le_med_1.avi 2 \r\n"
               "Unused_brush_hair_f_nm_np1_fr_bad_0.avi 0 \r\n\r\n")
        _write(splits / f"clap_test_split{split}.txt",
               "Caf\u00e9_clap_u_cm_np1_fr_med_0.avi 2 \nOcean's_Eleven_clap_u_nm_np1_fr_goo_3.avi 1 \n\n",
               encoding="latin-1")
    _write(splits / "README", "not a split file\n")
    return tmp_path


def test_hmdb_reader_handles_markers_odd_names_and_encodings(hmdb_root):
    assert load_class_names("hmdb51", root=str(hmdb_root)) == ["brush_hair", "clap"]
    entries = load_entries("hmdb51", 3, root=str(hmdb_root))
    by_name = {os.path.basename(e.path): e for e in entries}
    assert sorted(by_name) == sorted(["April_09_brush_hair_u_nm_np1_ba_goo_0.avi",
                                      "Glory_(1989)_#2_&_Friends!_brush_hair_h_cm_np1_le_med_1.avi",
                                      "Caf\u00e9_clap_u_cm_np1_fr_med_0.avi", "Ocean's_Eleven_clap_u_nm_np1_fr_goo_3.avi"])
    glory = by_name["Glory_(1989)_#2_&_Friends!_brush_hair_h_cm_np1_le_med_1.avi"]
    assert (glory.subset, glory.label, glory.group, glory.dataset) == (
        "test", 0, "Glory_(1989)_#2_&_Friends!_brush_hair_h_cm_np1_le_med_1", "hmdb51")
    assert glory.path == str(hmdb_root / "brush_hair" / glory.group) + ".avi"
    assert by_name["Ocean's_Eleven_clap_u_nm_np1_fr_goo_3.avi"].subset == "train"


@pytest.mark.parametrize("text,where,words", [
    ("a_clap_u_cm_np1_fr_med_0.avi 1 \nb_clap_u_cm_np1_fr_med_0.avi\n", ":2:", "malformed"),
    ("a_clap_u_cm_np1_fr_med_0.avi 3 \n", ":1:", "out of range"),
    ("a_clap_u_cm_np1_fr_med_0.avi 1\na_clap_u_cm_np1_fr_med_0.avi 2\n", ":2:", "listed twice"),
])
def test_hmdb_reader_errors_name_file_and_line(hmdb_root, text, where, words):
    path = _write(hmdb_root / "testTrainMulti_7030_splits" / "clap_test_split1.txt", text)
    with pytest.raises(DatasetError, match=words) as caught:
        load_entries("hmdb51", 1, root=str(hmdb_root))
    assert str(caught.value).startswith(path + where)


def test_hmdb_reader_reports_missing_split_file_and_empty_dataset(hmdb_root):
    os.remove(hmdb_root / "testTrainMulti_7030_splits" / "clap_test_split2.txt")
    with pytest.raises(DatasetError, match=r"clap_test_split2\.txt: missing split file"):
        load_entries("hmdb51", 2, root=str(hmdb_root))
    for name in ("brush_hair", "clap"):
        _write(hmdb_root / "testTrainMulti_7030_splits" / f"{name}_test_split1.txt", f"x_{name}_0.avi 0 \n")
    with pytest.raises(DatasetError, match="empty dataset"):
        load_entries("hmdb51", 1, root=str(hmdb_root))


def test_csv_manifest_resolves_relative_paths_and_optional_columns(tmp_path):
    manifest = _write(tmp_path / "lab" / "kitchen_set.csv",
                      "\ufeffview,path,label,group,split\r\n"
                      "1,clips/a_view1.mp4,stir,a,test\r\n"
                      "0,clips/a_view0.mp4,stir,a,test\r\n"
                      f"0,{tmp_path}/elsewhere/b.avi,chop,,TRAIN\r\n"
                      "0,gs://bucket/c.avi,chop,c,train\r\n\r\n")
    entries = load_entries("csv", manifest=manifest)
    assert load_class_names("csv", manifest=manifest) == ["chop", "stir"]
    assert [(e.path, e.label, e.subset, e.group, e.view) for e in entries] == [
        (str(tmp_path / "elsewhere" / "b.avi"), 0, "train", "b", 0),
        (str(tmp_path / "lab" / "clips" / "a_view0.mp4"), 1, "test", "a", 0),
        (str(tmp_path / "lab" / "clips" / "a_view1.mp4"), 1, "test", "a", 1),
        ("gs://bucket/c.avi", 0, "train", "c", 0)]
    assert {e.dataset for e in entries} == {"kitchen_set"}
    minimal = _write(tmp_path / "minimal.csv", "path,label\nx/one.avi,wave\n")
    (entry,) = load_entries("csv", manifest=minimal)
    assert (entry.subset, entry.group, entry.view, entry.label) == ("train", "one", 0, 0)


@pytest.mark.parametrize("text,where,words", [
    ("path,label,camera\na.avi,x,1\n", ":1:", "bad header"),
    ("label\nx\n", ":1:", "bad header"),
    ("path,label\na.avi,x\nb.avi,y,extra\n", ":3:", "malformed line: 3 fields"),
    ("path,label\n\na.avi,\n", ":3:", "empty 'label'"),
    ("path,label,split\na.avi,x,val\n", ":2:", "split 'val'"),
    ("path,label,view\na.avi,x,-1\n", ":2:", "view '-1'"),
    ("path,label\n\r\n\r\n", "set.csv: ", "empty dataset"),
    ("path,label\na/v.avi,x\nb/v.avi,y\n", "set.csv: ", "unique"),
])
def test_csv_manifest_errors_name_file_and_line(tmp_path, text, where, words):
    manifest = _write(tmp_path / "set.csv", text)
    with pytest.raises(DatasetError, match=words) as caught:
        load_entries("csv", manifest=manifest)
    assert str(caught.value).startswith(manifest) and where in str(caught.value)


def test_bad_arguments_and_command_line(ucf_root, capsys):
    with pytest.raises(ValueError, match="unknown dataset format"):
        load_entries("kinetics", root=str(ucf_root))
    with pytest.raises(ValueError, match="needs manifest"):
        load_class_names("csv")
    assert main(["--format", "ucf101", "--root", str(ucf_root), "--split", "3"]) == 0
    assert "3 classes, 3 train, 2 test" in capsys.readouterr().out
    _write(ucf_root / "ucfTrainTestlist" / "classInd.txt", "1 YoYo\r\nbroken\r\n")
    with pytest.raises(SystemExit) as caught:
        main(["--format", "ucf101", "--root", str(ucf_root)])
    assert caught.value.code == 2 and "classInd.txt:2: malformed" in capsys.readouterr().err


def test_results_profile_tests_over_500_videos_of_each_set_on_every_split(tmp_path):
    """27 groups of 7 clips: a split tests 9 groups, 63 videos a class (10 and 8 classes)."""
    jobs = layout.plan(PROFILES["results"])
    layout.write_ucf_lists(str(tmp_path / "ucf101"), [j for j in jobs if j.dataset == "ucf101"])
    layout.write_hmdb_splits(str(tmp_path / "hmdb51"), [j for j in jobs if j.dataset == "hmdb51"])
    for split in (1, 2, 3):
        ucf = load_entries("ucf101", split, root=str(tmp_path / "ucf101"))
        hmdb = load_entries("hmdb51", split, root=str(tmp_path / "hmdb51"))
        assert (len(ucf), sum(e.subset == "test" for e in ucf)) == (1890, 630)
        assert (len(hmdb), sum(e.subset == "test" for e in hmdb)) == (1512, 504)
        assert not {e.group for e in ucf if e.subset == "test"} & {e.group for e in ucf if e.subset == "train"}
