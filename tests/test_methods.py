"""Properties of the published methods (nnci, Patterson, LLMCarbon, BLOOM).

Each test writes a program as text, evaluates it and compares what the engine derives with a
value computed here by hand from the numbers written, in SI units (J, kg, FLOP), without nnci's
formulas:

- energy is linear in device count, power and duration, and in PUE where the method applies one
  (BLOOM's dynamic energy has no PUE and uses the TDP);
- LLMCarbon's compute is 6 × activated parameters × tokens for training and 2 × P × tokens for
  inference, so it scales with P × D;
- embodied carbon amortised over a device's whole lifetime is the device's whole embodied carbon
  (nnci and LLMCarbon; BLOOM over the lifetime's hours of use);
- equivalent descriptions of one job (devices × duration, device-hours, compute ÷ throughput,
  compute ÷ (peak × efficiency), parameters × tokens) give the same energy.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import MethodJob, method_jobs, scale_factors

import nnci
from nnci.engine import Derivation

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REL = 1e-9

HOUR = 3600.0  # s
KWH = 3.6e6  # J
G_PER_KWH = 1e-3 / KWH  # kg/J
LLMCARBON_LIFETIME_H = 5 * 365 * 24.0  # LLMCarbon's default: 5 × 365 days

DESCRIPTIONS = ("duration", "device_hours", "throughput", "peak", "tokens")


def _num(value: float) -> str:
    """A float as a .nnci literal that reads back to the same float."""
    return repr(float(value))


def _flop_per_token(job: MethodJob) -> float:
    return 6.0 if job.kind == "training" else 2.0


def _parameters_used(job: MethodJob) -> float:
    """LLMCarbon: training uses the activated parameters (MoE), inference C = 2 × P × D."""
    return job.activated_parameters if job.kind == "training" else job.parameters


def render(job: MethodJob, describe: str = "duration", *, lifetime: bool = True, method: bool = True) -> str:
    """The program for `job`, its size given as `describe` says (one of DESCRIPTIONS)."""
    life = [f"  lifetime = {_num(job.lifetime_h)} h"] if lifetime else []
    lines = [
        "nnci 0.1",
        "device acc {",
        f"  tdp = {_num(job.tdp_W)} W",
        f"  power = {_num(job.power_W)} W",
        f"  embodied = {_num(job.embodied_kg)} kgCO2e",
        *life,
        "}",
        "device host {",
        f"  power = {_num(job.host_power_W)} W",
        f"  embodied = {_num(job.host_embodied_kg)} kgCO2e",
        *life,
        "}",
        "datacenter dc {",
        f"  pue = {_num(job.pue)}",
        f"  intensity = {_num(job.intensity)} gCO2e/kWh",
        f"  net_intensity = {_num(job.intensity / 2)} gCO2e/kWh",
        "}",
        f"{job.kind} job {{",
    ]
    if method:
        lines.append(f"  method = {job.method}")
    if job.hosts:
        lines += [f"  fleet = {{ acc = {job.n}, host = {job.hosts} }}", f"  accelerators = {job.n}"]
    else:
        lines.append(f"  fleet = {{ acc = {job.n} }}")
    lines += ["  site = dc", f"  lifetime_usage = {_num(job.usage)}"]
    throughput = job.peak * job.efficiency
    compute = job.n * job.duration_h * HOUR * throughput
    if describe == "duration":
        lines.append(f"  duration = {_num(job.duration_h)} h")
    elif describe == "device_hours":
        lines.append(f"  device_hours = {_num(job.n * job.duration_h)} h")
    elif describe == "throughput":
        lines += [f"  compute = {_num(compute)} FLOP", f"  throughput = {_num(throughput)} FLOP/s"]
    elif describe == "peak":
        lines += [f"  compute = {_num(compute)} FLOP", f"  peak = {_num(job.peak)} FLOP/s",
                  f"  efficiency = {_num(job.efficiency)}"]  # fmt: skip
    elif describe == "tokens":
        tokens = compute / (_flop_per_token(job) * _parameters_used(job))
        lines += [f"  parameters = {_num(job.parameters)}", f"  tokens = {_num(tokens)} tokens",
                  f"  peak = {_num(job.peak)} FLOP/s", f"  efficiency = {_num(job.efficiency)}"]  # fmt: skip
        if job.kind == "training":
            lines.append(f"  activated_parameters = {_num(job.activated_parameters)}")
    else:
        raise ValueError(describe)
    lines.append("}")
    return "\n".join(lines) + "\n"


def quantity(text: str, name: str) -> float:
    """The job's quantity `name` in SI units; fails the test if the engine cannot derive it."""
    program = nnci.loads(text)
    engine = nnci.evaluate(program).engine
    result = engine.quantity(program.jobs[0], name)
    assert isinstance(result, Derivation), f"{name} is unknown: {result}"
    return float(result.value.magnitude)


