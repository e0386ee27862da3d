"""Running the twin: the command line, the scheduler, logs and metrics, static files, the page guard."""
