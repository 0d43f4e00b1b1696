"""Rendering views: log_mel unchanged, the waveform beside it, a view added later renders alone and
leaves what is there byte-identical, failures of an added view are reported, readers and verify see views."""
from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest

from aggregate.dataset import ShardDataset
from aggregate.errors import InputError
from aggregate.manifest.format import read_manifest
from aggregate.recipe import FeatureConfig, render_clip
from aggregate.render.run import render_shards
from aggregate.shards.storage import StorageConfig
from aggregate.shards.verify import verify_shards
from aggregate.views import View
from aggregate.views.waveform import Waveform

EIGHT = StorageConfig(shard_size=8)


@pytest.fixture(scope="module")
def both(small_manifest, tmp_path_factory):
    """The small manifest rendered with log_mel and waveform at once."""
    out = tmp_path_factory.mktemp("views") / "shards"
    render_shards(small_manifest, out, jobs=2, storage=EIGHT, progress=False, views="log_mel,waveform")
    return out


def shard_bytes(folder, pattern="shard-*.h5*"):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob(pattern))}


def test_log_mel_beside_other_views_is_todays_features_and_hash(both, reference, small_manifest):
    # reference: the same manifest rendered with the default (log_mel only), as before views existed
    assert shard_bytes(both, "shard-*.h5").keys() >= {"shard-00000.h5", "waveform/shard-00000.h5"}
    for shard in sorted(reference.glob("shard-*.h5")):
        with h5py.File(shard) as a, h5py.File(both / shard.name) as b:
            assert np.array_equal(a["features"][:].view(np.uint16), b["features"][:].view(np.uint16))
            assert a.attrs["feature_config_hash"] == b.attrs["feature_config_hash"] == FeatureConfig().hash()
    index = json.loads((both / "index.json").read_text())
    assert index["feature_config_hash"] == index["views"]["log_mel"]["config_hash"] == FeatureConfig().hash()
    # and the values are the recipe's, straight from the clip
    clips = read_manifest(small_manifest)
    row = clips.clips.iloc[0]
    path = f"{clips.meta['roots'][row['corpus']]}/{row['path']}"
    with h5py.File(both / "shard-00000.h5") as f:
        assert np.array_equal(f["features"][0], render_clip(path, row["corpus"], FeatureConfig()).astype(np.float16))


def test_the_waveform_is_the_whole_clip_at_16k_read_by_h5py_and_the_dataset(both, small_manifest):
    import soundfile as sf

    manifest = read_manifest(small_manifest)
    with h5py.File(both / "waveform" / "shard-00001.h5") as f:
        ids = list(f["sample_id"].asstr()[:])
        lengths, first = f["waveform_length"][:], f["waveform"][0]
        assert f["waveform"].shape == (8,) and first.dtype == np.float32 and len(first) == lengths[0]
        with h5py.File(both / "shard-00001.h5") as base:
            assert ids == list(base["sample_id"].asstr()[:])
            assert np.array_equal(f["labels"][:], base["labels"][:])
    row = manifest.clips.set_index("sample_id").loc[ids[0]]
    info = sf.info(f"{manifest.meta['roots'][row['corpus']]}/{row['path']}")
    assert abs(lengths[0] - info.frames * 16000 / info.samplerate) <= 1  # the whole clip, not 4.5 s
    ds = ShardDataset(both, None, views=("log_mel", "waveform"))
    item = ds[ds.sample_ids.tolist().index(ids[0])]
    assert np.array_equal(item["waveform"], first) and item["log_mel"].shape == (200, 278)
    batch = next(ds.batches(5, shuffle=True, seed=3))
    assert batch["waveform"].shape == (5, batch["waveform_length"].max())
    for row, index in enumerate(batch["index"]):
        n = batch["waveform_length"][row]
        assert np.array_equal(batch["waveform"][row, :n], ds[int(index)]["waveform"])
        assert not batch["waveform"][row, n:].any()  # padded with zeros
    assert verify_shards(both, progress=False).problems == []


