"""What the bad-input corpus builds: media, configs, and the setup steps of a case.

A case (one entry of cases.yaml) gets its own folder:

    forum.yaml  master.mp4  work/  archive/  home/  catalogue.sqlite

and runs the real `sort-archive` console command there, with HOME, the work folder and
the catalogue pointing inside it. Cases with `forum: finished` use instead one forum that
the whole pipeline finished once per test session (its clips, transcripts, archive and
catalogue), so that catalogue and model failures are met after real work, cheaply.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.recordings import counter_video, run, variable_rate_video

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [str(ROOT / ".venv" / "bin" / "sort-archive")]
if not Path(COMMAND[0]).exists():  # an installation without the repository's venv
    COMMAND = [sys.executable, "-m", "pipeline"]
FORUM_ID = "bad-input"
BASE_CONFIG: dict[str, Any] = {
    "id": FORUM_ID,
    "title": "잘못된 입력 시험",
    "date": "2021-07-02",
    "organiser": "한국사회적기업진흥원",
    "source": {"file": "master.mp4"},
    "sessions": [{"id": "first", "title": "첫 세션", "start": 0, "end": 2},
                 {"id": "second", "title": "둘째 세션", "start": 2, "end": 4}],
    "storage": {"local": "./archive"},
}


# -- media -------------------------------------------------------------------------------
def _counter(path: Path) -> None:
    counter_video(path, 4, [440, 880])


def _silent(path: Path) -> None:
    counter_video(path, 4, [440], audio=False)


def _faststart_cut(path: Path) -> None:
    """The moov (index) first, the end of the data lost: the header still promises 4 s."""
    whole = path.with_suffix(".whole.mp4")
    run("-i", str(_built("counter", path.parent)), "-c", "copy", "-movflags", "+faststart",
        str(whole))
    data = whole.read_bytes()
    path.write_bytes(data[:len(data) * 55 // 100])
    whole.unlink()


MEDIA: dict[str, Callable[[Path], None]] = {
    "counter": _counter,  # 4 s H.264/AAC, a tone per session
    "empty": lambda path: path.write_bytes(b""),
    # An mp4 whose copy stopped early: its index (moov, written last) is lost.
    "truncated": lambda path: path.write_bytes(
        _built("counter", path.parent).read_bytes()[:20_000]),
    "truncated-faststart": _faststart_cut,
    "no-audio": _silent,
    "audio-only": lambda path: run("-f", "lavfi", "-i", "sine=d=4", "-c:a", "aac",
                                   "-f", "mp4", str(path)),
    "not-media": lambda path: path.write_bytes(
        "<html><body>포럼 영상은 곧 올라옵니다</body></html>\n".encode()),
    "vfr": variable_rate_video,
    "none": lambda path: None,
}


def _built(name: str, folder: Path) -> Path:
    """`MEDIA[name]` made once in `folder` (a cache shared by the cases)."""
    path = folder / f"{name}.mp4"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        MEDIA[name](path)
        path.touch()  # "none" makes nothing; the cache still remembers it was made
    return path


def media(name: str, cache: Path, target: Path) -> None:
    built = _built(name, cache)
    if name != "none":
        shutil.copyfile(built, target)


# -- configs -----------------------------------------------------------------------------
def merged(base: Any, changes: Any) -> Any:
    """`changes` over `base`: mappings merge key by key (None removes a key); anything
    else, lists included, replaces what was there."""
    if not isinstance(base, dict) or not isinstance(changes, dict):
        return copy.deepcopy(changes)
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merged(out.get(key), value)
    return out


def write_config(path: Path, changes: dict[str, Any] | None) -> None:
    path.write_text(yaml.safe_dump(merged(BASE_CONFIG, changes or {}), allow_unicode=True,
                                   sort_keys=False), encoding="utf-8")


# -- running the command -----------------------------------------------------------------
def environment(folder: Path, work: Path, model_dir: Path) -> dict[str, str]:
    """The real environment, with everything sort-archive would write kept in `folder`."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("SORT_ARCHIVE_", "AWS_"))}
    (folder / "home").mkdir(parents=True, exist_ok=True)
    return env | {
        "HOME": str(folder / "home"), "SORT_ARCHIVE_WORK_DIR": str(work),
        "SORT_ARCHIVE_CATALOGUE": str(folder / "catalogue.sqlite"),
        "SORT_ARCHIVE_MODEL_DIR": str(model_dir), "HF_HUB_OFFLINE": "1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
    }


