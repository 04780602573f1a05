"""The harness's promises: clear CLI errors, whole result sets, reproducible files,
validated records, and a checkout that everyday runs leave clean."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from experiments import __main__ as cli
from experiments import _io, report

REPO_ROOT = Path(__file__).resolve().parent.parent
DIGITS_TINY = ["--seeds", "2", "--n-init", "auto", "--repeats", "1"]
DIGITS_TINY += ["--n-samples", "120", "--no-agreement", "--quiet"]


# ------------------------------------------------------------------ CLI errors

BAD_OPTIONS = [
    ["digits", "--seeds", "0"],
    ["digits", "--seeds", "-1"],
    ["digits", "--threads", "0"],
    ["digits", "--threads", "99"],
    ["digits", "--n-init", "0"],
    ["digits", "--n-init", "ten"],
    ["digits", "--n-init", "auto", "auto"],
    ["digits", "--n-init", "10", "010"],
    ["digits", "--n-samples", "0"],
    ["digits", "--n-samples", "5"],
    ["digits", "--n-samples", "-5"],
    ["digits", "--n-samples", "100000"],
    ["digits", "--repeats", "0"],
    ["digits", "--embed", "umap"],
    ["digits", "--out", ""],
    ["digits", "--out", "README.md"],
    ["digits", "--out", "/proc/no/such/dir"],
    ["digits", "--no-such-option"],
    ["blobs", "--seed", "x"],
    ["compare", "--n", "0"],
    ["compare", "--n", "5", "--k", "10"],
    ["compare", "--sparse", "100", "10", "2.0", "4"],
    ["compare", "--peakmem", "10", "2", "20"],
    ["compare", "--max-iter", "0"],
    ["compare", "--max-iter", "3"],  # fixed mode only
    ["compare", "--fixed", "--kind", "uniform"],  # whole-fit mode only
    ["compare", "--kind", "gaussian"],
    ["compare", "--algorithms", "no-such-algorithm"],
    ["compare", "--peers", "scipy"],
    ["compare", "--budget", "0"],
    ["compare", "--memory", "10", "2"],
    ["compare", "--memory", "10", "2", "20"],
    ["history", "--commits", "0"],
    ["check", "--atol", "-1"],
    ["nope"],
]


@pytest.mark.parametrize("argv", BAD_OPTIONS, ids=" ".join)
def test_user_error_exits_2_with_one_line_before_any_work(argv, capsys, monkeypatch):
    def no_work(*args, **kwargs):
        raise AssertionError("computation started before the options were checked")

    monkeypatch.setattr(_io, "write_set", no_work)
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ") and "Traceback" not in captured.err


@pytest.mark.slow  # a fresh process or a fork: seconds each
def test_user_error_in_a_fresh_process_has_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "experiments", "digits", "--seeds", "0"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_n_init_message_is_clear(capsys):
    assert cli.main(["digits", "--n-init", "ten"]) == 2
    assert "positive integer or 'auto'" in capsys.readouterr().err
    assert cli.main(["digits", "--n-init", "auto", "10", "auto"]) == 2
    assert "--n-init: auto given more than once" in capsys.readouterr().err


# ----------------------------------------------------------- result sets


def test_interrupt_while_saving_keeps_the_previous_set(tmp_path, capsys, monkeypatch):
    out = tmp_path / "blobs"
    assert cli.main(["blobs", "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupted(path, obj):
        raise KeyboardInterrupt  # the figure is drawn, the record is being saved

    monkeypatch.setattr(_io, "write_json", interrupted)
    assert cli.main(["blobs", "--out", str(out), "--seed", "1"]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["blobs"]  # no temporary left


@pytest.mark.slow
def test_ctrl_c_in_a_fresh_process_exits_130_and_keeps_the_set(tmp_path):
    import signal

    out = tmp_path / "compare"
    out.mkdir()
    (out / "compare.json").write_text("{}")
    (out / _io.MARKER).write_text("compare\n")  # an earlier set of compare
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments", "compare", "--quick", "--out", str(out)],
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    first = proc.stderr.readline()  # the first progress line: the run is under way
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read()
    assert proc.wait() == 130, first + err
    assert err.strip().splitlines()[-1].startswith("interrupted:")
    assert "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == [_io.MARKER, "compare.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["compare"]


def test_a_new_set_replaces_the_old_one_whole(tmp_path):
    out = tmp_path / "set"
    with _io.result_set(out, "blobs") as tmp:
        (tmp / "old.txt").write_text("old")
    with _io.result_set(out, "blobs") as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == [_io.MARKER, "new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["set"]


def test_quick_start_leaves_git_status_clean():
    """Runs go to the git-ignored runs/: neither results/ nor anything else changes."""
    if _io.git("rev-parse", "HEAD") is None:
        pytest.fail("the tests run from a git checkout")

    def status():
        return _io.git("status", "--porcelain", "--untracked-files=all", "--", ".")

    before = status()
    assert cli.main(["digits", *DIGITS_TINY]) == 0  # the quick start, smaller
    assert (_io.RUNS_DIR / "digits" / "digits.json").is_file()
    assert status() == before
    assert _io.git("check-ignore", "runs/digits/digits.json") is not None


# ------------------------------------------------------------ determinism


@pytest.mark.parametrize("argv", [["blobs"], ["digits", *DIGITS_TINY]], ids=str)
def test_two_runs_give_identical_pngs_and_json(argv, tmp_path):
    sets = []
    for name in ("first", "second"):
        out = tmp_path / name
        assert cli.main([*argv, "--out", str(out)]) == 0
        sets.append(out)
    pngs = sorted(p.name for p in sets[0].glob("*.png"))
    assert pngs and pngs == sorted(p.name for p in sets[1].glob("*.png"))
    for name in pngs:
        assert (sets[0] / name).read_bytes() == (sets[1] / name).read_bytes(), name
        assert b"matplotlib" not in (sets[0] / name).read_bytes()
    records = [json.loads(next(s.glob("*.json")).read_text()) for s in sets]
    assert _io.strip_volatile(records[0]) == _io.strip_volatile(records[1])


# ----------------------------------------------------------------- schema


def _valid_record():
    return _io.make_record("blobs", "python -m experiments blobs", {}, {"x": 1}, {})


MALFORMED = {
    "not an object": lambda r: [r],
    "missing header key": lambda r: {k: v for k, v in r.items() if k != "command"},
    "old schema version": lambda r: dict(r, schema_version=1),
    "wrong type": lambda r: dict(r, results="labels"),
    "bool as version": lambda r: dict(r, schema_version=True),
    "git keys": lambda r: dict(r, git={"commit": None}),
    "environment": lambda r: dict(r, environment={"python": "3"}),
    "figure path": lambda r: dict(r, figures={"a": "../a.png"}),
    "hidden figure": lambda r: dict(r, figures={"a": ".a.png"}),
}


@pytest.mark.parametrize("mutate", MALFORMED.values(), ids=MALFORMED.keys())
def test_validation_rejects_a_malformed_record(mutate, tmp_path):
    path = tmp_path / "blobs.json"
    path.write_text(json.dumps(mutate(_valid_record())))
    with pytest.raises(_io.RecordError, match=str(path)):
        _io.read_record(path)


def test_validation_checks_the_experiments_keys_and_json(tmp_path):
    with pytest.raises(_io.RecordError, match="results.comparison"):
        _io.validate(_valid_record(), required=("x", "comparison"))
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(_io.RecordError, match="not valid JSON"):
        _io.read_record(path)


def test_report_on_a_malformed_record_is_one_clear_line(tmp_path, capsys):
    (tmp_path / "blobs").mkdir()
    (tmp_path / "blobs" / "blobs.json").write_text(json.dumps({"schema_version": 1}))
    assert cli.main(["report", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: malformed record:") and "\n" not in err


# ------------------------------------------------------- the committed reference


def test_every_committed_record_loads_and_renders():
    sets = [p for p in sorted(_io.RESULTS_DIR.iterdir()) if report.record_files(p)]
    names = {p.name for p in sets}
    assert names >= {"digits", "digits_tsne", "blobs", "compare", "compare_large"}
    assert names >= {"compare_documents", "compare_minibatch", "history"}
    readme = (_io.RESULTS_DIR / "README.md").read_text()
    for directory in sets:
        record = _io.read_record(report.record_files(directory)[0])
        validate, section = report.EXPERIMENTS[record["experiment"]]
        validate(record, directory.name)
        for file in record["figures"].values():
            assert (directory / file).is_file(), file
            assert f"{directory.name}/{file}" in readme  # every set is shown
        assert section(record)
    assert readme == report.render(_io.RESULTS_DIR)
