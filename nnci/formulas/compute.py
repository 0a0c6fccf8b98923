"""Compute: device counts, device-hours, FLOP, throughput, and the durations they imply.

A job may be described however the user knows it: devices × duration, device-hours, total
compute with achieved throughput or with peak × efficiency, or parameters × tokens.
"""

from __future__ import annotations

from collections.abc import Callable

from nnci.formulas.citations import LLMCARBON, NNCI_RULE, PATTERSON
from nnci.formulas.registry import Example, Formula, Input, Item, Noted, register
from nnci.units import DIMENSIONLESS, FLOP, THROUGHPUT, TIME, TOKEN


def _count(devices: list[Item]) -> float:
    return sum((item.weight for item in devices), 0.0)


def _mean_peak(peak: list[Item]) -> float:
    return sum((item.weight * item.value for item in peak), 0.0) / _count(peak)


register(Formula(
    "fleet-count", "fleet", "count", DIMENSIONLESS, "n = Σ_h n_h",
    (Input("devices", "devices[]", DIMENSIONLESS),), _count, NNCI_RULE,
    (Example({"devices": [("10000", None), ("625", None)]}, "10625"),),
))  # fmt: skip

register(Formula(
    "fleet-accelerators", "fleet", "accelerators", DIMENSIONLESS,
    "n_acc = Σ_h n_h over the devices whose role is accelerator (not host)",
    (Input("devices", "devices[accelerator]", DIMENSIONLESS),), _count, NNCI_RULE,
    (Example({"devices": [("16", None)]}, "16"),),
))  # fmt: skip

register(Formula(
    "fleet-peak", "fleet", "peak", THROUGHPUT, "peak = Σ_a n_a × peak_a ÷ Σ_a n_a over the accelerators (dense FP16/BF16)",
    (Input("peak", "devices[accelerator].peak_fp16", THROUGHPUT),), _mean_peak, NNCI_RULE,
    (Example({"peak": [("512", "125 TFLOP/s")]}, "125 TFLOP/s"),),
))  # fmt: skip


for kind in ("training", "inference"):
    register(Formula(
        "dense-activation", kind, "activated_parameters", DIMENSIONLESS, "activated = parameters (dense)",
        (Input("parameters", "parameters", DIMENSIONLESS),),
        lambda parameters: Noted(parameters, "dense model: every parameter is active"), LLMCARBON,
        (Example({"parameters": "175e9"}, "175e9"),),
    ))  # fmt: skip


def _flop_per_token(factor: float) -> Callable[[float, float], float]:
    def compute(activated_parameters: float, tokens: float) -> float:
        return factor * activated_parameters * tokens

    return compute


# LLMCarbon: FLOP per activated parameter per token, 6 to train (forward and backward), 2 to infer
for name, kind, per_token, equation, example in (
    # GPT-3: 175 B parameters, 300 B tokens
    ("compute-6nd", "training", 6.0, "C ≈ 6 × P_activated × D", ("175e9", "300e9 tokens", "3.15e23 FLOP")),
    (
        "compute-2nd",
        "inference",
        2.0,
        "C_inference ≈ 2 × P_activated × D_inference",
        ("176e9", "1e6 tokens", "3.52e17 FLOP"),
    ),
):
    register(Formula(
        name, kind, "compute", FLOP, equation,
        (Input("activated_parameters", "activated_parameters", DIMENSIONLESS), Input("tokens", "tokens", TOKEN)),
        _flop_per_token(per_token), LLMCARBON,
        (Example({"activated_parameters": example[0], "tokens": example[1]}, example[2]),),
    ))  # fmt: skip

