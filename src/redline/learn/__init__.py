"""Learn (stage 5 of the loop): compare runs, gate releases, cluster failures, request data."""
