"""`sort-archive verify CONFIG [--deep]`: interface code over `pipeline.archive.verify`."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.commands.display import progress
from pipeline.errors import ExitCode, VerifyError

EPILOG = """example:
  sort-archive verify config/forums/2021-07-02-sort-1.yaml
  sort-archive verify config/forums/demo.yaml --deep     # read every object back

Where the forum's work folder is on this machine (--work-dir, default
$SORT_ARCHIVE_WORK_DIR or ./work), its review files (the staff's corrected transcripts,
which the next run publishes) are read too: a damaged one is a problem, one line each.

exit status: 0 the archive is whole; 12 objects are missing or altered, or a review file
is damaged (one line each on stdout); 6 the storage cannot be reached or read
"""


def add_parser(commands: argparse._SubParsersAction,  # type: ignore[type-arg]
               common: argparse.ArgumentParser) -> None:
    verify = commands.add_parser(
        "verify", parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG, help="check that a forum's archive in storage is whole",
        description="Read the forum's manifest (forum.json) from its storage and check "
                    "every object it lists: present, the right size and the right sha256.")
    verify.add_argument("config", type=Path, help="forum config file (.yaml)")
    verify.add_argument("--deep", action="store_true",
                        help="read every object back and hash it, instead of trusting the "
                             "sha256 stored with it (a local folder is always read)")
    verify.add_argument("--work-dir", type=Path,
                        help="work folder root whose review files are checked too (default "
                             "$SORT_ARCHIVE_WORK_DIR or ./work; skipped when the forum has "
                             "no folder there)")


def cmd_verify(args: argparse.Namespace) -> int:
    from pipeline.archive.verify import verify_archive
    from pipeline.config.loader import load_config
    from pipeline.review.reviews import damaged_reviews
    from pipeline.storage.forum import resolved_storage

    config = load_config(args.config, materials_root=args.settings.materials_root)
    report = verify_archive(resolved_storage(config), config.forum.id, progress(args),
                            deep=args.deep)
    for problem in report.problems:
        print(problem.line())
    damaged = damaged_reviews((args.work_dir or args.settings.work_root) / config.forum.id)
    for line in damaged:
        print(f"review: {line}")
    how = "read back" if report.deep else "checked"
    if not report.whole:
        raise VerifyError(f"{report.forum_id}: {len(report.problems)} problem(s) in "
                          f"{report.where} ({report.listed} object(s) listed)",
                          "run the pipeline again to upload what is missing or altered "
                          "(`sort-archive run CONFIG --only publish --force`)")
    if damaged:
        raise VerifyError(f"{report.forum_id}: {len(damaged)} damaged review file(s) in the "
                          "work folder", "restore each from its history or a backup; the "
                          "next run fails those sessions until then")
    print(f"{report.forum_id}: whole: {report.listed} object(s) {how} in {report.where}")
    return ExitCode.OK


HANDLERS = {"verify": cmd_verify}
