"""Data: where datasets come from (sources, fetch), how their files are read (formats) and the
compact tensor store the rest of the pipeline reads (store, normalize)."""
