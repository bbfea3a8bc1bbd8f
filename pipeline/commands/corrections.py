"""`sort-archive corrections CONFIG [--accept [--series FILE]]`: interface code over
`pipeline.review.corrections` (parse, call, print; errors go up to the CLI's one handler)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.errors import ExitCode, UsageError

EPILOG = """The reviews of the forum's sessions (`sort-archive review CONFIG`) are read from its
work folder: a replacement a reviewer made in two or more cues is suggested as a
`corrections:` entry.

example:
  sort-archive corrections config/forums/demo.yaml            # list the suggestions
  sort-archive corrections config/forums/demo.yaml --accept   # into the config's corrections:
  sort-archive corrections config/forums/demo.yaml --accept \
      --series config/forums/sort.corrections.yaml      # a file the series' configs name

Accepted corrections are applied at once to every unreviewed cue of the forum's sessions
(flagged, for the reviewer to confirm). They are part of what each transcript is made
with: the next `run` transcribes the forum's sessions again, keeping every reviewed cue.
"""


def add_parser(commands: argparse._SubParsersAction,  # type: ignore[type-arg]
               common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "corrections", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG, help="suggest corrections: entries from what reviewers corrected",
        description="List the replacements reviewers made more than once, and accept them "
                    "as the forum's corrections, or as a file of corrections the series "
                    "shares.")
    parser.add_argument("config", type=Path, help="forum config file (.yaml)")
    parser.add_argument("--accept", action="store_true",
                        help="add every suggestion to the config's corrections: (its comments "
                             "kept) and apply them to the sessions' unreviewed cues")
    parser.add_argument("--series", type=Path, metavar="FILE",
                        help="with --accept: add them to this YAML file instead, inside the "
                             "config's folder, and name it in the config as corrections_file:")
    parser.add_argument("--at-least", type=int, default=2, metavar="N",
                        help="suggest a replacement made in at least N cues (default 2)")
    parser.add_argument("--work-dir", type=Path,
                        help="work folder root (default $SORT_ARCHIVE_WORK_DIR or ./work)")


def cmd_corrections(args: argparse.Namespace) -> int:
    from pipeline.config.loader import load_config
    from pipeline.review import corrections

    if args.series is not None and not args.accept:
        raise UsageError("--series names where accepted corrections go", "add --accept")
    if args.at_least < 2:
        raise UsageError("--at-least must be 2 or more: one cue is one reviewer's choice")
    config = load_config(args.config, materials_root=args.settings.materials_root)
    if args.series is not None:
        corrections.series_name(config.path, args.series)  # inside the config's folder
    work_dir = (args.work_dir or args.settings.work_root) / config.forum.id
    found = corrections.suggestions(work_dir, corrections.forum_corrections(config),
                                    at_least=args.at_least)
    print(f"{config.forum.id}: {len(found)} suggestion(s) from the reviews in {work_dir}")
    for suggestion in found:
        print(f"  {corrections.quoted(suggestion.before)} -> "
              f"{corrections.quoted(suggestion.after)}  ({len(suggestion.cues)} cues: "
              f"{', '.join(suggestion.cues)})")
    if not found or not args.accept:
        if found:
            print("  accept them with --accept (the config's corrections:) or --accept "
                  "--series FILE (a file the series shares)")
        return ExitCode.OK
    entries = {s.before: s.after for s in found}
    print(f"  added to {_accept(args, config.path, entries)}")
    applied = corrections.apply_corrections(work_dir, list(entries.items()))
    sessions = sorted({change.session for change in applied})
    print(f"  applied to {len(applied)} unreviewed cue(s) in {len(sessions)} session(s), "
          "flagged for review" + (f": {', '.join(sessions)}" if sessions else ""))
    print("  the next run transcribes the forum again with them; reviewed cues are kept")
    return ExitCode.OK


def _accept(args: argparse.Namespace, config_path: Path, entries: dict[str, str]) -> str:
    """Write `entries` where --accept/--series say; the config must still load after, or
    it is put back as it was. Where they went, for people."""
    from pipeline.config.loader import load_config
    from pipeline.review import corrections

    original = config_path.read_text(encoding="utf-8-sig")
    try:
        if args.series is None:
            corrections.add_to_config(config_path, entries)
            where = f"{config_path} (corrections:)"
        else:
            relative = corrections.series_name(config_path, args.series)
            corrections.write_series(args.series, entries)
            corrections.name_series(config_path, relative)
            where = f"{args.series} (named in {config_path.name} as corrections_file:)"
        corrections.forum_corrections(load_config(config_path,
                                                  materials_root=args.settings.materials_root))
    except BaseException:
        config_path.write_text(original, encoding="utf-8")
        raise
    return where


HANDLERS = {"corrections": cmd_corrections}
