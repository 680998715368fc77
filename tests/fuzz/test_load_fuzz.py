"""Fuzzing the loader: whatever the input, it returns a Model or raises ModelError, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outagesim.errors import ModelError
from outagesim.model import Model, Scenario
from outagesim.model.load import (
    apply_overrides,
    apply_variant,
    load,
    load_model,
    load_scenario,
    validate_files,
)

GOOD = Path(__file__).parents[1] / "data" / "good"
MODEL_TEXT = (GOOD / "minimal.yaml").read_text()
SCENARIO_TEXT = (GOOD / "minimal_scenario.yaml").read_text()
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

KEYS = ["providers", "regions", "zones", "services", "tenants", "instances", "concurrency", "service_time",
        "mean", "cv", "calls", "timeout", "per_request", "mode", "required", "retry", "max_attempts",
        "entry", "demand", "peak_rps", "dist", "median", "p90", "include", "anchor", "duration", "faults",
        "kind", "target", "at", "variants", "model_patch", "frontend", "db", "use1-az1", "aws"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1s", "250ms", "-3s", "2h", "sync", "async", "hard", "soft", "lognormal", "zone_down",
                     "+00:05", "2024-01-01T00:00:00Z", "frontend", "db", "use1-az1", "", "0", "nan"]),
    st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner,
                                            max_size=5)),
    max_leaves=30,
)
TOP = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6)


def _load_model_text(folder: Path, text: str | bytes) -> None:
    path = folder / "m.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    try:
        assert isinstance(load_model(str(path)), Model)
    except ModelError as exc:
        assert exc.problems and all(p.file for p in exc.problems)
    problems = validate_files([str(path)])
    assert isinstance(problems, list)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def loaded() -> tuple[Model, Scenario | None]:
    return load(str(GOOD / "minimal.yaml"), str(GOOD / "minimal_scenario.yaml"))


@FUZZ
@given(data=TOP)
def test_random_mappings(folder, data):
    """Random YAML-ish mappings (as JSON, which is YAML) load or fail with ModelError."""
    _load_model_text(folder, json.dumps(data, allow_nan=True))


def _mutations(text: str) -> st.SearchStrategy[str]:
    lines = text.splitlines(keepends=True)
    n = len(lines)
    line_ix = st.integers(0, n - 1)
    junk = st.one_of(st.text(max_size=10), st.sampled_from(
        ["!!python/object:os.system\n", "&a", "*a", "<<: *a\n", "{", "]", ": :", "\t", "- ", "~", "'", '"',
         "concurency: 3\n", "  calls:\n", "    x: {timeout: 1s}\n", "null", "1e999", "---\n"]))

    @st.composite
    def mutate(draw) -> str:
        out = list(lines)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(line_ix) % len(out) if out else 0
            op = draw(st.sampled_from(["delete", "duplicate", "insert", "replace_char", "swap", "truncate"]))
            if not out:
                break
            if op == "delete":
                del out[i]
            elif op == "duplicate":
                out.insert(i, out[i])
            elif op == "insert":
                out.insert(i, draw(junk))
            elif op == "swap":
                j = draw(line_ix) % len(out)
                out[i], out[j] = out[j], out[i]
            elif op == "truncate":
                out[i] = out[i][: draw(st.integers(0, max(0, len(out[i]) - 1)))] + "\n"
            else:
                pos = draw(st.integers(0, max(0, len(out[i]) - 1)))
                out[i] = out[i][:pos] + draw(junk) + out[i][pos + 1:]
        return "".join(out)

    return mutate()


@FUZZ
@given(text=_mutations(MODEL_TEXT))
def test_mutated_model_files(folder, text):
    """A valid model file with lines deleted, duplicated, swapped or garbled loads or fails cleanly."""
    _load_model_text(folder, text)


@FUZZ
@given(text=_mutations(SCENARIO_TEXT))
def test_mutated_scenario_files(folder, text):
    """A mutated scenario, loaded with the good model and its variants applied, fails only with ModelError."""
    path = folder / "s.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        model, scenario = load(str(GOOD / "minimal.yaml"), str(path))
        assert isinstance(scenario, Scenario)
        for name in scenario.variants:
            apply_variant(model, scenario, name)
        load_scenario(str(path))
    except ModelError as exc:
        assert exc.problems


@FUZZ
@given(raw=st.binary(max_size=200))
def test_random_bytes(folder, raw):
    """Arbitrary bytes never escape as anything but ModelError."""
    _load_model_text(folder, raw)


@FUZZ
@given(assignment=st.one_of(
    st.text(max_size=30),
    st.builds(lambda k, v: f"{k}={v}",
              st.lists(st.sampled_from(KEYS + ["frontend", "0", "3"]), min_size=1, max_size=5).map(".".join),
              st.one_of(st.text(max_size=8),
                        st.sampled_from(["1s", "{a: 1}", "[1, 2]", "null", "!!python/x 1"]))),
))
def test_random_overrides(loaded, assignment):
    """Random --set strings apply or fail with ModelError."""
    model, scenario = loaded
    try:
        apply_overrides(model, scenario, [assignment])
    except ModelError as exc:
        assert exc.problems
