"""A reviewer's changes to a session's reviewed transcript, as pure functions.

Each operation takes a `ReviewDocument` and returns an `Edited`: the next document, the
history entries that say what changed (saved with it by `document.save_review`), and
the cues as they are now. Nothing here reads or writes a file; the editor's server
(`pipeline.web.review`) loads, applies and saves under the review's lock.

- **Versions.** Every operation names the version of each cue it was made on; a cue
  saved meanwhile (another tab) raises `ReviewConflict`, and nothing changes. A changed
  cue's version goes up by one; a cue an operation creates (a split's second half) and
  a merge's survivor get one more than the highest version in the document. The
  highest version never goes down (a merge keeps the higher of its two), so a cue id
  that comes back (a split after a merge may reuse the number of the cue merged away)
  never comes back with a version a stale tab could hold.
- **Times** are checked when they change: start before end, inside the clip, and not
  over the previous or the next cue (touching is fine). A bad edit raises `BadEdit`,
  whose message is in Korean: the editor shows it as it is.
- **Text** is NFC (a macOS keyboard may send decomposed Hangul), without control
  characters, on one line with single spaces. An empty text is allowed: the cue is then
  left out of the published files (`ReviewDocument.segments`), which is how a reviewer
  removes a line Whisper invented over music.
- **Word timings.** A cue whose text or times change gets its words spread evenly over
  its new span (`spread_words`), marked `words_provisional`; the editor's aligner then
  times them on the clip's audio (`pipeline.web.review_align`) and puts them back with
  `with_aligned_words`, which changes no version. Where there is no audio or no model,
  the spread words stay, still marked provisional. A split at a word boundary of an
  unchanged cue keeps Whisper's own timings on both halves and cuts between the two
  words; a merge keeps both cues' words.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pipeline.errors import PipelineError
from pipeline.results import Word
from pipeline.review.document import (
    HistoryEntry,
    ReviewConflict,
    ReviewCue,
    ReviewDocument,
    now,
)

MAX_TEXT = 2000  # characters in one cue: a subtitle is a line or two, never a page
TOLERANCE = 0.0005  # seconds: times are kept to the millisecond
Action = Literal["edit", "split", "merge", "review"]


class BadEdit(PipelineError):
    """An edit that cannot be made as asked (its message is in Korean, for the editor)."""


class UnknownCue(PipelineError):
    """No cue of this id in the session (merged away, or never there)."""


@dataclass(frozen=True)
class Edited:
    """The result of one operation."""

    document: ReviewDocument
    history: tuple[HistoryEntry, ...]
    changed: tuple[ReviewCue, ...]  # the cues it changed or made, as they are now
    removed: tuple[str, ...] = ()  # ids of the cues it removed (a merge's second cue)

    @property
    def to_align(self) -> tuple[ReviewCue, ...]:
        """The changed cues whose words wait for the aligner."""
        return tuple(cue for cue in self.changed if cue.words_provisional and cue.text)


def clean_text(text: str) -> str:
    """`text` as a cue holds it: NFC, no control characters, one line, single spaces."""
    text = unicodedata.normalize("NFC", text)
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
                   for ch in text if unicodedata.category(ch) not in ("Cf", "Cs") or ch == "\u200d")
    cleaned = " ".join(kept.split())
    if len(cleaned) > MAX_TEXT:
        raise BadEdit(f"자막 한 줄은 {MAX_TEXT}자를 넘을 수 없습니다 ({len(cleaned)}자)",
                      "split the cue, or shorten its text")
    return cleaned


def find(document: ReviewDocument, cue_id: str) -> tuple[int, ReviewCue]:
    """The cue `cue_id` and its place; `UnknownCue` when it is not there."""
    for index, cue in enumerate(document.cues):
        if cue.id == cue_id:
            return index, cue
    raise UnknownCue(f"cue {cue_id} is not in session {document.session}",
                     "reload the session: the cue was merged or removed meanwhile")


def current(document: ReviewDocument, cue_id: str, version: int) -> tuple[int, ReviewCue]:
    """The cue `cue_id` if it is still at `version`; else `ReviewConflict`."""
    index, cue = find(document, cue_id)
    if cue.version != version:
        raise ReviewConflict(
            f"cue {cue_id} of session {document.session} is at version {cue.version}, "
            f"not {version}: it was saved meanwhile (another tab?)",
            "reload the session, then make the change again on the saved text")
    return index, cue


def top_version(document: ReviewDocument) -> int:
    return max((cue.version for cue in document.cues), default=0)


def spread_words(text: str, start: float, end: float) -> tuple[Word, ...]:
    """`text`'s words over start..end in proportion to their length (a stand-in until
    the aligner times them); each word starts with its space, as Whisper's do."""
    tokens = text.split()
    total = sum(len(token) for token in tokens)
    words, cursor = [], start
    for token in tokens:
        share = (end - start) * len(token) / total
        words.append(Word(start=round(cursor, 3), end=round(min(cursor + share, end), 3),
                          word=f" {token}", probability=1.0))
        cursor += share
    return tuple(words)