def energy_by_hand(job: MethodJob) -> float:
    """Joules. BLOOM: accelerators at TDP, hosts (no TDP) left out, no PUE. Others: PUE × every
    device's average power × duration."""
    seconds = job.duration_h * HOUR
    if job.method == "bloom":
        return job.n * job.tdp_W * seconds
    return job.pue * (job.n * job.power_W + job.hosts * job.host_power_W) * seconds


def whole_embodied(job: MethodJob) -> float:
    return job.n * job.embodied_kg + job.hosts * job.host_embodied_kg


# -- energy ---------------------------------------------------------------------------------


@PROPERTY
@given(method_jobs())
def test_energy_by_hand(job: MethodJob) -> None:
    assert quantity(render(job), "energy") == pytest.approx(energy_by_hand(job), rel=REL)


@PROPERTY
@given(method_jobs(), st.integers(2, 12))
def test_energy_is_linear_in_device_count(job: MethodJob, k: int) -> None:
    more = attrs.evolve(job, n=job.n * k, hosts=job.hosts * k)
    base = quantity(render(job), "energy")
    assert quantity(render(more), "energy") == pytest.approx(k * base, rel=REL)
    assert base == pytest.approx(energy_by_hand(job), rel=REL)


@PROPERTY
@given(method_jobs(), scale_factors())
def test_energy_is_linear_in_power(job: MethodJob, k: float) -> None:
    more = attrs.evolve(job, power_W=job.power_W * k, tdp_W=job.tdp_W * k, host_power_W=job.host_power_W * k)
    assert quantity(render(more), "energy") == pytest.approx(k * quantity(render(job), "energy"), rel=REL)


@PROPERTY
@given(method_jobs(), scale_factors())
def test_energy_is_linear_in_duration(job: MethodJob, k: float) -> None:
    longer = attrs.evolve(job, duration_h=job.duration_h * k)
    assert quantity(render(longer), "energy") == pytest.approx(k * quantity(render(job), "energy"), rel=REL)


@PROPERTY
@given(method_jobs(methods=("nnci", "patterson", "llmcarbon")), st.floats(1, 1.8))
def test_energy_is_linear_in_pue(job: MethodJob, k: float) -> None:
    worse = attrs.evolve(job, pue=job.pue * k)
    assert quantity(render(worse), "energy") == pytest.approx(k * quantity(render(job), "energy"), rel=REL)


@PROPERTY
@given(method_jobs(methods=("bloom",)), st.floats(1, 1.8))
def test_bloom_dynamic_energy_has_no_pue(job: MethodJob, k: float) -> None:
    worse = attrs.evolve(job, pue=job.pue * k)
    assert quantity(render(worse), "energy") == pytest.approx(quantity(render(job), "energy"), rel=REL)
    assert quantity(render(job), "energy") == pytest.approx(job.n * job.tdp_W * job.duration_h * HOUR, rel=REL)


@PROPERTY
@given(method_jobs(methods=("bloom",), hosts=True), scale_factors())
def test_bloom_dynamic_energy_leaves_out_devices_without_tdp(job: MethodJob, k: float) -> None:
    other = attrs.evolve(job, hosts=max(1, round(job.hosts * k)), host_power_W=job.host_power_W * k)
    assert quantity(render(other), "energy") == pytest.approx(quantity(render(job), "energy"), rel=REL)


