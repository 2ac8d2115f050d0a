"""The class table: every class is an appearance kit crossed with a motion.

Motion-only classes share one kit and one scene pool, and every pose parameter
has the same per-frame distribution in all of them (a class that does not move
a parameter freezes it at a random point of the same trajectory), so a single
frame carries no information about which of them it came from. Appearance-only
classes share one silhouette and the same mixture of motions, so their flow
fields have the same distribution. A few classes differ in both.

The "wherewhen" set (CUE_CLASSES) needs both cues together. "Where" classes show
two discs of one size and two textures; one moves, the other is frozen at a random
point of the same trajectory, and the class is which texture moves: only
appearance and motion at the same place tell them apart. "When" classes do one
motion, pause, then another; the class is the order. Every pause outlasts a flow
stack (WHEN_GAP > L = 10), so no snippet sees both motions and only a model
whose input spans the middle pause can tell the order.
"""
from __future__ import annotations

from dataclasses import dataclass

# Motions one clip can have; "mixed" draws one of MIXED_MOTIONS per clip.
MOTIONS = ("swing", "bounce", "spin", "approach", "recede", "shake", "slide", "orbit")
MIXED_MOTIONS = ("swing", "bounce", "spin", "approach", "recede")
# "When" clips: pause, motion A, pause, motion B, pause; pauses (flow steps, inclusive range) all
# longer than a flow stack, so no L=10 snippet shows both motions or where one stops and one starts
# in the other order; the motions' own steps.
WHEN_GAP = (10, 14)
WHEN_SEGMENT = (6, 12)

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
    still_kit: str | None = None  # "where": a second object of this kit, frozen
    then: str | None = None       # "when": the motion done after `motion` and a pause

    @property
    def name(self) -> str:
        return self.ucf_name or self.hmdb_name


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


WHERE = "where (which texture moves)"
WHEN = "when (the order of two motions)"
# The "wherewhen" set, laid out like UCF-101: where-pairs differ only in which texture moves,
# when-pairs only in the order of the same two motions.
CUE_CLASSES = (
    SynthClass("AppleBounces", None, "apple", "bounce", WHERE, still_kit="lemon"),
    SynthClass("LemonBounces", None, "lemon", "bounce", WHERE, still_kit="apple"),
    SynthClass("AppleSpins", None, "apple", "spin", WHERE, still_kit="lemon"),
    SynthClass("LemonSpins", None, "lemon", "spin", WHERE, still_kit="apple"),
    SynthClass("SwingThenBounce", None, "ball", "swing", WHEN, then="bounce"),
    SynthClass("BounceThenSwing", None, "ball", "bounce", WHEN, then="swing"),
    SynthClass("SwingThenSpin", None, "ball", "swing", WHEN, then="spin"),
    SynthClass("SpinThenSwing", None, "ball", "spin", WHEN, then="swing"),
)
# Every class once, in the order that seeds them (a class's index is part of its clips' seeds).
ALL_CLASSES = CLASSES + CUE_CLASSES


def classes_of(dataset: str) -> list[tuple[str, SynthClass]]:
    """(name as the dataset spells it, class) in label order (sorted by name, like the real lists)."""
    attribute = {"ucf101": "ucf_name", "hmdb51": "hmdb_name", "multiview": "ucf_name", "wherewhen": "ucf_name"}[dataset]
    table = CUE_CLASSES if dataset == "wherewhen" else CLASSES
    named = [(getattr(cls, attribute), cls) for cls in table if getattr(cls, attribute)]
    return sorted(named, key=lambda pair: pair[0].lower())


# What tells a class from its look-alikes (the first word of its `stream`), as recall groups: those
# of the UCF- and HMDB-like sets (the results tables' columns), then the "wherewhen" set's.
CUE_GROUPS = {"temporal": "motion only", "spatial": "appearance only", "both": "both"}
WHEREWHEN_GROUPS = {"where": "where", "when": "when"}


def cue_group(cls: SynthClass) -> str:
    return {**CUE_GROUPS, **WHEREWHEN_GROUPS}[cls.stream.split()[0]]


def cue_table(dataset: str) -> dict:
    """What each class of a set shows, for ceilings (media.ceilings) without the renderer: written
    beside the rendered set as classes.json and carried into the records' dataset_info.json.

    Per class: its cue group and its variants (a "mixed" class draws one of MIXED_MOTIONS per
    clip), each a probability and the objects in view with the motions each does, in order.
    Between two motions of one object is a pause of `gap` flow steps (uniform integers)."""
    classes = {}
    for name, cls in classes_of(dataset):
        motions = MIXED_MOTIONS if cls.motion == "mixed" else (cls.motion,)
        variants = []
        for motion in motions:
            objects = [{"kit": cls.kit, "motions": [motion] + ([cls.then] if cls.then else [])}]
            if cls.still_kit:
                objects.append({"kit": cls.still_kit, "motions": []})
            variants.append({"p": 1 / len(motions), "objects": objects})
        classes[name] = {"cue_group": cue_group(cls), "variants": variants,
                         "gap": list(WHEN_GAP) if cls.then else None}
    return {"benchmark": "synthetic", "dataset": dataset, "classes": classes}


def markdown_table() -> str:
    """The class table for the README."""
    rows = ["| UCF-like class | HMDB-like class | appearance | motion | told apart by |",
            "|---|---|---|---|---|"]
    for cls in CLASSES:
        kit = KITS[cls.kit]
        rows.append(f"| {cls.ucf_name or '-'} | {cls.hmdb_name or '-'} | {kit.text} ({kit.shape}) "
                    f"| {MOTION_TEXT[cls.motion]} | {cls.stream} |")
    return "\n".join(rows)


def cue_markdown_table() -> str:
    """The "wherewhen" set's class table."""
    rows = ["| class | objects | motion | told apart by |", "|---|---|---|---|"]
    for cls in CUE_CLASSES:
        kit = KITS[cls.kit]
        if cls.still_kit:
            objects = f"{kit.text} and {KITS[cls.still_kit].text} ({kit.shape}s, one size)"
            motion = f"the {kit.text} {MOTION_TEXT[cls.motion]}; the other is still"
        else:
            objects = f"{kit.text} ({kit.shape})"
            motion = f"{MOTION_TEXT[cls.motion]}, pauses, then {MOTION_TEXT[cls.then]}"
        rows.append(f"| {cls.ucf_name} | {objects} | {motion} | {cls.stream} |")
    return "\n".join(rows)
