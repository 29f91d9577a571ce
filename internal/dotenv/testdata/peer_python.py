"""Reads dotenv files with python-dotenv and prints one JSON line per file.

Usage: python3 peer_python.py FILE...   (or --version)

Each line is {"ok": true, "values": {NAME: VALUE-or-null}, "raw": {...}} when
python-dotenv read every statement of the file, or {"ok": false, "lines":
[N, ...]} with the lines of the statements it could not parse (and skipped).
"values" are read the way dotenv_values(path) reads them: UTF-8, with
interpolation, in an environment that holds only DOTENV_PEER_ENV=from-env, so
that what ${NAME} expands to does not depend on the machine; "raw" are read
with interpolate=False. Used by interop_test.go.
"""
import json
import logging
import os
import sys

import dotenv
from dotenv.parser import parse_stream

logging.disable(logging.CRITICAL)


def read(path):
    with open(path, encoding="utf-8") as stream:
        bad = [b.original.line for b in parse_stream(stream) if b.error]
    if bad:
        return {"ok": False, "lines": bad}
    return {
        "ok": True,
        "values": dict(dotenv.dotenv_values(path)),
        "raw": dict(dotenv.dotenv_values(path, interpolate=False)),
    }


def main():
    os.environ.clear()
    os.environ["DOTENV_PEER_ENV"] = "from-env"
    if sys.argv[1:] == ["--version"]:
        from dotenv.version import __version__
        sys.stdout.write(__version__ + "\n")
        return
    for path in sys.argv[1:]:
        try:
            out = read(path)
        except Exception as e:  # noqa: BLE001 - reported as "not read"
            out = {"ok": False, "exception": type(e).__name__}
        sys.stdout.write(json.dumps(out) + "\n")


main()
