"""``outagesim blast``: the ranking and one component's loss as tables and JSON, and clear user errors."""

from __future__ import annotations

import json

import pytest

from tests.test_cli import BAD, SHOP, assert_user_error, invoke

MODEL = SHOP / "model.yaml"


def test_blast_ranks_components_and_shows_concentration_as_a_table():
    """Without --fail the table lists the top components by tenants lost and the demand concentration."""
    result = invoke("blast", MODEL, "--top", "3")
    assert result.exit_code == 0, result.output
    assert "single points of failure (top 3 of 12" in result.output
    assert "aws/us-east-1" in result.output and "concentration" in result.output
    assert "cart-cache" not in result.output  # rank 12 of 12, below the top 3


def test_blast_json_is_stable_and_ranked():
    """The JSON ranking is byte-identical across runs, has --top rows, and ranks the provider first."""
    first, second = invoke("blast", MODEL, "--format", "json"), invoke("blast", MODEL, "--format", "json")
    assert first.exit_code == 0, first.output
    assert first.output == second.output
    data = json.loads(first.output)
    rows = data["single_points_of_failure"]
    assert len(rows) == 10 and data["components_evaluated"] == 12
    assert [r["rank"] for r in rows] == list(range(1, 11))
    assert rows[0]["component"] == "aws" and rows[0]["tenants_down"] == ["shoppers"]
    assert data["concentration"]["hhi_region"] == 1.0


def test_blast_workers_give_the_same_ranking():
    """``--workers 2`` forks a worker for half the losses; the JSON is byte for byte the one process's."""
    one = invoke("blast", MODEL, "--format", "json", "--workers", "1")
    two = invoke("blast", MODEL, "--format", "json", "--workers", "2")
    assert one.exit_code == 0 and two.exit_code == 0, two.output
    assert two.output == one.output


def test_blast_fail_reports_what_one_loss_takes_down():
    """With --fail the output names the tenants and services the loss takes down (JSON and table); catalog
    calls catalog-db on 80% of requests, so the shoppers keep the 20% that do not."""
    data = json.loads(invoke("blast", MODEL, "--fail", "catalog-db", "--format", "json").output)
    served = data.pop("tenant_served")
    assert data == {"component": "catalog-db", "kind": "service", "tenants_down": ["shoppers"],
                    "users_down": 20000.0, "services_down": ["catalog", "catalog-db", "frontend"]}
    assert served == {"shoppers": pytest.approx(0.2, abs=1e-6)}
    table = invoke("blast", MODEL, "--fail", "cart-cache")
    assert table.exit_code == 0, table.output
    assert "takes down 0 tenant(s)" in table.output and "100.0%" in table.output


def test_blast_unknown_component_is_a_user_error_with_a_suggestion():
    """An unknown --fail name exits 2 with what was expected, what was found and a did-you-mean."""
    assert_user_error(invoke("blast", MODEL, "--fail", "catalog-bd"), "expected a provider, region, zone",
                      "found 'catalog-bd'", "did you mean 'catalog-db'?")


def test_blast_bad_format_is_a_user_error():
    """A --format other than table or json exits 2 naming both choices and the closest one."""
    assert_user_error(invoke("blast", MODEL, "--format", "jsno"), "expected one of table, json",
                      "found 'jsno'", "did you mean 'json'?")


def test_blast_bad_model_is_a_user_error():
    """A malformed model file exits 2 with its file and line, as in ``validate``."""
    assert_user_error(invoke("blast", BAD / "unknown_key.yaml"), f"{BAD / 'unknown_key.yaml'}:16")
