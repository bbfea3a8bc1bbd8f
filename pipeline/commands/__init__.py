"""What each `sort-archive` command does: parse its arguments, call the core, print.

The only modules the CLI calls. `run` (run, plan, validate, demo), `search` (search,
index), `asr` (transcribe, models), `verify` and `serve`; `display` is the one choice of
progress bars or log lines, and the run report, that they share.
"""
