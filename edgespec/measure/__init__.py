"""Measurements: latency records people took on their own devices (docs/measurements.md).

- `records`: the JSON-lines format (parse and write, pure);
- `index`: which record speaks for which target and stage of a spec;
- `files`: reading the files a spec and the command line name.
"""
