"""Natural random poses within joint limits, without bad self-intersection (torch).

A pose is a dict of named joint angles in degrees (stored as is in each model's metadata);
`to_deltas` turns it into anny's per-bone 4x4 deltas. Axes (anny: +z up, front -y, left +x):

* shoulder_raise: abduction about y from the A-pose (+ raises the arm, - brings it to the body);
  shoulder_forward: flexion about x (+ swings the arm forward);
* elbow: flexion about the axis normal to the forearm and the front (+ bends forward/up);
* hip_forward: flexion about x (+ steps forward); hip_out: abduction about y (+ spreads);
  knee: flexion about x (+ bends backward);
* spine_twist (about z), spine_bend (about x, + forward), spine_lean (about y), each split
  over three spine bones; head_turn / head_nod over neck02 and head.

`sample_pose` draws from ranges inside human joint limits (arms raised or lowered, elbows and
knees bent, a step with one leg forward, a slight twist); `natural_pose` re-draws until no
non-adjacent limb comes closer to another body part than it was at rest minus a margin.
"""
from __future__ import annotations

from typing import Dict, Tuple

import numpy as np
import torch
from scipy.spatial import cKDTree

from .rig import GROUPS, Rig

Pose = Dict[str, float]
REST: Pose = {}

# (low, high) degrees.
LIMITS = {
    "shoulder_raise": (-25.0, 80.0), "shoulder_forward": (-15.0, 50.0), "elbow": (0.0, 110.0),
    "hip_forward": (-20.0, 35.0), "hip_out": (0.0, 12.0), "knee": (0.0, 45.0),
    "spine_twist": (-20.0, 20.0), "spine_bend": (-4.0, 12.0), "spine_lean": (-6.0, 6.0),
    "head_turn": (-30.0, 30.0), "head_nod": (-10.0, 15.0),
}
MARGIN = 0.01  # meters: a limb may not come closer than this to a non-adjacent part


def _rot(axis, degrees: float) -> np.ndarray:
    """3x3 rotation about `axis` (any length) by `degrees` (right hand)."""
    a = np.asarray(axis, np.float64)
    a = a / np.linalg.norm(a)
    t = np.radians(degrees)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * (k @ k)


X, Y, Z = (1, 0, 0), (0, 1, 0), (0, 0, 1)
FRONT = np.array([0.0, -1.0, 0.0])


def sample_pose(rng: np.random.Generator) -> Pose:
    """One natural pose: independent arms, a step (40 %) or a relaxed stance, slight twist."""
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
    pose: Pose = {}
    for side in ("L", "R"):
        pose[f"shoulder_raise.{side}"] = u(*LIMITS["shoulder_raise"])
        pose[f"shoulder_forward.{side}"] = u(*LIMITS["shoulder_forward"])
        pose[f"elbow.{side}"] = u(0, 15) if rng.random() < 0.3 else u(*LIMITS["elbow"])
        pose[f"hip_out.{side}"] = u(*LIMITS["hip_out"])
    if rng.random() < 0.4:  # a step: one leg forward, the other back
        lead, trail = ("L", "R") if rng.random() < 0.5 else ("R", "L")
        pose[f"hip_forward.{lead}"], pose[f"knee.{lead}"] = u(15, 35), u(5, 25)
        pose[f"hip_forward.{trail}"], pose[f"knee.{trail}"] = u(-20, -5), u(10, 35)
    else:
        for side in ("L", "R"):
            pose[f"hip_forward.{side}"], pose[f"knee.{side}"] = u(-5, 15), u(0, 25)
    for k in ("spine_twist", "spine_bend", "spine_lean", "head_turn", "head_nod"):
        pose[k] = u(*LIMITS[k])
    return {k: round(v, 2) for k, v in pose.items()}


