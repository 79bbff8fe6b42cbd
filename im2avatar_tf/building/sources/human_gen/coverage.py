"""How close do generated people come to real ones, before any training (torch-free, numpy).

For each real person (the `human-real` test split), the surface-shell IoU of the nearest
generated person (train and test splits of a built human set, same resolution): what a
network that memorized the generated set could at best score on shape. Reported per posture
(standing, sitting, lying, holding, mannequin: `source.posture` in the real set's meta.json).

    python -m im2avatar_tf.building.sources.human_gen.coverage data/human-real \\
        classic=data/human poses=data/human-poses clothes=data/human-clothes wide=data/human-wide
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np


def nearest_shell_iou(real: np.ndarray, generated: np.ndarray) -> np.ndarray:
    """real (N, R, R, R) bool, generated (M, R, R, R) bool -> (N,) best IoU over generated."""
    g = generated.reshape(len(generated), -1).astype(np.float32)  # (M, R^3)
    x = real.reshape(len(real), -1).astype(np.float32)  # (N, R^3)
    inter = x @ g.T  # (N, M)
    union = x.sum(1, keepdims=True) + g.sum(1)[None] - inter
    return (inter / np.maximum(union, 1.0)).max(1)


def load_people(root, splits: Sequence[str] = ("train", "test")) -> List[Tuple[str, np.ndarray, dict]]:
    """(entry, occupancy (R, R, R) bool, meta) of every person of a human-layout set."""
    from ....data.layout import HUMAN
    from ....io import read_h5

    root = Path(root)
    out = []
    for split in splits:
        path = HUMAN.split_list_path(root, split, HUMAN.CATEGORY)
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            if line.strip():
                clothes, mesh = line.split()
                model = root / clothes / mesh
                occupied = read_h5(model / f"{mesh}.h5")[..., 0] > -0.5
                out.append((f"{clothes} {mesh}", occupied, json.loads((model / "meta.json").read_text())))
    return out


def coverage(real_root, generated: Dict[str, str]) -> Dict[str, Dict[str, float]]:
    """{set name: {"all": mean nearest IoU, posture: mean, ...}} over the real test people."""
    real = load_people(real_root, ("test",))
    if not real:
        raise FileNotFoundError(f"no test people in {real_root}")
    postures = [m["source"].get("posture", "?") for _, _, m in real]
    vols = np.stack([v for _, v, _ in real])
    out = {}
    for name, root in generated.items():
        gen = load_people(root)
        if not gen:
            raise FileNotFoundError(f"no people in {root}")
        best = nearest_shell_iou(vols, np.stack([v for _, v, _ in gen]))
        row = {"all": float(best.mean()), "people": len(gen)}
        for p in sorted(set(postures)):
            row[p] = float(np.mean([b for b, q in zip(best, postures) if q == p]))
        out[name] = row
    return out


def main(argv: Sequence[str] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 2 or any("=" not in a for a in argv[1:]):
        print(__doc__, file=sys.stderr)
        return 2
    table = coverage(argv[0], dict(a.split("=", 1) for a in argv[1:]))
    keys = [k for k in next(iter(table.values())) if k not in ("all", "people")]
    print("| set | generated people | all | " + " | ".join(keys) + " |")
    print("|---" * (3 + len(keys)) + "|")
    for name, row in table.items():
        print(f"| {name} | {row['people']} | {row['all']:.3f} | "
              + " | ".join(f"{row[k]:.3f}" for k in keys) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
