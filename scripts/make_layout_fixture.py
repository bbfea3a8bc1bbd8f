"""Build tests/data/layout-v1.tar.gz: a work folder, archive and catalogue made by an
earlier layout of the code, for tests/test_rerun_compat.py.

The files keep absolute paths (the work manifest records them), so the fixture is built
in, and the test unpacks it to, the fixed folder FIXTURE_ROOT. Its media are synthetic
(a counter video and espeak-ng speech), never the licensed speech corpus.

Run with the code whose output the fixture should freeze:
    .venv/bin/python scripts/make_layout_fixture.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

FIXTURE_ROOT = Path("/tmp/sort-archive-layout-fixture")
OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "layout-v1.tar.gz"
LINES = ["안녕하십니까. 사회적 가치 포럼을 시작하겠습니다.",
         "공공기관의 혁신과 사회적 가치에 대해 말씀드리겠습니다. 감사합니다."]
CONFIG = """id: layout-forum
title: "배치 시험 포럼"
date: 2021-07-02
organiser: "한국사회적기업진흥원"
source:
  file: "source.mp4"
sessions:
  - id: opening
    title: "개회"
    start: 0
    end: 6
  - id: keynote
    title: "공공기관 혁신과 사회적 가치"
    speakers:
      - name: "김정현"
    start: 6
    end: 12
materials:
  - path: "자료집.txt"
    kind: proceedings
    title: "자료집"
storage:
  local: "archive"
"""


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def build(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for number, line in enumerate(LINES):
        subprocess.run(["espeak-ng", "-v", "ko", "-s", "140", "-w",
                        str(root / f"speech{number}.wav"), line], check=True)
    ffmpeg("-i", str(root / "speech0.wav"), "-i", str(root / "speech1.wav"), "-filter_complex",
           "[0]apad=whole_dur=6[a];[1]apad=whole_dur=6[b];[a][b]concat=n=2:v=0:a=1,"
           "aresample=44100[s]", "-map", "[s]", str(root / "speech.wav"))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=96x64:r=25:d=12", "-i", str(root / "speech.wav"),
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "32", "-g", "50",
           "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-ac", "2", "-t", "12", str(root / "source.mp4"))
    for name in ("speech0.wav", "speech1.wav", "speech.wav"):
        (root / name).unlink()
    (root / "자료집.txt").write_text("사회적가치 성과 측정 및 지표\n", encoding="utf-8")
    (root / "forum.yaml").write_text(CONFIG, encoding="utf-8")
    # fetch fingerprints a local source by size and mtime in ns; tar keeps whole seconds.
    os.utime(root / "source.mp4", (1625184000, 1625184000))


def run(root: Path) -> None:
    env = {"SORT_ARCHIVE_WORK_DIR": str(root / "work"),
           "SORT_ARCHIVE_CATALOGUE": str(root / "catalogue.sqlite"), "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-m", "pipeline", "run", str(root / "forum.yaml"),
                    "--quiet"], check=True, env={**os.environ, **env})


def main() -> None:
    build(FIXTURE_ROOT)
    run(FIXTURE_ROOT)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(OUT, "w:gz") as tar:
        tar.add(FIXTURE_ROOT, arcname=FIXTURE_ROOT.name)
    print(f"{OUT}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
