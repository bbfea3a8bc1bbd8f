"""The forum config file (YAML): its model and loader (`forum`) and its `storage:` section
(`storage`). Core: every layer may read a config; nothing here imports a domain package."""
