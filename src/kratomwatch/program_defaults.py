"""Program settings that are choices, not published evidence. Read from the environment; no Django."""

from __future__ import annotations

import os


def grams_per_teaspoon() -> tuple[float, float, float]:
    """(point, low, high) grams of powder per level teaspoon for lots without a calibration.

    A labelled program default (KRATOMWATCH_G_PER_TSP, _LOW, _HIGH); doses converted with it are
    flagged ``estimated``. Programs should calibrate each product instead.
    """
    return (
        float(os.environ.get("KRATOMWATCH_G_PER_TSP", "2.5")),
        float(os.environ.get("KRATOMWATCH_G_PER_TSP_LOW", "1.5")),
        float(os.environ.get("KRATOMWATCH_G_PER_TSP_HIGH", "3.5")),
    )


def seven_oh_cap_percent() -> float:
    """7-OH cap (% of total alkaloids) used where the patient's jurisdiction sets none.

    2% is the cap written into Kratom Consumer Protection Acts, e.g. Oklahoma 63 O.S. 1-1432.4.
    """
    return float(os.environ.get("KRATOMWATCH_SEVEN_OH_CAP", "2.0"))
