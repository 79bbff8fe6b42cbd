"""`human-real`: real-looking clothed people nobody here made, as a test-only human set.

The "Characters" of Debian's Sweet Home 3D furniture catalogue (`apt-get install
sweethome3d-furniture`) that are people (29 on 1.8-1: standing, holding, sitting, lying,
children, two mannequins), read through the dataset engineer's catalogue reader
(`sweethome3d.iter_catalog(["human"])`) and built by the same builder, cameras, resolution and
white background as the synthetic human set, into the released human layout:

    {out}/sweethome3d/{model_id}/...     test_list_human.txt lists them all; train_list is empty

Each model's meta.json records the catalogue name, creator and licence, and a `posture`
(standing / holding / sitting / lying / mannequin) so results can be split by it: only the
standing people resemble the synthetic training poses.

    python run.py build-dataset --source human-real --out data/human-real [--resolution 64]

`SOURCE` is the `human-real` source of build-dataset (`building.sources`).
"""
from __future__ import annotations

import dataclasses
import json
import re
import time
from pathlib import Path
from typing import Optional

from ...data.layout import HUMAN
from ...io import atomic_write_text
from .base import Request, Source


def posture(name: str) -> str:
    """Posture from the catalogue name ('Sitting girl' -> 'sitting')."""
    n = name.lower()
    for word, label in (("sitting", "sitting"), ("lying", "lying"), ("holding", "holding"),
                        ("mannequin", "mannequin")):
        if re.search(rf"\b{word}\b", n):
            return label
    return "standing"


def build_real(out: Path, options=None, workers: int = 1, progress: bool = True,
               limit: Optional[int] = None) -> dict:
    """Build every catalogue person into `out` (all in the test split); resumable. The people
    are the catalogue reader's `human` jobs (clothes folder `sweethome3d`), built by the
    dataset builder's `build_dataset`."""
    from ...images import WHITE_RGB
    from ..builder import BuildOptions, build_dataset
    from .sweethome3d import sweethome3d_jobs

    options = options or BuildOptions(background=WHITE_RGB)
    out = Path(out)
    jobs = [dataclasses.replace(j, up=options.up, source=dict(
        j.source, posture=posture(j.source["name"]), split="test", set="human-real"))
        for j in sweethome3d_jobs([HUMAN.CATEGORY], limit=limit)]
    t0 = time.perf_counter()
    report = build_dataset(jobs, out, options, workers=workers, progress=progress,
                           splits="test")
    failed = {s["model_id"]: s["reason"] for s in report.skipped}
    ok = [j for j in jobs if j.model_id not in failed]
    postures = [j.source["posture"] for j in ok]
    summary = {"models": len(ok), "built": len(report.built), "failed": failed,
               "postures": {p: postures.count(p) for p in sorted(set(postures))},
               "seconds_build": round(time.perf_counter() - t0, 2),
               "resolution": options.resolution}
    atomic_write_text(out / "human_real_report.json", json.dumps(summary, indent=1))
    return summary


class HumanReal(Source):
    """The catalogue's people, test only, on the human set's white background."""

    name = "human-real"
    default_out = "human-real"
    background = HUMAN.background

    def build(self, request: Request) -> bool:
        out = Path(request.out)
        summary = build_real(out, request.options, request.workers, request.progress,
                             request.count)
        request.say(f"human-real: {summary['models']} people ({summary['postures']}), "
                    f"{len(summary['failed'])} failed -> {out}")
        return not summary["failed"]


SOURCE = HumanReal()
