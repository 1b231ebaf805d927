"""A small shop: FastAPI, SQLAlchemy ORM over psycopg 3, UUID keys, its own Alembic
history, and pgq-sa jobs enqueued in the request's transaction."""
