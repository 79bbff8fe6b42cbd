"""The demo's HTTP app: the page, its examples, the JSON API and the result files.

    GET  /                      the page (static/index.html)
    GET  /static/NAME           the page's scripts and style
    GET  /examples/NAME         an example image
    GET  /api/info              {"models": [...], "examples": [...], "geometries": [...]}
    POST /api/reconstruct       an image -> the result as JSON (see `forms` for the fields)
    GET  /results/ID/NAME       a result's files (NAME.glb / .ply / .obj, NAME_input.png)

Every error comes back as JSON {"error": message} with a 4xx status (5xx only for a bug,
whose traceback goes to the server log, never to the page).
"""
from __future__ import annotations

import json
import mimetypes
import sys
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, List, Optional
from urllib.parse import unquote, urlsplit

from . import EXAMPLES_DIR, STATIC_DIR
from .catalog import ModelCatalog
from .forms import FormError, ReconstructRequest, parse_request
from .outputs import GEOMETRIES, SAFE_NAME, ResultStore, reconstruct_into, safe_stem

MAX_UPLOAD = 25 * 1024 * 1024  # bytes of a POST body
# Seconds a connection may stay silent (while a request or its body is awaited) before it is
# closed: a client that sends fewer bytes than its Content-Length must not hold a thread.
READ_TIMEOUT = 30.0
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".html": "text/html; charset=utf-8", ".glb": "model/gltf-binary",
                 ".ply": "application/octet-stream", ".obj": "text/plain; charset=utf-8",
                 ".png": "image/png"}
# Only this server's own files: no other site is ever contacted by the page.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff",
                    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
                                               "style-src 'self'; script-src 'self'"}


