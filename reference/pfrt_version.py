"""pfrt's version, read from the public header (the one place it is set), for the scripts' --version."""
import os
import re

HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runtime", "include", "pfrt", "pfrt.h")


def version() -> str:
    try:
        text = open(HEADER, encoding="utf-8").read()
    except OSError:
        return "unknown"
    parts = [re.search(rf"#define PFRT_VERSION_{p}\s+(\d+)", text) for p in ("MAJOR", "MINOR", "PATCH")]
    return ".".join(m.group(1) for m in parts) if all(parts) else "unknown"
