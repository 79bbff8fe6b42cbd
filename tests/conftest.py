"""Fixtures shared by several test files."""
import pytest

from im2avatar_tf.config import get_preset


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A model dir (config.json + shape.keras + color.keras) of seeded, untrained tiny networks,
    in exactly the format `train` writes."""
    import keras

    from im2avatar_tf.models import build_color_model, build_shape_model

    keras.utils.set_random_seed(0)
    preset = get_preset("tiny")
    folder = tmp_path_factory.mktemp("tiny_model")
    (folder / "config.json").write_text(preset.to_json())
    build_shape_model(preset.model).save(folder / "shape.keras")
    build_color_model(preset.model).save(folder / "color.keras")
    return folder
