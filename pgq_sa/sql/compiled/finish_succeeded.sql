-- finish_succeeded: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
-- $2 ids
-- $3 attempts
-- $4 results
UPDATE pgq_jobs SET status='succeeded', finished_at=coalesce($1::TIMESTAMP WITH TIME ZONE, now()), result=CAST(done.result AS JSONB) FROM unnest($2::BIGINT[], $3::INTEGER[], $4::TEXT[]) AS done(id, attempt, result) WHERE pgq_jobs.id = done.id AND pgq_jobs.attempts = done.attempt AND pgq_jobs.status = (SELECT 'running') RETURNING pgq_jobs.id, CASE WHEN pgq_jobs.awaited THEN pg_notify('pgq_sa_done', CAST(pgq_jobs.id AS TEXT)) END AS notified
