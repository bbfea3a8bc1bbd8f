"""The search catalogue: one SQLite file for every archived forum.

- `records`: what is stored about a forum (the writer's input);
- `schema`: the file's numbered migrations, the write connection, one-line errors;
- `reader`: read-only connections for searches (read again if the file was replaced);
- `analyzer`: Korean morphology (Kiwi): the terms text is indexed and searched by;
- `writer`: one forum in, replacing its rows only;
- `materials`: PDF text page by page;
- `search` (with `snippets`): ranked hits and filter facets;
- `archive` and `rebuild`: a whole catalogue again from what was published.

Callers (the index stage, the command line, the web app) use the names below.
"""

from pipeline.catalogue.records import (
    ForumRecord,
    MaterialPage,
    MaterialRecord,
    SegmentRecord,
    SessionRecord,
    SpeakerRecord,
    WriteResult,
)
from pipeline.catalogue.search import (
    Facets,
    ForumFacet,
    SearchHit,
    SearchQuery,
    SearchResults,
    facets,
    search,
)
from pipeline.catalogue.writer import write_forum

__all__ = [
    "Facets",
    "ForumFacet",
    "ForumRecord",
    "MaterialPage",
    "MaterialRecord",
    "SearchHit",
    "SearchQuery",
    "SearchResults",
    "SegmentRecord",
    "SessionRecord",
    "SpeakerRecord",
    "WriteResult",
    "facets",
    "search",
    "write_forum",
]
