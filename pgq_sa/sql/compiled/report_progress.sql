-- report_progress: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 ids
-- $2 attempts
-- $3 fractions
-- $4 messages
UPDATE pgq_jobs SET progress=reported.fraction, progress_message=reported.message FROM unnest(CAST($1::BIGINT[] AS BIGINT[]), CAST($2::INTEGER[] AS INTEGER[]), CAST($3::REAL[] AS REAL[]), CAST($4::TEXT[] AS TEXT[])) AS reported(id, attempt, fraction, message) WHERE pgq_jobs.id = reported.id AND pgq_jobs.attempts = reported.attempt AND pgq_jobs.status = 'running' RETURNING pgq_jobs.id
