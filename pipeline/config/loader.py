"""Reading a forum config file: YAML with unique keys, placeholders left from the template
refused, and every problem turned into one `ConfigError` naming the file, the field path
and the fix (see `pipeline.config.forum` for the schema).

A config is hostile input, and reading it is bounded: a regular file of at most
`MAX_BYTES` (1 MB; a real forum's config is a few kB), at most `MAX_ALIASES` YAML aliases
(`*name`: a "billion laughs" file is refused before anything expands it) and `MAX_DEPTH`
levels of nesting, each refused in one line; and everything after is linear in the file."""

from __future__ import annotations

import datetime as dt
import stat
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pipeline.config.forum import PLACEHOLDER, Forum, ForumConfig, LocatedError
from pipeline.errors import ConfigError


def _field_path(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


MAX_BYTES, MAX_ALIASES, MAX_DEPTH = 1_000_000, 50, 32


def _find_placeholders(node: Any, location: str = "", seen: set[int] | None = None
                       ) -> list[str]:
    """Placeholders left in the config, each aliased list or mapping walked once."""
    seen = set() if seen is None else seen
    found: list[str] = []
    if isinstance(node, dict | list):
        if id(node) in seen:
            return found
        seen.add(id(node))
    if isinstance(node, dict):
        for key, value in node.items():
            found += _find_placeholders(value, f"{location}.{key}" if location else str(key),
                                        seen)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _find_placeholders(value, f"{location}[{index}]", seen)
    elif isinstance(node, str) and node.strip().startswith(PLACEHOLDER):
        found.append(f"{location} ({node.strip()[len(PLACEHOLDER):].lstrip(': ') or 'fill in'})")
    return found


def _friendly(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key; check its spelling against config/forums/demo.yaml"
    if kind == "missing":
        return "is required but missing"
    value = error.get("input")
    if kind == "string_type" and isinstance(value, bool | int | float | dt.date):
        # YAML reads 2021-07-02 as a date, 2021 as a number, yes/no as true/false.
        read = ("a date" if isinstance(value, dt.date) else
                "true/false" if isinstance(value, bool) else "a number")
        return f"expected text, but YAML read {value} as {read}; put it in quotes: \"{value}\""
    if kind == "list_type":
        return f"expected a list such as [a, b], got {str(value)[:60]!r}"
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


class _Bounded(yaml.YAMLError):
    """A config over one of the reading limits (see the module docstring)."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys and drops the first without a word; a
    session pasted twice or an `end:` written twice must be an error instead. It also
    counts aliases and nesting as it composes (see the module docstring)."""

    aliases = 0
    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _Bounded(f"more than {MAX_ALIASES} aliases (*name); a forum config "
                               "needs few: write the values out", mark)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Bounded(f"nested more than {MAX_DEPTH} levels deep; a forum config "
                               "needs a few", mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults` may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # PyYAML itself refuses it, with its own message
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key '{key}' appears twice in one mapping (YAML would "
                                "keep only the last)", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _check_file(path: Path) -> None:
    """A regular file of at most MAX_BYTES (a FIFO would block the read, a device or a
    huge file would not end)."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(path, None, "is not a regular file; give the path to a forum .yaml")
    if info.st_size > MAX_BYTES:
        raise ConfigError(path, None, f"is {info.st_size / 1e6:.1f} MB; a forum config is at "
                                      f"most {MAX_BYTES // 1_000_000} MB (a few kB is usual)")


def load_config(path: Path | str, *, materials_root: Path | None = None) -> ForumConfig:
    """Read and validate a forum config; raise `ConfigError` naming what to fix.

    `materials_root` is the operator's folder for materials (Settings.materials_root)."""
    path = Path(path)
    try:
        _check_file(path)
        text = path.read_text(encoding="utf-8-sig")  # a BOM from Windows editors is fine
    except FileNotFoundError:
        raise ConfigError(path, None, "file not found; give the path to a forum .yaml") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[:exc.start].count(b"\n") + 1
        raise ConfigError(path, f"line {line}", "is not UTF-8 text (saved as EUC-KR/CP949?); "
                                                "save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(path, None, f"cannot read it ({exc.strerror or exc})") from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: no Python objects
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else None
        problem = getattr(exc, "problem", None) or "not valid YAML"
        fix = "" if isinstance(exc, _Bounded) else "; fix the YAML syntax"
        raise ConfigError(path, where, f"{problem}{fix}") from None
    except ValueError:  # a number of thousands of digits (Python's int conversion limit)
        raise ConfigError(path, None, "holds a number too long to read; a forum config "
                                      "needs none") from None
    if not isinstance(raw, dict):
        raise ConfigError(path, None, "expected a mapping of keys (id, title, date, ...)")
    placeholders = _find_placeholders(raw)
    if placeholders:
        listed = raw.get("sessions")
        sessions: list[Any] = listed if isinstance(listed, list) else []
        untimed = len([s for s in sessions if isinstance(s, dict)
                       and (s.get("start") is None or s.get("end") is None)])
        found = (f"; the {untimed} session(s) without times need none: `sort-archive plan` "
                 "finds them in the recording" if untimed else "")
        raise ConfigError(
            path, None,
            f"{len(placeholders)} value(s) still to fill in: " + "; ".join(placeholders) + found,
        )
    try:
        forum = Forum.model_validate(raw)
    except ValidationError as exc:
        # A misspelt key also shows up as a missing one; naming the typo is the useful fix.
        errors = sorted(exc.errors(), key=lambda e: e.get("type") != "extra_forbidden")
        first = errors[0]
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        cause = (first.get("ctx") or {}).get("error")
        location = (*first["loc"], *(cause.where if isinstance(cause, LocatedError) else ()))
        raise ConfigError(path, _field_path(location), _friendly(dict(first)) + more) from None
    return ForumConfig(path=path.resolve(), forum=forum, materials_root=materials_root)