def to_deltas(pose: Pose, rig: Rig, rest_heads: np.ndarray) -> torch.Tensor:
    """Named angles -> anny deltas (1, J, 4, 4) ('local-ref': world-aligned axes at rest)."""
    rots: Dict[str, np.ndarray] = {}

    def put(bone: str, r: np.ndarray):
        rots[bone] = r @ rots.get(bone, np.eye(3))

    g = lambda k: pose.get(k, 0.0)  # noqa: E731
    for side, sign in (("L", -1.0), ("R", 1.0)):
        put(f"upperarm01.{side}", _rot(X, -g(f"shoulder_forward.{side}"))
            @ _rot(Y, sign * g(f"shoulder_raise.{side}")))
        forearm = rest_heads[rig.bone(f"wrist.{side}")] - rest_heads[rig.bone(f"lowerarm01.{side}")]
        put(f"lowerarm01.{side}", _rot(np.cross(forearm, FRONT), g(f"elbow.{side}")))
        put(f"upperleg01.{side}", _rot(X, -g(f"hip_forward.{side}"))
            @ _rot(Y, sign * g(f"hip_out.{side}")))
        put(f"lowerleg01.{side}", _rot(X, g(f"knee.{side}")))
    for bone in ("spine04", "spine03", "spine02"):
        put(bone, _rot(Z, g("spine_twist") / 3) @ _rot(X, g("spine_bend") / 3)
            @ _rot(Y, g("spine_lean") / 3))
    for bone in ("neck02", "head"):
        put(bone, _rot(Z, g("head_turn") / 2) @ _rot(X, g("head_nod") / 2))
    deltas = rig.identity()
    for bone, r in rots.items():
        deltas[0, rig.bone(bone), :3, :3] = torch.as_tensor(r)
    return deltas


def _part_masks(rig: Rig, rest: np.ndarray, rest_heads: np.ndarray) -> Dict[str, np.ndarray]:
    """Vertex masks of the parts that must not meet: forearms+hands, distal upper arms,
    shins+feet, torso, thighs, head."""
    group = np.array(GROUPS)[rig.vertex_group]
    masks = {"torso": group == "torso", "head": group == "head"}
    for s in ("L", "R"):
        arm = group == f"arm.{s}"
        elbow = rest_heads[rig.bone(f"lowerarm01.{s}")]
        shoulder = rest_heads[rig.bone(f"upperarm01.{s}")]
        axis = elbow - shoulder
        t = (rest - shoulder) @ axis / (axis @ axis)
        masks[f"forearm.{s}"] = arm & (t > 0.95)
        masks[f"upperarm.{s}"] = arm & (t > 0.45) & (t <= 0.95)
        leg = group == f"leg.{s}"
        knee_z = rest_heads[rig.bone(f"lowerleg01.{s}")][2]
        masks[f"shin.{s}"] = leg & (rest[:, 2] < knee_z - 0.05)
        masks[f"thigh.{s}"] = leg & (rest[:, 2] >= knee_z - 0.05)
    return masks


PAIRS: Tuple[Tuple[str, str], ...] = tuple(
    (f"{a}.{s}", b) for s in ("L", "R")
    for a, b in (("forearm", "torso"), ("forearm", "head"), ("forearm", "thigh.L"),
                 ("forearm", "thigh.R"), ("upperarm", "torso"), ("upperarm", "head"))
) + (("forearm.L", "forearm.R"), ("shin.L", "shin.R"))


def min_distances(vertices: np.ndarray, masks: Dict[str, np.ndarray]) -> Dict[str, float]:
    """Smallest distance between the vertex sets of each pair in PAIRS (meters)."""
    out = {}
    for a, b in PAIRS:
        if masks[a].any() and masks[b].any():
            d, _ = cKDTree(vertices[masks[b]]).query(vertices[masks[a]], k=1)
            out[f"{a}|{b}"] = float(d.min())
    return out


def natural_pose(rig: Rig, phenotype: dict, seed: int, tries: int = 40):
    """A collision-free random pose for a body. Returns (pose, Posed, attempts); falls back
    to the rest pose (attempts = -1) if every try collides."""
    rng = np.random.default_rng(seed)
    rest = rig.forward(phenotype)
    masks = _part_masks(rig, rest.vertices, rest.rest_heads)
    at_rest = min_distances(rest.vertices, masks)
    for attempt in range(1, tries + 1):
        pose = sample_pose(rng)
        posed = rig.forward(phenotype, to_deltas(pose, rig, rest.rest_heads))
        now = min_distances(posed.vertices, masks)
        if all(now[k] >= min(MARGIN, 0.5 * at_rest[k]) for k in now):
            return pose, posed, attempt
    return dict(REST), rest, -1
