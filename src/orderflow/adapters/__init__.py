"""Reference adapters for orderflow's ports.

* :mod:`orderflow.adapters.memory`: in memory, thread-safe; the reference semantics.
* :mod:`orderflow.adapters.sql`: SQLAlchemy Core on SQLite, PostgreSQL and MySQL/MariaDB
  (install ``orderflow-commerce[sql]``).
"""

__all__: list[str] = []
