"""Population safety surveillance on public spontaneous adverse-event reports (docs/surveillance.md).

``openebgm.py`` reads the openEBGM layout (one row per report, product and event) and counts every pair with its
margins; ``store.py`` keeps the counts and results as Parquet files under ``KRATOMWATCH_HOME/surveillance/`` (an
analytical store beside the clinical database, never inside it); ``signals.py`` runs the statistics of
``kratomwatch.core.disproportionality`` on them; ``names.py`` recognises kratom and 7-OH product names;
``faers.py`` reads FDA FAERS quarterly ASCII extracts (de-duplicated to the latest case version) into the openEBGM
layout, and ``faers_synth.py`` generates FAERS-format quarters for tests and benchmarks.
No Django models: nothing here touches patient data.

Spontaneous reports cannot give incidence or causation: every output carries :data:`CAVEAT`.
"""

CAVEAT = (
    "Spontaneous adverse-event reports cannot establish incidence or causation: there is no count of people "
    "exposed, reporting is voluntary and selective (publicity, stimulated reporting, duplicates, co-reported "
    "products, confounding by the reason for use). A disproportionality signal means an event is reported "
    "more often with a product than with the rest of the database; it is a reason to read the reports, "
    "not a finding of harm."
)
