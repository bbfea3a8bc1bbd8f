"""Where per-session work runs: here (`serial`, the default) or on a Ray cluster
(`ray_cluster`). Both run the same worker function on the same jobs."""
