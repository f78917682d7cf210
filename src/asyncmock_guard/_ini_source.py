"""Where an ini option's value was written, for usage errors: the ini file and the line (``pytest.ini:7``),
or the item of a ``pyproject.toml`` list, or the ``-o`` option that overrode the file."""

from __future__ import annotations

import os
from collections.abc import Iterable

import pytest


def _overridden(config: pytest.Config, name: str) -> bool:
    overrides: Iterable[object] = getattr(config.known_args_namespace, "override_ini", None) or ()
    return any(isinstance(value, str) and value.split("=", 1)[0].strip() == name for value in overrides)


def _shown(config: pytest.Config, path: os.PathLike[str]) -> str:
    """The file relative to the rootdir, where it usually is; else as it is."""
    try:
        relative = os.path.relpath(path, config.rootpath)
    except ValueError:  # another drive
        return os.fspath(path)
    return os.fspath(path) if relative.startswith(os.pardir) else relative


def located(config: pytest.Config, name: str, text: str | None = None, index: int | None = None) -> str:
    """``ini option NAME (FILE:LINE)``: the first line from the option's own on that holds ``text`` (a line
    of a line list, or a string item), else ``index`` (0-based) as the item's number, else the file alone."""
    if _overridden(config, name):
        return f"ini option {name} (-o {name}=...)"
    path = config.inipath
    if path is None:
        return f"ini option {name}"
    shown = _shown(config, path)
    if text is not None and text.strip():
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        start = next((number for number, line in enumerate(lines) if name in line), 0)  # the option's own line
        for number, line in enumerate(lines[start:], start=start + 1):
            if text.strip() in line:
                return f"ini option {name} ({shown}:{number})"
    if index is not None:
        return f"ini option {name} ({shown}, item {index + 1})"
    return f"ini option {name} ({shown})"
