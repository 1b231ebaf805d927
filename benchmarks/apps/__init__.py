"""Worker applications started as separate processes by the benchmark harness.

Each module here imports exactly one queue library, so all libraries can share
one virtual environment without importing each other.
"""
