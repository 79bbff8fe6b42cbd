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
        if f"shoulder_twist.{side}" in pose:  # about the upper arm's rest axis (+ inward)
            upper = rest_heads[rig.bone(f"lowerarm01.{side}")] - rest_heads[rig.bone(f"upperarm01.{side}")]
            put(f"upperarm01.{side}", _rot(upper, -sign * g(f"shoulder_twist.{side}")))
        put(f"upperarm01.{side}", _rot(X, -g(f"shoulder_forward.{side}"))
            @ _rot(Y, sign * g(f"shoulder_raise.{side}")))
        forearm = rest_heads[rig.bone(f"wrist.{side}")] - rest_heads[rig.bone(f"lowerarm01.{side}")]
        put(f"lowerarm01.{side}", _rot(np.cross(forearm, FRONT), g(f"elbow.{side}")))
        if f"hip_twist.{side}" in pose:  # about the thigh's rest axis (+ knee outward)
            thigh = rest_heads[rig.bone(f"lowerleg01.{side}")] - rest_heads[rig.bone(f"upperleg01.{side}")]
            put(f"upperleg01.{side}", _rot(thigh, sign * g(f"hip_twist.{side}")))
        put(f"upperleg01.{side}", _rot(X, -g(f"hip_forward.{side}"))
            @ _rot(Y, sign * g(f"hip_out.{side}")))
        put(f"lowerleg01.{side}", _rot(X, g(f"knee.{side}")))
    for bone in ("spine04", "spine03", "spine02"):
        put(bone, _rot(Z, g("spine_twist") / 3) @ _rot(X, g("spine_bend") / 3)
            @ _rot(Y, g("spine_lean") / 3))
    for bone in ("neck02", "head"):
        put(bone, _rot(Z, g("head_turn") / 2) @ _rot(X, g("head_nod") / 2))
    if "body_roll" in pose:  # the whole body about its long axis (90: on its side)
        put("root", _rot(Z, g("body_roll")))
    if "body_pitch" in pose:  # the whole body about x at the root (-90: on the back, 90: front)
        put("root", _rot(X, g("body_pitch")))
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


# -- poses people are photographed in (the `photo` pose set of the wide varieties) ----------
# Families and their shares: standing relaxed, walking, sitting (on an invisible or a real
# seat; a leg stretched or crossed over the other), cross-legged on the floor, arms folded /
# crossed, hands clasped in front, holding something (a bag at the side, a phone in front, a
# box in both hands), lying (on the back, on the front propped on the elbows, on a side), and
# the old natural pose.
# Heads turn and nod in all of them. A pose records its family (`family`) and, for sitting
# and holding, what the generator adds (`seat`, `held`): strings, kept apart from the angles.
FAMILIES = {"stand": 0.18, "walk": 0.15, "sit": 0.18, "sit_floor": 0.06, "arms_crossed": 0.08,
            "hands_front": 0.06, "hold": 0.15, "lying": 0.07, "natural": 0.07}
LYING = ("back", "front", "side")  # on the back, on the front propped on the elbows, on a side
SEATS = ("none", "none", "stool", "chair", "bench")  # drawn uniformly: 40 % invisible
HELD = {"bag": 0.4, "phone": 0.3, "box": 0.3}
# Part pairs allowed to touch in a family (a folded arm lies on the chest, a seated hand on the
# thigh); the others keep the natural pose's clearance test.
TOUCHING = {
    "arms_crossed": ("forearm.L|torso", "forearm.R|torso", "forearm.L|forearm.R",
                     "upperarm.L|torso", "upperarm.R|torso"),
    "hands_front": ("forearm.L|torso", "forearm.R|torso", "forearm.L|forearm.R",
                    "upperarm.L|torso", "upperarm.R|torso"),
    "sit": ("forearm.L|thigh.L", "forearm.L|thigh.R", "forearm.R|thigh.L", "forearm.R|thigh.R",
            "upperarm.L|torso", "upperarm.R|torso", "shin.L|shin.R"),
    "sit_floor": ("forearm.L|thigh.L", "forearm.L|thigh.R", "forearm.R|thigh.L",
                  "forearm.R|thigh.R", "upperarm.L|torso", "upperarm.R|torso", "shin.L|shin.R"),
    "hold": ("forearm.L|forearm.R", "upperarm.L|torso", "upperarm.R|torso"),
    "stand": ("upperarm.L|torso", "upperarm.R|torso"),
    "walk": ("upperarm.L|torso", "upperarm.R|torso"),
    "lying": ("upperarm.L|torso", "upperarm.R|torso", "forearm.L|head", "forearm.R|head",
              "forearm.L|forearm.R", "shin.L|shin.R"),
}


