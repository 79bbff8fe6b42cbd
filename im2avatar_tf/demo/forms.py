"""The body of `POST /api/reconstruct` -> a checked `ReconstructRequest`.

Two encodings, the same fields:
- multipart/form-data (the page, `curl -F image=@photo.png -F model=car ...`): `image` a file
  or `example` an example's file name; `model`, `threshold`, `geometry`, `crop`,
  `remove_background` text fields.
- application/json: the same keys; `image` is then base64 (a `data:` URL is fine) with its
  name in `filename`.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Optional

from .outputs import GEOMETRIES

TRUE = ("1", "true", "on", "yes")


class FormError(ValueError):
    """A request the demo cannot run; the message is shown on the page."""


@dataclass(frozen=True)
class ReconstructRequest:
    """One reconstruction asked for: an uploaded image (bytes + its file name) or an example's
    name; a model name (None: the first offered); threshold None: the model's own."""

    image: Optional[bytes] = None
    filename: str = ""
    example: Optional[str] = None
    model: Optional[str] = None
    threshold: Optional[float] = None
    geometry: str = "mesh"
    crop: bool = False
    remove_background: bool = False  # a photo with a scene behind the object


def parse_request(content_type: str, body: bytes) -> ReconstructRequest:
    """Decode and check a POST body; FormError says what is wrong."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        fields, image, filename = _multipart(content_type, body)
    elif kind == "application/json":
        fields, image, filename = _json(body)
    else:
        raise FormError(f"send multipart/form-data or application/json, not {kind or 'nothing'!r}")
    if image is None and not fields.get("example"):
        raise FormError("no image: upload an image file or pick an example")
    return ReconstructRequest(
        image=image, filename=filename, example=None if image is not None else fields["example"],
        model=fields.get("model") or None, threshold=_threshold(fields.get("threshold")),
        geometry=_geometry(fields.get("geometry")),
        crop=str(fields.get("crop", "")).strip().lower() in TRUE,
        remove_background=str(fields.get("remove_background", "")).strip().lower() in TRUE)


def _multipart(content_type: str, body: bytes):
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(header + body)
    if not message.is_multipart():
        raise FormError("the form could not be read (a multipart body without parts)")
    fields, image, filename = {}, None, ""
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if name == "image" and part.get_filename() is not None:
            if payload:  # an empty file input sends an empty part
                image, filename = payload, part.get_filename()
        elif name:
            fields[name] = payload.decode("utf-8", errors="replace")
    return fields, image, filename


def _json(body: bytes):
    try:
        fields = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as e:
        raise FormError(f"the JSON body could not be read: {e}") from None
    if not isinstance(fields, dict):
        raise FormError("the JSON body must be an object")
    image = fields.pop("image", None)
    if image is not None:
        text = str(image)
        if text.startswith("data:"):
            text = text.split(",", 1)[-1]
        try:
            image = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise FormError("JSON `image` must be base64 (or a data: URL)") from None
    return fields, image, str(fields.get("filename") or "")


def _threshold(text) -> Optional[float]:
    if text is None or str(text).strip() == "":
        return None
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise FormError(f"threshold must be a number, got {text!r}") from None
    if not (math.isfinite(value) and 0.0 < value < 1.0):
        raise FormError(f"threshold must be strictly between 0 and 1, got {value:g}")
    return value


def _geometry(text) -> str:
    value = (text or "mesh").strip()
    if value not in GEOMETRIES:
        raise FormError(f"geometry must be one of {', '.join(GEOMETRIES)}, got {value!r}")
    return value
