"""Serving: figures per query and per token, and queries or energy from a per-query figure."""

from __future__ import annotations

from nnci.formulas.citations import BLOOM, NNCI_RULE
from nnci.formulas.registry import Example, Formula, Input, Noted, register
from nnci.units import CARBON, ENERGY, QUERY, TOKEN

register(Formula(
    "energy-per-query", "inference", "energy_per_query", ENERGY / QUERY, "e = E / queries",
    (Input("energy", "energy", ENERGY), Input("queries", "queries", QUERY)),
    lambda energy, queries: energy / queries, BLOOM + ", §5",
    (Example({"energy": "914 kWh", "queries": "230768 queries"}, "3.96069 Wh/query"),),
))  # fmt: skip

register(Formula(
    "carbon-per-query", "inference", "carbon_per_query", CARBON / QUERY, "c = total / queries",
    (Input("total", "total", CARBON), Input("queries", "queries", QUERY)),
    lambda total, queries: Noted(total / queries, "includes embodied carbon: total (operational + embodied) ÷ queries"),
    NNCI_RULE,
    (Example({"total": "340 kgCO2e", "queries": "230768 queries"}, "1.47334 gCO2e/query"),),
))  # fmt: skip

register(Formula(
    "energy-per-token", "inference", "energy_per_token", ENERGY / TOKEN, "e_token = E / tokens",
    (Input("energy", "energy", ENERGY), Input("tokens", "tokens", TOKEN)),
    lambda energy, tokens: energy / tokens, NNCI_RULE,
    (Example({"energy": "24 kWh", "tokens": "12e6 tokens"}, "7.2 J/token"),),
))  # fmt: skip

register(Formula(
    "carbon-per-token", "inference", "carbon_per_token", CARBON / TOKEN, "c_token = total / tokens",
    (Input("total", "total", CARBON), Input("tokens", "tokens", TOKEN)),
    lambda total, tokens: Noted(total / tokens, "includes embodied carbon: total (operational + embodied) ÷ tokens"),
    NNCI_RULE,
    (Example({"total": "12 kgCO2e", "tokens": "12e6 tokens"}, "1 gCO2e/ktoken"),),
))  # fmt: skip

register(Formula(
    "queries-from-energy", "inference", "queries", QUERY, "queries = E / e_query",
    (Input("energy", "energy", ENERGY), Input("energy_per_query", "energy_per_query", ENERGY / QUERY)),
    lambda energy, energy_per_query: energy / energy_per_query, NNCI_RULE,
    (Example({"energy": "914 kWh", "energy_per_query": "3.96069 Wh/query"}, "230768 queries"),),
))  # fmt: skip

register(Formula(
    "energy-from-queries", "inference", "energy", ENERGY, "E = e_query × queries",
    (Input("energy_per_query", "energy_per_query", ENERGY / QUERY), Input("queries", "queries", QUERY)),
    lambda energy_per_query, queries: energy_per_query * queries, BLOOM + ", §5",
    (Example({"energy_per_query": "3.96 Wh/query", "queries": "230768 queries"}, "913.841 kWh"),),
))  # fmt: skip
