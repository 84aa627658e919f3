"""Container health probe without curl: `python scripts/healthcheck.py [/api/ready]`.

Exits 0 when http://127.0.0.1:$PORT<path> answers 2xx, else 1 (Docker HEALTHCHECK, compose).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "/api/health"
    url = f"http://127.0.0.1:{os.environ.get('PORT', '3000')}{path}"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 - fixed loopback URL
            return 0 if 200 <= response.status < 300 else 1
    except (urllib.error.URLError, OSError):
        return 1


if __name__ == "__main__":
    sys.exit(main())
