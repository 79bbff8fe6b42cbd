"""`python run.py demo`: a local web page over the inference API.

Upload a picture (or click an example), pick a model, and the page shows the preprocessed input,
the colored mesh in a small WebGL viewer (drag to turn it) and links to the glb / ply / obj.

- `catalog.ModelCatalog`: the models offered (zoo names and model folders), each loaded once.
- `outputs.ResultStore`: one folder per request under a temporary root, the last few kept;
  `outputs.reconstruct_into` runs one reconstruction and writes its files.
- `forms`: the POST body (multipart form or JSON) -> a `ReconstructRequest`.
- `server`: the HTTP app (stdlib `ThreadingHTTPServer`) serving `static/` and the JSON API.
- `static/`: the page (index.html, app.js, viewer.js: a glb parser and WebGL renderer, style.css);
  nothing is fetched from another site. `examples/`: test views of procedural models, of one
  generated person and of one real person (sources and licences in examples/README.md).
"""
from pathlib import Path

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
STATIC_DIR = Path(__file__).resolve().parent / "static"
