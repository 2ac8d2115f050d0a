"""The local cluster helpers keep processes, logs and state on this machine: an object-store
state folder is refused in one line, and no local folder is made from its name."""
import os

import pytest

from beam_pipelines import dask_cluster, prism_cluster


@pytest.mark.parametrize("cluster", [dask_cluster, prism_cluster])
def test_an_object_store_state_dir_is_refused_in_one_line(cluster, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cluster.main(["start", "--state_dir", "gs://bucket/cluster"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --state_dir gs://bucket/cluster: a local cluster keeps its logs and state on this "
                   "machine; give a local folder"]
    assert os.listdir(tmp_path) == []   # os.makedirs would have made ./gs:/bucket/cluster
