"""Checkpoints that survive SIGKILL: a manifest with checksums marks a save as complete.

tf.train.CheckpointManager writes the data and index files, then the manifest is
written atomically (temp file + rename), and only then are checkpoints beyond
`max_to_keep` deleted, so a kill at any moment leaves at least one complete
checkpoint (tf.train.CheckpointManager would delete the old one inside save(),
before our manifest exists). On restore, checkpoints are tried newest first;
one without a manifest or whose files' sizes/SHA-256 differ from it was cut off
or corrupted, so it is skipped with a warning.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re

import tensorflow as tf

log = logging.getLogger(__name__)

PREFIX = "ckpt"
_NUMBER = re.compile(rf"{PREFIX}-(\d+)\.index$")


def _digest(path: str) -> str:
    h = hashlib.sha256()
    with tf.io.gfile.GFile(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _files(prefix: str) -> list[str]:
    return sorted(tf.io.gfile.glob(prefix + ".index") + tf.io.gfile.glob(prefix + ".data-*"))


def manifest_path(prefix: str) -> str:
    return prefix + ".manifest.json"


def write_manifest(prefix: str, step: int) -> None:
    files = {p.rsplit("/", 1)[-1]: {"size": tf.io.gfile.stat(p).length, "sha256": _digest(p)}
             for p in _files(prefix)}
    tmp = manifest_path(prefix) + ".tmp"
    with tf.io.gfile.GFile(tmp, "w") as f:
        json.dump({"step": step, "files": files}, f, indent=1)
    tf.io.gfile.rename(tmp, manifest_path(prefix), overwrite=True)


def verify(prefix: str) -> str | None:
    """None if the checkpoint matches its manifest, else why not."""
    if not tf.io.gfile.exists(manifest_path(prefix)):
        return "no manifest (the save did not finish)"
    try:
        with tf.io.gfile.GFile(manifest_path(prefix)) as f:
            expected = json.load(f)["files"]
    except (ValueError, KeyError) as e:
        return f"unreadable manifest ({e})"
    directory = prefix.rsplit("/", 1)[0]
    if not any(name.endswith(".index") for name in expected):
        return "manifest lists no index file"
    for name, meta in expected.items():
        path = f"{directory}/{name}"
        if not tf.io.gfile.exists(path):
            return f"{name} is missing"
        if tf.io.gfile.stat(path).length != meta["size"]:
            return f"{name} has the wrong size"
        if _digest(path) != meta["sha256"]:
            return f"{name} fails its checksum"
    return None


def step_of(prefix: str) -> int:
    """The step a checkpoint prefix ('.../ckpt-400') was saved at."""
    match = _NUMBER.search(prefix + ".index")
    if match is None:
        raise ValueError(f"{prefix}: not a checkpoint prefix ({PREFIX}-<step>)")
    return int(match.group(1))


def checkpoints_newest_first(directory: str) -> list[str]:
    """Checkpoint prefixes found on disk (not trusting the 'checkpoint' state file)."""
    found = []
    for path in tf.io.gfile.glob(f"{directory.rstrip('/')}/{PREFIX}-*.index"):
        match = _NUMBER.search(path)
        if match:
            found.append((int(match.group(1)), path[: -len(".index")]))
    return [prefix for _, prefix in sorted(found, reverse=True)]


def latest_valid_checkpoint(directory: str) -> str | None:
    for prefix in checkpoints_newest_first(directory):
        problem = verify(prefix)
        if problem is None:
            return prefix
        log.warning("skipping checkpoint %s: %s", prefix, problem)
    return None


def _remove_checkpoint(prefix: str) -> None:
    """Manifest first: a checkpoint half-deleted by a kill is then plainly unfinished."""
    for path in [manifest_path(prefix)] + _files(prefix):
        if tf.io.gfile.exists(path):
            tf.io.gfile.remove(path)


class CheckpointKeeper:
    """Saves numbered-by-step checkpoints with manifests and restores the newest valid one."""

    def __init__(self, checkpoint: tf.train.Checkpoint, directory: str, *, max_to_keep: int = 3):
        if max_to_keep < 1:
            raise ValueError(f"max_to_keep must be >= 1, got {max_to_keep}")
        self.checkpoint = checkpoint
        self.directory = directory.rstrip("/")
        self.max_to_keep = max_to_keep
        # max_to_keep=None: the manager never deletes; prune() does, after the manifest.
        self.manager = tf.train.CheckpointManager(checkpoint, self.directory, max_to_keep=None,
                                                  checkpoint_name=PREFIX)

    def save(self, step: int) -> str:
        """Write ckpt-<step>, its manifest, then prune: never fewer than one complete checkpoint."""
        prefix = self.manager.save(checkpoint_number=step)
        write_manifest(prefix, step)
        self.prune(keep=prefix)
        return prefix

    def prune(self, keep: str) -> None:
        """Delete all but the newest max_to_keep complete checkpoints (`keep` among them),
        and every unfinished one older than `keep`."""
        complete = 1
        for prefix in checkpoints_newest_first(self.directory):
            if prefix == keep:
                continue
            if tf.io.gfile.exists(manifest_path(prefix)) and complete < self.max_to_keep:
                complete += 1
                continue
            _remove_checkpoint(prefix)
        for stale in tf.io.gfile.glob(f"{self.directory}/{PREFIX}-*.manifest.json"):
            if not tf.io.gfile.exists(stale[: -len(".manifest.json")] + ".index"):
                tf.io.gfile.remove(stale)

    def latest(self) -> str | None:
        """The newest complete checkpoint in this keeper's directory."""
        return latest_valid_checkpoint(self.directory)

    def restore_latest(self, source_dir: str | None = None) -> str | None:
        """Restores from the newest valid checkpoint in source_dir (default: own dir)."""
        prefix = latest_valid_checkpoint(source_dir or self.directory)
        if prefix is not None:
            self.checkpoint.restore(prefix).assert_existing_objects_matched()
        return prefix


def model_variables(model) -> dict:
    """A model's variables keyed by path ('conv1/kernel'): a checkpoint layout that does not
    depend on Keras' object graph, so the training checkpoint restores into a freshly built
    model for evaluation or export."""
    variables = {}
    for v in model.weights:
        if v.path in variables:
            raise ValueError(f"model {model.name!r}: two variables share the path {v.path!r}; "
                             "layer names must be unique across nested models")
        variables[v.path] = v
    return variables
