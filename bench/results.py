"""The results of a bench script as JSON (`--json FILE`), for bench/table.py.

Written from the script's own objects: its header lines, its notes, and
each measured operation's dataclass fields that JSON can hold (the timed
functions are left out). The scripts keep their own tables; this only
writes down what they measured."""

import dataclasses
import json
from pathlib import Path


def _plain(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not callable(getattr(value, f.name))
        }
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def write_json(path: Path, *, lines: list[str], ops: list, notes: list[str], **extra) -> None:
    document = {"lines": lines, "ops": [_plain(op) for op in ops], "notes": notes, **_plain(extra)}
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
