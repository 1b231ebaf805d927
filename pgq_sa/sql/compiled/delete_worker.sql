-- delete_worker: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 worker_id
DELETE FROM pgq_workers WHERE pgq_workers.id = $1::VARCHAR
