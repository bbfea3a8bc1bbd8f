"""Benchmark: how well the plan's voice signature tells a talk's speaker from somebody else.

Workload: the twelve corpus talks (their first 14 fragments each). For each talk the
reference is its first 15 s of speech; the probes are the last 2, 3 or 5 s of every talk
(the stretch a closing line comes from) and three lines of espeak-ng's Korean voice (the
test material's MC). The signature (pipeline/boundaries/voice.py) is compared on the scale
of all twelve talks together, as the plan compares it on one recording's. The baseline is
chance: a threshold that tells nothing errs on half the pairs.

It prints, per probe length: the median distance of the same speaker and of another, the
espeak voice's nearest distance to any talk, and the threshold with the lowest balanced
error (the mean of the two error rates), with that error.

Usage: .venv/bin/python scripts/bench/voice.py
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
from _common import bench_parser, ffmpeg_mono, machine, print_table, speech_dir

from pipeline.boundaries.voice import RATE, Voices, signature
from pipeline.demo.corpus import talk_fragments

MC_LINES = ("다음은 김정현 님의 발표가 있겠습니다",
            "이상으로 오늘 포럼을 모두 마치겠습니다. 감사합니다", "박수로 맞이해 주시기 바랍니다")


def talks() -> list[np.ndarray]:
    folders = sorted({p.parent for p in speech_dir().glob("data/*/*/*.trans.txt")})
    return [np.concatenate([ffmpeg_mono(["-i", str(f.path)], rate=RATE)
                            for f in talk_fragments(folder)[:14]]) for folder in folders]


def espeak() -> list[np.ndarray]:
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(MC_LINES):
            wav = Path(tmp) / f"mc{i}.wav"
            subprocess.run(["espeak-ng", "-v", "ko", "-w", str(wav), text], check=True)
            out.append(ffmpeg_mono(["-i", str(wav)], rate=RATE))
    return out


def balanced_error(same: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """(error, threshold) of the threshold with the lowest mean of the two error rates."""
    return min(((float(np.mean(same > t) + np.mean(other <= t)) / 2, float(t))
                for t in np.linspace(0, 4, 401)), key=lambda pair: pair[0])


def main() -> None:
    bench_parser(__doc__).parse_args()
    audio, mc = talks(), espeak()
    whole = np.concatenate(audio)  # stretches that straddle two talks are few
    voices = Voices.of_recording(lambda a, n: whole[round(a * RATE):round((a + n) * RATE)],
                                 [(0.0, len(whole) / RATE)])
    spread = np.std(np.array([signature(whole[i:i + 2 * RATE])
                              for i in range(0, len(whole) - 2 * RATE, 2 * RATE)]), axis=0)
    print("SCALE (the talks' spread, 2 s stretches):",
          "(" + ", ".join(f"{x:.3f}" for x in spread) + ")")
    rows = []
    for probe in (2, 3, 5):
        same, other, synthetic = [], [], []
        for i, talk in enumerate(audio):
            ref = signature(talk[:15 * RATE])
            for j, candidate in enumerate(audio):
                d = voices.distance(ref, signature(candidate[-probe * RATE:]))
                (same if i == j else other).append(d)
            synthetic += [voices.distance(ref, signature(line[:probe * RATE])) for line in mc]
        error, threshold = balanced_error(np.array(same), np.array(other))
        rows.append((f"{probe} s", f"{np.median(same):.2f}", f"{np.median(other):.2f}",
                     f"{min(synthetic):.2f}", f"{threshold:.2f}", f"{error:.1%}",
                     f"{error / 0.5:.2f}"))
    print(machine())
    print_table(("probe", "same speaker (median)", "other talk (median)",
                 "espeak (nearest)", "best threshold", "balanced error", "vs chance"), rows)


if __name__ == "__main__":
    main()
