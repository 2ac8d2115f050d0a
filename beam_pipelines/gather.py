"""Routing by value and gathering through a GroupByKey: Beam patterns every runner executes
alike, Beam's DaskRunner included.

The DaskRunner (Beam 2.77) gives every consumer of a multi-output ParDo every output, and
computes each side input as a separate Dask graph, so a side input recomputes its whole
upstream (docs/runners.md).  A step with one output of (tag, value) pairs, split by cheap
FlatMaps, routes correctly everywhere; a GroupByKey under one key gathers a PCollection
into the main input of one step, which then depends on it like any other input.
"""
from __future__ import annotations

import apache_beam as beam

_ELEMENT, _SEED = "element", "seed"


def tag_as(value, tag: str) -> tuple:
    """value -> (tag, value): an element that says which branch it belongs to."""
    return tag, value


def values_tagged(item: tuple, tag: str):
    """Yields the value of a (tag, value) pair whose tag is `tag`, nothing for the others."""
    if item[0] == tag:
        yield item[1]


def _under_one_key(value) -> tuple:
    return None, (_ELEMENT, value)


def _elements(grouped) -> list:
    _, items = grouped
    return [value for kind, value in items if kind == _ELEMENT]


class GatherAll(beam.PTransform):
    """PCollection[T] -> a PCollection of exactly one list holding every element (in no set order).

    A seed element makes the group exist even when the input is empty.  Meant for the few,
    small results a job's last step needs (shard results, dead letters, ids), not for data.
    """

    def expand(self, pcoll):
        seed = pcoll.pipeline | "Seed" >> beam.Create([(None, (_SEED, None))])
        return ((pcoll | "Key" >> beam.Map(_under_one_key), seed)
                | "Merge" >> beam.Flatten()
                | "Group" >> beam.GroupByKey()
                | "Elements" >> beam.Map(_elements))
