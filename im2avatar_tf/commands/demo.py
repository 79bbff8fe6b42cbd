"""Start the demo page: upload a picture (or click an example), pick a model, and see the
preprocessed input, the colored 3D model in the browser (drag to turn it) and download it as
glb, ply or obj.

The page is served by this process only (no CDN, nothing fetched at run time) on 127.0.0.1 by
default; --host 0.0.0.0 opens it to the network. The models offered: the pretrained zoo
(`python run.py models`) and every --model folder (listed first). Each is loaded on first use.

Example: python run.py demo --model runs/chair-small --port 8000
"""
from __future__ import annotations

import ipaddress
import signal
from pathlib import Path

from .options import int_range, positive_int

HELP = "a local web page: upload an image, see and download its colored 3D model"


def add_arguments(parser) -> None:
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
    server = DemoServer(catalog, host=args.host, port=args.port,
                        store=ResultStore(keep=args.keep),
                        log=lambda line: print(line, flush=True))
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


def _stop(signum, frame):
    raise KeyboardInterrupt
