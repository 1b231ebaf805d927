-- set_paused: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 channel
-- $2 queue
-- $3 paused
-- $4 now
WITH changed AS 
(INSERT INTO pgq_queues (name, paused, paused_at, updated_at) VALUES ($2::VARCHAR, $3::BOOLEAN, CASE WHEN $3::BOOLEAN THEN coalesce($4::TIMESTAMP WITH TIME ZONE, now()) ELSE NULL END, coalesce($4::TIMESTAMP WITH TIME ZONE, now())) ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, paused_at = CASE WHEN excluded.paused THEN coalesce(pgq_queues.paused_at, excluded.paused_at) ELSE NULL END, updated_at = excluded.updated_at RETURNING pgq_queues.name, pgq_queues.paused, pgq_queues.paused_at)
 SELECT changed.name, changed.paused, changed.paused_at, pg_notify(CAST($1::VARCHAR AS TEXT), changed.name) AS pg_notify_1 
FROM changed
