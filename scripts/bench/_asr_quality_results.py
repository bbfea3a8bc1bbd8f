"""asr_quality.py's results: one JSON line per talk and setting in
build/asr-quality/results.jsonl, and a setting's figures pooled over talks."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from _asr_quality_audio import OUT

from pipeline.asr.cer import Score, total

RESULTS = OUT / "results.jsonl"


def load_results() -> list[dict[str, Any]]:
    if not RESULTS.exists():
        return []
    rows = []
    for line in RESULTS.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut short by an interrupted run
            continue
    return rows


def append_result(row: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as out:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


@dataclass
class Pooled:
    score: Score
    audio_s: float
    decode_s: float
    talks: int

    @property
    def rtf(self) -> float:
        return self.audio_s / self.decode_s if self.decode_s else 0.0


def pooled(rows: Iterable[dict[str, Any]], audio: str, talk_ids: list[str], key: str
           ) -> Pooled | None:
    """The pooled figures of `key` on exactly these talks, or None if any is missing."""
    latest = {r["talk"]: r for r in rows if r["audio"] == audio and r["setting"] == key}
    if any(t not in latest for t in talk_ids):
        return None
    chosen = [latest[t] for t in talk_ids]
    return Pooled(total(Score(r["errors"], r["reference_chars"]) for r in chosen),
                  sum(r["audio_s"] for r in chosen), sum(r["decode_s"] for r in chosen),
                  len(chosen))
