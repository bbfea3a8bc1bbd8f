"""The bad-input corpus: every case of cases.yaml through the real `sort-archive` command.

Each case must end with its documented exit code and ONE line on stderr (`sort-archive:
error: ...` holding the case's words), never a traceback; and nothing finished before the
failure may be lost: every file that existed when the command started is still there,
byte for byte (the manifest's own bookkeeping aside), and every session the manifest
recorded as done is still recorded. Adding a case is one entry in cases.yaml.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.settings import Settings
from tests.bad_inputs import builders, servers

CASES_FILE = Path(__file__).with_name("cases.yaml")
# Written by every run whatever happens: the manifest (checked item by item instead), the
# forum's lock, SQLite's journals, and partial files a failed step removes or resumes.
VOLATILE_NAMES = {"state.json", ".lock"}
VOLATILE_SUFFIXES = ("-wal", "-shm", "-journal", ".part")
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


@dataclass(frozen=True)
class Case:
    name: str
    command: str  # after `sort-archive -q`, with ${placeholders} (see Place.values)
    exit: int
    words: list[str] = field(default_factory=list)  # in the one error line, or on stdout
    about: str = ""
    forum: str = "own"  # or "finished": the forum the whole pipeline finished once
    media: str = "counter"  # what master.mp4 is (builders.MEDIA)
    config: dict[str, Any] | None = None  # changes to builders.BASE_CONFIG
    config_text: str | None = None  # the whole config file instead
    setup: list[Any] = field(default_factory=list)  # builders.STEPS, in order
    env: dict[str, str | None] = field(default_factory=dict)  # None: unset it
    kept: list[str] = field(default_factory=list)  # globs (in the forum's folder) that
    # must exist afterwards: work finished before the failure, by the setup or the command
    within: float | None = None  # seconds the command may take at most
    xfail: str | None = None  # a known failure in code another module owns


def load_cases() -> list[Case]:
    cases = [Case(**entry) for entry in yaml.safe_load(CASES_FILE.read_text("utf-8"))]
    names = [case.name for case in cases]
    assert len(set(names)) == len(names), "case names must be unique"
    return cases


class Corpus:
    """What the cases share: built media, servers, and the finished forum."""

    def __init__(self, folder: Path, request: pytest.FixtureRequest) -> None:
        self.folder, self.request = folder, request
        self.model_dir = Settings.from_environ().model_dir  # the assembled bundled model
        self.stack = contextlib.ExitStack()
        self._values: dict[str, str] = {}
        self._finished: Place | None = None

    def media(self, name: str, target: Path) -> None:
        builders.media(name, self.folder / "media", target)

    def value(self, name: str) -> str:
        if name not in self._values:
            self._values[name] = self._start(name)
        return self._values[name]

    def _start(self, name: str) -> str:
        if name == "http":
            www = self.folder / "www"
            www.mkdir()
            self.media("counter", www / "forum.mp4")
            return self.stack.enter_context(servers.misbehaving(www))
        if name == "s3":
            return str(self.request.getfixturevalue("s3_endpoint"))
        if name == "s3auth":
            return self.stack.enter_context(servers.moto_with_auth())
        raise KeyError(name)

    def finished(self) -> Place:
        """One forum taken through every stage, its work, archive and catalogue kept."""
        if self._finished is None:
            place = Place(self, Case(name="finished", command="", exit=0), self.folder / "finished")
            place.build()
            builders.step_run(place, "run ${config}")
            self._finished = place
        return self._finished


class Place:
    """One case's folder, its config, and the environment its commands run in."""

    def __init__(self, corpus: Corpus, case: Case, folder: Path) -> None:
        self.corpus, self.case, self.folder = corpus, case, folder
        self.shared = corpus.finished() if case.forum == "finished" else None
        home = self.shared or self
        self.config = home.folder / "forum.yaml"
        self.work = home.folder / "work"
        env = builders.environment(folder, self.work, corpus.model_dir)
        self.env = {key: self.format(value) for key, value in (env | case.env).items()
                    if value is not None}

    @property
    def finished_catalogue(self) -> Path:
        assert self.shared is not None, "this step needs `forum: finished`"
        return self.shared.folder / "catalogue.sqlite"

    def values(self) -> dict[str, str]:
        return {"config": str(self.config), "tmp": str(self.folder), "work": str(self.work),
                "catalogue": str(self.folder / "catalogue.sqlite"), "forum": builders.FORUM_ID,
                "refused": f"http://127.0.0.1:{servers.free_port()}"}

    def format(self, text: str) -> str:
        """`${name}` replaced: a value of `values()`, or a server the corpus starts."""
        known = self.values()
        return PLACEHOLDER.sub(lambda m: known.get(m[1]) or self.corpus.value(m[1]), text)

    def format_tree(self, node: Any) -> Any:
        if isinstance(node, str):
            return self.format(node)
        if isinstance(node, dict):
            return {key: self.format_tree(value) for key, value in node.items()}
        if isinstance(node, list):
            return [self.format_tree(value) for value in node]
        return node

    def build(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.shared is not None:
            return
        self.corpus.media(self.case.media, self.folder / "master.mp4")
        if self.case.config_text is not None:
            self.config.write_text(self.format(self.case.config_text), encoding="utf-8")
        else:
            builders.write_config(self.config, self.format_tree(self.case.config or {}))

    @contextlib.contextmanager
    def prepared(self) -> Iterator[None]:
        """Build the case and run its setup steps; held steps last until the end."""
        self.build()
        with contextlib.ExitStack() as held:
            for entry in self.case.setup:
                name, args = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
                if not isinstance(args, dict):
                    args = {"command": args} if name == "run" else {"path": args}
                outcome = builders.STEPS[name](self, **self.format_tree(args))
                if outcome is not None:
                    held.enter_context(outcome)
            yield

    def roots(self) -> list[Path]:
        return [self.folder, *([self.shared.folder] if self.shared else [])]


def snapshot(roots: list[Path]) -> tuple[dict[Path, str], dict[Path, dict[str, Any]]]:
    """sha256 of every file under `roots`, and the items each manifest records."""
    files: dict[Path, str] = {}
    items: dict[Path, dict[str, Any]] = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.is_symlink():
                continue
            if path.name == "state.json":
                items[path] = json.loads(path.read_text("utf-8")).get("items", {})
            if path.name in VOLATILE_NAMES or path.name.endswith(VOLATILE_SUFFIXES) \
                    or path.name.startswith(".state."):
                continue
            files[path] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files, items


def lost(before: tuple[dict[Path, str], dict[Path, dict[str, Any]]],
         after: tuple[dict[Path, str], dict[Path, dict[str, Any]]]) -> list[str]:
    problems = [f"{path}: {'changed' if path in after[0] else 'gone'}"
                for path, digest in before[0].items() if after[0].get(path) != digest]
    for manifest, records in before[1].items():
        now = after[1].get(manifest, {})
        problems += [f"{manifest}: item {key} forgotten" for key, record in records.items()
                     if record.get("outputs") and now.get(key) != record]
    return problems


# What the cases' files outside the forum hold (`write: {path: ../outside/...}`): it must
# never turn up in a file inside the case's folder (its work, archive or catalogue).
OUTSIDE_MARK = b"OUTSIDE-THE-FORUM"


def leaked(folder: Path) -> list[Path]:
    """Regular files (symlinks are not followed) in `folder` holding the outside mark."""
    return [path for path in folder.rglob("*")
            if path.is_file() and not path.is_symlink()
            and OUTSIDE_MARK in path.read_bytes()]


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory,
           request: pytest.FixtureRequest) -> Iterator[Corpus]:
    shared = Corpus(tmp_path_factory.mktemp("bad-inputs"), request)
    with shared.stack:
        yield shared


