"""Malformed files: each gives one clear problem with file, line, key path, expected and found."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from outagesim.errors import ModelError, Problem
from outagesim.model.load import load, load_model, validate_files

BAD = Path(__file__).parents[1] / "data" / "bad"
GOOD_MODEL = Path(__file__).parents[1] / "data" / "good" / "minimal.yaml"

# file, line, key path, expected (substring), found (substring), hint (substring)
CASES = [
    ("wrong_type.yaml", 10, "services.api.concurrency", "a number", "'lots'", ""),
    ("unknown_key.yaml", 16, "services.db.concurency", "one of the keys kind, instances, concurrency",
     "unknown key 'concurency'", "did you mean 'concurrency'?"),
    ("unknown_service.yaml", 13, "services.api.calls.dbb", "the name of a service", "'dbb'",
     "did you mean 'db'?"),
    ("negative_capacity.yaml", 15, "services.db.instances.use1-az1", "instances >= 0", "-2", ""),
    ("self_call.yaml", 19, "services.db.calls.db", "a call to another service", "'db' calling itself", ""),
    ("sync_hard_cycle.yaml", 13, "services.api.calls.db", "no cycle of sync hard calls",
     "the cycle api -> db -> api", ""),
    ("gain_cycle.yaml", 13, "services.api.calls.db", "fan-out gain below 1",
     "the cycle api -> db -> api with gain 2", ""),
    ("no_timeout.yaml", 13, "services.api.calls.db.timeout", "a 'timeout' on a sync call",
     "a sync call with no timeout", "timeout: 2s"),
    ("bad_time_unit.yaml", 11, "services.api.service_time.mean", "a duration like '30s'", "'20 minutes'", ""),
    ("bare_number_duration.yaml", 13, "services.api.calls.db.timeout", "a duration with a unit", "3", ""),
    ("bad_include.yaml", 2, "include.0", "the path of a YAML file to include",
     "'parts/no_such_file.yaml', which does not exist", ""),
    ("bad_distribution.yaml", 18, "services.db.service_time.mean", "p90", "a map with keys dist, median, p90",
     ""),
    ("unknown_distribution.yaml", 10, "services.api.concurrency.dist", "'dist' to be one of", "'unifrom'",
     "did you mean 'uniform'?"),
    ("unknown_zone.yaml", 17, "services.db.instances.use1-az3", "the name of a zone", "'use1-az3'",
     "did you mean 'use1-az"),
    ("unknown_entry.yaml", 20, "tenants.shop.entry.apii", "the name of a service", "'apii'",
     "did you mean 'api'?"),
    ("wrong_mode.yaml", 13, "services.api.calls.db.mode", "'sync' or 'async'", "'synch'",
     "did you mean 'sync'?"),
    ("missing_field.yaml", 14, "services.db.service_time", "the key 'service_time'",
     "no 'service_time' in services.db", ""),
    ("duplicate_key.yaml", 17, "services.db.concurrency", "each key once", "'concurrency' again", ""),
    ("top_level_list.yaml", 1, "", "a map of settings", "a list of 2 items", ""),
    ("unsafe_tag.yaml", 2, "description", "plain YAML without tags", "'!!python/object/apply:os.system'", ""),
    ("custom_tag.yaml", 10, "services.api.concurrency", "plain YAML without tags", "'!env'", ""),
    ("syntax_error.yaml", 12, "", "valid YAML", "syntax error at column 10", ""),
    ("tab_indent.yaml", 10, "", "valid YAML", "syntax error", ""),
    ("empty.yaml", None, "", "a map of settings", "an empty file", ""),
    ("comments_only.yaml", None, "", "a map of settings", "an empty file", ""),
    ("binary_garbage.yaml", 3, "", "YAML text", "binary data", ""),
    ("not_utf8.yaml", 2, "", "UTF-8 text", "0xe9", ""),
    ("huge_nesting.yaml", 2, "", "nesting at most 64 levels deep", "deeper nesting", ""),
    ("alias_bomb.yaml", 10, "", "values after expanding aliases", "alias bomb", ""),
    ("duplicate_across_includes.yaml", 15, "services.db", "one definition of service 'db'",
     "the first is at " + str(BAD / "parts" / "base_db.yaml") + ":3", ""),
]

# scenarios, loaded with the good minimal model
SCENARIO_CASES = [
    ("scenario_bad_anchor.yaml", 2, "anchor", "an ISO-8601 UTC time", "'2024-13-01T12:00:00Z'", ""),
    ("scenario_unknown_target.yaml", 7, "faults.az-down.target", "a zone, region, provider, service or cell",
     "'use1-az3'", "did you mean 'use1-az"),
    ("scenario_patch_names_nothing.yaml", 14, "variants.more-db.model_patch.services.dbb",
     "an existing item of 'services'", "'dbb', which is not there", "did you mean 'db'?"),
    ("scenario_bad_fault_kind.yaml", 6, "faults.az-down.kind", "'kind' to be one of 'zone_down'",
     "'zone_dwn'", "did you mean 'zone_down'?"),
    ("scenario_bad_fault_time.yaml", 8, "faults.az-down.at", "'+HH:MM[:SS]' after the anchor",
     "'five minutes in'", ""),
    ("scenario_wrong_target_kind.yaml", 7, "faults.az-down.target", "a zone for kind 'zone_down'",
     "'db', a service", ""),
]


def _only_error(exc: ModelError) -> Problem:
    errors = [p for p in exc.problems if p.severity == "error"]
    assert len(errors) == 1, "\n".join(map(str, errors))
    return errors[0]


def _assert_problem(p: Problem, file: Path, line, path, expected, found, hint) -> None:
    assert p.file == str(file)
    assert p.line == line
    assert p.path == path
    assert expected in p.expected
    assert found in p.found
    assert hint in p.hint
    assert str(file) in str(p) and (f":{line}" in str(p) if line else True)


def _snapshot() -> set[tuple[str, float]]:
    return {(str(p), p.stat().st_mtime) for p in BAD.rglob("*")}


@pytest.mark.parametrize(("name", "line", "path", "expected", "found", "hint"), CASES,
                         ids=[c[0] for c in CASES])
def test_bad_model_file(name, line, path, expected, found, hint):
    """Each malformed model file gives exactly one error naming file, line, key path, expected and found."""
    before = _snapshot()
    with pytest.raises(ModelError) as info:
        load_model(str(BAD / name))
    _assert_problem(_only_error(info.value), BAD / name, line, path, expected, found, hint)
    assert _snapshot() == before


@pytest.mark.parametrize(("name", "line", "path", "expected", "found", "hint"), SCENARIO_CASES,
                         ids=[c[0] for c in SCENARIO_CASES])
def test_bad_scenario_file(name, line, path, expected, found, hint):
    """Each malformed scenario gives exactly one error, checked against a good model."""
    with pytest.raises(ModelError) as info:
        load(str(GOOD_MODEL), str(BAD / name))
    _assert_problem(_only_error(info.value), BAD / name, line, path, expected, found, hint)


def test_include_cycle_cites_the_include_line():
    """An include cycle is an error at the include line that closes it, listing the cycle."""
    with pytest.raises(ModelError) as info:
        load_model(str(BAD / "include_cycle_a.yaml"))
    p = _only_error(info.value)
    _assert_problem(p, BAD / "include_cycle_b.yaml", 2, "include", "includes without a cycle",
                    "include_cycle_a.yaml -> include_cycle_b.yaml -> include_cycle_a.yaml", "")


def test_there_are_enough_bad_files():
    """The bad-input corpus covers at least 22 malformed files."""
    assert len(CASES) + len(SCENARIO_CASES) + 1 >= 22
    assert len(list(BAD.glob("*.yaml"))) >= 22


UNSAFE = [
    "description: !!python/object/apply:os.system ['touch {marker}']\n",
    "description: !!python/object/new:os.system ['touch {marker}']\n",
    "description: !!python/object/apply:subprocess.check_call [['touch', '{marker}']]\n",
    "description: !!python/name:os.system\n",
    "? !!python/object/apply:os.system ['touch {marker}']\n: 1\n",
    "description: &x !!python/object/apply:os.system ['touch {marker}']\nservices: *x\n",
]


@pytest.mark.parametrize("template", UNSAFE)
def test_unsafe_tags_are_refused_not_run(tmp_path, template):
    """A python tag is reported as an error and never executed: the marker file is not created."""
    marker = f"/tmp/pwned-{uuid.uuid4().hex}"
    path = tmp_path / "evil.yaml"
    path.write_text(template.format(marker=marker))
    with pytest.raises(ModelError) as info:
        load_model(str(path))
    assert not os.path.exists(marker)
    assert any("tag" in p.found or "key" in p.found for p in info.value.problems)
    assert not os.path.exists(marker)


def test_validate_reports_every_bad_file_without_raising():
    """validate_files returns problems for every malformed file at once and raises nothing."""
    names = [c[0] for c in CASES]
    problems = validate_files([str(BAD / n) for n in names])
    files = {os.path.basename(p.file) for p in problems if p.severity == "error"}
    assert set(names) - {"duplicate_across_includes.yaml"} <= files
    assert "duplicate_across_includes.yaml" in files


def test_oversized_file_is_refused(tmp_path, monkeypatch):
    """A file over the size limit is refused before it is read."""
    from outagesim.model import _source

    monkeypatch.setattr(_source, "MAX_BYTES", 100)
    path = tmp_path / "big.yaml"
    path.write_text("description: " + "x" * 200 + "\n")
    with pytest.raises(ModelError) as info:
        load_model(str(path))
    p = _only_error(info.value)
    assert p.file == str(path) and "a file of at most" in p.expected and "MB" in p.found


def test_missing_file_and_directory(tmp_path):
    """A missing path or a directory is a problem, not a traceback."""
    with pytest.raises(ModelError) as info:
        load_model(str(tmp_path / "nope.yaml"))
    assert _only_error(info.value).found == "no such file"
    with pytest.raises(ModelError) as info:
        load_model(str(tmp_path))
    assert _only_error(info.value).found == "a directory"
