"""RQ workers: `python -m workers.worker` runs one; `workers.tasks` holds the job functions."""
