"""Benchmark suite comparing pgq-sa with peer PostgreSQL job queues."""
