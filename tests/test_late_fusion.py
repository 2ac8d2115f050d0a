"""Late fusion (averaging, SVM on stacked L2-normalised scores) and the video-level metrics."""
import json

import numpy as np
import pytest
from sklearn.svm import LinearSVC

from tfx_models.evaluation import late_fusion, metrics


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def two_noisy_streams(n, classes=4, seed=0):
    """Each stream alone is often wrong; together they are separable."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    onehot = np.eye(classes)[labels]
    spatial = softmax(2.0 * onehot + rng.normal(0, 1.0, (n, classes)))
    temporal = softmax(2.0 * onehot + rng.normal(0, 1.0, (n, classes)))
    return spatial, temporal, labels


def test_averaging_is_the_mean_of_softmax_scores():
    spatial = np.array([[0.6, 0.4], [0.1, 0.9]])
    temporal = np.array([[0.2, 0.8], [0.3, 0.7]])
    np.testing.assert_allclose(late_fusion.average_scores(spatial, temporal), [[0.4, 0.6], [0.2, 0.8]])
    with pytest.raises(ValueError, match="one shape"):
        late_fusion.average_scores(spatial, temporal[:, :1])


def test_svm_features_stack_unit_norm_scores():
    features = late_fusion.svm_features(np.array([[3.0, 4.0]]), np.array([[0.0, 2.0]]))
    np.testing.assert_allclose(features, [[0.6, 0.8, 0.0, 1.0]])


def test_svm_fusion_beats_each_stream_and_chance():
    spatial, temporal, labels = two_noisy_streams(600)
    fusion = late_fusion.SvmFusion.fit(spatial[:400], temporal[:400], labels[:400])
    predicted = fusion.scores(spatial[400:], temporal[400:]).argmax(axis=1)
    fused = np.mean(predicted == labels[400:])
    alone = max(np.mean(s[400:].argmax(1) == labels[400:]) for s in (spatial, temporal))
    assert fused > 0.8 and fused > alone + 0.03  # chance is 0.25


def test_svm_scores_are_sklearns_decision_values():
    spatial, temporal, labels = two_noisy_streams(200, classes=3, seed=1)
    train, test = slice(0, 150), slice(150, None)  # scored on videos it was not fit on
    fusion = late_fusion.SvmFusion.fit(spatial[train], temporal[train], labels[train], c=0.5)
    reference = LinearSVC(C=0.5, multi_class="ovr", random_state=0, max_iter=10_000)
    reference.fit(late_fusion.svm_features(spatial[train], temporal[train]), labels[train])
    expected = reference.decision_function(late_fusion.svm_features(spatial[test], temporal[test]))
    np.testing.assert_allclose(fusion.scores(spatial[test], temporal[test]), expected, rtol=1e-6, atol=1e-8)


def test_svm_follows_the_informative_stream_and_skips_absent_classes():
    rng = np.random.default_rng(2)

    def videos():
        labels = np.repeat([0, 2], 50)  # class 1 has no training videos
        temporal = softmax(4.0 * np.eye(3)[labels] + rng.normal(0, 0.3, (100, 3)))
        spatial = softmax(rng.normal(0, 1.0, (100, 3)))  # uninformative
        return spatial, temporal, labels

    fusion = late_fusion.SvmFusion.fit(*videos())
    spatial, temporal, labels = videos()  # new draws: scored on videos it was not fit on
    scores = fusion.scores(spatial, temporal)
    assert np.all(scores.argmax(axis=1) == labels)
    assert np.all(scores[:, 1] == -np.inf)


def test_svm_save_and_load_round_trip(tmp_path):
    spatial, temporal, labels = two_noisy_streams(100, classes=3, seed=3)
    fusion = late_fusion.SvmFusion.fit(spatial, temporal, labels)
    path = fusion.save(str(tmp_path / "svm"), info={"spatial": "a", "temporal": "b"})
    loaded = late_fusion.SvmFusion.load(str(tmp_path / "svm"))
    np.testing.assert_array_equal(loaded.scores(spatial, temporal), fusion.scores(spatial, temporal))
    assert json.load(open(path))["info"] == {"spatial": "a", "temporal": "b"}
    with pytest.raises(FileNotFoundError, match="svm_fusion.json"):
        late_fusion.SvmFusion.load(str(tmp_path))
    json.dump({"num_classes": 3, "coef": [[0.0]], "intercept": [0, 0, 0]}, open(path, "w"))
    with pytest.raises(ValueError, match="svm_fusion.json: coef"):
        late_fusion.SvmFusion.load(str(tmp_path / "svm"))


def test_metrics_on_a_known_confusion_matrix():
    # true 0: 3 videos (2 right), true 1: 1 video (right), true 2: 4 videos (1 right).
    labels = [0, 0, 0, 1, 2, 2, 2, 2]
    predicted = [0, 0, 1, 1, 2, 0, 0, 1]
    matrix = metrics.confusion_matrix(labels, predicted, 4)
    assert matrix.tolist() == [[2, 1, 0, 0], [0, 1, 0, 0], [2, 1, 1, 0], [0, 0, 0, 0]]
    assert metrics.accuracy(matrix) == 4 / 8
    recall = metrics.per_class_recall(matrix)
    np.testing.assert_allclose(recall[:3], [2 / 3, 1.0, 0.25])
    assert np.isnan(recall[3])  # no test videos: left out of the mean
    assert metrics.mean_class_accuracy(matrix) == pytest.approx((2 / 3 + 1.0 + 0.25) / 3)
    summary = metrics.summary(labels, np.eye(4)[predicted], ["a", "b", "c", "d"])
    assert summary["per_class_recall"]["d"] is None and summary["videos"] == 8
    with pytest.raises(ValueError, match="label outside 0..3"):
        metrics.confusion_matrix([4], [0], 4)