def _param(case: Case) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(case) for case in load_cases()])
def test_bad_input(case: Case, corpus: Corpus, tmp_path: Path) -> None:
    place = Place(corpus, case, tmp_path / "case")
    with place.prepared():
        before = snapshot(place.roots())
        started = time.monotonic()
        result = builders.sort_archive(place.format(case.command), place.folder, place.env)
        took = time.monotonic() - started
        after = snapshot(place.roots())  # inside: a held mount must still be there
        gone = [pattern for pattern in case.kept
                if not list(place.work.parent.glob(place.format(pattern)))]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    print(f"{case.name}: exit {result.returncode} in {took:.1f} s: {result.stderr.strip()}")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == case.exit, f"exit {result.returncode}:\n{result.stderr}"
    words = [place.format(word) for word in case.words]
    if case.exit:
        assert len(lines) == 1 and lines[0].startswith("sort-archive: error: "), result.stderr
        missing = [word for word in words if word not in lines[0]]
        assert not missing, f"{missing} not in: {lines[0]}"
    else:  # accepted, with at most one warning line saying what was done about it
        assert len(lines) <= 1 and "error" not in result.stderr, result.stderr
        missing = [word for word in words if word not in result.stdout + result.stderr]
        assert not missing, f"{missing} not in:\n{result.stdout}{result.stderr}"
    assert not lost(before, after), lost(before, after)
    copies = leaked(place.folder)
    assert not copies, f"a file from outside the forum was copied in: {copies}"
    assert not gone, f"finished work is gone: {gone}"
    if case.within is not None:
        assert took <= case.within, f"took {took:.1f} s, more than {case.within} s"
