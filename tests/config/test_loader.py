"""Forum config loading: the public YAML shape and the errors staff see."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipeline.config.forum import format_time, parse_time
from pipeline.config.loader import load_config
from pipeline.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
id: 2099-01-01-test
title: 시험 포럼
date: 2099-01-01
organiser: 한국사회적기업진흥원
language: ko
source: {file: master.mp4}
glossary: [사회적가치]
sessions:
  - id: keynote
    title: 기조강연
    speakers: [{name: 홍길동, organisation: 기관}]
    start: "00:00:10"
    end: "00:01:00.500"
  - id: talk
    title: 발표
    start: 61
    end: "1:30"
materials:
  - {path: materials/자료집.pdf, kind: proceedings}
storage: {local: ./archive}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "forum.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "seconds"), [
    ("00:12:30", 750.0), ("01:00:00.250", 3600.25), ("12:30", 750.0), ("750", 750.0),
    (42, 42.0), (1.5, 1.5),
])
def test_parse_time_accepts_timecodes_and_seconds(text: object, seconds: float) -> None:
    assert parse_time(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["12:75:00", "soon", "-3", "00:61", True])
def test_parse_time_rejects_nonsense(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_time(bad)


def test_format_time_round_trips() -> None:
    assert format_time(750) == "00:12:30"
    assert parse_time(format_time(3723.5)) == pytest.approx(3723.5)


def test_good_config_loads_with_paths_relative_to_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.forum.id == "2099-01-01-test"
    plans = config.session_plans()
    assert [p.slug for p in plans] == ["01-keynote", "02-talk"]
    assert plans[0].start == 10 and plans[0].end == pytest.approx(60.5)
    assert plans[1].end == 90
    assert config.resolve(Path("master.mp4")) == (tmp_path / "master.mp4").resolve()


@pytest.mark.parametrize(("change", "field", "words"), [
    (("organiser:", "organizer:"), "organizer", "unknown key"),
    (('end: "00:01:00.500"', 'end: "00:00:05"'), "sessions[0]", "not after start"),
    (("start: 61", "start: 50"), "sessions", "overlap"),
    (("id: keynote", "id: 기조"), "sessions[0].id", "ASCII slug"),
    (("source: {file: master.mp4}", "source: {}"), "source", "exactly one"),
    (("kind: proceedings", "kind: brochure"), "materials[0].kind", ""),
    (("date: 2099-01-01", "date: someday"), "date", ""),
])
def test_bad_config_names_file_field_and_fix(tmp_path: Path, change: tuple[str, str],
                                             field: str, words: str) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    line = caught.value.one_line()
    assert str(path) in line and field in line and words in line
    assert "\n" not in line


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="line"):
        load_config(write(tmp_path, GOOD + "  - broken: [\n"))


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_session_past_recording_end_is_reported(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    config.check_duration(90.0)
    with pytest.raises(ConfigError, match=r"sessions\[1\]\.end.*past the end"):
        config.check_duration(80.0)


def test_shipped_first_forum_config_lists_what_staff_must_fill_in(tmp_path: Path) -> None:
    path = ROOT / "config" / "forums" / "2021-07-02-sort-1.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    line = caught.value.one_line()
    assert "2 value(s) still to fill in" in line
    assert "source.url" in line and "materials[0].path" in line and "sessions" not in line.split(
        "; the")[0]  # the times are not for staff to type: the plan finds them
    assert "the 5 session(s) without times need none: `sort-archive plan` finds them" in line
    text = path.read_text(encoding="utf-8")
    for title in ("공공기관 혁신과 사회적 가치", "사회적가치 성과 측정 및 지표", "사회적경제 협업"):
        assert title in text
    filled = text.replace('"FILL-IN: the YouTube link of the forum\'s live-stream recording"',
                          '"https://www.example.org/watch?v=x"')
    filled = filled.replace(
        '"FILL-IN: path to the 자료집 (proceedings) PDF, e.g. materials/자료집.pdf"', "x.pdf")
    assert '"FILL-IN' not in filled
    config = load_config(write(tmp_path, filled))
    assert len(config.forum.sessions) == 5 and not config.fully_timed()


def test_whisper_section_is_optional_and_checked(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, GOOD)).forum.whisper.model == "base"
    custom = GOOD + "whisper: {model: large-v3, model_dir: models, beam_size: 1}\n"
    whisper = load_config(write(tmp_path, custom)).forum.whisper
    assert (whisper.model, whisper.beam_size) == ("large-v3", 1)
    with pytest.raises(ConfigError, match=r"whisper\.beam_size"):
        load_config(write(tmp_path, GOOD + "whisper: {beam_size: 0}\n"))


def test_whisper_engine_and_corrections_are_checked(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD + "whisper: {engine: openai-whisper}\n"
                               "corrections: {사회적 까치: 사회적가치}\n"))
    assert config.forum.whisper.engine == "openai-whisper"
    assert config.forum.corrections == {"사회적 까치": "사회적가치"}
    # The config is core and knows no engines: the name is checked against the engine
    # registry where the settings are resolved (and by `sort-archive validate`).
    from pipeline.asr.engines import whisper_settings
    from pipeline.settings import Settings

    unknown = load_config(write(tmp_path, GOOD + "whisper: {engine: whisper-cpp}\n"))
    with pytest.raises(ConfigError, match=r"whisper\.engine.*whisper-cpp.*faster-whisper"):
        whisper_settings(unknown.forum.whisper, unknown, Settings())
    with pytest.raises(ConfigError, match=r"corrections.*changes nothing"):
        load_config(write(tmp_path, GOOD + "corrections: {가치: 가치}\n"))
    with pytest.raises(ConfigError, match=r"corrections"):
        load_config(write(tmp_path, GOOD + "corrections: [가치]\n"))


def test_validate_rejects_an_unknown_engine_in_one_line(tmp_path: Path) -> None:
    from pipeline.errors import ExitCode
    from tests.test_cli import assert_one_line_error, sort_archive

    path = write(tmp_path, GOOD + "whisper: {engine: whisper-cpp}\n")
    assert_one_line_error(sort_archive("validate", str(path)), ExitCode.CONFIG,
                          "whisper.engine", "whisper-cpp", "faster-whisper or openai-whisper")


def test_command_line_engine_and_model_win_over_the_config(tmp_path: Path) -> None:
    from pipeline.asr.engines import whisper_settings
    from pipeline.settings import Settings

    config = load_config(write(tmp_path, GOOD + "whisper: {model: small, beam_size: 1, "
                               "vad: false, compute_type: float32}\n"))
    settings = Settings(model_dir=tmp_path / "models")
    chosen = whisper_settings(config.forum.whisper, config, settings)
    assert (chosen.engine, chosen.model, chosen.compute_type) == (
        "faster-whisper", "small", "float32")
    assert (chosen.decode.beam_size, chosen.decode.vad) == (1, False)
    assert chosen.model_dir == tmp_path / "models"
    cli = whisper_settings(config.forum.whisper, config, settings, engine="openai-whisper",
                           model="base")
    assert (cli.engine, cli.model, cli.compute_type) == ("openai-whisper", "base", "float32")



def test_yaml_merge_keys_may_be_overridden(tmp_path: Path) -> None:
    """Not a key written twice: `<<:` brings defaults that the mapping's own keys override."""
    text = GOOD.replace("  - id: talk\n    title: 발표\n    start: 61\n",
                        "  - <<: {title: 발표, start: 50}\n    id: talk\n    start: 61\n")
    assert load_config(write(tmp_path, text)).forum.sessions[1].start == 61


