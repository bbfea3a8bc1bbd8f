"""Build a stream-like forum recording (waiting screen, MC lines, talks of real Korean
speech, applause, a break with music, an end card; open-GOP H.264 and AAC 44.1 kHz) with
its ground truth and forum config, from the speech corpus.

    python scripts/make_stream_forum.py --out DIR [--long] [--idr every-10s|start-only]
        [--speech-dir DIR]

A build whose parameters match what DIR already holds is reused, not redone.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runs from a checkout, with or without `pip install -e .`

from pipeline.demo import (  # noqa: E402
    IDR_CHOICES,
    LONG_STREAM,
    SHORT_STREAM,
    build_stream_forum,
)
from pipeline.errors import PipelineError  # noqa: E402
from pipeline.progress import LogProgress  # noqa: E402
from pipeline.settings import Settings  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--long", action="store_true",
                        help="8 talks, about 22 minutes, 1280x720 (default: 3 talks, about "
                        "2.5 minutes, 320x180)")
    parser.add_argument("--idr", choices=IDR_CHOICES, default="every-10s",
                        help="IDR frames every 10 s (default) or only the first frame")
    parser.add_argument("--speech-dir", type=Path, default=None,
                        help="the Korean speech corpus (default: $SORT_ARCHIVE_SPEECH_DIR "
                        "or ../shared/korean-speech)")
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(message)s")
    logging.getLogger("pipeline").setLevel(logging.INFO)
    began = time.monotonic()
    try:
        forum = build_stream_forum(args.out, LONG_STREAM if args.long else SHORT_STREAM,
                                   idr=args.idr, speech_dir=args.speech_dir
                                   or Settings.from_environ().speech_dir,
                                   progress=LogProgress())
    except PipelineError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code or 1
    print(f"recording:    {forum.video_path}")
    print(f"ground truth: {forum.truth_path}")
    print(f"config:       {forum.config_path}")
    print(f"duration:     {forum.truth.duration:.2f} s, {len(forum.truth.talks)} talks")
    print(f"built in {time.monotonic() - began:.1f} s" if forum.built
          else "already up to date (delete build.json to force a rebuild)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
