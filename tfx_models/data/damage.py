"""Damaged record sets end a run with one sentence naming the shard, or (data.skip_corrupt) are counted and skipped.

TensorFlow's own report of a damaged record ("corrupted record at 138070", from the tf.data
iterator) names neither the shard nor the set, so everything here reads the shards in plain
Python (media.tfrecord's framing and CRC32C checks, media.shards' checks against
dataset_info.json) to say which shard, at which byte, and what is wrong.
"""
from __future__ import annotations

from media.shards import INFO_FILE, list_shards, readable_records, shard_problems, verify_published
from media.tfrecord import DamagedRecordError

# What a reader can partly read (and so skip the rest of): not a missing or unlisted shard.
SKIPPABLE = ("short", "long", "altered", "unreadable")


class DamagedDataError(ValueError):
    """A record set that is not as published, or a damaged record met mid-run; names every damaged shard."""


def verify_hint(record_dir: str) -> str:
    return f"check the set with python -m beam_pipelines.verify --records {record_dir}"


def check_record_dir(record_dir: str, info: dict, *, verify: bool = False, skip_corrupt: bool = False) -> None:
    """The start-of-run check of one record dir against its dataset_info.json.

    Sizes always (one listing); `verify` also reads every shard (CRC32C and record framing).
    With `skip_corrupt`, damaged *training* shards pass (census() counts what they lose);
    a missing or unlisted shard never does: that is an incomplete set, not a damaged record.
    """
    if not info.get("shards"):
        if verify or skip_corrupt:
            raise ValueError(f"{record_dir}/{INFO_FILE} lists no per-shard sizes, records or checksums (an older "
                             f"set), so data.verify and data.skip_corrupt cannot check it; re-ingest it")
        verify_published(record_dir, info)
        return
    problems = shard_problems(record_dir, info, checksums=verify, records=verify)
    tolerated = [p for p in problems if skip_corrupt and p.kind in SKIPPABLE and _is_train(p.path)]
    refused = [p for p in problems if p not in tolerated]
    if refused:
        raise DamagedDataError(f"{record_dir}: {_count(len(refused), 'damaged shard')}: "
                               + "; ".join(str(p) for p in refused) + f"; {verify_hint(record_dir)}")
    if not tolerated:
        verify_published(record_dir, info)  # also the N-of-N names and the counts' sum


def _is_train(path: str) -> bool:
    return path.rsplit("/", 1)[-1].startswith("train-")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def locate(record_dirs, subset: str = "train") -> list[DamagedRecordError]:
    """The first damaged record of every damaged shard of the subset (reads every shard)."""
    found = []
    for record_dir in record_dirs:
        for path in list_shards(record_dir, subset):
            _, damage = readable_records(path)
            if damage is not None:
                found.append(damage)
    return found


def describe(found: list[DamagedRecordError]) -> str:
    return "; ".join(f"{d.source}: record at byte {d.offset}: {d.problem}" for d in found)


def census(record_dirs, infos: list[dict]) -> dict:
    """What data.skip_corrupt loses: every training shard read once, against dataset_info.json's counts.

    A reader cannot resync after a damaged record (its length is not to be trusted), so the
    rest of that shard is lost too: lost = listed records - records that read whole before it.
    Returns {"shards": {path: {"offset", "problem", "readable", "lost"}}, "lost", "records", "share"}.
    """
    shards, lost, total = {}, 0, 0
    for record_dir, info in zip(record_dirs, infos):
        listed = info.get("shards") or {}
        for path in list_shards(record_dir, "train"):
            name = path.rsplit("/", 1)[-1]
            if name not in listed:
                raise ValueError(f"{path}: not listed in {INFO_FILE}, so the records it would lose cannot be counted")
            expected = listed[name]["records"]
            total += expected
            readable, damage = readable_records(path)
            if damage is None and readable >= expected:
                continue
            shards[path] = {"offset": damage.offset if damage else None,
                            "problem": damage.problem if damage else f"{readable} of {expected} records, then the "
                                                                      "file ends",
                            "readable": min(readable, expected), "lost": max(expected - readable, 0)}
            lost += shards[path]["lost"]
    return {"shards": shards, "lost": lost, "records": total, "share": lost / total if total else 0.0}


def check_census(found: dict, max_share: float) -> None:
    """Stop, naming the damaged shards, when skipping would lose more than `max_share` of the training set."""
    if found["share"] > max_share:
        where = "; ".join(f"{path}: " + (f"record at byte {s['offset']}: " if s["offset"] is not None else "")
                          + f"{s['problem']} ({s['lost']} records lost)" for path, s in found["shards"].items())
        raise DamagedDataError(f"damaged training records: {found['lost']} of {found['records']} records "
                               f"({100 * found['share']:.1f}%) would be skipped, over data.max_corrupt_share="
                               f"{max_share}: {where}")

