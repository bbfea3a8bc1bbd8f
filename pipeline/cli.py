"""`sort-archive`: a thin adapter from the command line to the runner.

It parses arguments, picks a progress display, calls the core, prints the
summary, and maps `PipelineError`s to one line on stderr and an exit code
(see `pipeline.errors.ExitCode`). Tracebacks appear only with `-v`.
"""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import __version__, faults
from pipeline.asr.engines import DEVICE_HELP, ENGINE_NAMES, engine_help
from pipeline.errors import ExitCode, PipelineError
from pipeline.settings import Settings

EPILOG_RUN = """example:
  sort-archive run config/forums/2021-07-02-sort-1.yaml
  sort-archive run config/forums/demo.yaml --only transcribe --force
  sort-archive run config/forums/*.yaml --executor ray --ray-address 10.0.0.5:6379
"""
EPILOG_VALIDATE = "example:\n  sort-archive validate config/forums/2021-07-02-sort-1.yaml\n"
EPILOG_DEMO = "example:\n  sort-archive demo            # builds build/demo and archives it\n"


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: otherwise a sub-command's default False would undo `sort-archive -v run ...`.
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress bars; print only warnings, errors and the summary")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="detailed log, and a traceback when something fails")

    parser = argparse.ArgumentParser(
        prog="sort-archive", parents=[common],
        description="Archive SORT forum recordings: fetch, plan, split, transcribe, publish, "
                    "index.",
        epilog="exit codes: 0 ok, 1 internal error, 2 config/usage, 3 source, 4 ffmpeg, "
               "5 Whisper, 6 storage, 7 catalogue, 8 some sessions failed, 9 disk full, "
               "10 forum busy, 11 executor (Ray) or shared storage, 12 archive not whole "
               "(verify), 130 interrupted",
    )
    parser.add_argument("--version", action="version", version=f"sort-archive {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_run(commands, common)
    _add_plan_and_validate(commands, common)
    from pipeline.commands.asr import add_parsers as add_asr
    from pipeline.commands.corrections import add_parser as add_corrections
    from pipeline.commands.review import add_parser as add_review
    from pipeline.commands.search import add_parsers as add_search
    from pipeline.commands.serve import add_parser as add_serve
    from pipeline.commands.verify import add_parser as add_verify

    add_search(commands, common)  # search, index
    _add_demo(commands, common)
    add_asr(commands, common)  # transcribe, models
    add_verify(commands, common)
    add_serve(commands, common)
    add_corrections(commands, common)
    add_review(commands, common)
    return parser


FORMAT = argparse.RawDescriptionHelpFormatter
if TYPE_CHECKING:
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]


