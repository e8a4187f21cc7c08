"""The model registry: which models each team may use (``catalog``) and their files,
stored by hash for every machine and fetched into a local cache (``files``)."""
