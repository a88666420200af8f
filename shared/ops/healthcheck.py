"""Container healthcheck: `python -m shared.ops.healthcheck [URL]` exits 0 when the process is ready.

Asks the process's own ops endpoint (`/readyz` on HUIMIN_METRICS_PORT, shared/metrics.py), so
each instance answers for itself; the gateway passes its own URL (http://127.0.0.1:8080/readyz).
Standard library only: it runs every few seconds in every container.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def readiness_url(argv: list[str]) -> str:
    """The URL to ask: the argument, or /readyz on HUIMIN_METRICS_PORT."""
    if argv:
        return argv[0]
    port = os.environ.get("HUIMIN_METRICS_PORT")
    if not port:
        sys.exit("HUIMIN_METRICS_PORT is not set: no ops endpoint to ask (pass a URL instead)")
    return f"http://127.0.0.1:{port}/readyz"


def check(url: str, timeout: float = 4.0) -> tuple[bool, str]:
    """Whether the URL answers 200, and what it said."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:  # noqa: S310 (a local URL)
            return reply.status == 200, reply.read(2000).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return False, f"{exc.code} {exc.read(2000).decode(errors='replace')}"
    except OSError as exc:
        return False, repr(exc)


def main() -> None:
    """Exit 0 if ready, 1 (with the reason on stderr) if not."""
    ok, said = check(readiness_url(sys.argv[1:]))
    if not ok:
        print(f"not ready: {said}", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
