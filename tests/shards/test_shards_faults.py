"""Fault injection on shards folders: corruption, edits, concurrency, crashes, hostile names.

Each test recreates one fault a hostile tester found and checks the outcome: the fault is
refused or repaired, with one line that names the file, never a traceback.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import cli, one_error_line

from aggregate.errors import InputError
from aggregate.render.run import render_shards
from aggregate.shards.reading import ShardsFolder
from aggregate.shards.storage import StorageConfig
from aggregate.shards.verify import verify_shards
from aggregate.shards.writing import ShardsFolderWriter

PROJECT = Path(__file__).resolve().parents[2]
EIGHT = StorageConfig(shard_size=8)


def flip_byte(path: Path, offset: int = -100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_resume_renders_a_corrupt_shard_again_instead_of_indexing_it(reference, small_manifest, tmp_path):
    out = tmp_path / "shards"
    shutil.copytree(reference, out)
    flip_byte(out / "shard-00002.h5")
    result = render_shards(small_manifest, out, jobs=1, storage=EIGHT, progress=False)
    assert result.rendered == 1 and result.skipped == 4
    assert (out / "shard-00002.h5").read_bytes() == (reference / "shard-00002.h5").read_bytes()
    assert verify_shards(out, progress=False).ok


@pytest.mark.slow
def test_reading_a_shard_with_one_flipped_bit_is_refused(reference, tmp_path):
    out = tmp_path / "shards"
    shutil.copytree(reference, out)
    flip_byte(out / "shard-00001.h5")
    with pytest.raises(InputError, match=r"shard-00001\.h5 does not match its checksum"):
        ShardsFolder.open(out)
    line = one_error_line(cli("report", str(out), "-o", str(tmp_path / "card"), cwd=tmp_path))
    assert "shard-00001.h5" in line and not (tmp_path / "card").exists()


def test_a_failed_clip_is_rendered_again_with_retry_failed(demo, tmp_path):
    from aggregate.manifest.build import build_manifest
    from aggregate.manifest.format import write_manifest

    corpus = tmp_path / "ravdess"
    shutil.copytree(demo.roots["ravdess"] / "Actor_01", corpus / "Actor_01")
    manifest = write_manifest(build_manifest({"ravdess": corpus}, progress=False), tmp_path / "m.parquet")
    clip = sorted((corpus / "Actor_01").glob("*.wav"))[0]
    kept = clip.read_bytes()
    clip.unlink()
    first = render_shards(manifest, tmp_path / "shards", progress=False)
    assert [f["sample_id"] for f in first.failed] == [f"ravdess/{clip.stem}"]
    assert first.failed[0]["path"] == f"Actor_01/{clip.name}"  # no path of this machine in the folder
    clip.write_bytes(kept)
    assert render_shards(manifest, tmp_path / "shards", progress=False).rendered == 0  # not without asking
    again = render_shards(manifest, tmp_path / "shards", progress=False, retry_failed=True)
    assert again.rendered == 1 and not again.failed and f"ravdess/{clip.stem}" in ShardsFolder.open(
        tmp_path / "shards").places


@pytest.mark.slow
def test_a_second_render_into_the_same_folder_is_refused(small_manifest, tmp_path):
    out = tmp_path / "shards"
    holder = ShardsFolderWriter(out)
    holder.claim({"feature_config_hash": "x", "storage": {}, "manifest_sha256": "x", "feature_config": {}})
    try:
        line = one_error_line(cli("render", str(small_manifest), "-o", str(out), "-q", cwd=tmp_path))
        assert f"being rendered by process {os.getpid()}" in line
    finally:
        holder.release()


def _children(pid: int) -> list[int]:
    """The render's worker processes: its children but loky's resource tracker."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (entry.name.isdigit() and (entry / "stat").read_text().split(") ")[1].split()[1] == str(pid)
                    and b"resource_tracker" not in (entry / "cmdline").read_bytes()):
                found.append(int(entry.name))
        except (OSError, IndexError):
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the worker processes")
def test_workers_die_with_a_killed_render(small_manifest, tmp_path):
    out = tmp_path / "shards"
    process = subprocess.Popen([sys.executable, "-m", "aggregate", "render", str(small_manifest), "-o", str(out),
                                "--jobs", "2", "--shard-size", "4", "-q"], cwd=tmp_path,
                               env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    deadline, workers = time.time() + 120, []
    while time.time() < deadline and process.poll() is None:
        workers = _children(process.pid)
        if len(workers) >= 2 and any(out.glob("shard-*.h5")):
            break
        time.sleep(0.05)
    assert process.poll() is None and workers, "the render finished before its workers could be seen"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.time() + 15
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.2)
    assert not any(_alive(w) for w in workers), "workers outlived their render"


