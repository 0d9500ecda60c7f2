"""The five pinned replays reproduce their golden ``result`` exactly (``tests/golden.py``)."""

import json

import pytest
from data_paths import SHARED_DATA
from data_paths import shared_file
from golden import CASES
from golden import FIXTURES
from golden import run_case


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory):
    return tmp_path_factory.mktemp("golden-demo")


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_pinned_replay_reproduces_its_golden_result(case, demo_dir):
    data = CASES[case][2]
    if data != "demo":
        shared_file(data)  # skip without the shared data, fail in CI
    expected = json.loads((FIXTURES / f"{case}.json").read_text())
    got = run_case(case, demo_dir, SHARED_DATA)
    assert got.keys() == expected.keys()
    for key in expected:  # one key at a time, so a failure names what moved
        assert got[key] == expected[key], key
