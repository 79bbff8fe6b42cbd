"""Cameras, colored surfaces and the renderer: what both sides of the dataset need, below them.

`camera` (the release's view cameras and turntables), `surface` (a mesh's triangles with the
color at any point of them) and `render` (views of a surface through a camera). `building/`
renders the dataset's views and voxelizes surfaces with them; `data/` previews a dataset;
`inference` renders turntables of a reconstruction. This package imports neither.
"""