class DemoServer(ThreadingHTTPServer):
    """`ThreadingHTTPServer` holding the demo's state: the model `catalog`, the result `store`,
    the examples folder, the upload limit (bytes; pixels: `images.MAX_PIXELS`), the read
    timeout (seconds a connection may stay silent) and `log` (one line per reconstruction)."""

    daemon_threads = True

    def __init__(self, catalog: ModelCatalog, host: str = "127.0.0.1", port: int = 0,
                 store: Optional[ResultStore] = None, examples_dir: Path = EXAMPLES_DIR,
                 max_upload: int = MAX_UPLOAD, read_timeout: float = READ_TIMEOUT,
                 log: Callable[[str], None] = print):
        if not catalog.names():
            raise ValueError("the demo has no model to offer: give --model DIR (a folder from "
                             "`train` or `export`) or add models to the pretrained zoo")
        self.catalog = catalog
        self.store = store or ResultStore()
        self.examples_dir = Path(examples_dir)
        self.max_upload = max_upload
        self.read_timeout = read_timeout
        self.log = log
        super().__init__((host, port), DemoHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"

    def examples(self) -> List[str]:
        if not self.examples_dir.is_dir():
            return []
        return sorted(p.name for p in self.examples_dir.iterdir()
                      if p.suffix.lower() in IMAGE_SUFFIXES and SAFE_NAME.match(p.name))

    def info(self) -> dict:
        return {"models": self.catalog.describe(), "examples": self.examples(),
                "geometries": list(GEOMETRIES), "max_upload": self.max_upload}

    def close(self) -> None:
        """Stop serving (if serving) and delete the results."""
        self.server_close()
        self.store.close()


class DemoHandler(BaseHTTPRequestHandler):
    server: DemoServer
    server_version = "im2avatar-demo"

    def setup(self) -> None:
        self.timeout = self.server.read_timeout  # StreamRequestHandler puts it on the socket
        super().setup()

    # Routing -----------------------------------------------------------------------------------
    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        parts = [p for p in path.split("/") if p]
        if not parts:
            return self._file(STATIC_DIR / "index.html")
        if parts == ["api", "info"]:
            return self._json(self.server.info())
        if len(parts) == 2 and parts[0] == "static" and SAFE_NAME.match(parts[1]):
            return self._file(STATIC_DIR / parts[1])
        if len(parts) == 2 and parts[0] == "examples" and parts[1] in self.server.examples():
            return self._file(self.server.examples_dir / parts[1])
        if len(parts) == 3 and parts[0] == "results":
            found = self.server.store.file(parts[1], parts[2])
            if found is not None:
                return self._file(found, download=found.suffix != ".png")
        self._error(HTTPStatus.NOT_FOUND, f"not found: {path}")

    def do_POST(self) -> None:
        if urlsplit(self.path).path.rstrip("/") != "/api/reconstruct":
            return self._error(HTTPStatus.NOT_FOUND, f"not found: {self.path}")
        start = time.perf_counter()
        try:
            body = self._body()
            self._json(self._reconstruct(parse_request(self.headers.get("Content-Type", ""),
                                                       body), start))
        except _HTTPError as e:
            self._error(e.status, str(e), **e.extra)
        except FormError as e:
            self._error(HTTPStatus.BAD_REQUEST, str(e))
        except Exception as e:  # a bug: the page gets one line, the log the traceback
            traceback.print_exc(file=sys.stderr)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR,
                        f"the reconstruction failed: {type(e).__name__}: {e}")

    # The reconstruction ---------------------------------------------------------------------
    def _reconstruct(self, request: ReconstructRequest, start: float) -> dict:
        server = self.server
        model = request.model or server.catalog.names()[0]
        if model not in server.catalog.entries:
            raise _HTTPError(HTTPStatus.BAD_REQUEST, f"unknown model {model!r}; the demo "
                                                     f"offers {', '.join(server.catalog.names())}")
        threshold = request.threshold or server.catalog.entries[model].threshold
        result_id, folder = server.store.new()
        name, image = self._read_image(request, folder)
        uploaded = time.perf_counter()
        with server.catalog.lock:  # one model runs at a time
            try:
                reconstructor, load_seconds = server.catalog.get(model)
            except (OSError, ValueError, KeyError) as e:
                raise _HTTPError(HTTPStatus.INTERNAL_SERVER_ERROR,
                                 f"model {model!r} could not be loaded: {e}") from None
            outcome = reconstruct_into(folder, reconstructor, image, name=name,
                                       threshold=threshold, geometry=request.geometry,
                                       crop=request.crop,
                                       remove_background=request.remove_background)
        seconds = time.perf_counter() - start
        urls = {kind: f"/results/{result_id}/{file}" for kind, file in outcome.files.items()}
        reply = {"id": result_id, "name": name, "model": model, "threshold": threshold,
                 "geometry": request.geometry, "crop": request.crop,
                 "remove_background": request.remove_background,
                 "input": urls.pop("input"), "files": urls,
                 "resolution": outcome.resolution, "occupied": outcome.occupied,
                 "triangles": outcome.triangles, "vertices": outcome.vertices,
                 "warnings": outcome.warnings, "seconds": round(seconds, 3),
                 "timings": {"upload": round(uploaded - start, 3),
                             "load": round(load_seconds, 3),
                             "networks": round(outcome.predict_seconds, 3),
                             "mesh_and_files": round(outcome.mesh_seconds, 3)}}
        if outcome.error:
            server.log(f"demo: {name} with {model}: {outcome.error} ({seconds:.2f} s)")
            raise _HTTPError(HTTPStatus.UNPROCESSABLE_ENTITY, outcome.error, **reply)
        server.log(f"demo: {name} with {model} at {threshold:g}: {outcome.triangles} triangles "
                   f"in {seconds:.2f} s from upload to result (upload {uploaded - start:.2f}, "
                   f"model load {load_seconds:.2f}, networks {outcome.predict_seconds:.2f}, "
                   f"mesh and files {outcome.mesh_seconds:.2f})")
        return reply

    def _read_image(self, request: ReconstructRequest, folder: Path):
        """-> (output name, uint8 image (H, W, C)) of the upload or the example."""
        from ..images import ImageTooLargeError, read_image

        if request.image is None:
            if request.example not in self.server.examples():
                raise _HTTPError(HTTPStatus.BAD_REQUEST, f"no example called {request.example!r}")
            return safe_stem(request.example), read_image(self.server.examples_dir / request.example)
        shown = request.filename or "the upload"
        suffix = Path(request.filename).suffix.lower()
        upload = folder / ("upload" + (suffix if suffix in IMAGE_SUFFIXES else ""))
        upload.write_bytes(request.image)
        try:
            image = read_image(upload)
        except ImageTooLargeError as e:
            raise _HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                             str(e).replace(str(upload), shown)) from None
        except ValueError:
            raise FormError(f"{shown} is not an image the demo can read: give a PNG or JPEG "
                            f"file (or WebP, BMP, GIF)") from None
        return safe_stem(request.filename), image

    # Responses --------------------------------------------------------------------------------
    def _body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is None:
            raise _HTTPError(HTTPStatus.LENGTH_REQUIRED, "the request has no Content-Length")
        try:
            length = int(length)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True  # where the body ends is unknown
            raise _HTTPError(HTTPStatus.BAD_REQUEST, f"Content-Length "
                             f"{self.headers['Content-Length']!r} is not a number of bytes")
        if length > self.server.max_upload:
            self._drain(length)
            raise _HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                             f"the upload is {length / 2 ** 20:.1f} MiB; the demo takes up to "
                             f"{self.server.max_upload / 2 ** 20:.0f} MiB")
        try:
            body = self.rfile.read(length)
        except TimeoutError:  # socket.timeout: nothing came for `read_timeout` seconds
            self.close_connection = True
            raise _HTTPError(HTTPStatus.REQUEST_TIMEOUT,
                             f"the upload stalled: no data for {self.server.read_timeout:g} s "
                             f"before its Content-Length ({length} bytes) was reached") from None
        if len(body) < length:
            self.close_connection = True
            raise _HTTPError(HTTPStatus.BAD_REQUEST, f"the upload ended after {len(body)} of "
                                                     f"its {length} bytes (Content-Length)")
        return body

    def _drain(self, length: int) -> None:
        """Read and drop a refused body (so the client gets the reply, not a reset), unless
        it is huge: then the connection is closed after the reply."""
        if length > 8 * self.server.max_upload:
            self.close_connection = True
            return
        try:
            while length > 0:
                chunk = self.rfile.read(min(length, 1 << 20))
                if not chunk:
                    break
                length -= len(chunk)
        except TimeoutError:
            self.close_connection = True

    def _send(self, status: int, data: bytes, content_type: str, headers: dict = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in {**SECURITY_HEADERS, **dict(headers)}.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _json(self, payload: dict, status: int = HTTPStatus.OK) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json",
                   {"Cache-Control": "no-store"})

    def _error(self, status: int, message: str, **extra) -> None:
        self._json({**extra, "error": message}, status)

    def _file(self, path: Path, download: bool = False) -> None:
        if not path.is_file():
            return self._error(HTTPStatus.NOT_FOUND, f"not found: {path.name}")
        content_type = (CONTENT_TYPES.get(path.suffix.lower())
                        or mimetypes.guess_type(path.name)[0] or "application/octet-stream")
        headers = {"Cache-Control": "no-cache"}
        if download:
            headers["Content-Disposition"] = f'attachment; filename="{path.name}"'
        self._send(HTTPStatus.OK, path.read_bytes(), content_type, headers)

    def log_message(self, format: str, *args) -> None:
        """Only failed requests reach the log (reconstructions log themselves)."""
        if len(args) >= 2 and str(args[1]).isdigit() and int(args[1]) >= 400:
            super().log_message(format, *args)


class _HTTPError(Exception):
    """An error reply: status, message and extra JSON fields."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.extra = extra
