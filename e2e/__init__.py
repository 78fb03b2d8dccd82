"""End-to-end checks on a real Airflow deployment: PostgreSQL, separate Airflow processes, the sandbox."""
