"""Bad inputs to the demo server (issue 31), met as a user meets them: `python run.py demo` in
a subprocess, spoken to over HTTP (and a raw socket for what no HTTP library sends).

A decompression bomb is refused before decoding (413; the server's peak memory stays low), a
sideways phone photo is read upright, a panorama comes back with a warning, a negative
Content-Length is a 400 (not a 500 with a traceback), an upload short of its Content-Length
is closed after --read-timeout (408), and a busy --port is named with the --port 0 hint.
"""
from __future__ import annotations

import json
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from im2avatar_tf.images import read_image
from tests._http import post_form
from tests.test_bad_inputs import (RUN, assert_clean_failure, assert_upright, bomb_png, cli,
                                   sideways_jpeg)

READ_TIMEOUT = 2  # seconds, --read-timeout of the server under test
TINY_THRESHOLD = 0.3  # the untrained tiny networks give ~0.5 everywhere


@pytest.fixture(scope="module")
def demo(model_dir, tmp_path_factory):
    """`python run.py demo` on a free port offering the tiny model; yields (url, process, log)
    where log is the server's stderr file."""
    folder = tmp_path_factory.mktemp("demo")
    log = folder / "stderr.txt"
    with open(log, "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, RUN, "demo", "--model", str(model_dir), "--no-zoo", "--port", "0",
             "--read-timeout", str(READ_TIMEOUT)], cwd=folder, stdout=subprocess.PIPE,
            stderr=stderr, text=True)
    try:
        url = _wait_for_url(process, log)
        yield url, process, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for_url(process: subprocess.Popen, log: Path, timeout: float = 120) -> str:
    """The URL the demo prints once it listens (its stdout is read by a thread: a pipe's
    readline would block past a deadline)."""
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout],
                     daemon=True).start()
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            assert process.poll() is None, f"the demo ended: {log.read_text()[-2000:]}"
            continue
        found = re.search(r"demo at (http://\S+/)", line)
        if found:
            return found.group(1)
    raise AssertionError(f"the demo did not start in {timeout} s: {log.read_text()[-2000:]}")


def _post_image(url: str, filename: str, data: bytes, **fields):
    """POST an image as a multipart form to /api/reconstruct; -> (status, JSON reply)."""
    return post_form(url + "api/reconstruct", fields, [("image", filename, data)])


def _raw(url: str, request: bytes, wait: float = 30) -> tuple:
    """Send raw bytes, read the reply until the server closes; -> (status, body, seconds)."""
    host, port = re.match(r"http://([^:/]+):(\d+)/", url).groups()
    start = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body), time.perf_counter() - start


def _peak_memory_mb(process: subprocess.Popen) -> float:
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def _no_traceback(log: Path) -> None:
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def test_demo_refuses_a_decompression_bomb_before_decoding(demo, tmp_path):
    url, process, log = demo
    bomb = bomb_png(tmp_path / "bomb.png").read_bytes()  # 12000 x 12000, ~17 KB
    start = time.perf_counter()
    status, reply = _post_image(url, "bomb.png", bomb)
    assert status == 413, reply
    assert reply["error"].startswith("bomb.png is over the limit of 64 megapixels"), reply
    assert time.perf_counter() - start < 5
    assert _peak_memory_mb(process) < 3000  # decoded it took 5.7 GB
    _no_traceback(log)


@pytest.mark.slow
def test_demo_reads_a_phone_photo_upright_and_warns_of_a_panorama(demo, tmp_path):
    url, _, log = demo
    jpeg = sideways_jpeg(tmp_path / "phone.jpg").read_bytes()
    status, reply = _post_image(url, "phone.jpg", jpeg, threshold=TINY_THRESHOLD)
    assert status == 200, reply
    with urllib.request.urlopen(url + reply["input"].lstrip("/"), timeout=30) as response:
        (tmp_path / "input.png").write_bytes(response.read())
    seen = read_image(tmp_path / "input.png")  # (64, 64, 3): portrait, padded left and right
    assert np.all(seen[:, :12] == 245) and np.all(seen[:, -12:] == 245)
    assert_upright(np.asarray(Image.fromarray(seen[:, 16:48]).resize((20, 40))))
    assert not reply["warnings"], reply["warnings"]

    panorama = np.random.default_rng(0).integers(0, 256, (200, 20000, 3), dtype=np.uint8)
    Image.fromarray(panorama).save(tmp_path / "panorama.png")
    status, reply = _post_image(url, "panorama.png", (tmp_path / "panorama.png").read_bytes(),
                                threshold=TINY_THRESHOLD)
    assert status == 200, reply
    assert reply["warnings"] == [
        "the image is 20000 x 200 pixels, 100:1 (over 4:1): the networks see it squashed to "
        "64 x 1 pixels; crop it around the object (try crop)"], reply["warnings"]
    _no_traceback(log)


@pytest.mark.parametrize("length", ["-5", "12abc"])
def test_demo_answers_a_bad_content_length_with_400(demo, length):
    url, _, log = demo
    status, reply, _ = _raw(url, (f"POST /api/reconstruct HTTP/1.1\r\nHost: x\r\n"
                                  f"Content-Type: application/json\r\nContent-Length: {length}"
                                  f"\r\n\r\n").encode())
    assert status == 400 and f"Content-Length '{length}' is not a number of bytes" in \
        reply["error"], reply
    _no_traceback(log)


def test_demo_closes_an_upload_short_of_its_content_length(demo):
    url, _, log = demo
    status, reply, seconds = _raw(url, b"POST /api/reconstruct HTTP/1.1\r\nHost: x\r\n"
                                       b"Content-Type: application/json\r\n"
                                       b"Content-Length: 1000\r\n\r\n{\"model\": ")
    assert status == 408 and "the upload stalled" in reply["error"], reply
    assert READ_TIMEOUT <= seconds < READ_TIMEOUT + 10
    _no_traceback(log)


def test_demo_on_a_busy_port_names_it(demo, model_dir, tmp_path):
    url, _, _ = demo
    port = re.search(r":(\d+)/", url).group(1)
    run = cli("demo", "--model", model_dir, "--no-zoo", "--port", port, cwd=tmp_path, timeout=120)
    assert_clean_failure(run, f"port {port} on 127.0.0.1 is already in use",
                         "--port 0 for a free one")
    assert "Errno 98" not in run.stderr
