"""train.metrics: every figure on examples small enough to work out by hand."""
from __future__ import annotations

import json

import numpy as np
import pytest

from aggregate.emotions import EMOTIONS
from train.metrics import KEY_FIGURES, evaluate, format_report, tune_thresholds

pytestmark = pytest.mark.filterwarnings("error")  # zero divisions must not warn (nor give NaN)

#              neu  ang  dis  fea  hap  sad  sur
Y = np.array([[1,   0,   0,   0,   0,   0,   0],   # c0 neutral
              [0,   1,   0,   0,   0,   1,   0],   # c1 anger + sad
              [0,   1,   0,   0,   0,   0,   0],   # c2 anger
              [0,   0,   0,   0,   1,   0,   0]])  # c3 happy
S = np.array([[.9,  .45, 0,   0,   0,   0,   0],   # -> neutral               (right)
              [0,   .8,  0,   0,   0,   .3,  0],   # -> anger                 (sad missed)
              [.6,  .4,  0,   0,   0,   0,   0],   # -> neutral               (wrong; anger missed)
              [0,   0,   0,   0,   .7,  0,   .6]])  # -> happy + surprise     (surprise a false alarm)


@pytest.fixture(scope="module")
def hand():
    return evaluate(Y, S, 0.5, corpora=["a", "a", "b", "b"])


def test_per_emotion_by_hand(hand):
    pe = hand["per_emotion"]
    # neutral: TP1 (c0) FP1 (c2) FN0 TN2 -> P 1/2, R 1, F1 2/3, acc 3/4;
    #   AP: ranked .9(+) .6(-) 0 0 -> the one positive comes first -> 1
    assert pe["neutral"] == {"precision": 0.5, "recall": 1.0, "f1": 0.6667, "average_precision": 1.0,
                             "support": 1, "accuracy": 0.75}
    # anger: TP1 (c1) FP0 FN1 (c2 at .4) TN2 -> P 1, R 1/2, F1 2/3, acc 3/4;
    #   AP: ranked .8(+) .45(-) .4(+) 0(-) -> 1/2 * 1 + 1/2 * 2/3 = 5/6
    assert pe["anger"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "average_precision": 0.8333,
                           "support": 2, "accuracy": 0.75}
    # disgust: no positive, no prediction -> 0/0 ratios are 0, AP undefined, acc 4/4
    assert pe["disgust"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "average_precision": None,
                             "support": 0, "accuracy": 1.0}
    # happy: TP1 TN3 -> all 1
    assert pe["happy"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "average_precision": 1.0,
                           "support": 1, "accuracy": 1.0}
    # sad: FN1 (c1 at .3) TN3, nothing predicted -> P 0 (0/0), R 0, F1 0, acc 3/4; AP: .3(+) ranked first -> 1
    assert pe["sad"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "average_precision": 1.0,
                         "support": 1, "accuracy": 0.75}
    # surprise: FP1 (c3) TN3 -> P 0/1, R 0/0, F1 0, acc 3/4, AP undefined
    assert pe["surprise"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "average_precision": None,
                              "support": 0, "accuracy": 0.75}


def test_summary_figures_by_hand(hand):
    assert hand["n"] == 4 and hand["thresholds"] == [0.5] * 7
    assert hand["paper_accuracy"] == 0.8571  # (3/4 * 4 + 1 * 3) / 7 = 6/7
    assert hand["hamming_loss"] == 0.1429  # 4 wrong cells of 28 = 1/7 (= 1 - Eq. 2)
    assert hand["macro_f1"] == 0.5833  # emotions with positives: (2/3 + 2/3 + 1 + 0) / 4 = 7/12
    assert hand["micro_f1"] == 0.6  # TP 3, FP 2 (neutral, surprise), FN 2 (anger, sad): 6 / (6 + 2 + 2)
    assert hand["mAP"] == 0.9583  # (1 + 5/6 + 1 + 1) / 4 = 23/24
    assert hand["subset_accuracy"] == 0.25  # only c0 has its label set exactly
    # single-label clips c0, c2, c3; arg-max: neutral (right), neutral (wrong), happy (right)
    confusion = np.zeros((7, 7), int)
    confusion[0, 0] = confusion[1, 0] = confusion[4, 4] = 1  # true row, predicted column
    assert hand["single_label"] == {"unweighted_accuracy": 0.6667, "weighted_accuracy": 0.6667, "n": 3,
                                    "confusion": confusion.tolist()}


