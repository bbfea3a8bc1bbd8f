"""`sort-archive search` and `sort-archive index --rebuild`: interface code over
`pipeline.catalogue` (parse, call, print; errors go up to the CLI's one handler)."""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.commands.display import progress
from pipeline.config.forum import format_time
from pipeline.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from pipeline.config.forum import Storage

EPILOG_SEARCH = """example:
  sort-archive search 사회적가치
  sort-archive search "선언문 채택" --forum 2021-07-02-sort-1
  sort-archive search 성과 --speaker 윤태범 --since 2021-01-01 --json
"""
EPILOG_INDEX = """example:
  sort-archive index --rebuild config/forums/*.yaml      # every forum in their storage
  sort-archive index --rebuild --storage build/demo/archive --catalogue /tmp/new.sqlite
"""
_CATALOGUE_HELP = ("catalogue file (default: $SORT_ARCHIVE_CATALOGUE or "
                   "~/.local/share/sort-archive/catalogue.sqlite)")


def _day(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def _query(text: str) -> str:
    """The words to search, checked at the edge: UTF-8 text (the shell hands undecodable
    bytes over as lone surrogates), not empty, at most MAX_QUERY characters."""
    from pipeline.catalogue.search import MAX_QUERY, clean_query

    if any("\udc80" <= ch <= "\udcff" for ch in text):
        raise argparse.ArgumentTypeError("the query is not UTF-8 text; type it again in a "
                                         "UTF-8 terminal")
    words = clean_query(text)
    if not words:
        raise argparse.ArgumentTypeError("the query is empty; give one or more words, "
                                         "e.g. 사회적가치")
    if len(words) > MAX_QUERY:
        raise argparse.ArgumentTypeError(f"the query is {len(words)} characters long; give "
                                         f"at most {MAX_QUERY}")
    return words


def _limit(text: str) -> int:
    from pipeline.catalogue.search import MAX_LIMIT

    if not text.strip().isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"--limit must be a whole number from 1 to "
                                         f"{MAX_LIMIT}, not {text[:20]!r}")
    return int(text)


def add_parsers(commands: argparse._SubParsersAction,  # type: ignore[type-arg]
                common: argparse.ArgumentParser) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    search = commands.add_parser(
        "search", parents=[common], formatter_class=fmt, epilog=EPILOG_SEARCH,
        help="search transcripts and materials of all forums",
        description="Search every indexed transcript and material page. Korean words match "
                    "their inflected forms (만들다 finds 만든, 만들어; 가치 finds 사회적가치를); "
                    "an exact phrase ranks first.")
    search.add_argument("query", type=_query, help="words to find; a hit has all of them")
    search.add_argument("--catalogue", type=Path, help=_CATALOGUE_HELP)
    search.add_argument("--forum", metavar="ID", help="only this forum id")
    search.add_argument("--speaker", metavar="NAME", help="only sessions of this speaker")
    search.add_argument("--since", metavar="YYYY-MM-DD", type=_day,
                        help="only forums held on or after this day")
    search.add_argument("--limit", type=_limit, default=20,
                        help="most hits to show (default 20, at most 100)")
    search.add_argument("--json", action="store_true",
                        help='print {"query": ..., "hits": [...]} as JSON')

    index = commands.add_parser(
        "index", parents=[common], formatter_class=fmt, epilog=EPILOG_INDEX,
        help="rebuild the search catalogue from the published archive",
        description="Rebuild the whole catalogue from what was published (each forum's "
                    "forum.json, transcripts and material PDFs), in the storage of the "
                    "given forum configs or in a local archive folder. The old catalogue "
                    "is replaced only once the new one is complete. Then the archive's "
                    "home page, feed.xml and sitemap.xml are written anew from the "
                    "forum.json files there.")
    index.add_argument("config", type=Path, nargs="*",
                       help="forum config(s) whose storage holds the archive; every forum "
                            "published there is indexed")
    index.add_argument("--rebuild", action="store_true", required=True,
                       help="build the catalogue anew (required: the only mode so far)")
    index.add_argument("--storage", type=Path, metavar="DIR",
                       help="a local archive folder (what storage.local names)")
    index.add_argument("--catalogue", type=Path, help=_CATALOGUE_HELP)


def cmd_search(args: argparse.Namespace) -> int:
    from pipeline.catalogue import SearchQuery, search

    catalogue = args.catalogue or args.settings.catalogue
    results = search(catalogue, SearchQuery(args.query, forum_id=args.forum,
                                            speaker=args.speaker, since=args.since,
                                            limit=args.limit))
    if args.json:
        print(results.json_text())
        return ExitCode.OK
    if not results.hits:
        print(f"nothing matches '{args.query}'")
        return ExitCode.OK
    for hit in results.hits:
        if hit.kind == "material":
            print(f"{hit.forum_id}  {hit.material}  [p. {hit.page}]  {hit.snippet}")
            about = [hit.forum_date, hit.forum_title]
        else:
            clock = format_time(hit.start or 0.0).split(".")[0]
            print(f"{hit.forum_id}  {hit.session_slug}  [{clock}]  {hit.snippet}")
            about = [hit.forum_date, hit.session_title or "", hit.speaker or ""]
        print(f"    {' · '.join(part for part in about if part)}")
        if hit.url:
            print(f"    {hit.url}")
    if results.more:
        print(f"(more hits: --limit {args.limit * 2})")
    return ExitCode.OK


def cmd_index(args: argparse.Namespace) -> int:
    from pipeline.catalogue.archive import Archive
    from pipeline.catalogue.rebuild import rebuild
    from pipeline.config.forum import Storage
    from pipeline.config.loader import load_config
    from pipeline.storage.forum import resolved_storage

    storages = [resolved_storage(load_config(path)) for path in args.config]
    if args.storage is not None:
        storages.append(Storage(local=args.storage.resolve()))
    if not storages:
        raise UsageError("name the archive to rebuild from",
                         "give forum config(s), or --storage DIR for a local archive folder")
    unique = {storage.model_dump_json(): storage for storage in storages}
    catalogue = args.catalogue or args.settings.catalogue
    result = rebuild(catalogue, [Archive(s) for s in unique.values()], progress(args))
    print(f"catalogue rebuilt: {result.catalogue}")
    print(f"  {len(result.forums)} forum(s): {', '.join(result.forums)}")
    print(f"  {result.segments} transcript segment(s), {result.pages} material page(s)")
    for warning in result.warnings:
        print(f"  check:       {warning}")
    for storage in unique.values():
        _rebuild_root(storage, args)
    return ExitCode.OK


def _rebuild_root(storage: Storage, args: argparse.Namespace) -> None:
    """The series' root pages (home page, feed, sitemap) of `storage`, written anew from
    its forum.json files, as publish writes them (`pipeline.archive.root`)."""
    from pipeline.archive.root import update_root
    from pipeline.storage.forum import open_backend, public_base, root_folder

    backend = open_backend(storage)
    update = update_root(backend, root_folder(storage), public_base(storage), progress(args),
                         who="index")
    names = "home page, feed and sitemap" if public_base(storage) else "home page and feed"
    state = "rewritten" if update.written else "up to date"
    print(f"{names} {state}: {backend.where} ({len(update.forums)} forum(s))")


HANDLERS = {"search": cmd_search, "index": cmd_index}