def test_adding_a_view_renders_only_it_and_leaves_the_folder_byte_identical(both, reference, small_manifest, tmp_path):
    out = tmp_path / "shards"
    shutil.copytree(reference, out)
    before = shard_bytes(out)
    result = render_shards(small_manifest, out, jobs=2, storage=EIGHT, progress=False, views="waveform")
    assert result.rendered == 0 and result.skipped == 5 and result.views == ["log_mel", "waveform"]
    after = shard_bytes(out)
    assert {k: after[k] for k in before} == before  # log_mel's shards and checksums untouched
    assert {k: v for k, v in after.items() if k.startswith("waveform/")} == \
        {k: v for k, v in shard_bytes(both).items() if k.startswith("waveform/")}  # as if rendered at once
    assert verify_shards(out, progress=False).problems == []
    # interrupted half-way: a view shard lost is rendered again, the rest kept
    (out / "waveform" / "shard-00002.h5").unlink()
    kept = (out / "waveform" / "shard-00003.h5").stat().st_mtime_ns
    again = render_shards(small_manifest, out, jobs=1, storage=EIGHT, progress=False)
    assert again.views == ["log_mel", "waveform"]  # a plain render resumes the planned view too
    assert (out / "waveform" / "shard-00003.h5").stat().st_mtime_ns == kept
    assert shard_bytes(out) == after


def test_a_clip_failing_only_an_added_view_is_reported_and_skipped_by_readers(reference, small_manifest, tmp_path):
    manifest = read_manifest(small_manifest)
    tess = manifest.clips[manifest.clips["corpus"] == "tess"]
    copy = tmp_path / "tess"
    shutil.copytree(manifest.meta["roots"]["tess"], copy)
    (copy / tess["path"].iloc[0]).write_bytes(b"RIFF changed after the manifest was built")
    out = tmp_path / "shards"
    shutil.copytree(reference, out)
    result = render_shards(small_manifest, out, jobs=2, storage=EIGHT, progress=False, views="waveform",
                           roots={"tess": str(copy)})
    lost = tess["sample_id"].iloc[0]
    assert result.failed == [] and [f["sample_id"] for f in result.view_failed["waveform"]] == [lost]
    assert "changed since the manifest" in result.view_failed["waveform"][0]["reason"]
    assert verify_shards(out, progress=False).problems == []
    with pytest.warns(UserWarning, match="1 clips .* left out"):
        ds = ShardDataset(out, None, views=("log_mel", "waveform"))
    assert ds.skipped == 1 and lost not in set(ds.sample_ids) and len(ds) == 39
    assert len(ShardDataset(out, None)) == 40  # log_mel alone: every clip


def test_verify_names_a_changed_view_shard_and_readers_refuse_it(both, tmp_path):
    out = tmp_path / "shards"
    shutil.copytree(both, out)
    shard = out / "waveform" / "shard-00000.h5"
    with h5py.File(shard, "r+") as f:
        f["waveform"][0] = np.full(5, 7.0, np.float32)  # forged in place
    problems = verify_shards(out, progress=False).problems
    assert any("waveform/shard-00000.h5: checksum differs" in p for p in problems)
    with pytest.raises(InputError, match="does not match its checksum"):
        ShardDataset(out, None, views=("waveform",))


def test_a_reader_refuses_a_folder_without_a_view_in_one_line(reference):
    with pytest.raises(InputError) as caught:
        ShardDataset(reference, None, views=("log_mel", "waveform"))
    assert "has no waveform view" in str(caught.value) and "--views waveform" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_view_needing_a_missing_package_is_refused_before_anything_is_written(small_manifest, tmp_path):
    class Needy(Waveform):
        name = "needy"
        needs = ("no_such_module_for_views_test",)
        install = "emotion-aggregate[needy]"

    with pytest.raises(InputError, match=r"view 'needy' needs the package no_such_module_for_views_test: "
                                         r"pip install 'emotion-aggregate\[needy\]'"):
        render_shards(small_manifest, tmp_path / "out", storage=EIGHT, progress=False, views=("log_mel", Needy()))
    assert not (tmp_path / "out").exists()
    assert issubclass(Needy, View)


@pytest.mark.slow
def test_the_render_command_takes_views_and_refuses_an_unknown_one(small_manifest, tmp_path):
    from helpers import cli, one_error_line

    one_error_line(cli("render", str(small_manifest), "-o", str(tmp_path / "x"), "--views", "log_mel,mfcc", "-q"),
                   "unknown view 'mfcc'", "known views: log_mel, waveform")  # and those installed beside
    result = cli("render", str(small_manifest), "-o", str(tmp_path / "s"), "--views", "waveform", "--shard-size", "16",
                 "-q", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads((tmp_path / "s" / "index.json").read_text())["views"]) == ["log_mel", "waveform"]
    assert cli("verify", str(tmp_path / "s"), "-q").returncode == 0


