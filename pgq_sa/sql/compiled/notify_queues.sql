-- notify_queues: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 channel
-- $2 queues
SELECT pg_notify(CAST($1::VARCHAR AS TEXT), q.queue) AS pg_notify_1 
FROM unnest(CAST($2::TEXT[] AS TEXT[])) AS q(queue)
