"""Serve a dashboard with werkzeug's threaded server (one process; gunicorn for several workers).

:func:`serve` prints ``dashboard on http://HOST:PORT`` once it accepts connections (port 0 picks
a free one), and runs until interrupted.
"""

from __future__ import annotations

import logging
import sys

from werkzeug.serving import make_server

log = logging.getLogger(__name__)


def serve(app, host: str = "127.0.0.1", port: int = 8050, *, ready=None) -> None:
    """Run ``app`` (a Dash app, or its Flask server) on ``host:port`` until Ctrl-C or SIGTERM."""
    flask_app = getattr(app, "server", app)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request on the console
    server = make_server(host, port, flask_app, threaded=True)
    address = f"http://{host}:{server.server_port}"
    if ready is not None:
        ready(address)
    else:
        print(f"dashboard on {address}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()
