"""Where an archive is stored: the backend interface and the opening of one (`backend`), a
local folder (`local`), an S3-compatible bucket (`s3`), and object keys that cannot leave
the archive (`keys`). The config's `storage:` section is modelled in `pipeline.config.storage`."""
