"""``python -m callmon.dashboard --db URL [--config FILE] [--host H] [--port P]``: one dashboard
process (what ``callmon dashboard`` runs; the browser tests start it so)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from callmon.core.config import load_config
from callmon.dashboard.app import create_app
from callmon.dashboard.serve import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m callmon.dashboard", description=__doc__)
    parser.add_argument("--db", required=True, help="database URL")
    parser.add_argument("--config", default=None, help="TOML configuration file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050, help="0 picks a free port (printed)")
    parser.add_argument("--login-limit", default=None, help='failed logins allowed, e.g. "5 per minute"')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    kw = {"login_limit": args.login_limit} if args.login_limit else {}
    app = create_app(args.db, load_config(args.config), **kw)
    serve(app, args.host, args.port)


if __name__ == "__main__":
    main()
