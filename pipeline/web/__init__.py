"""The archivists' web app (`sort-archive serve`): search the catalogue in a browser.

- `query`: a request's query string as a `SearchQuery`; hit links a browser can open;
- `page`: the search page's HTML (no script, everything escaped);
- `policy`: what reaches browsers: the archive's headers (CSP, nosniff,
  attachment), the catalogue's messages without server paths;
- `app`: the Starlette application (needs the `web` extra: starlette, uvicorn);
- `server`: uvicorn's configuration, with the timeouts and limits against slow clients;
- `review` (`sort-archive review`, the caption editor): its Starlette app and guard;
  `review_page` and `review_script` its page; `review_work` the work folder's sessions and
  their reviews; `review_align` the worker that times edited cues' words again.

Only `app` and `review` import Starlette and only `server` uvicorn, and nothing imports them
but `sort-archive serve` and `sort-archive review`, so the rest of the command line works
without the extra.
"""
