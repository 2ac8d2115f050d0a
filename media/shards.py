"""Where records live: shard names, the dataset_info.json beside them, and checking a set.

Every function takes a `Storage` (media.storage): tf.io.gfile by default, for training and
evaluation; the Beam jobs pass Beam's FileSystems (beam_pipelines.storage), so gs://, s3://
and local folders are one code path there too.

dataset_info.json is the commit marker of a record set: the jobs write it last, listing each
shard's records, bytes and CRC32C, and delete it first when they replace a set. A folder
without it is not a published set; a shard that disagrees with it is damaged.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from media.storage import TENSORFLOW, Storage, crc32c_of, read_json, write_json
from media.tfrecord import DamagedRecordError, read_records

INFO_FILE = "dataset_info.json"
SUBSETS = ("train", "test")


def shard_name(subset: str, index: int, count: int) -> str:
    return f"{subset}-{index:05d}-of-{count:05d}.tfrecord"


def shard_pattern(output_dir: str, subset: str) -> str:
    return f"{output_dir.rstrip('/')}/{subset}-?????-of-?????.tfrecord"


_SHARD = re.compile(r"^(?P<subset>[a-z]+)-(?P<index>\d{5})-of-(?P<count>\d{5})\.tfrecord$")


class ShardSetError(ValueError):
    """The shards on disk are not one complete N-of-N set; names the folder and the files."""


def check_shard_set(output_dir: str, subset: str, num_shards: int | None = None,
                    storage: Storage = TENSORFLOW) -> list[str]:
    """Sorted shard paths of a subset, if they form exactly one complete N-of-N set.

    N is `num_shards` when given (dataset_info.json's), else what the names say; a
    missing index, a second N or an extra file raises ShardSetError naming them.
    """
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {SUBSETS}, got {subset!r}")
    files = storage.glob(shard_pattern(output_dir, subset))
    if not files:
        raise FileNotFoundError(f"{output_dir}: no {subset} shards ({subset}-*-of-*.tfrecord)")
    names = [path.rsplit("/", 1)[-1] for path in files]
    count = num_shards if num_shards is not None else max(int(_SHARD.match(name)["count"]) for name in names)
    expected = {shard_name(subset, i, count) for i in range(count)}
    missing, extra = sorted(expected - set(names)), sorted(set(names) - expected)
    if missing or extra:
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"extra {', '.join(extra)}"] if extra else [])
        raise ShardSetError(f"{output_dir}: the {subset} shards are not one complete "
                            f"{count}-of-{count} set: {'; '.join(problems)}")
    return files


def list_shards(output_dir: str, subset: str, storage: Storage = TENSORFLOW) -> list[str]:
    """Sorted shard paths; an empty subset or an incomplete N-of-N set is an error naming the folder."""
    return check_shard_set(output_dir, subset, storage=storage)


def verify_published(output_dir: str, info: dict, storage: Storage = TENSORFLOW) -> None:
    """Raise ShardSetError unless the shards on disk are the N-of-N sets `info` describes:
    info["num_shards"] per subset, and each shard's size and record count as listed in
    info["shards"], summing to info["counts"]. Sizes only: this costs one listing."""
    listed = info.get("shards", {})
    for subset in SUBSETS:
        files = check_shard_set(output_dir, subset, info.get("num_shards"), storage)
        total = 0
        for path in files:
            name = path.rsplit("/", 1)[-1]
            if listed:
                if name not in listed:
                    raise ShardSetError(f"{path}: not listed in {INFO_FILE}")
                size = storage.size(path)
                if size != listed[name]["bytes"]:
                    raise ShardSetError(f"{path}: {size} bytes on disk, {INFO_FILE} says "
                                        f"{listed[name]['bytes']} ({_size_problem(size, listed[name]['bytes'])}); "
                                        f"check it with python -m beam_pipelines.verify --records {output_dir}")
                total += listed[name]["records"]
        if listed and "counts" in info and total != info["counts"][subset]:
            raise ShardSetError(f"{output_dir}: the {subset} shards hold {total} records, "
                                f"{INFO_FILE} counts {info['counts'][subset]}")


def _size_problem(size: int, expected: int) -> str:
    return "short: cut off or still being copied" if size < expected else "longer than written"


def write_dataset_info(output_dir: str, info: dict, storage: Storage = TENSORFLOW) -> None:
    write_json(storage, f"{output_dir.rstrip('/')}/{INFO_FILE}", info)


def read_dataset_info(output_dir: str, storage: Storage = TENSORFLOW) -> dict:
    """dataset_info.json as written by the ingest job.

    Keys: dataset, format, split, classes (list of names, index = label),
    counts {train, test}, flow {algorithm, bound, bidirectional, jpeg_quality},
    size (smaller side), schema_version, num_shards, and shards {name: {records,
    bytes, crc32c}} (crc32c since the verifier; older sets list records and bytes).
    """
    path = f"{output_dir.rstrip('/')}/{INFO_FILE}"
    if not storage.exists(path):
        raise FileNotFoundError(f"{path}: missing; run beam_pipelines.ingest first")
    try:
        info = read_json(storage, path)
    except ValueError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    for key in ("dataset", "classes", "flow"):
        if key not in info:
            raise ValueError(f"{path}: missing field {key!r}")
    return info


def iter_records(output_dir: str, subset: str, storage: Storage = TENSORFLOW):
    """Serialized records of a subset, shard by shard (Python side); a damaged record raises
    DamagedRecordError naming the shard and the record's byte offset."""
    for path in list_shards(output_dir, subset, storage):
        with storage.open(path) as handle:
            for _, data in read_records(handle, path):
                yield data


@dataclass(frozen=True)
class ShardProblem:
    """One shard that is not as dataset_info.json lists it."""

    path: str
    kind: str  # missing, short, long, altered, unreadable, unlisted
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.kind}: {self.detail}"


