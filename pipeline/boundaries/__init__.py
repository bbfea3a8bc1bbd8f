"""Session boundaries found in the recording: candidates (what may be a boundary), signals
(how they are found: silence, applause, black frames, scene changes, the MC's cues), and
the fit of the agenda onto them (`choose`), or onto YouTube chapters (`match_chapters`).

The face of the package: the plan stage uses only these names.
"""

from pipeline.boundaries.candidates import AgendaItem, Candidate
from pipeline.boundaries.fit import Fit, Placement, choose, match_chapters
from pipeline.boundaries.signals import collect_candidates

__all__ = ["AgendaItem", "Candidate", "Fit", "Placement", "choose", "collect_candidates",
           "match_chapters"]
