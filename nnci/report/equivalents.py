"""Carbon equivalents (car distance, flights, homes' electricity, trees) from the catalog table.

The factors come from `std/equivalents.csv`, a copy of the reference catalog's sourced and dated
table (tools/build_std.py writes it). Sources disagree (EPA's car mile is 0.393 kg in its 2024
edition and 0.409 kg in an older one), so a report uses one source's set and names its edition:
the sets below only choose rows and say how to phrase them; every number is read from the table.
"""

from __future__ import annotations

import csv
import functools

import attrs

from nnci.resources import std_dir

# set → (row name in the table, how to say one unit of it)
EQUIVALENT_SETS: dict[str, tuple[tuple[str, str], ...]] = {
    "epa": (
        ("EPA: miles driven by an average gasoline passenger vehicle", "miles driven by an average gasoline car"),
        ("EPA: home's electricity use for one year (older edition)", "US homes' electricity use for a year"),
        ("EPA: smartphone charged (current edition)", "smartphone charges"),
        ("EPA: urban tree seedling grown for 10 years", "tree seedlings grown for 10 years to absorb it"),
    ),
    "desnz": (
        ("DESNZ: average car, unknown fuel", "km driven by an average car"),
        ("DESNZ: flight long-haul to/from UK, economy, with RF", "passenger-km of long-haul economy flight"),
        ("Transatlantic flight London-New York one way, economy, with RF (derived)",
         "one-way economy flights London–New York"),
    ),
    "green-algorithms": (
        ("Green Algorithms: passenger car EU", "km driven by a European passenger car"),
        ("Green Algorithms: flight New York-San Francisco", "passenger flights New York–San Francisco"),
        ("Green Algorithms: tree-year", "tree-years of absorption"),
    ),
}  # fmt: skip
DEFAULT_EQUIVALENTS = "epa"
SOURCE_NAMES = {
    "epa": "US EPA Greenhouse Gas Equivalencies Calculator",
    "desnz": "UK DESNZ Greenhouse gas reporting: conversion factors",
    "green-algorithms": "Green Algorithms reference values (referenceValues.csv)",
}


@attrs.frozen
class Equivalent:
    amount: float  # how many units the carbon equals
    phrase: str
    factor_kg: float  # kgCO2e per unit, as the table gives it (negative: a removal)
    unit: str
    edition: str
    source: str
    reference: str  # URL or repository file
    licence: str


@functools.lru_cache(maxsize=1)
def table() -> dict[str, dict[str, str]]:
    with (std_dir() / "equivalents.csv").open(newline="", encoding="utf-8") as handle:
        return {row["name"]: row for row in csv.DictReader(handle)}


def equivalents(carbon_kg: float, chosen: str) -> list[Equivalent]:
    """The carbon expressed in each unit of the chosen set (a removal factor counts what absorbs it)."""
    rows = table()
    found = []
    for name, phrase in EQUIVALENT_SETS[chosen]:
        row = rows[name]
        factor = float(row["kgCO2e_per_unit"])
        found.append(Equivalent(carbon_kg / abs(factor), phrase, factor, row["unit"], row["edition_year"],
                                row["source"], row["source_url_or_file"], row["licence"]))  # fmt: skip
    return found


def editions(found: list[Equivalent]) -> str:
    """`2024 edition; older edition (undated; c. 2018-2019)`: each edition once, in order."""
    return "; ".join(dict.fromkeys(e.edition for e in found))
