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
