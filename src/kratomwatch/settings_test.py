"""Settings of the test suite (pytest's ``DJANGO_SETTINGS_MODULE``): the production settings module with the
development default ``KRATOMWATCH_DEBUG=1``, set before it loads (pytest-django loads settings before any
conftest). Tests of production behaviour set ``KRATOMWATCH_DEBUG=0`` in their own subprocess environment."""

import os

os.environ.setdefault("KRATOMWATCH_DEBUG", "1")
os.environ.setdefault("KRATOMWATCH_RESEARCH_DEV_SECRET", "0")  # tests set the research secret they need

from kratomwatch.settings import *  # noqa: F403
