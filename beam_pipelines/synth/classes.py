"""The class table: every class is an appearance kit crossed with a motion.

Motion-only classes share one kit and one scene pool, and every pose parameter
has the same per-frame distribution in all of them (a class that does not move
a parameter freezes it at a random point of the same trajectory), so a single
frame carries no information about which of them it came from. Appearance-only
classes share one silhouette and the same mixture of motions, so their flow
fields have the same distribution. A few classes differ in both.
"""
from __future__ import annotations

from dataclasses import dataclass

# Motions one clip can have; "mixed" draws one of MIXED_MOTIONS per clip.
MOTIONS = ("swing", "bounce", "spin", "approach", "recede", "shake", "slide", "orbit")
MIXED_MOTIONS = ("swing", "bounce", "spin", "approach", "recede")

MOTION_TEXT = {
    "swing": "swings left-right",
    "bounce": "bounces up-down",
    "spin": "rotates in place",
    "approach": "grows (comes closer)",
    "recede": "shrinks (moves away)",
    "shake": "shakes fast left-right, small amplitude",
    "slide": "slides back and forth along a straight line",
    "orbit": "circles around a point",
    "mixed": "one of swing/bounce/spin/approach/recede",
}


@dataclass(frozen=True)
class Kit:
    """An object's look: silhouette, two texture colours (RGB) and pattern."""

    shape: str            # "disc", "square" or "star"
    colors: tuple         # two RGB colours of the sector pattern
    pattern: str          # "sectors" or "checker"
    text: str


KITS = {
    "ball": Kit("disc", ((235, 120, 30), (245, 240, 225)), "sectors", "orange-white beach ball"),
    "apple": Kit("disc", ((200, 30, 40), (120, 170, 60)), "sectors", "red-green disc"),
    "lemon": Kit("disc", ((240, 215, 40), (250, 250, 200)), "sectors", "yellow disc"),
    "plum": Kit("disc", ((110, 40, 140), (200, 150, 220)), "sectors", "purple disc"),
    "melon": Kit("disc", ((40, 130, 60), (180, 230, 120)), "sectors", "green disc"),
    "box": Kit("square", ((60, 90, 200), (230, 230, 230)), "checker", "blue-white checkered box"),
    "star": Kit("star", ((250, 250, 250), (220, 40, 160)), "sectors", "white-magenta star"),
}


@dataclass(frozen=True)
class SynthClass:
    ucf_name: str | None   # CamelCase name in the UCF-like set (None: not in it)
    hmdb_name: str | None  # lower_snake name in the HMDB-like set (None: not in it)
    kit: str
    motion: str            # one of MOTIONS or "mixed"
    stream: str            # which stream should tell it from its look-alikes


CLASSES = (
    SynthClass("SwingBall", "swing_ball", "ball", "swing", "temporal (motion only)"),
    SynthClass("BounceBall", "bounce_ball", "ball", "bounce", "temporal (motion only)"),
    SynthClass("SpinBall", "spin_ball", "ball", "spin", "temporal (motion only)"),
    SynthClass("ApproachBall", None, "ball", "approach", "temporal (motion only)"),
    SynthClass("RecedeBall", None, "ball", "recede", "temporal (motion only)"),
    SynthClass(None, "shake_ball", "ball", "shake", "temporal (motion only)"),
    SynthClass("TossApple", "toss_apple", "apple", "mixed", "spatial (appearance only)"),
    SynthClass("TossLemon", "toss_lemon", "lemon", "mixed", "spatial (appearance only)"),
    SynthClass("TossPlum", None, "plum", "mixed", "spatial (appearance only)"),
    SynthClass(None, "toss_melon", "melon", "mixed", "spatial (appearance only)"),
    SynthClass("SlideBox", "slide_box", "box", "slide", "both (shape and motion)"),
    SynthClass("OrbitStar", None, "star", "orbit", "both (shape and motion)"),
)


def classes_of(dataset: str) -> list[tuple[str, SynthClass]]:
    """(name as the dataset spells it, class) in label order (sorted by name, like the real lists)."""
    attribute = {"ucf101": "ucf_name", "hmdb51": "hmdb_name", "multiview": "ucf_name"}[dataset]
    named = [(getattr(cls, attribute), cls) for cls in CLASSES if getattr(cls, attribute)]
    return sorted(named, key=lambda pair: pair[0].lower())


def markdown_table() -> str:
    """The class table for the README."""
    rows = ["| UCF-like class | HMDB-like class | appearance | motion | told apart by |",
            "|---|---|---|---|---|"]
    for cls in CLASSES:
        kit = KITS[cls.kit]
        rows.append(f"| {cls.ucf_name or '-'} | {cls.hmdb_name or '-'} | {kit.text} ({kit.shape}) "
                    f"| {MOTION_TEXT[cls.motion]} | {cls.stream} |")
    return "\n".join(rows)
