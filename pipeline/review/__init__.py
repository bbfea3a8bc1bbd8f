"""Caption review: staff correct transcripts, and the corrections reach the archive."""