@PROPERTY
@given(method_jobs(), scale_factors())
def test_operational_is_energy_times_intensity(job: MethodJob, k: float) -> None:
    text = render(attrs.evolve(job, intensity=job.intensity * k))
    expected = energy_by_hand(job) * job.intensity * k * G_PER_KWH
    assert quantity(text, "operational") == pytest.approx(expected, rel=REL)


@PROPERTY
@given(method_jobs(methods=("patterson",)))
def test_patterson_net_operational_uses_the_net_intensity(job: MethodJob) -> None:
    expected = energy_by_hand(job) * job.intensity / 2 * G_PER_KWH
    assert quantity(render(job), "net_operational") == pytest.approx(expected, rel=REL)


# -- LLMCarbon compute ----------------------------------------------------------------------


def _compute_text(job: MethodJob, tokens: float, parameters: float, activated: float | None) -> str:
    lines = [
        "device acc {", f"  power = {_num(job.power_W)} W", "}",
        f"{job.kind} job {{", "  method = llmcarbon", f"  fleet = {{ acc = {job.n} }}",
        f"  parameters = {_num(parameters)}", f"  tokens = {_num(tokens)} tokens",
        f"  peak = {_num(job.peak)} FLOP/s", f"  efficiency = {_num(job.efficiency)}",
    ]  # fmt: skip
    if activated is not None:
        lines.append(f"  activated_parameters = {_num(activated)}")
    return "\n".join([*lines, "}"]) + "\n"


@PROPERTY
@given(method_jobs(methods=("llmcarbon",)), st.floats(1e6, 1e13))
def test_llmcarbon_compute_is_6_or_2_times_parameters_times_tokens(job: MethodJob, tokens: float) -> None:
    activated = job.activated_parameters if job.kind == "training" else None
    text = _compute_text(job, tokens, job.parameters, activated)
    compute = _flop_per_token(job) * _parameters_used(job) * tokens
    assert quantity(text, "compute") == pytest.approx(compute, rel=REL)
    # and the predicted training time: compute ÷ (n × peak × efficiency)
    days = compute / (job.n * job.peak * job.efficiency)
    assert quantity(text, "duration") == pytest.approx(days, rel=REL)


@PROPERTY
@given(method_jobs(methods=("llmcarbon",), moe=False), st.floats(1e6, 1e13), scale_factors())
def test_llmcarbon_compute_scales_with_parameters_times_tokens(job: MethodJob, tokens: float, k: float) -> None:
    base = quantity(_compute_text(job, tokens, job.parameters, None), "compute")
    more_parameters = quantity(_compute_text(job, tokens, job.parameters * k, None), "compute")
    more_tokens = quantity(_compute_text(job, tokens * k, job.parameters, None), "compute")
    same_product = quantity(_compute_text(job, tokens / k, job.parameters * k, None), "compute")
    assert more_parameters == pytest.approx(k * base, rel=REL)
    assert more_tokens == pytest.approx(k * base, rel=REL)
    assert same_product == pytest.approx(base, rel=REL)
    assert quantity(_compute_text(job, tokens * 2, job.parameters, None), "compute") == pytest.approx(2 * base, rel=REL)
    assert quantity(_compute_text(job, tokens, job.parameters * 2, None), "compute") == pytest.approx(2 * base, rel=REL)


@PROPERTY
@given(method_jobs(methods=("llmcarbon",), kinds=("training",), moe=True), st.floats(1e6, 1e13), scale_factors())
def test_llmcarbon_moe_training_compute_follows_the_activated_parameters(
    job: MethodJob, tokens: float, k: float
) -> None:
    base = quantity(_compute_text(job, tokens, job.parameters, job.activated_parameters), "compute")
    assert base == pytest.approx(6 * job.activated_parameters * tokens, rel=REL)
    bigger_model = _compute_text(job, tokens, job.parameters * k, job.activated_parameters)
    assert quantity(bigger_model, "compute") == pytest.approx(base, rel=REL)
    more_active = _compute_text(job, tokens, job.parameters, job.activated_parameters * k)
    assert quantity(more_active, "compute") == pytest.approx(k * base, rel=REL)