def test_the_data_card_lists_the_views(both, tmp_path):
    from aggregate.report import build_report

    page = build_report(both, tmp_path / "card").read_text(encoding="utf-8")
    views = json.loads((both / "index.json").read_text())["views"]
    assert f"<code>log_mel</code> (200x278 float16, config <code>{views['log_mel']['config_hash'][:12]}</code>)" in page
    assert f"<code>waveform</code> (n float32, config <code>{views['waveform']['config_hash'][:12]}</code>)" in page


def test_a_folder_from_before_views_is_one_with_log_mel_and_takes_a_view(reference, small_manifest, tmp_path):
    out = tmp_path / "old"
    shutil.copytree(reference, out)
    index = json.loads((out / "index.json").read_text())
    del index["views"]  # as the previous version wrote it
    (out / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True))
    ds = ShardDataset(out, None)
    assert list(ds.folder.views) == ["log_mel"] and len(ds) == 40
    assert verify_shards(out, progress=False).problems == []
    render_shards(small_manifest, out, jobs=1, progress=False, views="waveform")  # its storage is kept
    assert len(ShardDataset(out, None, views=("waveform",))) == 40
    assert verify_shards(out, progress=False).problems == []


def test_a_view_with_another_config_than_the_folders_is_refused(both, small_manifest, tmp_path):
    out = tmp_path / "shards"
    shutil.copytree(both, out)
    other = Waveform(Waveform.config_type(sample_rate=8000))
    with pytest.raises(InputError, match="holds the view waveform with another config; render into a new folder"):
        render_shards(small_manifest, out, progress=False, views=("log_mel", other))
    assert shard_bytes(out) == shard_bytes(both)


def test_a_view_shard_has_what_hugging_faces_hdf5_builder_needs(both):
    # The builder makes one row per entry of every dataset in the file and refuses a file whose datasets
    # differ in length; a variable-length dataset becomes a list column (checked with datasets 5.2.0).
    with h5py.File(both / "waveform" / "shard-00000.h5") as f:
        found = {}
        f.visititems(lambda name, obj: found.__setitem__(name, obj.shape[0]) if isinstance(obj, h5py.Dataset) else None)
        assert set(found) >= {"waveform", "waveform_length", "present", "labels", "split", "sample_id", "emotion/anger"}
        assert set(found.values()) == {8}
        assert h5py.check_vlen_dtype(f["waveform"].dtype) == np.dtype(np.float32)


def test_the_render_command_refuses_a_bad_view_option_in_one_line(small_manifest, tmp_path, capsys):
    from aggregate.cli import main

    for option, words in (("waveform.rate=8000", "view waveform has no option 'rate'"),
                          ("waveform=8000", "write VIEW.FIELD=VALUE"),
                          ("log_mel.n_mels=64", "use --feature n_mels=VALUE")):
        assert main(["render", str(small_manifest), "-o", str(tmp_path / "out"), "--views", "waveform",
                     "--view-option", option, "-q"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and words in err, err
    assert not (tmp_path / "out").exists()


def test_discarding_a_folder_with_a_view_removes_its_listed_view_shards_and_nothing_else(both, tmp_path):
    from aggregate.shards.writing import ShardsFolderWriter

    out = tmp_path / "shards"
    shutil.copytree(both, out)
    listed = set(json.loads((out / ".aggregate-shards").read_text())["files"])
    assert {p.relative_to(out).as_posix() for p in (out / "waveform").iterdir()} <= listed  # view shards listed
    (out / "waveform" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="notes.txt"):
        ShardsFolderWriter(out).discard()
    assert (out / "waveform" / "shard-00000.h5").is_file() and (out / "index.json").is_file()  # nothing removed
    (out / "waveform" / "notes.txt").unlink()
    with (out / "waveform" / "shard-00001.h5").open("r+b") as handle:  # edited since written: not ours to delete
        handle.seek(-1, 2)
        last = handle.read(1)
        handle.seek(-1, 2)
        handle.write(bytes([last[0] ^ 0xFF]))
    with pytest.raises(InputError, match="shard-00001.h5 no longer matches"):
        ShardsFolderWriter(out).discard()
    assert len(list((out / "waveform").glob("shard-*.h5"))) == len(list(out.glob("shard-*.h5")))
    shutil.copy(both / "waveform" / "shard-00001.h5", out / "waveform" / "shard-00001.h5")
    ShardsFolderWriter(out).discard()
    assert not out.exists()
