// Validates WebVTT files with the W3C's own parser (npm webvtt-parser, the one behind
// the W3C validator). Usage: node check_vtt.js FILE...; prints one JSON object,
// {"FILE": {"errors": [{"message", "line", "col"}], "cues": N}, ...}. Exit 0 unless a
// file cannot be read: the caller judges the errors.
"use strict";
const fs = require("fs");
const path = require("path");
const { WebVTTParser } = require(path.join(__dirname, "..", "..", "node_modules",
  "webvtt-parser"));

const result = {};
for (const file of process.argv.slice(2)) {
  const tree = new WebVTTParser().parse(fs.readFileSync(file, "utf8"), "subtitles");
  result[file] = { errors: tree.errors, cues: tree.cues.length };
}
process.stdout.write(JSON.stringify(result));
