"""Session boundaries found in the recording: candidates (what may be a boundary), signals
(how they are found: pauses in speech, applause, black frames, scene changes, the MC's
lines and the speakers' closing lines, told apart by words and voice), and
the fit of the agenda onto them (`choose`), or onto YouTube chapters (`match_chapters`).

The face of the package: the plan stage uses only these names.
"""

from pipeline.boundaries.candidates import AgendaItem, Candidate
from pipeline.boundaries.fit import REVIEW_BELOW, Fit, Placement, choose, match_chapters
from pipeline.boundaries.heard import CUE_DECODE
from pipeline.boundaries.signals import Signals, collect_candidates

__all__ = ["CUE_DECODE", "REVIEW_BELOW", "AgendaItem", "Candidate", "Fit", "Placement",
           "Signals", "choose", "collect_candidates", "match_chapters"]