def _retimed(cue: ReviewCue, text: str, start: float, end: float, version: int
             ) -> ReviewCue:
    """`cue` with this text and span, reviewed; its words spread anew if either changed."""
    update: dict[str, object] = {"text": text, "start": start, "end": end,
                                 "version": version, "reviewed": True}
    if (text, start, end) != (cue.text, cue.start, cue.end):
        update |= {"words": spread_words(text, start, end), "words_provisional": True}
    return cue.model_copy(update=update)


def _check_times(document: ReviewDocument, index: int, start: float, end: float,
                 duration: float | None) -> None:
    cue = document.cues[index]
    if not end > start:
        raise BadEdit(f"끝({end:.3f}초)이 시작({start:.3f}초)보다 뒤여야 합니다",
                      "give an end after the start")
    if start != cue.start:
        previous = document.cues[index - 1] if index > 0 else None
        if start < 0:
            raise BadEdit("시작은 0초보다 앞일 수 없습니다", "give a start of 0 or more")
        if previous is not None and start < previous.end - TOLERANCE:
            raise BadEdit(f"시작({start:.3f}초)이 앞 자막의 끝({previous.end:.3f}초)보다 "
                          "앞입니다", "move the start after the previous cue, or edit that")
    if end != cue.end:
        following = document.cues[index + 1] if index + 1 < len(document.cues) else None
        if duration is not None and end > duration + TOLERANCE:
            raise BadEdit(f"끝({end:.3f}초)이 영상의 길이({duration:.3f}초)를 넘습니다",
                          "give an end inside the clip")
        if following is not None and end > following.start + TOLERANCE:
            raise BadEdit(f"끝({end:.3f}초)이 다음 자막의 시작({following.start:.3f}초)보다 "
                          "뒤입니다", "move the end before the next cue, or edit that")


def _replace(document: ReviewDocument, index: int, cues: Sequence[ReviewCue], count: int = 1
             ) -> ReviewDocument:
    """`document` with `count` cues at `index` replaced by `cues`."""
    new = (*document.cues[:index], *cues, *document.cues[index + count:])
    return document.model_copy(update={"cues": new})


def _entry(document: ReviewDocument, action: Action, before: Sequence[ReviewCue],
           after: Sequence[ReviewCue]) -> HistoryEntry:
    ids = dict.fromkeys(cue.id for cue in (*before, *after))
    return HistoryEntry(at=now(), session=document.session, action=action,
                        cues=tuple(ids), before=tuple(before), after=tuple(after))


def edit_cue(document: ReviewDocument, cue_id: str, version: int, *, text: str | None = None,
             start: float | None = None, end: float | None = None,
             duration: float | None = None) -> Edited:
    """Change a cue's text and/or times (`None`: as it is), made on `version`; the cue is
    then reviewed. `duration` is the clip's length, the latest an end may be."""
    index, cue = current(document, cue_id, version)
    new_text = cue.text if text is None else clean_text(text)
    new_start = cue.start if start is None else round(start, 3)
    new_end = cue.end if end is None else round(end, 3)
    _check_times(document, index, new_start, new_end, duration)
    after = _retimed(cue, new_text, new_start, new_end, cue.version + 1)
    return Edited(_replace(document, index, [after]), (_entry(document, "edit", [cue], [after]),),
                  (after,))


def mark_reviewed(document: ReviewDocument, cue_id: str, version: int) -> Edited:
    """The cue, unchanged, marked reviewed (a person heard it and found it right)."""
    index, cue = current(document, cue_id, version)
    after = cue.model_copy(update={"reviewed": True, "version": cue.version + 1})
    return Edited(_replace(document, index, [after]),
                  (_entry(document, "review", [cue], [after]),), (after,))


def _word_boundary(cue: ReviewCue, first: str) -> int | None:
    """How many of the cue's timed words make up exactly `first`; None when `first` ends
    inside a word, or the words are not Whisper's."""
    if cue.words_provisional or not cue.words:
        return None
    joined = ""
    for count, word in enumerate(cue.words[:-1], start=1):
        joined += word.word
        if " ".join(joined.split()) == first:
            return count
    return None


