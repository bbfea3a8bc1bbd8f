"""The demo forum, built at run time from the real Korean speech corpus: its layout
(sessions and timings), the rendering of its recording and 자료집, and the speech corpus
helpers the tests and benchmarks share; and a stream-like recording (waiting screen, MC
lines, applause, a break with music, open-GOP H.264) with its ground truth. The face of
the package: what others may use."""

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
from pipeline.demo.stream import BUILD_FORMAT as STREAM_BUILD_FORMAT
from pipeline.demo.stream import StreamForum, build_stream_forum
from pipeline.demo.stream_layout import (
    LONG_STREAM,
    SHORT_STREAM,
    STREAM_TALKS,
    StreamLayout,
    StreamSlot,
    StreamTalk,
)
from pipeline.demo.stream_truth import (
    StreamTalkTruth,
    StreamTruth,
    read_truth,
    render_stream_config,
)
from pipeline.demo.stream_video import IDR_CHOICES, Idr

__all__ = ["DEMO_SESSIONS", "FULL_LAYOUT", "IDR_CHOICES", "LONG_STREAM", "MATERIAL",
           "SHORT_STREAM", "SMALL_LAYOUT", "SPEECH_ENV", "STREAM_BUILD_FORMAT", "STREAM_TALKS",
           "DemoForum", "DemoLayout", "DemoSession", "Idr", "StreamForum", "StreamLayout",
           "StreamSlot", "StreamTalk", "StreamTalkTruth", "StreamTruth", "build_demo_forum",
           "build_stream_forum", "find_korean_font", "find_speech_dir", "read_truth",
           "render_demo_config", "render_stream_config", "shipped_config_text"]
