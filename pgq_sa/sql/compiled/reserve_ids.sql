-- reserve_ids: written by python -m pgq_sa.sql.snapshot (do not edit)
-- $1 table
-- $2 pg_get_serial_sequence_2 (constant 'id')
-- $3 generate_series_1 (constant 1)
-- $4 n
SELECT array((SELECT nextval(CAST((SELECT pg_get_serial_sequence($1::VARCHAR, $2::VARCHAR) AS pg_get_serial_sequence_1) AS REGCLASS)) AS nextval_1 
FROM generate_series($3::INTEGER, $4::INTEGER))) AS array_1
