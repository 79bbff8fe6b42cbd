"""Packages and package data for `pip install .` (the rest is in pyproject.toml).

The model zoo lives in the checkout's `pretrained/` (beside the package, where `publish-model`
writes it); an installed package carries a copy as `im2avatar_tf/zoo/`, which
`im2avatar_tf.pretrained` reads when there is no checkout around it."""
from setuptools import find_namespace_packages, setup

setup(
    # Namespace packages too: im2avatar_tf/building/ has no __init__.py.
    packages=find_namespace_packages(
        include=["im2avatar_tf", "im2avatar_tf.*", "experiments", "experiments.*"],
        exclude=["*.__pycache__", "im2avatar_tf.demo.examples", "im2avatar_tf.demo.static"],
    ) + ["im2avatar_tf.zoo"],
    package_dir={"im2avatar_tf.zoo": "pretrained"},
    package_data={
        "im2avatar_tf.demo": ["examples/*", "static/*"],
        "im2avatar_tf.zoo": ["*.json", "*.md", "*/*"],
        "experiments": ["*.json"],  # the paper's numbers
    },
    include_package_data=False,
)
