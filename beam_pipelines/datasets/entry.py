"""The one list every dataset reader produces and the ingest job consumes."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class VideoEntry:
    path: str          # absolute path (or a gs:// URL) of the video file
    label: int         # 0-based class index within `dataset`
    label_name: str    # class name as the dataset spells it
    subset: str        # "train" or "test" for the chosen split
    group: str         # clips sharing actor and scene; never straddle train and test
    view: int = 0      # camera index for multi-view data
    dataset: str = ""  # "ucf101", "hmdb51" or a manifest's name

    @property
    def id(self) -> str:
        """Stable record id: dataset plus the file name without folders."""
        name = self.path.replace("\\", "/").rsplit("/", 1)[-1]
        return f"{self.dataset}/{name}"

    def to_dict(self) -> dict:
        return asdict(self)