def _add_run(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    run = commands.add_parser("run", parents=[common], formatter_class=FORMAT,
                              epilog=EPILOG_RUN,
                              help="run the whole pipeline for one forum config",
                              description="Fetch, split, transcribe, publish and index a forum. "
                                          "Safe to re-run: finished work is skipped.")
    run.add_argument("config", type=Path, nargs="+",
                     help="forum config file(s) (.yaml); several run one after another, or "
                          "side by side with --executor ray")
    _add_run_options(run)
    run.add_argument("--executor", choices=("serial", "ray"), default="serial",
                     help="where per-session work runs: here, one session at a time "
                          "(default), or on a Ray cluster (needs sort-archive[ray])")
    run.add_argument("--ray-address", metavar="ADDRESS",
                     help="join this Ray cluster (e.g. 10.0.0.5:6379) instead of starting a "
                          "local one; the work folder must be on storage every node mounts")
    run.add_argument("--wait", action="store_true",
                     help="if another run is processing the same forum, wait for it instead "
                          "of stopping")
    run.add_argument("--from", dest="from_stage", metavar="STAGE",
                     help="start at this stage (fetch, plan, split, transcribe, publish, index)")
    run.add_argument("--only", dest="only_stage", metavar="STAGE", help="run just this stage")
    run.add_argument("--force", action="store_true",
                     help="redo the selected stages even when their outputs are up to date")
    run.add_argument("--dry-run", action="store_true",
                     help="show what each stage would do, change nothing")
    run.add_argument("--discard-reviews", action="store_true",
                     help="drop the staff's reviewed transcripts: each review file is moved "
                          "aside (not deleted) and its session transcribed again; asks first "
                          "on a terminal")
    run.add_argument("--yes", action="store_true",
                     help="with --discard-reviews: do not ask (needed without a terminal)")


def _add_plan_and_validate(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    plan = commands.add_parser(
        "plan", parents=[common], formatter_class=FORMAT,
        help="find and show the session times",
        description="Fetch the recording if needed, then show every session's start and end, "
                    "where they came from (config, plan.yaml, chapters, detected) and how sure "
                    "the detection is. Writes plan.yaml in the work folder for review.",
        epilog="example:\n  sort-archive plan config/forums/2021-07-02-sort-1.yaml\n"
               "  sort-archive plan config/forums/demo.yaml --json\n")
    plan.add_argument("config", type=Path, help="forum config file (.yaml)")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    _add_run_options(plan)

    validate = commands.add_parser("validate", parents=[common], formatter_class=FORMAT,
                                   epilog=EPILOG_VALIDATE, help="check a forum config file",
                                   description="Check a forum config and say what to fix.")
    validate.add_argument("config", type=Path, help="forum config file (.yaml)")


def _add_demo(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    demo = commands.add_parser("demo", parents=[common], formatter_class=FORMAT,
                               epilog=EPILOG_DEMO,
                               help="build the demo forum and run the pipeline on it",
                               description="Build a ~3 minute demo forum from real Korean "
                                           "speech and archive it end to end.")
    demo.add_argument("--out", type=Path, default=Path("build/demo"),
                      help="folder for the demo forum and its archive (default build/demo)")
    demo.add_argument("--small", action="store_true", help="a 54 second forum, for quick checks")
    _add_run_options(demo)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work-dir", type=Path,
                        help="work folder root (default $SORT_ARCHIVE_WORK_DIR or ./work)")
    parser.add_argument("--model",
                        help="Whisper model: 'base' (bundled, offline; the default) or any "
                             "faster-whisper name such as large-v3 (downloads when online); "
                             "overrides whisper.model in the config")
    parser.add_argument("--catalogue", type=Path, help="search catalogue file to write")
    parser.add_argument("--cut-mode", choices=("smart", "accurate", "copy"),
                        help="how clips are cut: smart (default: frame-exact, re-encodes only "
                             "around each cut), accurate (re-encode all), copy (keyframes "
                             "only); overrides split.mode in the config")
    parser.add_argument("--engine", choices=ENGINE_NAMES, help=engine_help())
    parser.add_argument("--device", help=DEVICE_HELP)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.quiet = getattr(args, "quiet", False)
    args.verbose = getattr(args, "verbose", False)
    _configure_logging(args.quiet, args.verbose)
    # A service manager stops a run with SIGTERM: treat it like Ctrl-C (exit 130, finished
    # work kept), not as an abrupt death that skips every clean-up. Both are recorded, so
    # an interrupt Python drops in a finaliser still stops the run (pipeline.faults).
    faults.forget_interrupt()  # a new command (tests call main() many times in one process)
    signal.signal(signal.SIGINT, faults.on_signal)
    signal.signal(signal.SIGTERM, faults.on_signal)
    try:
        args.settings = Settings.from_environ()  # the one place SORT_ARCHIVE_* are read
        from pipeline import commands

        code = commands.dispatch(args)
        faults.stop_if_interrupted()
        return code
    except KeyboardInterrupt:
        return _interrupted(args.verbose)
    except PipelineError as exc:
        if faults.interrupted():  # e.g. a session whose ffmpeg the interrupt stopped
            return _interrupted(args.verbose)
        return _fail(exc.one_line(), exc.exit_code, args.verbose)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            return _fail(f"no space left on the device ({exc.filename or 'disk'}); free space "
                         "and run again, finished work is kept", ExitCode.DISK_FULL, args.verbose)
        return _fail(f"{exc.strerror or exc}: {exc.filename or ''}".strip(": "),
                     ExitCode.INTERNAL, args.verbose)
    except Exception as exc:  # the last line of defence: never a raw traceback for staff
        return _fail(f"internal error ({type(exc).__name__}: {exc}); run again with -v and "
                     "report the output", ExitCode.INTERNAL, args.verbose)


def _interrupted(verbose: bool) -> int:
    return _fail("interrupted; finished work is kept, run the same command to resume",
                 ExitCode.INTERRUPTED, verbose)


def _fail(message: str, code: int, verbose: bool) -> int:
    if verbose:
        traceback.print_exc()
    print(f"sort-archive: error: {' '.join(message.split())}", file=sys.stderr)
    return code


def _configure_logging(quiet: bool, verbose: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pipeline").setLevel(level)


if __name__ == "__main__":
    sys.exit(main())
