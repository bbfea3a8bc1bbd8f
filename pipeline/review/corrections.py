"""Corrections that carry over: a replacement a reviewer made more than once is offered as a
`corrections:` entry, and an accepted one reaches the other sessions, shown for review.

- **Suggestions** (`suggestions`): from the review histories of a forum's sessions, each
  cue a person edited gives its replacements, found with difflib on the words of its text
  before the first edit and after the last ("한국 가스공사 사장은" -> "한국가스공사 사장은"
  gives "한국 가스공사" -> "한국가스공사"). A fragment is whole words, particles
  included. The same replacement in two or more cues is a suggestion, unless the forum's
  corrections already hold its misheard form.
- **Where accepted ones go**: the config's own `corrections:` (`add_to_config`: lines
  added to the file's text, so its comments and layout stay), or a series file
  (`write_series`) that forums name as `corrections_file:` (`name_series`), inside
  their config's folder. `forum_corrections` is what a forum's corrections then are:
  its series file's, then its own, which win.
- **Applied** (`apply_corrections`): to every unreviewed cue of the forum's sessions
  that holds a misheard form, as the transcription applies them; the cue stays
  unreviewed and is flagged, so the reviewer sees it, and each change is in its review's
  history. A session without a review gets one, started from its transcript, when a
  correction changes it.
"""

from __future__ import annotations

import difflib
import json
import os
import stat
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.config.forum import ForumConfig
from pipeline.errors import ConfigError, UsageError
from pipeline.review.document import (
    HistoryEntry,
    ReviewCue,
    ReviewDocument,
    load_review,
    now,
    read_history,
    review_lock,
    review_path,
    save_review,
)
from pipeline.review.reviews import SESSIONS_FOLDER, start_review

MAX_BYTES = 1_000_000  # a series file of corrections is a few kB
SERIES_HEADER = ("# Corrections shared by the forums of a series: a forum config names this "
                 "file as\n# `corrections_file:`. Written by `sort-archive corrections --accept "
                 "--series`;\n# entries added by hand are kept, comments are not.\n")


@dataclass(frozen=True)
class Suggestion:
    before: str  # the misheard form
    after: str  # what reviewers wrote instead
    cues: tuple[str, ...]  # "{slug} {cue id}" of each cue a reviewer changed so


@dataclass(frozen=True)
class Applied:
    session: str  # slug
    cue: str  # id
    before: str
    after: str


def replacements(before: str, after: str) -> list[tuple[str, str]]:
    """What replaced what between two texts, word by word (whole words each side)."""
    old, new = before.split(), after.split()
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [(" ".join(old[i1:i2]), " ".join(new[j1:j2]))
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag == "replace"]


def _edited(review: Path) -> dict[str, tuple[str, str]]:
    """Each cue a person edited: its text before the first edit and after the last."""
    texts: dict[str, tuple[str, str]] = {}
    for entry in read_history(review):
        if entry.action != "edit":
            continue
        for cue in entry.after:
            first = next((old.text for old in entry.before if old.id == cue.id), "")
            texts[cue.id] = (texts.get(cue.id, (first, ""))[0], cue.text)
    return texts


