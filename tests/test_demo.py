"""`python run.py demo`: the HTTP API, then the page driven in a real headless Chromium.

The browser test uploads an image through the page's file input, waits for the viewer, checks
that the WebGL canvas really shows a model (a screenshot, not only the DOM), downloads the glb
and reloads it with trimesh. With a pretrained "car" in the zoo it also clicks an example for
it. IM2AVATAR_DEMO_SCREENSHOT=1 saves the page to docs/demo.png.
"""
import io
import json
import os
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from im2avatar_tf.demo import EXAMPLES_DIR
from im2avatar_tf.demo.catalog import ModelCatalog
from im2avatar_tf.demo.server import DemoServer

from ._chromium import Chromium, find_chromium
from ._http import get, post_form

ROOT = Path(__file__).resolve().parent.parent
TINY_THRESHOLD = 0.3  # the untrained tiny networks give ~0.5 everywhere: every voxel is occupied
VIEWER_BACKGROUND = (237, 240, 245)  # viewer.js BACKGROUND in 0..255


def _zoo_has_car() -> bool:
    try:
        from im2avatar_tf import pretrained
    except ImportError:
        return False
    return "car" in pretrained.names()


@pytest.fixture(scope="module")
def demo(model_dir):
    """A running demo server (in this process, port 0) offering the tiny model (first) and the
    zoo; yields (server, log lines)."""
    lines = []
    server = DemoServer(ModelCatalog([model_dir], zoo=True), port=0, log=lines.append)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, lines
    server.shutdown()
    thread.join(timeout=10)
    server.close()


def _load_glb(data: bytes):
    """A glb's one mesh, its COLOR_0 in `visual.vertex_attributes["color"]` (loading it with
    force="mesh" would concatenate the scene and drop that attribute)."""
    import trimesh

    scene = trimesh.load(io.BytesIO(data), file_type="glb", process=False)
    (mesh,) = scene.geometry.values()
    return mesh


def test_api_reconstructs_and_reports_clear_errors(demo):
    server, lines = demo
    api = server.url + "api/reconstruct"
    info = json.loads(get(server.url + "api/info")[1])
    tiny = info["models"][0]["name"]
    assert info["examples"] == sorted(p.name for p in EXAMPLES_DIR.glob("*.png"))
    assert len(info["examples"]) >= 3

    upload = (EXAMPLES_DIR / info["examples"][0]).read_bytes()
    status, reply = post_form(api, {"model": tiny, "threshold": TINY_THRESHOLD},
                          [("image", "my photo.png", upload)])
    assert status == 200, reply
    assert reply["name"] == "my_photo" and reply["triangles"] > 0
    assert set(reply["files"]) == {"glb", "ply", "obj"}
    assert reply["seconds"] >= reply["timings"]["networks"] > 0
    assert any("my_photo" in line and "from upload to result" in line for line in lines)
    for url in [reply["input"], *reply["files"].values()]:
        assert get(server.url + url.lstrip("/"))[0] == 200
    assert len(_load_glb(get(server.url + reply["files"]["glb"].lstrip("/"))[1]).faces) \
        == reply["triangles"]

    # An example by name, as JSON; the voxel geometry.
    request = urllib.request.Request(api, method="POST", headers={"Content-Type": "application/json"},
                                     data=json.dumps({"example": info["examples"][1], "model": tiny,
                                                      "threshold": TINY_THRESHOLD,
                                                      "geometry": "voxels"}).encode())
    with urllib.request.urlopen(request, timeout=120) as response:
        assert json.loads(response.read())["geometry"] == "voxels"

    # Not an image: 400 and a sentence, no traceback.
    status, reply = post_form(api, {"model": tiny}, [("image", "notes.txt", b"hello, not a picture")])
    assert status == 400 and "notes.txt is not an image" in reply["error"]
    # Nothing reaches the threshold: 422, the reason, and the preprocessed input still shown.
    status, reply = post_form(api, {"model": tiny, "threshold": "0.99"}, [("image", "a.png", upload)])
    assert status == 422 and "empty prediction" in reply["error"] and reply["input"]
    assert get(server.url + reply["input"].lstrip("/"))[0] == 200
    for fields, message in (({"model": "nope", "example": info["examples"][0]}, "unknown model"),
                            ({"threshold": "1.5", "example": info["examples"][0]}, "threshold"),
                            ({"model": tiny}, "no image"),
                            ({"example": "../../etc/passwd"}, "no example")):
        status, reply = post_form(api, fields)
        assert status == 400 and message in reply["error"], (fields, reply)
    server.max_upload = 1000  # too large: 413 and the limit, the body read and dropped
    try:
        status, reply = post_form(api, {"model": tiny}, [("image", "big.png", upload)])
    finally:
        server.max_upload = info["max_upload"]
    assert status == 413 and "the demo takes up to" in reply["error"]
    assert get(server.url + "results/../../etc/passwd")[0] == 404
    assert get(server.url + "static/missing.js")[0] == 404


