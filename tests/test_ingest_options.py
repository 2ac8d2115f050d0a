"""Runner defaults: a bare command line runs locally, offline, on every core."""
from __future__ import annotations

import multiprocessing

from apache_beam.options.pipeline_options import DirectOptions, StandardOptions, WorkerOptions

from beam_pipelines.options import LOCAL_RUNNER, pipeline_options


def runner_settings(argv):
    options = pipeline_options(argv)
    direct = options.view_as(DirectOptions)
    return options.view_as(StandardOptions).runner, direct.direct_running_mode, direct.direct_num_workers


def test_no_runner_or_direct_runner_goes_straight_to_the_local_multiprocess_runner():
    expected = (LOCAL_RUNNER, "multi_processing", multiprocessing.cpu_count())
    assert runner_settings([]) == expected
    assert runner_settings(["--runner=DirectRunner"]) == expected
    assert runner_settings(["--runner", "direct"]) == expected
    assert runner_settings(["--runner=FnApiRunner"]) == expected
    assert pipeline_options([]).view_as(WorkerOptions).default_sdk_harness_log_level == "WARNING"


def test_explicit_local_flags_are_kept():
    assert runner_settings(["--direct_num_workers=3"]) == (LOCAL_RUNNER, "multi_processing", 3)
    assert runner_settings(["--direct_running_mode=in_memory"]) == (LOCAL_RUNNER, "in_memory", 1)
    options = pipeline_options(["--default_sdk_harness_log_level=DEBUG"])
    assert options.view_as(WorkerOptions).default_sdk_harness_log_level == "DEBUG"


def test_other_runners_pass_through_untouched():
    runner, mode, workers = runner_settings(["--runner=DataflowRunner", "--project=p", "--region=r"])
    assert (runner, mode, workers) == ("DataflowRunner", "in_memory", 1)
    assert pipeline_options(["--runner=DataflowRunner"]).view_as(WorkerOptions).default_sdk_harness_log_level is None


def _keyed_blobs(i: int):
    return i % 2, b"x" * 100_000


def _count(grouped) -> int:
    return sum(value is not None for value in grouped[1])


def test_local_runner_delivers_every_element_however_fast_the_flush_timer(monkeypatch, tmp_path):
    """The ingest's shape (records flattened with per-shard seeds, then grouped) on two worker
    processes. Beam's timed flush drops writes that race it; with a 5 ms timer instead of 1 s
    and LocalRunner's override taken out, this test counted 815 of the 1,000 elements.
    LocalRunner must turn the timer off, whatever it is set to."""
    import apache_beam as beam
    from apache_beam.runners.portability.fn_api_runner import worker_handlers

    from beam_pipelines.options import LocalRunner

    monkeypatch.setattr(worker_handlers, "DATA_BUFFER_TIME_LIMIT_MS", 5)
    options = pipeline_options(["--direct_num_workers=2"])
    out = tmp_path / "count"
    with beam.Pipeline(runner=LocalRunner(), options=options) as pipeline:
        records = (pipeline | "Ids" >> beam.Create(range(1000)) | beam.Reshuffle()
                   | "Blobs" >> beam.Map(_keyed_blobs))
        seeds = pipeline | "Seeds" >> beam.Create([(0, None), (1, None)])
        _ = ((records, seeds) | beam.Flatten() | beam.GroupByKey() | beam.Map(_count)
             | beam.CombineGlobally(sum) | beam.Map(str) | beam.io.WriteToText(str(out), shard_name_template=""))
    assert out.read_text().strip() == "1000"
    assert worker_handlers.DATA_BUFFER_TIME_LIMIT_MS == 5  # put back for any other runner
