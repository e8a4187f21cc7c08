"""Jobs: choosing the model, submitting, progress and cancel, sending chunks to workers,
and re-sending work a crash left behind. SQL and Celery by name only: no torch here."""
