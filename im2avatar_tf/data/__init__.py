"""Datasets in the released Im2Avatar layout: building them (from meshes) and reading them."""
