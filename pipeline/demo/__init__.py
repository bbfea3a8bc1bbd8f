"""The demo forum, built at run time from the real Korean speech corpus: its layout
(sessions and timings), the rendering of its recording and 자료집, and the speech corpus
helpers the tests and benchmarks share. The face of the package: what others may use."""

from pipeline.demo.forum import (
    MATERIAL,
    SPEECH_ENV,
    DemoForum,
    build_demo_forum,
    find_korean_font,
    find_speech_dir,
    render_demo_config,
    shipped_config_text,
)
from pipeline.demo.layout import DEMO_SESSIONS, FULL_LAYOUT, SMALL_LAYOUT, DemoLayout, DemoSession

__all__ = ["DEMO_SESSIONS", "FULL_LAYOUT", "MATERIAL", "SMALL_LAYOUT", "SPEECH_ENV",
           "DemoForum", "DemoLayout", "DemoSession", "build_demo_forum", "find_korean_font",
           "find_speech_dir", "render_demo_config", "shipped_config_text"]