def _pick(rng: np.random.Generator, table: dict) -> str:
    keys = list(table)
    p = np.array([table[k] for k in keys], np.float64)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _arms_down(pose: Pose, u, side: str, swing: float = 0.0) -> None:
    pose[f"shoulder_raise.{side}"] = u(-36, -28)
    pose[f"shoulder_forward.{side}"] = swing + u(-4, 6)
    pose[f"elbow.{side}"] = u(3, 25)


def sample_photo_pose(rng: np.random.Generator, family: str = None) -> Pose:
    """A pose from one of FAMILIES (drawn by share unless given): angles as in `sample_pose`
    plus `shoulder_twist.{L,R}` (about the upper arm, + inward), `hip_twist.{L,R}` (about
    the thigh, + knee outward), `body_roll` and `body_pitch`, and the string entries
    `family`, `seat` (sit), `held` / `held_side` (hold), `lying` (back, front, side)."""
    u = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
    family = family or _pick(rng, FAMILIES)
    if family == "natural":
        pose = sample_pose(rng)
        pose["head_turn"] = round(u(-55, 55), 2)
        return {**pose, "family": "natural"}
    pose: Pose = {}
    sides = ("L", "R")
    if family in ("stand", "arms_crossed", "hands_front", "hold"):
        support = sides[int(rng.random() < 0.5)]  # weight on one leg: the other knee gives
        for side in sides:
            pose[f"hip_out.{side}"] = u(0, 6)
            pose[f"hip_forward.{side}"] = u(-4, 8)
            pose[f"knee.{side}"] = u(0, 4) if side == support else u(4, 18)
        for side in sides:
            _arms_down(pose, u, side)
    if family == "walk":
        lead, trail = sides if rng.random() < 0.5 else sides[::-1]
        stride = u(14, 30)
        pose[f"hip_forward.{lead}"], pose[f"knee.{lead}"] = stride, u(3, 18)
        pose[f"hip_forward.{trail}"], pose[f"knee.{trail}"] = -u(8, 18), u(12, 35)
        for side in sides:
            pose[f"hip_out.{side}"] = u(0, 4)
            # arms swing against the legs
            _arms_down(pose, u, side, swing=(-1 if side == lead else 1) * stride * u(0.6, 1.0))
            pose[f"elbow.{side}"] = u(10, 35)
    elif family == "sit":
        for side in sides:
            pose[f"hip_forward.{side}"] = u(78, 95)
            pose[f"knee.{side}"] = u(70, 105)
            pose[f"hip_out.{side}"] = u(2, 14)
        r = rng.random()
        if r < 0.25:  # one leg stretched
            side = sides[int(rng.random() < 0.5)]
            pose[f"knee.{side}"] = u(35, 60)
        elif r < 0.5:  # legs crossed: one thigh over the other knee
            over, under = sides if rng.random() < 0.5 else sides[::-1]
            pose[f"hip_forward.{over}"], pose[f"hip_out.{over}"] = u(100, 110), -u(18, 24)
            pose[f"knee.{over}"] = u(75, 95)
            pose[f"hip_out.{under}"] = u(0, 6)
        if rng.random() < 0.6:  # hands on the thighs
            for side in sides:
                pose[f"shoulder_raise.{side}"] = u(-32, -24)
                pose[f"shoulder_forward.{side}"] = u(28, 42)
                pose[f"elbow.{side}"] = u(30, 55)
                pose[f"shoulder_twist.{side}"] = u(10, 25)
        else:
            for side in sides:
                _arms_down(pose, u, side)
        pose["spine_bend"] = u(0, 12)
        pose["seat"] = SEATS[int(rng.integers(len(SEATS)))]
    elif family == "sit_floor":  # cross-legged on the floor
        for side in sides:
            pose[f"hip_forward.{side}"] = u(78, 90)
            pose[f"hip_out.{side}"] = u(38, 48)
            pose[f"hip_twist.{side}"] = u(38, 50)
            pose[f"knee.{side}"] = u(130, 145)
            if rng.random() < 0.6:  # hands on the knees, else down beside
                pose[f"shoulder_raise.{side}"] = u(-25, -12)
                pose[f"shoulder_forward.{side}"] = u(20, 35)
                pose[f"elbow.{side}"] = u(20, 45)
            else:
                _arms_down(pose, u, side)
        pose["spine_bend"] = u(4, 14)
    elif family == "arms_crossed":
        for side in sides:
            pose[f"shoulder_raise.{side}"] = u(-18, -8)
            pose[f"shoulder_forward.{side}"] = u(0, 8)
            pose[f"shoulder_twist.{side}"] = u(62, 75)
            pose[f"elbow.{side}"] = u(95, 108)
    elif family == "hands_front":
        for side in sides:
            pose[f"shoulder_raise.{side}"] = u(-32, -26)
            pose[f"shoulder_forward.{side}"] = u(8, 16)
            pose[f"shoulder_twist.{side}"] = u(70, 82)
            pose[f"elbow.{side}"] = u(55, 75)
    elif family == "hold":
        held = _pick(rng, HELD)
        side = sides[int(rng.random() < 0.5)]
        pose["held"], pose["held_side"] = held, side
        if held == "bag":  # hanging from one hand, the arm a little away from the body
            pose[f"shoulder_raise.{side}"] = u(-26, -18)
            pose[f"elbow.{side}"] = u(0, 8)
        elif held == "phone":  # looked at, in front of the chest
            pose[f"shoulder_raise.{side}"] = u(-32, -26)
            pose[f"shoulder_forward.{side}"] = u(15, 30)
            pose[f"shoulder_twist.{side}"] = u(25, 40)
            pose[f"elbow.{side}"] = u(95, 120)
            pose["head_nod"] = u(10, 20)
        else:  # a box carried in front in both hands
            for s in sides:
                pose[f"shoulder_raise.{s}"] = u(-24, -16)
                pose[f"shoulder_forward.{s}"] = u(15, 25)
                pose[f"shoulder_twist.{s}"] = u(15, 25)
                pose[f"elbow.{s}"] = u(70, 85)
    elif family == "lying":
        how = LYING[int(rng.integers(len(LYING)))]
        pose["lying"] = how
        if how == "back":
            pose["body_pitch"] = -90.0
            for side in sides:
                _arms_down(pose, u, side)
                pose[f"hip_out.{side}"] = u(0, 8)
            if rng.random() < 0.5:  # one knee up
                side = sides[int(rng.random() < 0.5)]
                pose[f"hip_forward.{side}"], pose[f"knee.{side}"] = u(30, 50), u(50, 90)
        elif how == "front":  # on the belly, propped on the elbows, lower legs up
            pose["body_pitch"] = 90.0
            for side in sides:
                pose[f"shoulder_forward.{side}"] = u(90, 110)
                pose[f"shoulder_raise.{side}"] = u(-25, -10)
                pose[f"elbow.{side}"] = u(80, 110)
                pose[f"knee.{side}"] = u(40, 110)
                pose[f"hip_out.{side}"] = u(0, 8)
            pose["head_nod"] = -u(15, 30)
        else:  # on a side, knees a little drawn up
            pose["body_roll"] = 90.0 if rng.random() < 0.5 else -90.0
            pose["body_pitch"] = -90.0
            for side in sides:
                pose[f"hip_forward.{side}"] = u(20, 50)
                pose[f"knee.{side}"] = u(30, 70)
                pose[f"shoulder_forward.{side}"] = u(20, 60)
                pose[f"shoulder_raise.{side}"] = u(-30, -15)
                pose[f"elbow.{side}"] = u(20, 70)
    if "head_turn" not in pose:
        pose["head_turn"] = u(-55, 55) if rng.random() < 0.6 else u(-10, 10)
    pose.setdefault("head_nod", u(-8, 12))
    pose.setdefault("spine_twist", u(-12, 12))
    pose.setdefault("spine_lean", u(-4, 4))
    pose.setdefault("spine_bend", u(-2, 6))
    out: Pose = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in pose.items()}
    out["family"] = family
    return out


