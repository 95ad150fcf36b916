"""Test helpers, by job: the project and its CLI (project), files in upstream formats (upstream),
a local HTTP server (server), prepared data and small params (store)."""
