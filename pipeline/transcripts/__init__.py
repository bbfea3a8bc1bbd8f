"""Transcript file formats (WebVTT, SRT, JSON with word timings, plain text): one registry
of formats (`formats`), each written from the same segments."""