for kind in ("training", "inference"):
    register(Formula(
        "fleet-accelerators", kind, "accelerators", DIMENSIONLESS,
        "accelerators = the fleet's devices whose role is accelerator (hosts are not counted)",
        (Input("accelerators", "fleet.accelerators", DIMENSIONLESS),), lambda accelerators: accelerators, NNCI_RULE,
        (Example({"accelerators": "384"}, "384"),),
    ))  # fmt: skip
    register(Formula(
        "fleet-peak", kind, "peak", THROUGHPUT, "peak of the fleet's devices",
        (Input("peak", "fleet.peak", THROUGHPUT),), lambda peak: peak, NNCI_RULE,
        (Example({"peak": "125 TFLOP/s"}, "125 TFLOP/s"),),
    ))  # fmt: skip
    register(Formula(
        "device-hours", kind, "device_hours", TIME, "device-hours = accelerators × Δt",
        (Input("accelerators", "accelerators", DIMENSIONLESS), Input("duration", "duration", TIME)),
        lambda accelerators, duration: accelerators * duration, PATTERSON,
        (Example({"accelerators": "200", "duration": "6.8 days"}, "32640 h"),),
    ))  # fmt: skip
    register(Formula(
        "duration-from-device-hours", kind, "duration", TIME, "Δt = device-hours ÷ accelerators",
        (Input("device_hours", "device_hours", TIME), Input("accelerators", "accelerators", DIMENSIONLESS)),
        lambda device_hours, accelerators: device_hours / accelerators, PATTERSON,
        (Example({"device_hours": "1082990 h", "accelerators": "384"}, "2820.286 h"),),
    ))  # fmt: skip
    register(Formula(
        "duration-from-compute", kind, "duration", TIME, "Δt = FLOP ÷ (accelerators × FLOP/s per accelerator)",
        (Input("compute", "compute", FLOP), Input("accelerators", "accelerators", DIMENSIONLESS),
         Input("throughput", "throughput", THROUGHPUT)),
        lambda compute, accelerators, throughput: compute / (accelerators * throughput), PATTERSON,
        # GPT-3, App. A: 3.14e23 FLOP on 10,000 V100 at 24.6 TFLOP/s
        (Example({"compute": "3.14e23 FLOP", "accelerators": "10000", "throughput": "24.6 TFLOP/s"},
                 "14.77 days"),),
    ))  # fmt: skip
    register(Formula(
        "compute-from-throughput", kind, "compute", FLOP, "FLOP = FLOP/s per accelerator × accelerators × Δt",
        (Input("throughput", "throughput", THROUGHPUT), Input("accelerators", "accelerators", DIMENSIONLESS),
         Input("duration", "duration", TIME)),
        lambda throughput, accelerators, duration: throughput * accelerators * duration, PATTERSON,
        # T5, Table 4: 512 TPU v3 at 45.6 TFLOP/s for 20 days
        (Example({"throughput": "45.6 TFLOP/s", "accelerators": "512", "duration": "20 days"},
                 "4.034e22 FLOP"),),
    ))  # fmt: skip
    register(Formula(
        "compute-from-device-hours", kind, "compute", FLOP, "FLOP = FLOP/s per accelerator × device-hours",
        (Input("throughput", "throughput", THROUGHPUT), Input("device_hours", "device_hours", TIME)),
        lambda throughput, device_hours: throughput * device_hours, PATTERSON,
        (Example({"throughput": "45.6 TFLOP/s", "device_hours": "245760 h"}, "4.034e22 FLOP"),),
    ))  # fmt: skip
    register(Formula(
        "device-peak", kind, "peak", THROUGHPUT, "peak of the job's one device kind (dense FP16/BF16)",
        (Input("peak", "device.peak_fp16", THROUGHPUT),), lambda peak: peak, NNCI_RULE,
        (Example({"peak": "312 TFLOP/s"}, "312 TFLOP/s"),), needs=("device",),
    ))  # fmt: skip
    register(Formula(
        "throughput-from-peak", kind, "throughput", THROUGHPUT, "FLOP/s achieved = peak × efficiency",
        (Input("peak", "peak", THROUGHPUT), Input("efficiency", "efficiency", DIMENSIONLESS)),
        lambda peak, efficiency: peak * efficiency, LLMCARBON,
        (Example({"peak": "125 TFLOP/s", "efficiency": "0.197"}, "24.625 TFLOP/s"),),
    ))  # fmt: skip