def split_cue(document: ReviewDocument, cue_id: str, version: int, offset: int, *,
              text: str | None = None) -> Edited:
    """Split a cue at character `offset` of `text` (the cue's text as the reviewer has it
    now, maybe edited; `None`: the saved text). The first half keeps the id; the second
    gets `next_id()`. Both are reviewed."""
    index, cue = current(document, cue_id, version)
    raw = cue.text if text is None else unicodedata.normalize("NFC", text)
    first, second = clean_text(raw[:max(offset, 0)]), clean_text(raw[max(offset, 0):])
    if not first or not second:
        raise BadEdit("나눌 곳의 앞과 뒤에 모두 글자가 있어야 합니다",
                      "put the caret between two words of the cue")
    if cue.end - cue.start < 0.002:
        raise BadEdit("이 자막은 너무 짧아 나눌 수 없습니다", "lengthen the cue first")
    words_first = _word_boundary(cue, first) if clean_text(raw) == cue.text else None
    newest = top_version(document) + 1
    if words_first is not None:
        left, right = cue.words[:words_first], cue.words[words_first:]
        at = round((left[-1].end + right[0].start) / 2, 3)
        at = min(max(at, cue.start + 0.001), cue.end - 0.001)
        head = cue.model_copy(update={"text": first, "end": at, "words": left})
        tail = cue.model_copy(update={"id": document.next_id(), "text": second, "start": at,
                                      "words": right})
    else:
        letters = len(first.replace(" ", "")) + len(second.replace(" ", ""))
        at = round(cue.start + (cue.end - cue.start) * len(first.replace(" ", "")) / letters, 3)
        at = min(max(at, cue.start + 0.001), cue.end - 0.001)
        head = cue.model_copy(update={"text": first, "end": at,
                                      "words": spread_words(first, cue.start, at),
                                      "words_provisional": True})
        tail = cue.model_copy(update={"id": document.next_id(), "text": second, "start": at,
                                      "words": spread_words(second, at, cue.end),
                                      "words_provisional": True})
    same_asr = cue.asr_text == cue.text and clean_text(raw) == cue.text
    head = head.model_copy(update={"version": newest, "reviewed": True,
                                   "asr_text": first if same_asr else cue.asr_text})
    tail = tail.model_copy(update={"version": newest, "reviewed": True,
                                   "asr_text": second if same_asr else None})
    return Edited(_replace(document, index, [head, tail]),
                  (_entry(document, "split", [cue], [head, tail]),), (head, tail))


def merge_next(document: ReviewDocument, cue_id: str, version: int, next_version: int
               ) -> Edited:
    """Join a cue with the one after it (each named with the version it was seen at):
    one cue over both spans, with both texts and words; it keeps the first id."""
    index, cue = current(document, cue_id, version)
    if index + 1 >= len(document.cues):
        raise BadEdit("마지막 자막은 다음 자막과 합칠 수 없습니다", "merge the cue before it")
    following = document.cues[index + 1]
    current(document, following.id, next_version)
    text = clean_text(f"{cue.text} {following.text}")
    words = (*cue.words, *following.words)
    provisional = cue.words_provisional or following.words_provisional
    if text and ("".join(w.word for w in words).split() != text.split()):
        words, provisional = spread_words(text, cue.start, following.end), True
    asr = None if cue.asr_text is None and following.asr_text is None else " ".join(
        part for part in (cue.asr_text, following.asr_text) if part)
    merged = cue.model_copy(update={
        "text": text, "end": following.end, "words": words, "words_provisional": provisional,
        "version": top_version(document) + 1, "reviewed": True, "asr_text": asr,
        "flagged": cue.flagged or following.flagged})
    return Edited(_replace(document, index, [merged], count=2),
                  (_entry(document, "merge", [cue, following], [merged]),), (merged,),
                  removed=(following.id,))


def with_aligned_words(document: ReviewDocument, cue: ReviewCue, words: Sequence[Word]
                       ) -> ReviewDocument | None:
    """`document` with the aligner's `words` for `cue` (as it was when they were asked
    for), or None when the cue has changed since (a newer alignment is coming then).
    No version changes: the words follow from the text, they are not an edit."""
    try:
        index, now_cue = find(document, cue.id)
    except UnknownCue:
        return None
    if (now_cue.version, now_cue.text, now_cue.start, now_cue.end) != (
            cue.version, cue.text, cue.start, cue.end):
        return None
    updated = now_cue.model_copy(update={"words": tuple(words), "words_provisional": False})
    return _replace(document, index, [updated])
