"""Runner defaults: a bare command line runs locally, offline, on every core."""
from __future__ import annotations

import multiprocessing

from apache_beam.options.pipeline_options import DirectOptions, StandardOptions

from beam_pipelines.options import pipeline_options


def runner_settings(argv):
    options = pipeline_options(argv)
    direct = options.view_as(DirectOptions)
    return options.view_as(StandardOptions).runner, direct.direct_running_mode, direct.direct_num_workers


def test_no_runner_or_direct_runner_goes_straight_to_the_local_multiprocess_runner():
    expected = ("FnApiRunner", "multi_processing", multiprocessing.cpu_count())
    assert runner_settings([]) == expected
    assert runner_settings(["--runner=DirectRunner"]) == expected
    assert runner_settings(["--runner", "direct"]) == expected


def test_explicit_local_flags_are_kept():
    assert runner_settings(["--direct_num_workers=3"]) == ("FnApiRunner", "multi_processing", 3)
    assert runner_settings(["--direct_running_mode=in_memory"]) == ("FnApiRunner", "in_memory", 1)


def test_other_runners_pass_through_untouched():
    runner, mode, workers = runner_settings(["--runner=DataflowRunner", "--project=p", "--region=r"])
    assert (runner, mode, workers) == ("DataflowRunner", "in_memory", 1)