def test_trivial_predictor_by_hand(hand):
    # prevalence: neutral 1/4, anger 2/4, happy 1/4, sad 1/4, others 0
    assert hand["trivial"] == {
        "paper_accuracy": 0.8214,  # (3/4 + 2/4 + 1 + 1 + 3/4 + 3/4 + 1) / 7 = 5.75 / 7
        "macro_f1": 0.0, "micro_f1": 0.0,
        "mAP": 0.3125,  # AP of a constant score = prevalence: (1/4 + 2/4 + 1/4 + 1/4) / 4
        "subset_accuracy": 0.0,  # every clip has a label
        "hamming_loss": 0.1786,  # 5 positives missed of 28
    }


def test_per_corpus_split(hand):
    a, b = hand["per_corpus"]["a"], hand["per_corpus"]["b"]
    assert (a["n"], b["n"]) == (2, 2)
    assert a["paper_accuracy"] == 0.9286  # c0, c1: one wrong cell (sad) of 14 -> 13/14
    assert b["paper_accuracy"] == 0.7857  # c2, c3: three wrong cells of 14 -> 11/14
    assert a["subset_accuracy"] == 0.5 and b["subset_accuracy"] == 0.0
    assert {k: v for k, v in b["single_label"].items() if k != "confusion"} == \
        {"unweighted_accuracy": 0.5, "weighted_accuracy": 0.5, "n": 2}
    for name, rows in (("a", slice(0, 2)), ("b", slice(2, 4))):  # the same as evaluating the part alone
        alone = evaluate(Y[rows], S[rows])
        part = hand["per_corpus"][name]
        assert {k: part[k] for k in KEY_FIGURES} == {k: alone[k] for k in KEY_FIGURES}
        assert part["trivial"] == alone["trivial"]
    assert "per_corpus" not in evaluate(Y, S)


def test_single_label_ua_vs_wa_on_imbalanced_data():
    y = np.zeros((10, 7), int)
    y[:8, 0] = 1  # 8 neutral
    y[8:, 1] = 1  # 2 anger
    s = np.tile([.6, .4, 0, 0, 0, 0, 0], (10, 1))  # always says neutral
    sl = evaluate(y, s)["single_label"]
    assert sl.pop("confusion")[:2] == [[8, 0, 0, 0, 0, 0, 0], [2, 0, 0, 0, 0, 0, 0]]
    assert sl == {"unweighted_accuracy": 0.5,  # recalls: neutral 8/8, anger 0/2 -> (1 + 0) / 2
                  "weighted_accuracy": 0.8,  # 8 right of 10
                  "n": 10}


def test_multi_label_clips_are_left_out_of_single_label():
    y = np.array([[1, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0]])
    s = np.array([[.9, .9, 0, 0, 0, 0, 0], [0] * 7, [0, .2, 0, .1, 0, 0, 0]])
    single = evaluate(y, s)["single_label"]
    assert np.sum(single.pop("confusion")) == 1  # the fear clip, taken for anger
    assert single == {"unweighted_accuracy": 0.0, "weighted_accuracy": 0.0, "n": 1}


def test_all_absent_predictor_gets_one_minus_mean_prevalence():
    rng = np.random.default_rng(1)
    y = (rng.random((200, 7)) < [.3, .2, .1, .1, .25, .15, .05]).astype(int)
    p = y.mean(0)
    m = evaluate(y, np.zeros((200, 7)))
    assert m["paper_accuracy"] == pytest.approx(1 - p.mean(), abs=1e-4)
    assert m["macro_f1"] == 0.0 and m["micro_f1"] == 0.0
    assert m["mAP"] == pytest.approx(p.mean(), abs=1e-4)
    assert {k: m[k] for k in KEY_FIGURES} == m["trivial"]


