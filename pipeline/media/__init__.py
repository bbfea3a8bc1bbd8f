"""Media files through ffmpeg and ffprobe: probing and running ffmpeg with progress
(`probe`), Whisper's 16 kHz audio (`audio`), poster frames (`posters`), and the checks
that a source is a whole, finished forum video (`source_checks`)."""
