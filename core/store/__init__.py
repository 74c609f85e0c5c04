"""The only package that talks to SQLite.

``database.py`` owns the connections (one writer, WAL, ``BEGIN IMMEDIATE``)
and the versioned migrations in ``migrations/``; the other modules here are
small repositories, one per area, that take a :class:`Database`.
"""

from core.store.database import Database

__all__ = ["Database"]
