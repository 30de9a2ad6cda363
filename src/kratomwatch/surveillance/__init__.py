"""Population safety surveillance on public spontaneous adverse-event reports (docs/surveillance.md).

``ingest.py`` reads FAERS (current and legacy AERS layouts), CAERS and openEBGM-layout files into the analytical
store, one whole unit (a quarter, a file) at a time; ``scan.py`` de-duplicates, names products (``names.py`` for
kratom and 7-OH, the ingredient index for the rest), counts every pair and writes the analysis; ``signals.py`` runs
the statistics of ``kratomwatch.core.disproportionality``; ``store.py`` keeps everything as Parquet under
``KRATOMWATCH_HOME/surveillance/`` (beside the clinical database, never in it); ``views.py`` reads an analysis for
the page and the API; ``openebgm.py`` is the openEBGM layout and its ``processRaw`` counting; ``faers_synth.py``
generates FAERS-format quarters. No Django models: nothing here touches patient data.

Spontaneous reports cannot give incidence or causation: every output carries :data:`CAVEAT`.
"""

CAVEAT = (
    "Spontaneous adverse-event reports cannot establish incidence or causation: there is no count of people "
    "exposed, reporting is voluntary and selective (publicity, stimulated reporting, duplicates, co-reported "
    "products, confounding by the reason for use). A disproportionality signal means an event is reported "
    "more often with a product than with the rest of the database; it is a reason to read the reports, "
    "not a finding of harm."
)
