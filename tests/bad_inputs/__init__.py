"""The bad-input corpus: cases.yaml, its builders, and the one test that runs it."""
