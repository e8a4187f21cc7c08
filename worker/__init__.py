"""Celery worker: the app, the chunk task and `occlab worker`; never imports Flask or web."""
