"""The harness never destroys what it did not write, and says so in one line.

Regression tests of issue 20: ``--out`` and ``--publish`` replace only a directory
that is an earlier result set of the same experiment (or empty), writability is
checked before any work, ``reference --asv`` changes ``results/asv`` only with the
other sets, ``check`` and ``report`` refuse damaged records before any work,
path options name themselves in their errors, and two runs finishing the same set
at once both succeed.
"""

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from experiments import __main__ as cli
from experiments import _cli, _io, blobs, digits, history

DIGITS_SMALL = ["--seeds", "3", "--n-init", "auto", "--repeats", "1"]
DIGITS_SMALL += ["--n-samples", "120", "--no-agreement", "--quiet"]


def no_work(*args, **kwargs):
    raise AssertionError("work started before the options were checked")


def snapshot(directory: Path) -> dict:
    """Every file under ``directory`` (hidden ones too) and its bytes."""
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ") and "Traceback" not in captured.err
    return lines[0]


@pytest.fixture
def idle(monkeypatch):
    """Make every experiment's run fail loudly: nothing may start."""
    monkeypatch.setattr(_io, "write_set", no_work)


# ------------------------------------------ 1. --out replaces only a result set


def _plain_directory(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("not a result set")
    return out


def _checkout(tmp_path):
    out = tmp_path / "checkout"
    (out / ".git").mkdir(parents=True)
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (out / "README.md").write_text("a checkout")
    return out


def _results_root(tmp_path):
    out = tmp_path / "results"
    shutil.copytree(_io.RESULTS_DIR / "blobs", out / "blobs")
    (out / "untracked.txt").write_text("an untracked file")
    return out


@pytest.mark.parametrize(
    "make", [_plain_directory, _checkout, _results_root], ids=lambda f: f.__name__
)
def test_out_refuses_a_directory_that_is_not_a_result_set(make, tmp_path, capsys, idle):
    out = make(tmp_path)
    before = snapshot(out)
    assert cli.main(["blobs", "--out", str(out), "--quiet"]) == 2
    line = one_error_line(capsys)
    assert f"--out {out}" in line and "not a result set" in line
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temporary


def test_out_refuses_a_result_set_of_another_experiment(tmp_path, capsys, monkeypatch):
    out = tmp_path / "set"
    assert cli.main(["blobs", "--out", str(out), "--quiet"]) == 0
    before = snapshot(out)
    capsys.readouterr()
    monkeypatch.setattr(digits, "run", no_work)
    assert cli.main(["digits", "--out", str(out), *DIGITS_SMALL]) == 2
    assert "result set of blobs" in one_error_line(capsys)
    assert snapshot(out) == before


def test_out_replaces_an_earlier_set_of_the_same_experiment(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["blobs", "--out", str(empty), "--quiet"]) == 0  # empty: usable
    assert (empty / _io.MARKER).read_text().strip() == "blobs"
    assert cli.main(["blobs", "--out", str(empty), "--quiet", "--seed", "1"]) == 0
    record = _io.read_record(empty / "blobs.json")
    assert record["params"]["random_state"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_result_set_refuses_to_replace_what_it_did_not_write(tmp_path):
    out = _plain_directory(tmp_path)
    with pytest.raises(_io.SetError, match="not a result set"):
        with _io.result_set(out, "blobs"):
            raise AssertionError("the set was started")
    assert (out / "notes.txt").read_text() == "not a result set"


def test_every_committed_set_is_marked_with_the_experiment_that_writes_it():
    from experiments import reference

    for name, owner in reference.owners(list(reference.RUNS), with_asv=True).items():
        assert (_io.RESULTS_DIR / name / _io.MARKER).read_text() == owner + "\n"
        assert _io.refusal(_io.RESULTS_DIR / name, owner) is None


def test_reference_replaces_the_committed_sets(tmp_path):
    root = tmp_path / "results"
    shutil.copytree(_io.RESULTS_DIR, root)
    (root / "blobs" / "stray.txt").write_text("x")  # a set's own stray file goes too
    argv = ["reference", "--root", str(root), "--only", "blobs", "--quiet"]
    assert cli.main(argv) == 0
    assert sorted(p.name for p in (root / "blobs").iterdir()) == sorted(
        [_io.MARKER, "blobs.json", "blobs.png"]
    )
    assert (root / "README.md").read_text().count("## Blobs") == 1
    assert not list(root.glob(".*tmp")) and not list(root.glob(".staging-*"))


def test_history_publish_refuses_a_directory_it_did_not_write(tmp_path, capsys, idle):
    html = _plain_directory(tmp_path)
    before = snapshot(html)
    argv = ["history", "--branch", "HEAD", "--machine", "m", "--quiet"]
    argv += ["--results", str(tmp_path / "asv"), "--out", str(tmp_path / "history")]
    assert cli.main([*argv, "--publish", str(html)]) == 2
    line = one_error_line(capsys)
    assert f"--publish {html}" in line and "not a result set" in line
    assert snapshot(html) == before


def test_history_publish_replaces_its_own_pages(tmp_path, monkeypatch):
    def publish(results, html):
        html.mkdir(parents=True, exist_ok=True)  # asv publish empties the folder
        (html / "index.html").write_text(f"pages {len(calls)}")
        calls.append(html)
        return html

    calls = []
    monkeypatch.setattr(history, "publish", publish)
    html = tmp_path / "html"
    argv = ["history", "--branch", "HEAD", "--machine", "m", "--quiet"]
    argv += ["--results", str(tmp_path / "asv"), "--out", str(tmp_path / "history")]
    assert cli.main([*argv, "--publish", str(html)]) == 0
    assert cli.main([*argv, "--publish", str(html)]) == 0
    assert len(calls) == 2 and html not in calls  # pages are staged, then swapped in
    assert (html / "index.html").read_text() == "pages 1"
    assert (html / _io.MARKER).read_text() == history.PUBLISH_OWNER + "\n"


# ------------------------------------------- 2. a read-only --out, found up front


def test_out_naming_a_read_only_directory_is_refused_before_any_work(
    tmp_path, capsys, monkeypatch, idle
):
    out = tmp_path / "blobs"
    out.mkdir()
    out.chmod(0o555)
    if os.geteuid() == 0:  # root writes anywhere; see the folder as others do
        real = os.access

        def access(path, mode, **kwargs):
            denied = Path(path) == out and mode & os.W_OK
            return not denied and real(path, mode, **kwargs)

        monkeypatch.setattr(os, "access", access)
    try:
        assert cli.main(["blobs", "--out", str(out), "--quiet"]) == 2
    finally:
        out.chmod(0o755)
    line = one_error_line(capsys)
    assert f"--out {out}: cannot write there" in line


# ------------------------------------- 3. reference --asv changes nothing on failure


def _asv_update(tmp_path):
    """A reference root whose asv results lack one commit, and all of them to add."""
    root, new = tmp_path / "results", tmp_path / "new-asv"
    shutil.copytree(_io.RESULTS_DIR / "asv", new)
    shutil.copytree(_io.RESULTS_DIR / "asv", root / "asv")
    added = max(p.name for p in (new / "vm").glob("*-existing-*.json"))
    (root / "asv" / "vm" / added).unlink()
    return root, new, added


@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_reference_asv_is_swapped_in_only_when_everything_succeeded(
    failure, tmp_path, capsys, monkeypatch
):
    root, new, _ = _asv_update(tmp_path)
    before = snapshot(root)

    def fails(*args, **kwargs):
        raise failure("the run failed")

    monkeypatch.setattr(blobs, "run", fails)
    argv = ["reference", "--root", str(root), "--asv", str(new), "--only", "blobs"]
    if failure is KeyboardInterrupt:
        assert cli.main([*argv, "--quiet"]) == 130
        assert "nothing was written" in capsys.readouterr().err
    else:
        with pytest.raises(RuntimeError):
            cli.main([*argv, "--quiet"])
    assert snapshot(root) == before
    assert sorted(p.name for p in root.iterdir()) == ["asv"]  # no staging left


def test_reference_asv_adds_the_new_results_and_draws_them(tmp_path, monkeypatch):
    from experiments import reference

    root, new, added = _asv_update(tmp_path)
    history_run = [*reference.RUNS["history"], "--branch", "HEAD", "--machine", "vm"]
    monkeypatch.setitem(reference.RUNS, "history", history_run)
    argv = ["reference", "--root", str(root), "--asv", str(new), "--only", "history"]
    assert cli.main([*argv, "--quiet"]) == 0
    assert (root / "asv" / "vm" / added).is_file()
    assert (root / "asv" / _io.MARKER).read_text() == reference.ASV_OWNER + "\n"
    assert sorted(p.name for p in root.iterdir()) == ["README.md", "asv", "history"]
    record = _io.read_record(root / "history" / "history.json")
    # drawn from the staged results, which the record names where they now are
    assert added[:8] in {c["short"] for c in record["results"]["commits"]}
    assert record["params"]["results"] == _cli.shown(root / "asv")
    assert f"--results {_cli.shown(root / 'asv')}" in record["command"]


# -------------------------------- 4. and 5. check and report refuse damaged records


@pytest.fixture(scope="module")
def digits_record(tmp_path_factory):
    """A small digits record (3 seeds), as decoded JSON."""
    out = tmp_path_factory.mktemp("reference") / "digits"
    assert cli.main(["digits", "--out", str(out), *DIGITS_SMALL]) == 0
    return json.loads((out / "digits.json").read_text())


def _per_seed(record):
    return record["results"]["runs"]["n_init=auto"]["nbkm"]["per_seed"]


def _reference(tmp_path, record, damage) -> Path:
    record = json.loads(json.dumps(record))
    damage(record)
    (tmp_path / "digits").mkdir()
    # json.dumps writes NaN as the bare token that a damaged file may hold
    (tmp_path / "digits" / "digits.json").write_text(json.dumps(record))
    return tmp_path


CUT_SEEDS = {
    "1 of 3 seeds": lambda r: _per_seed(r).__delitem__(slice(1, None)),
    "no seeds": lambda r: _per_seed(r).clear(),
}


@pytest.mark.parametrize("damage", CUT_SEEDS.values(), ids=CUT_SEEDS.keys())
def test_check_refuses_a_reference_with_fewer_seeds_than_it_ran(
    damage, digits_record, tmp_path, capsys, monkeypatch
):
    # the rerun gives the reference's own results: only the cut can fail
    same = (digits_record["results"], {})
    monkeypatch.setattr(digits, "run", lambda params, out, quiet: same)
    root = _reference(tmp_path, digits_record, damage)
    assert cli.main(["check", "--reference", str(root), "--quiet"]) == 1
    line = one_error_line(capsys)
    assert line.startswith("error: malformed record:") and "per_seed" in line


def test_compare_exact_reports_runs_of_different_lengths(digits_record):
    from experiments import check

    cut = json.loads(json.dumps(digits_record))
    _per_seed(cut).pop()
    problems = check.compare_exact(digits_record["results"], cut["results"])
    assert any("seeds" in p for p in problems), problems


def _set(path, value):
    *keys, last = path
    return lambda r: _dig(r, keys).__setitem__(last, value)


def _dig(record, keys):
    for key in keys:
        record = record[key]
    return record


ROW0 = ("results", "runs", "n_init=auto", "nbkm", "per_seed", 0)
MB_ROW0 = ("results", "minibatch", "n_init=auto", "sklearn", "per_seed", 0)
DAMAGED_DIGITS = {
    "labels missing": lambda r: _dig(r, ROW0).pop("labels"),
    "labels cut": lambda r: _dig(r, ROW0)["labels"].pop(),
    "inertia zero": _set((*ROW0, "inertia"), 0.0),
    "inertia NaN": _set((*ROW0, "inertia"), float("nan")),
    "seed renumbered": _set((*ROW0, "seed"), 7),
    "runs a list": _set(("results", "runs"), []),
    "setting missing": lambda r: r["results"]["runs"].clear(),
    "seeds a number": _set(("params", "seeds"), 3),
    "metrics missing": lambda r: _dig(r, ROW0[:4]).pop("metrics"),
    "agreement empty": _set(("results", "agreement"), {}),
    "minibatch labels cut": lambda r: _dig(r, MB_ROW0)["labels"].pop(),
    "minibatch n_steps missing": lambda r: _dig(r, MB_ROW0).pop("n_steps"),
    "minibatch seed renumbered": _set((*MB_ROW0, "seed"), 7),
    "minibatch setting missing": lambda r: r["results"]["minibatch"].clear(),
    "minibatch comparison missing": lambda r: _dig(r, MB_ROW0[:3]).pop("comparison"),
}


@pytest.mark.parametrize("damage", DAMAGED_DIGITS.values(), ids=DAMAGED_DIGITS.keys())
def test_check_refuses_a_damaged_reference_before_rerunning_digits(
    damage, digits_record, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(digits, "run", no_work)
    root = _reference(tmp_path, digits_record, damage)
    assert cli.main(["check", "--reference", str(root), "--quiet"]) == 1
    line = one_error_line(capsys)
    assert line.startswith("error: malformed record:")
    assert str(root / "digits" / "digits.json") in line


def _blobs_root(tmp_path, damage) -> Path:
    out = tmp_path / "blobs"
    assert cli.main(["blobs", "--out", str(out), "--quiet"]) == 0
    record = json.loads((out / "blobs.json").read_text())
    damage(record)
    (out / "blobs.json").write_text(json.dumps(record))
    return tmp_path


DAMAGED_BLOBS = {
    "body key missing": lambda r: r["results"].pop("textbook"),
    "n_iter missing": lambda r: r["results"]["nbkm"].pop("n_iter"),
    "block a list": _set(("results", "nbkm"), []),
}


@pytest.mark.parametrize("damage", DAMAGED_BLOBS.values(), ids=DAMAGED_BLOBS.keys())
def test_report_on_a_damaged_body_is_one_clear_line(damage, tmp_path, capsys):
    root = _blobs_root(tmp_path, damage)
    capsys.readouterr()
    assert cli.main(["report", "--root", str(root)]) == 1
    line = one_error_line(capsys)
    assert line.startswith("error: malformed record:")
    assert str(root / "blobs" / "blobs.json") in line
    assert not (root / "README.md").exists()


@pytest.mark.parametrize(
    "damage",
    [DAMAGED_DIGITS["runs a list"], DAMAGED_DIGITS["metrics missing"]],
    ids=["runs a list", "metrics missing"],
)
def test_report_on_a_damaged_digits_record_is_one_clear_line(
    damage, digits_record, tmp_path, capsys
):
    root = _reference(tmp_path, digits_record, damage)
    assert cli.main(["report", "--root", str(root)]) == 1
    assert one_error_line(capsys).startswith("error: malformed record:")


def test_the_small_digits_record_passes_its_validation(digits_record):
    digits.validate(digits_record, "digits.json")


# ------------------------------------------- 6. path options name themselves


@pytest.mark.parametrize(
    "argv",
    [
        ["reference", "--root"],
        ["reference", "--asv"],
        ["history", "--results"],
        ["history", "--publish"],
        ["check", "--reference"],
        ["report", "--root"],
        ["blobs", "--out"],
    ],
    ids=" ".join,
)
def test_a_path_option_names_itself_in_its_error(argv, tmp_path, capsys, idle):
    file = tmp_path / "a-file"
    file.write_text("x")
    assert cli.main([*argv, str(file)]) == 2
    line = one_error_line(capsys)
    assert f"{argv[1]}: {file}: exists and is not a directory" in line
    assert argv[1] == "--out" or "--out" not in line


def test_reference_root_missing_is_one_line(tmp_path, capsys, idle):
    missing = tmp_path / "no-such-root"
    assert cli.main(["reference", "--root", str(missing), "--only", "blobs"]) == 2
    assert f"--root {missing}: " in one_error_line(capsys)
    assert not missing.exists()


def test_reference_root_unwritable_is_one_line(tmp_path, capsys, monkeypatch, idle):
    root = tmp_path / "root"
    root.mkdir()
    real = os.access
    monkeypatch.setattr(  # as a user without write permission sees it
        os, "access", lambda p, m, **kw: Path(p) != root and real(p, m, **kw)
    )
    assert cli.main(["reference", "--root", str(root), "--only", "blobs"]) == 2
    assert f"--root {root}: cannot write there" in one_error_line(capsys)
    assert list(root.iterdir()) == []


# -------------------------------------- 7. two runs finishing the same set at once


def test_two_runs_finishing_the_same_set_at_once_both_succeed(tmp_path, monkeypatch):
    """B finishes while A has moved the old set aside: B waits for A, then replaces."""
    body = dict.fromkeys(("nbkm", "sklearn", "textbook", "comparison"), 1)
    job = _io.Job("blobs", "blobs", {}, lambda *_: (body, {}), blobs.validate, list)
    out = tmp_path / "blobs"
    _io.write_set(job, out, "first")

    a_moved_aside, b_done = threading.Event(), threading.Event()
    real_replace = os.replace

    def replace(src, dst):
        real_replace(src, dst)
        if threading.current_thread().name == "A" and Path(src) == out:
            a_moved_aside.set()
            b_done.wait(timeout=1.0)  # B cannot get in while A holds the set

    monkeypatch.setattr(os, "replace", replace)
    errors = []

    def finish(name):
        try:
            if name == "B":
                a_moved_aside.wait(timeout=10)
            _io.write_set(job, out, name)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(f"{name}: {exc!r}")
        finally:
            if name == "B":
                b_done.set()

    threads = [threading.Thread(target=finish, args=(n,), name=n) for n in "AB"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert _io.read_record(out / "blobs.json")["command"] == "B"  # the last finisher
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blobs"]
