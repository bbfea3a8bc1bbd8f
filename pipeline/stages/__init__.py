"""The stages (fetch, plan, split, transcribe, publish, index), one module each, declared
as `pipeline.stage.Stage` subclasses. Each is thin: it reads earlier results from the run
context, calls its domain packages and returns a typed result. Only `pipeline.runner`
knows their order, and no stage imports another."""
