-- no_parallel: written by python -m pgq_sa.sql.snapshot (do not edit)
SET LOCAL max_parallel_workers_per_gather = 0
