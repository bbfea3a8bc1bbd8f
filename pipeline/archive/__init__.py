"""What a forum's archive is: its key layout and every object publish writes (`layout`),
`forum.json`, the manifest that lists them (`forum_json`, its one owner), the materials
bundle (`bundle`), the viewer and search pages (`pages`), and the check that a published
archive is whole (`verify`). Where the objects are stored is `pipeline.storage`'s business."""
