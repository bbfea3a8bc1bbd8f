"""Build the demo forum (recording, PDF, reference text, config) from the speech corpus.

    python scripts/make_demo_forum.py [--out build/demo] [--small] [--speech-dir DIR]
    python scripts/make_demo_forum.py --write-config   # regenerate config/forums/demo.yaml
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runs from a checkout, with or without `pip install -e .`

from pipeline.demo import (  # noqa: E402
    FULL_LAYOUT,
    SMALL_LAYOUT,
    build_demo_forum,
    find_speech_dir,
    shipped_config_text,
)
from pipeline.errors import PipelineError  # noqa: E402
from pipeline.progress import LogProgress  # noqa: E402
from pipeline.settings import Settings  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "demo",
                        help="output folder (default: build/demo in the repository)")
    parser.add_argument("--small", action="store_true",
                        help="3 short sessions (54 s, 640x360) instead of 4 (3 min, 1280x720)")
    parser.add_argument("--speech-dir", type=Path, default=None,
                        help="the Korean speech corpus (default: $SORT_ARCHIVE_SPEECH_DIR "
                        "or ../shared/korean-speech)")
    parser.add_argument("--write-config", action="store_true",
                        help="only rewrite config/forums/demo.yaml from pipeline/demo.py")
    args = parser.parse_args(argv)

    if args.write_config:
        path = ROOT / "config" / "forums" / "demo.yaml"
        path.write_text(shipped_config_text(), encoding="utf-8")
        print(f"wrote {path}")
        return 0
    logging.basicConfig(format="%(message)s")
    logging.getLogger("pipeline").setLevel(logging.INFO)  # our steps, not fontTools' chatter
    try:
        speech_dir = args.speech_dir or find_speech_dir(Settings.from_environ().speech_dir)
        demo = build_demo_forum(args.out, SMALL_LAYOUT if args.small else FULL_LAYOUT,
                                speech_dir=speech_dir, progress=LogProgress())
    except PipelineError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code or 1
    print(f"recording:  {demo.master_path}")
    print(f"config:     {demo.config_path}")
    print(f"materials:  {demo.material_path}")
    print(f"references: {demo.references_path}")
    print("built" if demo.built else "already up to date (delete build.json to force a rebuild)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
