-- paused_queues: written by python -m pgq_sa.sql.snapshot (do not edit)
SELECT pgq_queues.name, pgq_queues.paused_at 
FROM pgq_queues 
WHERE pgq_queues.paused ORDER BY pgq_queues.name