def _render_with_two_workers(small_manifest: Path, out: Path, tmp_path: Path) -> tuple[subprocess.Popen, list[int]]:
    """A --jobs 2 render in its own process group (as at a terminal), once both its workers run."""
    process = subprocess.Popen([sys.executable, "-m", "aggregate", "render", str(small_manifest), "-o", str(out),
                                "--jobs", "2", "--shard-size", "4", "-q"], cwd=tmp_path, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    deadline, workers = time.time() + 120, []
    while time.time() < deadline and process.poll() is None and len(workers) < 2:
        workers = _children(process.pid)
        time.sleep(0.01)
    assert process.poll() is None and len(workers) == 2, "the render finished before its workers could be seen"
    return process, workers


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the worker processes")
def test_a_worker_killed_mid_render_ends_it_with_one_line(small_manifest, tmp_path):
    out = tmp_path / "shards"
    process, workers = _render_with_two_workers(small_manifest, out, tmp_path)
    os.kill(workers[0], signal.SIGKILL)  # as the OOM killer does
    _, stderr = process.communicate(timeout=120)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert process.returncode == 2 and "Traceback" not in stderr, stderr
    assert len(lines) == 1 and "a worker process died while rendering into" in lines[0], stderr
    assert not any(_alive(w) for w in workers) and not list(out.glob(".*.tmp"))
    assert render_shards(small_manifest, out, jobs=2, storage=StorageConfig(shard_size=4), progress=False).samples == 40


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the worker processes")
def test_ctrl_c_stops_the_workers_and_keeps_nothing_half_written(small_manifest, tmp_path):
    out = tmp_path / "shards"
    process, workers = _render_with_two_workers(small_manifest, out, tmp_path)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C at a terminal: the whole group gets it
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr
    assert stderr.strip().startswith("interrupted:") and len(stderr.strip().splitlines()) == 1, stderr
    assert not any(_alive(w) for w in workers), "workers outlived their render"
    assert not list(out.glob(".*.tmp")) and not (out / "index.json").exists()


@pytest.mark.slow
def test_a_shard_name_outside_the_folder_is_refused(reference, tmp_path):
    out = tmp_path / "shards"
    shutil.copytree(reference, out)
    victim = tmp_path / "victim"
    victim.mkdir()
    shutil.copy(out / "shard-00000.h5", victim / "outside.h5")
    index = json.loads((out / "index.json").read_text())
    index["shards"][0]["name"] = "../victim/outside.h5"
    (out / "index.json").write_text(json.dumps(index))
    line = one_error_line(cli("verify", str(out), "-q", cwd=tmp_path))
    assert "index.json is damaged" in line
    with pytest.raises(InputError, match="damaged"):
        ShardsFolder.open(out)


@pytest.mark.slow
def test_shards_of_another_emotion_list_are_refused(reference, tmp_path):
    out = tmp_path / "shards"
    shutil.copytree(reference, out)
    index = json.loads((out / "index.json").read_text())
    index["emotions"] = [*index["emotions"][1:], index["emotions"][0]]  # same emotions, another order
    (out / "index.json").write_text(json.dumps(index))
    line = one_error_line(cli("verify", str(out), "-q", cwd=tmp_path))
    assert "labels the emotions anger" in line and "render the manifest again" in line
    with pytest.raises(InputError, match="this version reads neutral, anger"):
        ShardsFolder.open(out)


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["not json", "a list", "no shards", "shards not a list", "bad sample place"])
def test_a_structurally_broken_index_is_one_line(reference, tmp_path, damage):
    out = tmp_path / "shards"
    shutil.copytree(reference, out)
    index = json.loads((out / "index.json").read_text())
    text = {"not json": "{\"format\": ", "a list": "[1, 2]",
            "no shards": json.dumps({k: v for k, v in index.items() if k != "shards"}),
            "shards not a list": json.dumps({**index, "shards": {"a": 1}}),
            "bad sample place": json.dumps({**index, "samples": {"x": ["shard-00099.h5", 0]}})}[damage]
    (out / "index.json").write_text(text)
    line = one_error_line(cli("verify", str(out), "-q", cwd=tmp_path))
    assert "index.json" in line


def test_verify_notices_an_edited_or_missing_plan_and_stray_files(reference, tmp_path):
    out = tmp_path / "shards"
    shutil.copytree(reference, out)
    plan = json.loads((out / "plan.json").read_text())
    plan["feature_config"]["n_mels"] = 64
    (out / "plan.json").write_text(json.dumps(plan))
    shutil.copy(out / "shard-00000.h5", out / "extra.h5")
    problems = verify_shards(out, progress=False).problems
    assert any(p.startswith("plan.json: differs") and "feature_config" in p for p in problems)
    assert any(p.startswith("extra.h5: an HDF5 file that the index does not list") for p in problems)
    (out / "plan.json").unlink()
    assert any(p.startswith("plan.json:") and "missing" in p for p in verify_shards(out, progress=False).problems)


