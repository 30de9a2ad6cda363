"""The synthetic demo program: deterministic, idempotent, written through the actions like any other data.

All data is synthetic. Dose amounts are plausible self-reported amounts for a monitoring demo, not
guidance of any kind.

The demo is an adapter on top of every app: it reads through ``kratomwatch.access`` (as the ``demo``
operator) and writes through the ``actions`` modules of records, accounts, consent, assessments and
alerts. Nothing below it imports it.

Modules, in the order :func:`load_demo` runs them:

* ``catalogue``: the demo products and lots;
* ``patients``: the demo patients (plus one patient of another clinic);
* ``doses``: each patient's dose trajectory (stable, escalating, tapering, stopping), imported in one batch;
* ``clinical``: medications, laboratory results and adverse events;
* ``logins``: one login per role;
* ``assessments``: questionnaire histories and schedules;
* ``consent``: the consent document, signatures and two research withdrawals;
* ``research_cohort``: the synthetic research cohort (KW-R001..KW-R120, up to a year of data each);
* ``loader``: the order above, then one alert sweep; after the commit, the first research analysis snapshot.
"""

from __future__ import annotations

from kratomwatch.demo.assessments import load_demo_assessments
from kratomwatch.demo.data import CONDITION_SETS, DEMO_LOGINS, DEMO_PASSWORD, DEMO_SLUG, OTHER_SLUG, PLACES
from kratomwatch.demo.loader import load_demo

__all__ = [
    "CONDITION_SETS",
    "DEMO_LOGINS",
    "DEMO_PASSWORD",
    "DEMO_SLUG",
    "OTHER_SLUG",
    "PLACES",
    "load_demo",
    "load_demo_assessments",
]
