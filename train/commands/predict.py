"""``python -m train predict``: a run's probabilities per emotion for audio files, rendered with the exact
feature config of the run's shards; the most likely emotion always, beside the multi-label set (the
emotions at or above their thresholds)."""
from __future__ import annotations

from pathlib import Path

from aggregate.vocabulary import EMOTIONS
from aggregate.errors import InputError

from ..run_folder import RunFolder


def predict_files(run: Path, files: list[Path], corpus: str | None = None) -> list[dict]:
    """Probabilities per emotion for audio files, rendered with the exact feature config of the run."""
    from aggregate.recipe import DecodeError, FeatureConfig, render_clip

    folder = RunFolder.open(run)
    config = folder.read_json(RunFolder.CONFIG)
    try:
        features = FeatureConfig.from_dict(config["feature_config"])
        thresholds = folder.read_json(RunFolder.THRESHOLDS)
        cutoffs = [float(thresholds[e]) for e in EMOTIONS]
        views = run_views(config)
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"{folder.path} is damaged ({err}); train the run again") from None
    model = folder.load_model()
    computed = views_of_files(files, corpus or "", features, views) if views else [{} for _ in files]
    results = []
    for path, extra in zip(files, computed):
        try:
            x = render_clip(path, corpus or "", features)
        except DecodeError as err:
            raise InputError(str(err)) from None
        inputs = x[None, ..., None]
        if views:  # a model reading other views too: each computed from the file as the shards' render did
            if isinstance(extra, str):
                raise InputError(extra)
            inputs = {"log_mel": inputs, **{name: value[None] for name, value in extra.items()}}
        scores = model.predict(inputs, verbose=0)[0]
        results.append({"file": str(path), "probabilities": dict(zip(EMOTIONS, map(float, scores))),
                        "most_likely": EMOTIONS[int(scores.argmax())],
                        "present": [e for e, s, t in zip(EMOTIONS, scores, cutoffs) if s >= t]})
    return results


def views_of_files(files: list[Path], corpus: str, features, views: dict) -> list:
    """Per file, {view: value} (or the line saying why it failed), computed in a fresh process: openSMILE's
    library crashes (malloc) in a process that loaded TensorFlow before it, as this one has."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(compute_views, [str(f) for f in files], corpus, features, views).result()


def compute_views(files: list[str], corpus: str, features, views: dict) -> list:
    """What ``views_of_files`` runs in its process (an error as its line: DecodeError does not pickle)."""
    from aggregate.errors import DecodeError
    from aggregate.views import DecodedClip

    out = []
    for path in files:
        clip = DecodedClip(path, corpus, features)
        try:
            out.append({name: view.compute(clip) for name, view in views.items()})
        except DecodeError as err:
            out.append(str(err))
    return out


def run_views(config: dict) -> dict:
    """The views other than the log-mel a run's model reads, with the configs its shards had."""
    from aggregate.views import VIEWS, check_installed

    views = {}
    for name, entry in (config.get("views") or {}).items():
        if name not in VIEWS:
            raise InputError(f"the run reads the view {name}, which this version does not know")
        views[name] = VIEWS[name](VIEWS[name].config_from_dict(entry["config"]))
    check_installed(views.values())
    return views


def prediction_line(result: dict) -> str:
    """One line per file: each emotion's probability, the most likely one, and the emotions at or above
    their thresholds (a softmax model's can be none: its probabilities share 1 among seven)."""
    probabilities = "  ".join(f"{e} {p:.2f}" for e, p in result["probabilities"].items())
    present = "|".join(result["present"]) or "none at or above its threshold"
    return f"{result['file']}: {probabilities}  -> most likely {result['most_likely']}; present: {present}"