def test_a_utf8_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "forum.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode("utf-8"))  # as Windows editors save it
    assert load_config(path).forum.id == "2099-01-01-test"


def bomb(levels: int = 9) -> str:
    """A "billion laughs" document: `levels` lists of nine aliases of the list before."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("text", "problem"), [
    (bomb(), "more than 50 aliases"),
    ("glossary: " + "[" * 1000 + "]" * 1000 + "\n", "nested more than 32 levels deep"),
])
def test_hostile_yaml_is_refused_at_once(tmp_path: Path, text: str, problem: str) -> None:
    """Refused while it is read, before anything expands it: in well under a second."""
    began = time.perf_counter()
    with pytest.raises(ConfigError, match=problem):
        load_config(write(tmp_path, GOOD + text))
    assert time.perf_counter() - began < 1.0


def test_a_few_aliases_are_read(tmp_path: Path) -> None:
    """Aliases under the limit are fine: one speaker list shared by two sessions."""
    shared = GOOD.replace("speakers: [{name: 홍길동, organisation: 기관}]",
                          "speakers: &panel [{name: 홍길동, organisation: 기관}]").replace(
        "    title: 발표\n", "    title: 발표\n    speakers: *panel\n")
    config = load_config(write(tmp_path, shared))
    assert [s.speakers[0].name for s in config.forum.sessions] == ["홍길동", "홍길동"]


def test_a_config_over_a_megabyte_or_not_a_file_is_refused(tmp_path: Path) -> None:
    big = write(tmp_path, GOOD + "# " + "x" * 1_000_000 + "\n")
    with pytest.raises(ConfigError, match=r"is 1\.0 MB; a forum config is at most 1 MB"):
        load_config(big)
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # reading it would wait for a writer for ever
    with pytest.raises(ConfigError, match="is not a regular file"):
        load_config(fifo)
    with pytest.raises(ConfigError, match="is not a regular file"):
        load_config(tmp_path)


@pytest.mark.parametrize(("value", "problem"), [
    ("9" * 40, "too long to be a time"), (10**12, "too long to be a time"),
    ("999999999", "longer than any recording"), (float("inf"), "longer than any recording"),
])
def test_times_are_bounded(value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_time(value)