def shard_problems(output_dir: str, info: dict, storage: Storage = TENSORFLOW, *,
                   checksums: bool = True, records: bool = True) -> list[ShardProblem]:
    """Every shard of the set that is missing, of the wrong size, altered or unreadable.

    Sizes cost a listing; `checksums` reads every byte (CRC32C, against dataset_info.json's);
    `records` also walks each shard's records, so that a damaged one is named by its offset.
    """
    folder = output_dir.rstrip("/")
    listed = info.get("shards") or {}
    problems = []
    present = {path.rsplit("/", 1)[-1]: path for subset in SUBSETS
               for path in storage.glob(shard_pattern(folder, subset))}
    if not listed and not info.get("num_shards"):
        raise ValueError(f"{folder}/{INFO_FILE} lists neither the shards nor their number (an older set): "
                         "nothing to check them against; re-ingest it")
    expected = set(listed) or {shard_name(subset, i, info["num_shards"])
                               for subset in SUBSETS for i in range(info["num_shards"])}
    for name in sorted(set(present) - expected):
        problems.append(ShardProblem(present[name], "unlisted", f"not listed in {INFO_FILE}"))
    for name in sorted(expected):
        path, entry = f"{folder}/{name}", listed.get(name, {})
        if name not in present:
            problems.append(ShardProblem(path, "missing", f"listed in {INFO_FILE} but not there"))
            continue
        size = storage.size(path)
        if "bytes" in entry and size != entry["bytes"]:
            kind = "short" if size < entry["bytes"] else "long"
            problems.append(ShardProblem(path, kind, f"{size} bytes, {INFO_FILE} says {entry['bytes']}"
                                         + _first_damage(storage, path)))
            continue
        if checksums and "crc32c" in entry:
            crc = crc32c_of(storage, path)
            if crc != entry["crc32c"]:
                problems.append(ShardProblem(path, "altered", f"CRC32C {crc}, {INFO_FILE} says {entry['crc32c']}"
                                             + _first_damage(storage, path)))
                continue
        if records:
            count, damage = readable_records(path, storage)
            if damage:
                problems.append(ShardProblem(path, "unreadable", _damage_text(damage)))
            elif "records" in entry and count != entry["records"]:
                problems.append(ShardProblem(path, "altered", f"{count} records, {INFO_FILE} says {entry['records']}"))
    return problems


def readable_records(path: str, storage: Storage = TENSORFLOW) -> tuple[int, DamagedRecordError | None]:
    """(records that read whole from the start of a shard, the damage that stops reading or None).

    A reader cannot resync after a damaged record (its length is not to be trusted), so the
    records after it are lost to every reader."""
    count = 0
    try:
        with storage.open(path) as handle:
            for _ in read_records(handle, path):
                count += 1
    except DamagedRecordError as damage:
        return count, damage
    return count, None


def _damage_text(damage: DamagedRecordError | None) -> str:
    return f"record at byte {damage.offset}: {damage.problem}" if damage else ""


def _first_damage(storage: Storage, path: str) -> str:
    _, damage = readable_records(path, storage)
    return f"; first damaged {_damage_text(damage)}" if damage else "; every record still reads"
