"""Research: the de-identified, consent-filtered export (``export.py``, ``export_fhir.py``), the patient's own record
out (``patient_export.py``), the FHIR representation of the instruments (``fhir_instruments.py``: pure), and cohort
analytics on analysis snapshots (``snapshot.py``, ``cohort.py``; saved cohorts in ``models.py``, written by
``actions.py``). See docs/research.md and docs/fhir.md.
"""
