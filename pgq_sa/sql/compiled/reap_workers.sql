-- reap_workers: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
-- $2 make_interval_1 (constant 0)
-- $3 make_interval_2 (constant 0)
-- $4 make_interval_3 (constant 0)
-- $5 make_interval_4 (constant 0)
-- $6 make_interval_5 (constant 0)
-- $7 make_interval_6 (constant 0)
-- $8 older_than
DELETE FROM pgq_workers WHERE pgq_workers.heartbeat_at < coalesce($1::TIMESTAMP WITH TIME ZONE, now()) - make_interval($2::INTEGER, $3::INTEGER, $4::INTEGER, $5::INTEGER, $6::INTEGER, $7::INTEGER, $8::FLOAT)