def sort_archive(command: str, cwd: Path, env: dict[str, str],
                 timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, "-q", *shlex.split(command)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


# -- setup steps: each returns nothing, or a context manager held while the command runs --
Step = Callable[..., contextlib.AbstractContextManager[None] | None]


def step_run(place: Any, command: str) -> None:
    """Finished work before the failure: a command that must succeed."""
    done = sort_archive(place.format(command), place.folder, place.env)
    assert done.returncode == 0, f"setup `{command}` failed:\n{done.stderr}"


def step_write(place: Any, path: str, text: str) -> None:
    target = place.folder / place.format(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(place.format(text), encoding="utf-8")


def step_link(place: Any, path: str, to: str) -> None:
    """A symlink at `path` (in the case's folder) to `to`, as given."""
    target = place.folder / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(to)


def step_fifo(place: Any, path: str) -> None:
    """A named pipe, which blocks whoever opens it to read until a writer comes."""
    os.mkfifo(place.folder / path)


def step_reencode(place: Any, encoding: str) -> None:
    """The config saved in another encoding, as a Korean Windows editor saves it (CP949)."""
    text = place.config.read_text(encoding="utf-8")
    place.config.write_bytes(text.encode(encoding))


def step_sqlite(place: Any, sql: str, copy_finished: bool = False) -> None:
    """The case's catalogue file made by SQL (after a copy of the finished forum's)."""
    target = place.folder / "catalogue.sqlite"
    if copy_finished:
        shutil.copyfile(place.finished_catalogue, target)
    with contextlib.closing(sqlite3.connect(target)) as db:
        db.executescript(sql)
        db.commit()


def step_info_json(place: Any, **fields: Any) -> None:
    """`video.info.json` as `yt-dlp -J` saves it, its one format on the local server."""
    info = {"id": "sort2021", "title": "2021 SORT 포럼", "extractor": "youtube",
            "extractor_key": "Youtube",
            "webpage_url": "https://www.youtube.com/watch?v=sort2021",  # not contacted: recorded
            "live_status": "not_live", "availability": "public",
            "formats": [{"format_id": "18", "url": f"{place.format('${http}')}/files/forum.mp4",
                         "ext": "mp4", "vcodec": "avc1.64000d", "acodec": "mp4a.40.2",
                         "protocol": "http"}]} | fields
    (place.folder / "video.info.json").write_text(json.dumps(info, ensure_ascii=False),
                                                  encoding="utf-8")


_HOLD = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def step_lock_catalogue(place: Any) -> Iterator[None]:
    """A copy of the finished forum's catalogue, which another process holds with an
    EXCLUSIVE lock (in a child: POSIX locks are per process, and this one reads the file)."""
    path = place.folder / "catalogue.sqlite"
    shutil.copyfile(place.finished_catalogue, path)
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(path)], text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.communicate(timeout=30)


def step_damage_catalogue(place: Any) -> None:
    """The finished forum's catalogue with its first pages overwritten (a bad disk or a
    half-copied file)."""
    data = bytearray(place.finished_catalogue.read_bytes())
    data[:8192] = (b"\x00damaged\xff" * 1024)[:8192]
    (place.folder / "catalogue.sqlite").write_bytes(bytes(data))


@contextlib.contextmanager
def step_hold_forum(place: Any) -> Iterator[None]:
    """Another run holds the forum's work folder (its flock), as a running `run` does."""
    import fcntl

    folder = place.work / FORUM_ID
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write("pid 4242, started 2021-07-02 09:00:00\n")
        handle.flush()
        yield


@contextlib.contextmanager
def step_read_only(place: Any, path: str) -> Iterator[None]:
    """A folder nobody may write: a read-only bind mount as root (root ignores modes),
    else mode 0555."""
    folder = place.folder / place.format(path)
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    with _mounted(["mount", "--bind", "-o", "ro", str(folder), str(folder)], folder):
        yield


@contextlib.contextmanager
def step_full_disk(place: Any, path: str) -> Iterator[None]:
    """The folder `path` on a disk that is full. As root: a 2 MiB tmpfs whose earlier
    contents are moved onto it, then filled to the last byte, so the kernel itself answers
    ENOSPC. Elsewhere: each clip's file is /dev/full, which answers every write with
    ENOSPC (what a full disk does, for exactly the files the cut writes)."""
    folder = place.folder / place.format(path)
    if os.geteuid() != 0:
        for session in ("01-first", "02-second"):
            clips = folder / FORUM_ID / "sessions" / session
            clips.mkdir(parents=True, exist_ok=True)
            (clips / f"{session}.part.mp4").symlink_to("/dev/full")
        yield
        return
    kept = folder.with_name(folder.name + ".before")
    folder.rename(kept)
    folder.mkdir()
    with _mounted(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], folder):
        shutil.copytree(kept, folder, dirs_exist_ok=True, symlinks=True)
        with (folder / "filler").open("wb", buffering=0) as filler, \
                contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * 4096)
        yield


@contextlib.contextmanager
def _mounted(command: list[str], folder: Path) -> Iterator[None]:
    import pytest

    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here ({done.stderr.strip()})")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


STEPS: dict[str, Step] = {
    "run": step_run, "write": step_write, "info_json": step_info_json,
    "lock_catalogue": step_lock_catalogue, "damage_catalogue": step_damage_catalogue,
    "sqlite": step_sqlite, "reencode": step_reencode, "hold_forum": step_hold_forum,
    "read_only": step_read_only, "full_disk": step_full_disk, "link": step_link,
    "fifo": step_fifo,
}
