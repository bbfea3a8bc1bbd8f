"""The archivists' web app (`sort-archive serve`): search the catalogue in a browser.

- `query`: a request's query string as a `SearchQuery`; hit links a browser can open;
- `page`: the search page's HTML (no script, everything escaped);
- `policy`: what reaches browsers: the archive's headers (CSP, nosniff,
  attachment), the catalogue's messages without server paths;
- `app`: the Starlette application (needs the `web` extra: starlette, uvicorn);
- `server`: uvicorn's configuration, with the timeouts and limits against slow clients.

Only `app` imports Starlette and only `server` uvicorn, and nothing imports them but
`sort-archive serve`, so the rest of the command line works without the extra.
"""
