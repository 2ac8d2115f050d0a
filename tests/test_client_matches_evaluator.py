"""The client's test batch for a video file equals the evaluator's batch from that video's ingested
record: the two paths must feed a model the same inputs for the same video.

Stated tolerance: bit-exact. Both reproduce the storage loss with the same JPEG codec at the
same quality, so any difference is drift between the ingest job and the client.
"""
import numpy as np
import pytest

from beam_pipelines.datasets.entry import VideoEntry
from beam_pipelines.ingest_transforms import IngestConfig, ingest_video
from media.flow import FlowEstimator
from tests.test_serving_fixtures import preprocessing, write_test_video
from tfx_models.data.test_clips import lazy_video
from media.stacking import evaluation_batch
from tfx_models.data.video_file import video_test_inputs


@pytest.mark.parametrize("joint,bidirectional", [(False, False), (False, True), (True, False)])
def test_client_batch_equals_the_evaluators_batch_from_the_ingested_record(tmp_path, joint, bidirectional):
    video = write_test_video(tmp_path / "a.avi", count=12)
    prep = preprocessing(("spatial", "temporal"), joint=joint, bidirectional=bidirectional, size=40)
    config = IngestConfig(flow=prep.flow_algorithm, bidirectional=bidirectional, size=prep.size,
                          jpeg_quality=prep.jpeg_quality, flow_bound=prep.flow_bound)
    entry = VideoEntry(path=video, label=0, label_name="a", subset="test", group="g", dataset="toy")
    record = ingest_video(entry, config, FlowEstimator(prep.flow_algorithm)).record
    _, frames, flow, backward = lazy_video(record, "ingested")
    evaluator = evaluation_batch(frames, flow, backward, joint=prep.joint, snippets=prep.snippets,
                                 snippet_stride=prep.snippet_stride, streams=prep.streams, num_frames=5, crops=10,
                                 crop_size=prep.crop_size, length=prep.length, stacking=prep.stacking,
                                 bidirectional=prep.bidirectional, mean_subtraction=prep.mean_subtraction)
    client = video_test_inputs(video, prep, num_frames=5, crops=10)
    assert set(client) == set(evaluator) == {"rgb", "flow"}
    np.testing.assert_array_equal(client["rgb"], np.clip(np.round(evaluator["rgb"]), 0, 255).astype(np.uint8))
    np.testing.assert_array_equal(client["flow"], evaluator["flow"].astype(np.float32))
