"""The archive's static pages: the forum and session viewer pages (`viewer`) and the forum's
own search page that works without a server (`search`). Pure functions that return HTML."""
