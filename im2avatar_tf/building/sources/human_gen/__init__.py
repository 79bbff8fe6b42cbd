"""Generator of the "Colorful Human" set: anny bodies (MakeHuman assets) with painted clothing.

Two kinds of modules live here, and the split matters:

* torch-free, importable anywhere (the TensorFlow side uses them for names, splits and
  metadata): `styles` (the 16 clothing styles), `bodies` (the 40-body phenotype design and
  the wide one), `plan` (which (style, body) pairs exist and which split each belongs to),
  `variety` (the `--human-variety` switch), `outfits` (the wide sets' outfit design),
  `fabrics` (cloth colors as functions of 3D position);
* numpy + trimesh, used by the generator only: `garments` (shells, skirts, hair extras,
  seats, held things);
* torch/anny modules, imported only by the generator program
  (`python -m im2avatar_tf.commands.human_generator`, run in a subprocess): `rig` (the anny model
  and posing), `poses`, `atlas` (UV-space regions), `paint` (textures), `mesh_out`, `preview`.

Nothing here imports TensorFlow, and the TensorFlow side never imports torch.
"""
