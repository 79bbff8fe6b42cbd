"""What a method is: the one interface training, evaluation, benchmarks and experiments use."""
from __future__ import annotations

from typing import Callable, Dict, List, Tuple

from ..config import LossConfig, ModelConfig

# f(batch, outputs) -> (total, {part: value}); batch holds "occupancy" (B, R, R, R, 1),
# "color" (B, R, R, R, 3) and "flow" (B, R, R, R, 2). The trainer adds the L1 weight penalty.
Objective = Callable[[dict, object], Tuple[object, Dict[str, object]]]


class Method:
    """One method's network and everything specific to it. Subclasses set the attributes and
    implement `build`, `objective`, `loss_parts` and `predictor`."""

    name = ""
    title = ""  # how tables name it
    threshold = 0.8  # default IoU threshold on its occupancy score (the released 0.8)
    psnr_threshold = 0.8  # the voxels its colors are scored on (score >= this)
    uses_shape_loss = False  # whether LossConfig.shape_loss changes it (and its run dir)
    partners: Tuple[str, ...] = ()  # other methods' networks its predictor needs

    def build(self, cfg: ModelConfig):
        """A new keras.Model: image (B, S, S, 3) in [0, 1] -> its outputs."""
        raise NotImplementedError

    def objective(self, cfg: LossConfig) -> Objective:
        """What training minimises; it returns the parts `loss_parts` names."""
        raise NotImplementedError

    def loss_parts(self, cfg: LossConfig) -> List[str]:
        """The names of the loss parts `objective` returns (the training log's columns)."""
        raise NotImplementedError

    def predictor(self, model, **partners):
        """An `evaluation.Predictor` of a trained network (partners by method name)."""
        raise NotImplementedError

    def variant(self, cfg: LossConfig) -> str:
        """What tells its trained networks apart: the name, plus the shape loss if it uses one."""
        return f"{self.name}-{cfg.shape_loss}" if self.uses_shape_loss else self.name

    def __repr__(self) -> str:
        return f"<method {self.name}>"
