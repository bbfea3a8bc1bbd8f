"""Cutting one session out of a recording, frame-exact: the cut itself (`cut`: smart,
accurate, copy), what a cut keeps (`spans`), the check of a smart cut's joins
(`join_check`), and the H.264 and MP4 details they need (`h264`, `mp4_boxes`)."""
