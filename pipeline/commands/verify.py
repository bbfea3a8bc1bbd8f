"""`sort-archive verify CONFIG [--deep]`: interface code over `pipeline.archive.verify`."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.commands.display import progress
from pipeline.errors import ExitCode, VerifyError

EPILOG = """example:
  sort-archive verify config/forums/2021-07-02-sort-1.yaml
  sort-archive verify config/forums/demo.yaml --deep     # read every object back

exit status: 0 the archive is whole; 12 objects are missing or altered (one line each on
stdout); 6 the storage cannot be reached or read
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


def cmd_verify(args: argparse.Namespace) -> int:
    from pipeline.archive.verify import verify_archive
    from pipeline.config.loader import load_config
    from pipeline.storage.forum import resolved_storage

    config = load_config(args.config, materials_root=args.settings.materials_root)
    report = verify_archive(resolved_storage(config), config.forum.id, progress(args),
                            deep=args.deep)
    for problem in report.problems:
        print(problem.line())
    how = "read back" if report.deep else "checked"
    if not report.whole:
        raise VerifyError(f"{report.forum_id}: {len(report.problems)} problem(s) in "
                          f"{report.where} ({report.listed} object(s) listed)",
                          "run the pipeline again to upload what is missing or altered "
                          "(`sort-archive run CONFIG --only publish --force`)")
    print(f"{report.forum_id}: whole: {report.listed} object(s) {how} in {report.where}")
    return ExitCode.OK


HANDLERS = {"verify": cmd_verify}
