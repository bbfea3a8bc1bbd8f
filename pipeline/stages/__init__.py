"""The five stages. Each takes a typed request and returns a typed result; only
`pipeline.runner` knows their order, and no stage imports another."""