@pytest.mark.slow
@pytest.mark.parametrize("args, expected", [
    (["--feature", "dtype=int8"], "storage option: use --dtype"),
    (["--feature", "resampler=fastest"], "resampler must be one of"),
    (["--feature", "n_fft=0"], "n_fft"),
    (["--shard-size", "0"], "shard_size must be"),
])
def test_a_bad_config_is_refused_before_the_folder_is_claimed(small_manifest, tmp_path, args, expected):
    out = tmp_path / "shards"
    line = one_error_line(cli("render", str(small_manifest), "-o", str(out), "-q", *args, cwd=tmp_path))
    assert expected in line and not out.exists()


def test_storage_cannot_destroy_the_features():
    with pytest.raises(ValueError, match="dtype must be one of float16, float32"):
        StorageConfig(dtype="int8")


@pytest.mark.slow
def test_render_under_a_file_is_one_line(small_manifest, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    line = one_error_line(cli("render", str(small_manifest), "-o", str(tmp_path / "a-file" / "shards"), "-q",
                              cwd=tmp_path))
    assert "a-file" in line


def test_disk_full_during_render_says_what_to_do(small_manifest, tmp_path, monkeypatch):
    import shutil as shutil_module
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil_module, "disk_usage", lambda path: usage(10 << 30, 10 << 30, 1 << 20))
    out = tmp_path / "shards"
    with pytest.raises(InputError, match=r"disk full at .*shards: free space and run the same command again"):
        render_shards(small_manifest, out, storage=EIGHT, progress=False)
    assert not list(out.glob("shard-*.h5"))
    monkeypatch.undo()
    assert render_shards(small_manifest, out, storage=EIGHT, progress=False).rendered == 5


def test_a_write_error_is_one_line(small_manifest, tmp_path, monkeypatch):
    import errno

    from aggregate.shards import writing as folder_module

    def no_space(path, write):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(folder_module, "atomic_write", no_space)
    with pytest.raises(InputError, match="disk full at"):
        render_shards(small_manifest, tmp_path / "shards", storage=EIGHT, progress=False)


def test_the_demo_never_deletes_a_folder_it_did_not_write(tmp_path):
    shards = tmp_path / "mine"
    shards.mkdir()
    (shards / "thesis.txt").write_text("years of work")
    with pytest.raises(InputError, match="not written by `python -m aggregate render`.*no valid .aggregate-shards"):
        ShardsFolderWriter(shards).discard()
    (shards / "plan.json").write_text("{}")  # looking like a shards folder is no proof
    with pytest.raises(InputError, match="not written by `python -m aggregate render`"):
        ShardsFolderWriter(shards).discard()
    assert (shards / "thesis.txt").read_text() == "years of work"


def test_discarding_a_rendered_folder_removes_only_what_its_marker_lists_unchanged(small_manifest, tmp_path):
    out = tmp_path / "shards"
    render_shards(small_manifest, out, storage=EIGHT, progress=False)
    marker = json.loads((out / ".aggregate-shards").read_text())
    assert set(marker["files"]) == {p.name for p in out.iterdir()} - {".aggregate-shards"}  # every file, each checksum
    (out / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"did not write \(notes.txt\)"):
        ShardsFolderWriter(out).discard()
    (out / "notes.txt").unlink()
    flip_byte(out / "shard-00001.h5")  # edited since: no longer the tool's to delete
    with pytest.raises(InputError, match="shard-00001.h5 no longer matches the checksum"):
        ShardsFolderWriter(out).discard()
    assert len(list(out.glob("shard-*.h5"))) == 5 and (out / "index.json").is_file()  # nothing removed
    render_shards(small_manifest, out, storage=EIGHT, progress=False)  # resumed: the shard redone, listed again
    ShardsFolderWriter(out).discard()
    assert not out.exists()


def test_reasons_for_unreadable_audio_name_no_folder_of_this_machine(tmp_path):
    from aggregate.audio import probe
    from aggregate.recipe import DecodeError, FeatureConfig
    from aggregate.recipe.decode import load_clip

    broken = tmp_path / "deep" / "folder" / "03-01-05-01-01-01-01.wav"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk-without-a-data-chunk")
    _, reason, detail = probe(broken)
    assert reason == "unreadable" and "03-01-05-01-01-01-01.wav" in detail and str(tmp_path) not in detail
    with pytest.raises(DecodeError) as caught:
        load_clip(broken, FeatureConfig(), "ravdess")
    assert str(tmp_path) not in caught.value.why