def test_perfect_predictor_scores_one_everywhere():
    rng = np.random.default_rng(2)
    y = (rng.random((60, 7)) < .3).astype(int)
    y[np.arange(7), np.arange(7)] = 1  # every emotion has a positive
    m = evaluate(y, y.astype(float), corpora=["x", "y", "z"] * 20)
    for k in ("paper_accuracy", "macro_f1", "micro_f1", "mAP", "subset_accuracy"):
        assert m[k] == 1.0, k
    assert m["hamming_loss"] == 0.0
    assert m["single_label"]["unweighted_accuracy"] == m["single_label"]["weighted_accuracy"] == 1.0
    for e in EMOTIONS:
        assert all(m["per_emotion"][e][k] == 1.0 for k in ("precision", "recall", "f1", "average_precision",
                                                             "accuracy"))
    assert all(c["macro_f1"] == 1.0 and c["mAP"] == 1.0 for c in m["per_corpus"].values())


def test_no_positives_at_all_gives_zeros_and_none_never_nan():
    m = evaluate(np.zeros((3, 7), int), np.full((3, 7), .2))
    assert m["macro_f1"] == 0.0 and m["micro_f1"] == 0.0 and m["mAP"] is None
    assert m["paper_accuracy"] == 1.0 and m["single_label"]["n"] == 0
    json.dumps(m, allow_nan=False)


def test_per_emotion_thresholds_and_json():
    t = [.5, .3, .5, .5, .5, .2, .7]  # anger at .3 now catches c2 (.4); sad at .2 catches c1; surprise .6 < .7
    m = evaluate(Y, S, thresholds=np.array(t), corpora=np.array(["a", "a", "b", "b"]))
    assert m["thresholds"] == t
    assert m["per_emotion"]["anger"]["recall"] == 1.0 and m["per_emotion"]["anger"]["precision"] == 0.6667
    assert m["per_emotion"]["sad"]["f1"] == 1.0 and m["per_emotion"]["surprise"]["accuracy"] == 1.0
    json.dumps(m, allow_nan=False)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError):
        evaluate(Y[:, :6], S[:, :6])
    with pytest.raises(ValueError):
        evaluate(Y, S[:3])
    with pytest.raises(ValueError):
        evaluate(Y, S, corpora=["a"])


def test_tune_thresholds_separates_separable_scores():
    rng = np.random.default_rng(3)
    y = (rng.random((80, 7)) < .3).astype(int)
    y[0, :6] = 1
    y[:, 6] = 0  # surprise never present
    s = np.where(y == 1, rng.uniform(.62, .9, y.shape), rng.uniform(.1, .4, y.shape))
    s[:, 1] = np.where(y[:, 1] == 1, rng.uniform(.2, .3, 80), rng.uniform(.0, .1, 80))  # low but separable
    s[:, 0] = np.where(y[:, 0] == 1, .61, .43)  # a gap holding exactly the grid points .45 .5 .55 .6
    t = tune_thresholds(y, s)
    assert t.shape == (7,)
    assert all(.4 < t[k] <= .62 for k in (0, 2, 3, 4, 5))
    assert t[0] == pytest.approx(.55)  # of the tied .45 .5 .55 .6, the middle of the run
    assert .1 < t[1] <= .2
    assert t[6] == 0.5  # no positives
    m = evaluate(y, s, t)
    assert all(m["per_emotion"][e]["f1"] == 1.0 for e in EMOTIONS[:6])


def test_format_report_shows_model_beside_trivial(hand):
    text = format_report(hand)
    for e in EMOTIONS:
        assert e in text
    assert "all-absent" in text and "Eq. 2" in text
    line = next(row for row in text.splitlines() if row.startswith("paper accuracy"))
    assert "0.857" in line and "0.821" in line
    assert "0.958" in next(row for row in text.splitlines() if row.startswith("mAP"))
    assert text.count("\na ") == 1 and text.count("\nb ") == 1  # per-corpus rows
    table = text.split("single-label confusion")[1].splitlines()
    assert table[1].split() == [*EMOTIONS, "recall"]
    assert table[2].split() == ["neutral", "1", "0", "0", "0", "0", "0", "0", "1.00"]
    assert table[3].split() == ["anger", "1", "0", "0", "0", "0", "0", "0", "0.00"]
    assert table[4].split() == ["disgust", *["0"] * 7, "-"]  # no single-label disgust clip
