"""Code used by both the web front-end and the workers: text processing, the engine, config."""