# -- embodied -------------------------------------------------------------------------------


@PROPERTY
@given(method_jobs(methods=("nnci", "llmcarbon")))
def test_embodied_over_a_whole_lifetime_is_the_whole_embodied(job: MethodJob) -> None:
    whole_life = attrs.evolve(job, duration_h=job.lifetime_h)
    assert quantity(render(whole_life), "embodied") == pytest.approx(whole_embodied(job), rel=REL)


@PROPERTY
@given(method_jobs(methods=("nnci", "llmcarbon")), st.floats(0.001, 1))
def test_embodied_is_the_share_of_the_lifetime_used(job: MethodJob, share: float) -> None:
    part = attrs.evolve(job, duration_h=job.lifetime_h * share)
    assert quantity(render(part), "embodied") == pytest.approx(share * whole_embodied(job), rel=REL)


@PROPERTY
@given(method_jobs(methods=("llmcarbon",)))
def test_llmcarbon_default_lifetime_is_five_365_day_years(job: MethodJob) -> None:
    whole_life = attrs.evolve(job, duration_h=LLMCARBON_LIFETIME_H)
    text = render(whole_life, lifetime=False)
    assert quantity(text, "embodied") == pytest.approx(whole_embodied(job), rel=REL)


@PROPERTY
@given(method_jobs(methods=("bloom",)))
def test_bloom_embodied_over_a_lifetime_of_use_is_the_whole_embodied(job: MethodJob) -> None:
    # BLOOM charges embodied ÷ (lifetime × usage) per hour of use: a lifetime's hours of use
    # (lifetime × usage) carry the whole embodied carbon
    whole_use = attrs.evolve(job, duration_h=job.lifetime_h * job.usage)
    assert quantity(render(whole_use), "embodied") == pytest.approx(whole_embodied(job), rel=REL)


@PROPERTY
@given(method_jobs(methods=("nnci",)))
def test_nnci_without_a_lifetime_charges_the_whole_embodied(job: MethodJob) -> None:
    assert quantity(render(job, lifetime=False), "embodied") == pytest.approx(whole_embodied(job), rel=REL)


# -- equivalent descriptions ----------------------------------------------------------------


@PROPERTY
@given(method_jobs(), st.sampled_from(DESCRIPTIONS[1:]))
def test_equivalent_descriptions_give_the_same_energy(job: MethodJob, describe: str) -> None:
    by_duration = quantity(render(job, "duration"), "energy")
    other = quantity(render(job, describe), "energy")
    assert by_duration == pytest.approx(energy_by_hand(job), rel=REL)
    assert other == pytest.approx(by_duration, rel=REL), describe
    assert quantity(render(job, describe), "duration") == pytest.approx(job.duration_h * HOUR, rel=REL)


@PROPERTY
@given(method_jobs())
def test_every_description_gives_the_same_energy(job: MethodJob) -> None:
    energies = {describe: quantity(render(job, describe), "energy") for describe in DESCRIPTIONS}
    for describe, energy in energies.items():
        assert energy == pytest.approx(energy_by_hand(job), rel=REL), describe


@pytest.mark.parametrize("method", ["nnci", "patterson", "llmcarbon", "bloom"])
def test_worked_example_gpt3_by_hand(method: str) -> None:
    """A fixed case: 10,000 GPUs, 330 W (TDP 300 W), 14.8 days, PUE 1.1, 429 g/kWh."""
    job = MethodJob(
        method=method, kind="training", n=10_000, power_W=330, tdp_W=300, hosts=0, host_power_W=0,
        duration_h=14.8 * 24, pue=1.1, intensity=429, embodied_kg=9.78, host_embodied_kg=0,
        lifetime_h=LLMCARBON_LIFETIME_H, peak=125e12, efficiency=0.197, usage=1, parameters=175e9,
        activated_parameters=175e9,
    )  # fmt: skip
    expected_mwh = 1_065.6 if method == "bloom" else 1_289.376  # 10,000 × W × 355.2 h (× 1.1 but BLOOM)
    assert quantity(render(job), "energy") == pytest.approx(expected_mwh * 1000 * KWH, rel=REL)