def suggestions(work_dir: Path, known: Mapping[str, str] | None = None, *,
                at_least: int = 2) -> list[Suggestion]:
    """The replacements reviewers made in `at_least` cues of the forum whose work folder
    is `work_dir`, most made first; those whose misheard form `known` holds are left out."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for review in sorted(work_dir.glob(f"{SESSIONS_FOLDER}/*/*.review.json")):
        slug = review.name.removesuffix(".review.json")
        for cue_id, (before, after) in sorted(_edited(review).items()):
            for pair in dict.fromkeys(replacements(before, after)):  # once per cue
                found[pair].append(f"{slug} {cue_id}")
    made = [Suggestion(before, after, tuple(cues)) for (before, after), cues in found.items()
            if len(cues) >= at_least and before not in (known or {})]
    return sorted(made, key=lambda s: (-len(s.cues), s.before, s.after))


def _correct_cue(cue: ReviewCue, pairs: Sequence[tuple[str, str]]) -> ReviewCue | None:
    """The cue with `pairs` applied as the transcription applies them; None if unchanged."""
    from pipeline.asr.recognise import correct  # the decoder's module: only when applying

    (segment,), _ = correct((cue.segment().model_copy(update={"raw_text": None}),), pairs)
    if segment.text == cue.text:
        return None
    return cue.model_copy(update={"text": segment.text, "words": segment.words,
                                  "version": cue.version + 1, "flagged": True})


def _correct_document(document: ReviewDocument, pairs: Sequence[tuple[str, str]]
                      ) -> tuple[ReviewDocument, list[HistoryEntry]]:
    cues, history = [], []
    for cue in document.cues:
        changed = None if cue.reviewed else _correct_cue(cue, pairs)
        cues.append(changed or cue)
        if changed is not None:
            history.append(HistoryEntry(at=now(), session=document.session,
                                        action="correction", cues=(cue.id,), before=(cue,),
                                        after=(changed,)))
    return document.model_copy(update={"cues": tuple(cues)}), history


def apply_corrections(work_dir: Path, pairs: Sequence[tuple[str, str]]) -> list[Applied]:
    """Apply `pairs` to every unreviewed cue of the forum's sessions (see the module's
    doc); the changes made, in session order."""
    applied: list[Applied] = []
    for folder in sorted(path for path in (work_dir / SESSIONS_FOLDER).glob("*")
                         if path.is_dir()):
        transcript = folder / f"{folder.name}.json"
        path = review_path(transcript)
        with review_lock(path):  # the editor may be saving an edit meanwhile
            document = load_review(path)
            if document is None and transcript.is_file():
                document = start_review(transcript, folder / f"{folder.name}.quality.json")
            corrected, history = (document, []) if document is None else _correct_document(
                document, pairs)
            if corrected is None or not history:
                continue
            save_review(path, corrected, history)
        applied += [Applied(folder.name, entry.cues[0], entry.before[0].text,
                            entry.after[0].text) for entry in history]
    return applied


def forum_corrections(config: ForumConfig) -> dict[str, str]:
    """The forum's corrections: its series file's (`corrections_file:`), then its own."""
    own = config.forum.corrections
    given = config.forum.corrections_file
    if given is None:
        return dict(own)
    return {**read_series(_series_path(config, given), config.path), **own}


def _series_path(config: ForumConfig, given: Path) -> Path:
    """Where `corrections_file:` leads: a regular file inside the config's folder, symlinks
    followed (the same rule as a material's path, `pipeline.archive.materials`)."""
    root = config.base_dir.resolve()
    real = (config.base_dir / given).resolve()
    if not real.is_relative_to(root):
        raise ConfigError(config.path, "corrections_file",
                          f"{given} leads outside {root}; put the file in the config's folder")
    try:
        mode = real.stat().st_mode
    except OSError as exc:
        raise ConfigError(config.path, "corrections_file",
                          f"cannot read {given} ({exc.strerror or exc}); create it with "
                          "`sort-archive corrections CONFIG --accept --series FILE`, or "
                          "remove the entry") from None
    if not stat.S_ISREG(mode):
        raise ConfigError(config.path, "corrections_file", f"{given} is not a regular file")
    return real


def read_series(path: Path, named_by: Path | None = None) -> dict[str, str]:
    """The `corrections:` of a series file; `ConfigError` saying what is wrong with it."""
    where = named_by or path
    field = "corrections_file" if named_by else None
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ConfigError(where, field, f"{path.name} is over {MAX_BYTES // 1000} kB; a "
                                            "file of corrections is a few kB")
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(where, field, f"cannot read {path.name} as YAML ({exc})") from None
    entries = raw.get("corrections") if isinstance(raw, dict) else None
    if not isinstance(entries, dict) or not all(
            isinstance(key, str) and key.strip() and isinstance(value, str) and key != value
            for key, value in entries.items()):
        raise ConfigError(where, field, f"{path.name} must hold `corrections:`, a mapping of "
                                        "misheard form to correct form, each different")
    return dict(entries)


def write_series(path: Path, entries: Mapping[str, str]) -> None:
    """Add `entries` to the series file at `path` (created if missing), atomically."""
    current = read_series(path) if path.exists() else {}
    body = yaml.safe_dump({"corrections": {**current, **entries}}, allow_unicode=True,
                          sort_keys=False, width=1000)
    _replace_text(path, SERIES_HEADER + body)


def add_to_config(path: Path, entries: Mapping[str, str]) -> None:
    """Add `entries` to the config's top-level `corrections:`, by lines of text (every
    comment and everything else kept). `UsageError` when the mapping is written in a way
    lines cannot be added to (flow style)."""
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines(keepends=True)
    heads = [number for number, line in enumerate(lines) if line.startswith("corrections:")]
    if heads and lines[heads[0]].split("#", 1)[0].strip() != "corrections:":
        raise UsageError(f"{path}: its corrections: are written on one line, which this "
                         "command does not rewrite", "add the entries by hand, or use "
                         "--series FILE")
    if not heads:
        lines += [] if text.endswith("\n") or not text else ["\n"]
        lines += ["corrections:\n"]
        end, indent = len(lines), "  "
    else:
        end = heads[0] + 1
        while end < len(lines) and (lines[end][:1] in (" ", "\t") or not lines[end].strip()):
            end += 1
        while end > heads[0] + 1 and not lines[end - 1].strip():
            end -= 1
        block = [line for line in lines[heads[0] + 1:end] if line.strip()]
        indent = block[0][:len(block[0]) - len(block[0].lstrip())] if block else "  "
    added = [f"{indent}{quoted(before)}: {quoted(after)}\n" for before, after in entries.items()]
    _replace_text(path, "".join([*lines[:end], *added, *lines[end:]]))


def name_series(config_path: Path, relative: Path) -> bool:
    """Add `corrections_file: relative` to the config unless it names it; True if added.
    `UsageError` when the config names another file."""
    text = config_path.read_text(encoding="utf-8-sig")
    named = [line for line in text.splitlines() if line.startswith("corrections_file:")]
    if named:
        value = yaml.safe_load(named[0].split(":", 1)[1]) or ""
        if Path(str(value)) != relative:
            raise UsageError(f"{config_path} already names the series file {value}",
                             f"give --series {value}, or change corrections_file: by hand")
        return False
    ending = "" if text.endswith("\n") or not text else "\n"
    _replace_text(config_path, f"{text}{ending}corrections_file: {quoted(str(relative))}\n")
    return True


def series_name(config_path: Path, series: Path) -> Path:
    """`series` as the config names it: relative to the config's folder, which it must be in."""
    root = config_path.parent.resolve()
    real = series.resolve()
    if not real.is_relative_to(root):
        raise UsageError(f"the series file {series} is not inside {root}, where the config "
                         "looks for it", "put it in the folder of the forum configs")
    return real.relative_to(root)


def quoted(text: str) -> str:
    """`text` as a YAML double-quoted scalar (JSON's string syntax is YAML's)."""
    return json.dumps(text, ensure_ascii=False)


def _replace_text(path: Path, text: str) -> None:
    """Write `path` whole or not at all (a temporary file beside it, then a rename)."""
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
