"""Write models/carbon-aware-training.csv: two synthetic hourly grid intensities for March 2024.

The profiles are synthetic (no real data, so no licence but the repository's MIT): `solar` has a
strong daily cycle, as a grid with much solar power does (about 420 gCO2e/kWh at night, falling to
about 90 at midday), with some day-to-day variation; `wind` swings over several days, as a grid
with much wind power does. Both are deterministic functions of the hour, so the file can be
rebuilt and checked.

    python tools/make_grid_profiles.py           # (re)write the CSV
    python tools/make_grid_profiles.py --check   # exit 1 if the CSV differs from what this writes
    python tools/make_grid_profiles.py --expect  # the figures models/carbon-aware-training.nnci expects,
                                                 # summed hour by hour here (not by nnci)
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "models" / "carbon-aware-training.csv"
HOURS = 31 * 24  # 2024-03-01T00:00Z to 2024-04-01T00:00Z


def solar(hour: int) -> float:
    day, clock = divmod(hour, 24)
    sun = max(0.0, math.sin(math.pi * (clock - 6) / 12))  # daylight from 06:00 to 18:00 UTC
    cloud = 0.75 + 0.25 * math.sin(day * 2.1)  # some days are cloudier
    return round(420 - 330 * sun * cloud + 15 * math.sin(hour * 0.37), 1)


def wind(hour: int) -> float:
    return round(260 + 140 * math.sin(2 * math.pi * hour / 110) + 30 * math.sin(hour / 9.0), 1)


def text() -> str:
    lines = ["timestamp,solar [gCO2e/kWh],wind [gCO2e/kWh]"]
    for hour in range(HOURS):
        day, clock = divmod(hour, 24)
        lines.append(f"2024-03-{day + 1:02d}T{clock:02d}:00Z,{solar(hour)},{wind(hour)}")
    return "\n".join(lines) + "\n"


def expected() -> dict[str, float]:
    """tCO2e of the model's jobs, summed hour by hour: 64 GPUs × 700 W, PUE 1.1 (solar) or 1.2 (wind),
    for 36 h from Monday 2024-03-04T18:00Z (planned), from 2024-03-05T06:00Z (shifted), or at the wind
    site from the planned start."""
    power_kw = 64 * 0.7

    def carbon(profile: object, pue: float, first_hour: int, hours: int) -> float:
        grams = sum(power_kw * pue * profile(first_hour + h) for h in range(hours))  # type: ignore[operator]
        return grams / 1e6  # g → t

    planned = 3 * 24 + 18
    return {
        "planned.operational": carbon(solar, 1.1, planned, 36),
        "shifted.operational": carbon(solar, 1.1, 4 * 24 + 6, 36),
        "elsewhere.operational": carbon(wind, 1.2, planned, 36),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--expect", action="store_true")
    args = parser.parse_args()
    if args.expect:
        for name, value in expected().items():
            print(f"{name} = {value:.6f} tCO2e")
        return 0
    if args.check:
        return 0 if OUTPUT.read_text(encoding="utf-8") == text() else 1
    OUTPUT.write_text(text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
