"""What many tests share: the project's folder, the command lines run as a user runs them, hand-made wavs."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

PROJECT = Path(__file__).resolve().parents[1]


def run_module(module: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m MODULE ARGS`` in a fresh process, as a user runs it: stdout and stderr are pipes,
    not terminals (TensorFlow's chatter off)."""
    env = dict(os.environ, PYTHONPATH=str(PROJECT), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True, env=env)


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m aggregate ARGS`` (see ``run_module``)."""
    return run_module("aggregate", *args, cwd=cwd)


def one_error_line(result: subprocess.CompletedProcess, *words: str) -> str:
    """The one line a refused command printed (exit status 2, ``error: ...``, no traceback), holding ``words``."""
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def write_wav(path: Path, seconds: float = 0.5, rate: int = 16000, channels: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.1 * np.sin(2 * np.pi * 220 * t)
    sf.write(path, np.stack([tone] * channels, axis=1), rate, subtype="PCM_16")
    return path


def fenced_blocks(doc: Path) -> list[tuple[str, str, str]]:
    """(heading above it, language, code) for each fenced block of a Markdown doc: what the walk-through
    tests run."""
    blocks, heading, lines = [], "", iter(doc.read_text().splitlines())
    for line in lines:
        if line.startswith("#"):
            heading = line
        elif line.startswith("```"):
            code = []
            for inner in lines:
                if inner.startswith("```"):
                    break
                code.append(inner)
            blocks.append((heading, line[3:].strip(), "\n".join(code) + "\n"))
    return blocks


def assert_same_shard(ours: Path, theirs: Path) -> None:
    """Two HDF5 shards byte for byte the same; where they are not, the message says what differs (a
    dataset's values, an attribute, or only the layout), so that a rare failure explains itself."""
    if ours.read_bytes() == theirs.read_bytes():
        return
    import h5py

    found: list[str] = []
    with h5py.File(ours, "r") as a, h5py.File(theirs, "r") as b:
        def compare(name, item):
            if not isinstance(item, h5py.Dataset):
                return
            other = b.get(name)
            if other is None:
                found.append(f"{name} missing")
                return
            x, y = item[()], other[()]
            if x.shape != y.shape or not np.array_equal(x, y):
                rows = sorted({int(i[0]) for i in np.argwhere(x != y)}) if x.shape == y.shape and x.ndim else []
                found.append(f"{name} {x.shape} vs {y.shape}, rows {rows[:10]}")

        a.visititems(compare)
        found += [f"attribute {k}" for k in set(a.attrs) | set(b.attrs) if a.attrs.get(k) != b.attrs.get(k)]
    raise AssertionError(f"{ours.name}: bytes differ; " + ("; ".join(found) if found else
                         "every value the same: only the file's layout differs"))
