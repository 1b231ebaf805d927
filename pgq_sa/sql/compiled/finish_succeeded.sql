-- finish_succeeded: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 now
-- $2 ids
-- $3 attempts
UPDATE pgq_jobs SET status='succeeded', finished_at=coalesce($1::TIMESTAMP WITH TIME ZONE, now()) FROM unnest($2::BIGINT[], $3::INTEGER[]) AS done(id, attempt) WHERE pgq_jobs.id = done.id AND pgq_jobs.attempts = done.attempt AND pgq_jobs.status = (SELECT 'running') RETURNING pgq_jobs.id
