"""Curated clinical knowledge: YAML data files, their pydantic schemas, and one loader.

Every record carries ``sources`` (PMID, DOI or official URL) and ``as_of``. Files are validated when
loaded (at start-up and in tests); a malformed file is a hard error, never a silent default.
"""