def test_result_store_keeps_the_last_few(tmp_path):
    from im2avatar_tf.demo.outputs import ResultStore

    store = ResultStore(tmp_path / "results", keep=2)
    ids = [store.new()[0] for _ in range(3)]
    assert sorted(p.name for p in store.root.iterdir()) == sorted(ids[1:])


# ----------------------------------------------------------------------------- the browser
class Page:
    """The demo page in the browser: actions and the DOM signals the page exposes."""

    def __init__(self, browser: Chromium):
        self.browser = browser

    def set_model(self, name: str, threshold=None) -> None:
        js = (f"(() => {{ const m = document.getElementById('model'); m.value = {json.dumps(name)};"
              f" m.dispatchEvent(new Event('change'));")
        if threshold is not None:
            js += f" document.getElementById('threshold').value = '{threshold}';"
        self.browser.evaluate(js + " return m.value; })()")

    def run(self, action, timeout: float = 120) -> dict:
        """Do `action()` (which starts a reconstruction); wait for its end; -> the status and
        the viewer's data attributes."""
        before = int(self.browser.evaluate("document.getElementById('status').dataset.run || 0"))
        action()
        self.browser.wait_for(
            f"(s => Number(s.dataset.run) > {before} && ['ready', 'error'].includes(s.dataset.state))"
            f"(document.getElementById('status'))", timeout=timeout)
        return self.browser.evaluate(
            "(() => { const s = document.getElementById('status');"
            " return {state: s.dataset.state, text: s.textContent, seconds: s.dataset.seconds,"
            " viewer: {...document.getElementById('viewer').dataset},"
            " glb: document.getElementById('download-glb').href,"
            " input: document.getElementById('input').src}; })()")

    def canvas_pixels(self) -> np.ndarray:
        """The viewer canvas as the screenshot shows it: (H, W, 3) uint8."""
        from PIL import Image

        rect = self.browser.evaluate("JSON.stringify(document.getElementById('viewer')"
                                     ".getBoundingClientRect())")
        rect = json.loads(rect)
        shot = Image.open(io.BytesIO(self.browser.screenshot())).convert("RGB")
        box = [int(round(rect[k])) + d for k, d in (("left", 2), ("top", 2), ("right", -2),
                                                       ("bottom", -2))]
        return np.asarray(shot.crop(box))


def _check_drawn(page: Page, shown: dict) -> None:
    """The viewer drew a vertex-colored model: the DOM says so and the pixels agree."""
    assert shown["state"] == "ready", shown["text"]
    assert shown["text"].startswith("ready") and float(shown["seconds"]) > 0
    viewer = shown["viewer"]
    assert viewer["state"] == "drawn" and viewer["colors"] == "vertex"
    assert int(viewer["triangles"]) > 0 and int(viewer["paintedPixels"]) > 1000
    pixels = page.canvas_pixels()
    painted = np.abs(pixels.astype(int) - VIEWER_BACKGROUND).sum(-1) > 12
    assert painted.sum() > 1000, "the screenshot shows an empty canvas: WebGL did not draw"
    assert len(np.unique(pixels[painted], axis=0)) > 10  # shaded, not a flat silhouette

    with urllib.request.urlopen(shown["glb"], timeout=30) as response:
        mesh = _load_glb(response.read())
    colors = np.asarray(mesh.visual.vertex_attributes["color"])
    assert colors.shape == (len(mesh.vertices), 4) and colors[:, :3].max() > 0
    assert len(mesh.faces) == int(viewer["triangles"])
    assert len(mesh.vertices) == int(viewer["vertices"])


