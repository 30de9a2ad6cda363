"""Research export: interoperable representations of kratomwatch data.

Pure functions producing JSON-ready dicts; no Django, no I/O, no clock. See ``docs/fhir.md``.
"""
