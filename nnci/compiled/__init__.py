"""A cache of compiled programs: the resolved, planned and checked form of a scenario, by its files.

Parsing, resolving, planning and checking cost nearly all of a run over a large file, and they
depend only on the text of the files involved (and the options that decide which files those
are). An entry holds what they produced: the program's blocks, the plan (which jobs are stacked
into which columns) and the warnings. A run whose files are all unchanged evaluates the stored
plan at once.

The compiled form is columnar: the blocks that the plan stacked (thousands of jobs of one shape,
and their grids, devices and datacenters) are not written one by one. Each is its stacked
block's *lane*: the stacked block is the template, and a lane adds only what differs between the
blocks of one shape and is not already a column of the template, namely its name, where each part
of it was written (spans, as 32-bit integers in one array) and the text of each number. Every other
block is written whole, as tagged JSON lists (see `encode`).

Entries are data, never code. An entry is used only if its header names this format and the key
it was asked for and its sha256 matches; it decodes only into `nnci.ir` classes with fields of the
right types. A hit is proved, not assumed: the loader runs again with all its rules (the project,
the size limit, regular files only), reading every file, and each file's text must hash to what
the entry recorded, with the same imports, or the entry is not used. Programs with tables, series
or distributions, and runs with `--set` or `--samples`, are not cached. Entries live beside the
module cache, in the subfolder `programs-v1/` (same privacy and pruning rules, own suffix).
"""

from __future__ import annotations

from nnci.compiled.entries import FORMAT, MAGIC, SUBFOLDER, SUFFIX, drop, get, key_of, put, same_files, stand_in, wanted
from nnci.compiled.program import Compiled, Damaged, decode, encode
from nnci.compiled.values import Unusable

__all__ = [
    "FORMAT",
    "MAGIC",
    "SUBFOLDER",
    "SUFFIX",
    "Compiled",
    "Damaged",
    "Unusable",
    "decode",
    "drop",
    "encode",
    "get",
    "key_of",
    "put",
    "same_files",
    "stand_in",
    "wanted",
]
