"""HTTP helpers of the demo tests: a multipart POST and a GET, answering (status, reply)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

BOUNDARY = "im2avatarTestBoundary"


def post_form(url: str, fields: dict, files=()):
    """POST a multipart form: `fields` {name: value} and `files` [(name, filename, bytes)];
    -> (status, JSON reply), error statuses included."""
    body = b""
    for name, value in fields.items():
        body += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n"
                 f"{value}\r\n").encode()
    for name, filename, data in files:
        body += (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                 f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                 ).encode() + data + b"\r\n"
    body += f"--{BOUNDARY}--\r\n".encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def get(url: str):
    """GET `url`; -> (status, body bytes), error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
