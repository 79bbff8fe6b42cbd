"""Start the demo page: upload a picture (or click an example), pick a model, and see the
preprocessed input, the colored 3D model in the browser (drag to turn it) and download it as
glb, ply or obj.

The page is served by this process only (no CDN, nothing fetched at run time) on 127.0.0.1 by
default; --host 0.0.0.0 opens it to the network. The models offered: the pretrained zoo
(`python run.py models`) and every --model folder (listed first). Each is loaded on first use.

Example: python run.py demo --model runs/chair-small --port 8000
"""
from __future__ import annotations

import errno
import ipaddress
import signal
from pathlib import Path

from .options import float_range, int_range, positive_int

HELP = "a local web page: upload an image, see and download its colored 3D model"


def add_arguments(parser) -> None:
    from ..demo.server import MAX_UPLOAD, READ_TIMEOUT
    from ..images import MAX_ASPECT, MAX_PIXELS

    parser.epilog = (
        f"Limits on an upload: {MAX_UPLOAD / 2 ** 20:.0f} MiB, and {MAX_PIXELS / 1e6:.0f} "
        f"megapixels (read from the image's\nheader before decoding: a small PNG can hold a "
        f"decompression bomb), both answered 413.\nA connection silent for --read-timeout "
        f"seconds is answered 408 and closed. Images are read upright\n(EXIF orientation); one "
        f"more than {MAX_ASPECT:g}:1 wide or tall comes back with a warning (it is squashed).")
    parser.add_argument("--model", action="append", default=[], metavar="DIR",
                        help="a model folder (from `train` or `export`) to offer; repeatable. "
                             "The pretrained zoo's models are offered too")
    parser.add_argument("--no-zoo", action="store_true",
                        help="offer only the --model folders, not the pretrained zoo")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on. Default: 127.0.0.1 (this machine only)")
    parser.add_argument("--port", type=int_range(0, 65535), default=8000,
                        help="port to listen on; 0 picks a free one. Default: 8000")
    parser.add_argument("--keep", type=positive_int, default=20,
                        help="results kept (older ones are deleted). Default: 20")
    parser.add_argument("--read-timeout", type=float_range(0, None, lo_open=True),
                        default=READ_TIMEOUT, metavar="SECONDS",
                        help="a connection silent this long (an upload short of its "
                             f"Content-Length) is answered 408 and closed. Default: "
                             f"{READ_TIMEOUT:g}")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run(args) -> int:
    from ..demo.catalog import ModelCatalog
    from ..demo.outputs import ResultStore
    from ..demo.server import DemoServer

    folders = [Path(m) for m in args.model]
    for folder in folders:
        if not folder.exists():
            raise FileNotFoundError(f"--model {folder} does not exist")
    catalog = ModelCatalog(folders, zoo=not args.no_zoo)
    try:
        server = DemoServer(catalog, host=args.host, port=args.port,
                            store=ResultStore(keep=args.keep), read_timeout=args.read_timeout,
                            log=lambda line: print(line, flush=True))
    except OSError as e:
        raise _listen_error(e, args.host, args.port) from None
    print(f"models: {', '.join(catalog.names())}")
    if not is_loopback(args.host):
        print(f"warning: listening on {args.host}: anyone who can reach this machine can use "
              f"the demo")
    print(f"demo at {server.url} (Ctrl+C stops it)", flush=True)
    signal.signal(signal.SIGTERM, _stop)  # `kill` cleans up like Ctrl+C
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.close()
    return 0


def _listen_error(error: OSError, host: str, port: int) -> OSError:
    """The reason the demo cannot listen on host:port, with what to do about it."""
    where = f"port {port} on {host}"
    if error.errno == errno.EADDRINUSE:
        return OSError(f"{where} is already in use (another demo or server?): pick another "
                       f"with --port N, or --port 0 for a free one")
    if error.errno == errno.EACCES:
        return OSError(f"{where} needs administrator rights (ports below 1024): pick one above "
                       f"1023 with --port N, or --port 0 for a free one")
    return OSError(f"cannot listen on {where}: {error.strerror or error} (check --host)")


def _stop(signum, frame):
    raise KeyboardInterrupt
