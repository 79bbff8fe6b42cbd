"""Export a trained model for serving.

Writes under --out: saved_model/ (a SavedModel: `serving_default` takes uint8 images
[N, H, W, 3] of any H, W, runs the training preprocessing in the graph, and returns occupancy
probabilities, blended and regressed colors, confidence, flow and the preprocessed image),
im2avatar.keras (both networks in one Keras model, preprocessed images in) and config.json.
`Reconstructor.from_dir(OUT)` and `reconstruct --model OUT` load the export.

Examples: python run.py export --model car --out exported/car   (a pretrained model)
          python run.py export --model runs/chair-small --out exported/chair
          python run.py export --model car --format onnx --out exported/car-onnx
"""
from __future__ import annotations

HELP = "export a model as one SavedModel (any-size uint8 images in) and one .keras file"

USAGE = """\
serve it:
  import tensorflow as tf
  model = tf.saved_model.load("{saved_model}")
  out = model.signatures["serving_default"](images=tf.constant(uint8_images))  # (N, H, W, 3)
  out["occupancy"]  # (N, {r}, {r}, {r}, 1) probabilities; also blended, regressed, confidence, flow, image"""


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True,
                        help="a pretrained model's name (`python run.py models`) or a model "
                             "folder: config.json + shape.keras + color.keras (from `train`)")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--format", choices=("savedmodel", "onnx"), default="savedmodel",
                        help="savedmodel: saved_model/ + im2avatar.keras (default); onnx: "
                             "im2avatar.onnx for ONNX Runtime (needs tf2onnx and onnxruntime), "
                             "run by `reconstruct --model OUT --runtime onnxruntime`")


def run(args) -> int:
    from .. import pretrained
    from ..inference import Im2Avatar

    name = pretrained.resolve(args.model)
    model = Im2Avatar.from_pretrained(name) if name else Im2Avatar.from_dir(args.model)
    if args.format == "onnx":
        path = model.export_onnx(args.out)
        print(f"ONNX: {path} ({path.stat().st_size / 2**20:.1f} MiB); inputs: preprocessed "
              f"images float32 (N, {model.preset.model.image_size}, "
              f"{model.preset.model.image_size}, 3) in [0, 1]")
        print(f"run it: python run.py reconstruct IMAGE --model {args.out} --runtime onnxruntime "
              f"--out OUT")
        return 0
    paths = model.export(args.out)
    size = sum(f.stat().st_size for f in paths.saved_model.rglob("*") if f.is_file())
    print(f"SavedModel: {paths.saved_model}/ ({size / 2**20:.1f} MiB)")
    print(f"Keras file: {paths.keras_file} ({paths.keras_file.stat().st_size / 2**20:.1f} MiB)")
    print(f"config:     {paths.config}")
    print(USAGE.format(saved_model=paths.saved_model, r=model.preset.model.volume_size))
    return 0
