"""Each loss against a small numpy reference, and finiteness on empty targets."""
import numpy as np
import pytest
import tensorflow as tf

from im2avatar_tf import methods
from im2avatar_tf.config import LossConfig
from im2avatar_tf.losses import MSFCEL, MaskedColorLoss, SigmoidCrossEntropy
from im2avatar_tf.methods.r2n2 import R2N2VolumeLoss, r2n2_target


def _np_ce(y, z):
    # Numerically plain sigmoid cross-entropy: -(y log s + (1 - y) log(1 - s)).
    s = 1.0 / (1.0 + np.exp(-z.astype(np.float64)))
    return -(y * np.log(s) + (1 - y) * np.log(1 - s))


def _volumes(seed=0, b=3, r=6):
    rng = np.random.default_rng(seed)
    y = (rng.random((b, r, r, r, 1)) < 0.2).astype(np.float32)
    z = rng.normal(0, 2, (b, r, r, r, 1)).astype(np.float32)
    return y, z


def test_msfcel_batch_pooling_matches_numpy():
    y, z = _volumes()
    ce = _np_ce(y, z)
    fpe = ce[y == 0].mean()
    fne = ce[y == 1].mean()
    expected = fpe ** 2 + fne ** 2
    assert float(MSFCEL()(y, z)) == pytest.approx(expected, rel=1e-5)


def test_msfcel_per_sample_option_matches_numpy():
    y, z = _volumes(1)
    ce = _np_ce(y, z)
    per = [ce[i][y[i] == 0].mean() ** 2 + ce[i][y[i] == 1].mean() ** 2 for i in range(len(y))]
    assert float(MSFCEL("sample")(y, z)) == pytest.approx(np.mean(per), rel=1e-5)
    # Pooling matters: the two reductions differ on unequal samples.
    assert float(MSFCEL("sample")(y, z)) != pytest.approx(float(MSFCEL("batch")(y, z)), rel=1e-4)


def test_bce_baseline_matches_numpy():
    y, z = _volumes(2)
    assert float(SigmoidCrossEntropy()(y, z)) == pytest.approx(_np_ce(y, z).mean(), rel=1e-5)


@pytest.mark.parametrize("norm", ["l1", "l2"])
def test_masked_color_loss_matches_numpy(norm):
    rng = np.random.default_rng(3)
    gt = rng.random((2, 5, 5, 5, 3)).astype(np.float32)
    gt[rng.random(gt.shape) < 0.6] = -1.0  # per-element mask, as released
    pred = rng.random(gt.shape).astype(np.float32)
    m = gt > -0.5
    d = np.abs(pred - gt) if norm == "l1" else (pred - gt) ** 2
    assert float(MaskedColorLoss(norm)(gt, pred)) == pytest.approx(d[m].sum() / m.sum(), rel=1e-5)


def test_r2n2_target_and_loss():
    rng = np.random.default_rng(4)
    color = np.where(rng.random((1, 4, 4, 4, 1)) < 0.3, rng.random((1, 4, 4, 4, 3)), -1).astype(np.float32)
    target = np.asarray(r2n2_target(color))
    np.testing.assert_array_equal(target, np.where(color > -0.5, color, -0.5))
    pred = rng.random(color.shape).astype(np.float32)
    assert float(R2N2VolumeLoss()(target, pred)) == pytest.approx(((pred - target) ** 2).mean(), rel=1e-5)


def test_color_objective_is_unweighted_sum_of_three_terms():
    rng = np.random.default_rng(5)
    color = np.where(rng.random((2, 4, 4, 4, 1)) < 0.4, rng.random((2, 4, 4, 4, 3)), -1).astype(np.float32)
    flow = np.where(color[..., :2] > -0.5, rng.random((2, 4, 4, 4, 2)), -1).astype(np.float32)
    out = {k: rng.random((2, 4, 4, 4, c)).astype(np.float32)
           for k, c in (("regressed", 3), ("blended", 3), ("flow", 2))}
    total, parts = methods.get("color").objective(LossConfig())({"color": color, "flow": flow}, out)

    def l1(gt, p):
        m = gt > -0.5
        return np.abs(p - gt)[m].sum() / m.sum()

    assert float(parts["reg"]) == pytest.approx(l1(color, out["regressed"]), rel=1e-5)
    assert float(parts["blend"]) == pytest.approx(l1(color, out["blended"]), rel=1e-5)
    assert float(parts["flow"]) == pytest.approx(l1(flow, out["flow"]), rel=1e-5)
    assert float(total) == pytest.approx(sum(float(v) for v in parts.values()), rel=1e-6)


def test_empty_targets_give_finite_loss_and_gradients():
    """A batch with no occupied voxel and no valid color/flow: the released code gives NaN;
    ours gives a finite loss and finite gradients (and the released behaviour on request)."""
    empty_occ = np.zeros((2, 4, 4, 4, 1), np.float32)
    empty_col = -np.ones((2, 4, 4, 4, 3), np.float32)
    logits = tf.Variable(np.random.default_rng(6).normal(size=empty_occ.shape).astype(np.float32))
    pred = tf.Variable(np.full(empty_col.shape, 0.5, np.float32))
    with tf.GradientTape(persistent=True) as tape:
        shape_loss = MSFCEL()(empty_occ, logits)
        color_loss = MaskedColorLoss()(empty_col, pred)
    assert np.isfinite(float(shape_loss)) and np.isfinite(float(color_loss))
    assert float(color_loss) == 0.0
    assert np.all(np.isfinite(tape.gradient(shape_loss, logits)))
    g = tape.gradient(color_loss, pred)
    assert g is None or np.all(np.isfinite(g))
    # All-occupied is the mirror case (no empty voxel): also finite.
    assert np.isfinite(float(MSFCEL()(np.ones_like(empty_occ), logits)))
    # The released behaviour, kept switchable: 0/0 -> NaN.
    assert np.isnan(float(MSFCEL(safe_division=False)(empty_occ, logits)))
    assert np.isnan(float(MaskedColorLoss(safe_division=False)(empty_col, pred)))


def test_losses_serialize():
    import keras

    for loss in (MSFCEL("sample", False), MaskedColorLoss("l2"), SigmoidCrossEntropy(), R2N2VolumeLoss()):
        clone = keras.losses.deserialize(keras.losses.serialize(loss))
        assert type(clone) is type(loss) and clone.get_config() == loss.get_config()