def angles(pose: Pose) -> Pose:
    """Only the numeric joint angles of a pose (drops family, seat, held)."""
    return {k: v for k, v in pose.items() if not isinstance(v, str)}


def photo_pose(rig: Rig, phenotype: dict, seed: int, tries: int = 40):
    """A pose people are photographed in, for a body, free of bad self-intersection (the
    family's allowed contacts aside). Returns (pose, Posed, attempts); the family is drawn
    once and kept over the re-draws, so the shares hold. Falls back to a relaxed stance."""
    rng = np.random.default_rng(seed)
    family = _pick(rng, FAMILIES)
    rest = rig.forward(phenotype)
    # the bone heads in the vertices' frame (`rest_heads` sit in anny's rest frame, offset by
    # about 0.3 m in z; `natural_pose` keeps using them, so the classic poses do not change)
    masks = _part_masks(rig, rest.vertices, rest.posed_heads)
    at_rest = min_distances(rest.vertices, masks)
    for attempt in range(1, tries + 1):
        pose = sample_photo_pose(rng, family)
        if attempt > 1:  # heavy bodies: after each collision the arms hang a little wider
            for side in ("L", "R"):
                key = f"shoulder_raise.{side}"
                pose[key] = round(pose.get(key, 0.0) + min(attempt - 1, 20) * 1.5, 2)
        posed = rig.forward(phenotype, to_deltas(angles(pose), rig, rest.rest_heads))
        now = min_distances(posed.vertices, masks)
        allowed = TOUCHING.get(family, ())
        if all(now[k] >= min(MARGIN, 0.5 * at_rest[k]) for k in now if k not in allowed):
            return pose, posed, attempt
    pose = {"family": "stand", "shoulder_raise.L": -32.0, "shoulder_raise.R": -32.0}
    return pose, rig.forward(phenotype, to_deltas(angles(pose), rig, rest.rest_heads)), -1
