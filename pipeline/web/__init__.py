"""The archivists' web app (`sort-archive serve`): search the catalogue in a browser.

- `query`: a request's query string as a `SearchQuery`; hit links a browser can open;
- `page`: the search page's HTML (no script, everything escaped);
- `app`: the Starlette application (needs the `web` extra: starlette, uvicorn).

Only `app` imports Starlette, and nothing imports `app` but `sort-archive serve`,
so the rest of the command line works without the extra.
"""