@pytest.mark.skipif(find_chromium() is None,
                    reason="no chromium binary on PATH (apt-get install chromium; .ci/run does)")
@pytest.mark.slow
def test_page_in_headless_chromium(demo, tmp_path):
    server, _ = demo
    tiny = server.catalog.names()[0]
    with Chromium(find_chromium(), height=720) as browser:
        page = Page(browser)
        browser.navigate(server.url)
        browser.wait_for("document.getElementById('status').dataset.state === 'idle'")
        assert browser.evaluate("document.querySelectorAll('#examples button').length") >= 3

        # Upload a file through the file input, as a user does: the page reconstructs it.
        page.set_model(tiny, threshold=TINY_THRESHOLD)
        upload = EXAMPLES_DIR / "car_orange.png"
        shown = page.run(lambda: browser.set_files("#file", str(upload)))
        _check_drawn(page, shown)
        assert "/car_orange_input.png" in shown["input"]
        print(f"\ntiny model, upload to viewer: {shown['seconds']} s")

        # A file that is not an image: a sentence on the page, the old model cleared.
        bad = tmp_path / "notes.png"
        bad.write_text("not a picture")
        shown = page.run(lambda: browser.set_files("#file", str(bad)))
        assert shown["state"] == "error" and "notes.png is not an image" in shown["text"]
        assert shown["viewer"]["state"] == "empty"

        if _zoo_has_car():  # a trained model on an example: colors that vary
            page.set_model("car")
            shown = page.run(lambda: browser.evaluate(
                "document.querySelector('#examples button[data-example=\"car_orange.png\"]')"
                ".click()"))
            _check_drawn(page, shown)
            print(f"pretrained car, upload to viewer: {shown['seconds']} s")
        else:  # the example click path, with the tiny model
            page.set_model(tiny, threshold=TINY_THRESHOLD)
            shown = page.run(lambda: browser.evaluate(
                "document.querySelector('#examples button').click()"))
            _check_drawn(page, shown)

        if os.environ.get("IM2AVATAR_DEMO_SCREENSHOT"):
            (ROOT / "docs" / "demo.png").write_bytes(browser.screenshot())


def test_api_removes_a_photos_background_when_asked(demo):
    """A photo of the car on bricks: with remove_background the preprocessed input shows the
    car on the plain training background; without it, the bricks."""
    from PIL import Image
    from skimage import data

    server, _ = demo
    car = np.asarray(Image.open(EXAMPLES_DIR / "car_blue.png").convert("RGB"))
    mask = np.abs(car.astype(int) - car[0, 0].astype(int)).max(-1) > 12
    bricks = np.asarray(Image.fromarray(data.brick()).convert("RGB").resize(car.shape[1::-1]))
    photo = io.BytesIO()
    Image.fromarray(np.where(mask[..., None], car, bricks)).save(photo, format="JPEG", quality=95)
    tiny = json.loads(get(server.url + "api/info")[1])["models"][0]["name"]

    def border_is_plain(fields):
        status, reply = post_form(server.url + "api/reconstruct",
                              {"model": tiny, "threshold": TINY_THRESHOLD, **fields},
                              [("image", "street.jpg", photo.getvalue())])
        assert status == 200, reply
        seen = np.asarray(Image.open(io.BytesIO(get(server.url + reply["input"].lstrip("/"))[1]))
                          .convert("RGB")).astype(int)
        edge = np.concatenate([seen[0], seen[-1], seen[:, 0], seen[:, -1]])
        return reply, bool((np.abs(edge - 245).max(-1) <= 12).all())

    reply, plain = border_is_plain({"remove_background": "1"})
    assert reply["remove_background"] is True and plain
    reply, plain = border_is_plain({})
    assert reply["remove_background"] is False and not plain
