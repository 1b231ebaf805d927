-- register_schedules: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
-- $2 names
-- $3 entrypoints
-- $4 expressions
-- $5 timezones
-- $6 misseds
-- $7 queues
-- $8 priorities
-- $9 payloads
INSERT INTO pgq_schedules (name, entrypoint, expression, timezone, missed, queue, priority, payload, created_at, seen_at) SELECT src.name, src.entrypoint, src.expression, src.timezone, src.missed, src.queue, src.priority, CAST(src.payload AS JSONB) AS payload, coalesce($1::TIMESTAMP WITH TIME ZONE, now()) AS coalesce_1, coalesce($1::TIMESTAMP WITH TIME ZONE, now()) AS coalesce__1 
FROM unnest(CAST($2::TEXT[] AS TEXT[]), CAST($3::TEXT[] AS TEXT[]), CAST($4::TEXT[] AS TEXT[]), CAST($5::TEXT[] AS TEXT[]), CAST($6::TEXT[] AS TEXT[]), CAST($7::TEXT[] AS TEXT[]), CAST($8::INTEGER[] AS INTEGER[]), CAST($9::TEXT[] AS TEXT[])) AS src(name, entrypoint, expression, timezone, missed, queue, priority, payload) ON CONFLICT (name) DO UPDATE SET entrypoint = excluded.entrypoint, expression = excluded.expression, timezone = excluded.timezone, missed = excluded.missed, queue = excluded.queue, priority = excluded.priority, payload = excluded.payload, seen_at = excluded.seen_at RETURNING pgq_schedules.name
