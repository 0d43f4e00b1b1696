"""What a model declares (``Recipe``) and how its options are read, all without Keras.

A model module declares its options as a frozen dataclass and its ``Recipe``; the
registry (``train/models/__init__.py``) lists the recipes. The command line reads
both before TensorFlow loads: ``--model-option KEY=VALUE`` is parsed and type-checked
here against the dataclass's fields, so a typo costs one ``error:`` line. Model
modules therefore import Keras inside ``build``, never at the top.

Option types understood: ``bool``, ``int``, ``float``, ``str``, ``Literal[...]``,
``tuple[int, ...]`` / ``tuple[float, ...]`` (comma-separated) and ``X | None``
(``none``). A field's ``metadata["help"]`` is shown by ``python -m train --help``;
range checks belong in the dataclass's ``__post_init__`` (a ``ValueError`` there
becomes one line too).
"""
from __future__ import annotations

import math
import types
import typing
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, Callable

from aggregate.errors import InputError


@dataclass(frozen=True)
class NoOptions:
    """The options of a model that takes none."""


@dataclass(frozen=True)
class Recipe:
    """A model: how to build it, and how ``train.fit`` trains it.

    * ``builder(input_shape, seed, train_inputs, options)``: the Keras model, untrained;
      ``train_inputs`` is a tf.data.Dataset of the training split's inputs (float32), for
      statistics the model stores (per-band standardisation);
    * ``output``: "softmax" (one emotion per clip: cross-entropy on the clip's emotions,
      normalised to sum to 1) or "sigmoid" (binary cross-entropy per emotion);
    * ``schedule``: "cosine" (AdamW, 10 % linear warm-up then cosine decay to 0 over the
      epochs; the last epoch is kept) or "constant" (Adam at a fixed rate; early stopping on
      validation PR-AUC, best epoch kept);
    * ``epochs`` and ``reference_clips``: the training length, as a budget of optimizer steps
      (``train.fit.planned_epochs``): ``epochs`` at up to ``reference_clips`` training clips,
      beyond that steps growing as the square root of the clips (fewer passes over more data);
      ``reference_clips`` None: always ``epochs``;
    * ``mixup``: the Beta(alpha, alpha) of mixup, 0 for none;
    * ``finish(model, train_inputs, train_labels, seed, clip_weights=None)``: a step after training,
      or None (``clip_weights``: one per training clip with corpus balance, as the loss had them);
    * ``options``: the frozen dataclass of its options (``--model-option KEY=VALUE``);
    * ``views``: the views of the shards it reads (``aggregate.views``); shards lacking one are refused.
    """
    name: str
    builder: Callable
    source: str  # where the design comes from, for the report's header
    output: str = "softmax"
    schedule: str = "cosine"
    epochs: int = 60
    reference_clips: int | None = None  # the training size ``epochs`` was chosen at (see train.fit.planned_epochs)
    batch_size: int = 32
    learning_rate: float = 2e-3
    mixup: float = 0.0
    finish: Callable | None = None
    options: type = NoOptions
    views: tuple[str, ...] = ("log_mel",)

    def build(self, input_shape, seed: int, train_inputs, **options):
        """The untrained model, with ``options`` (names of the options dataclass's fields) checked first."""
        return self.builder(tuple(input_shape), seed, train_inputs, self.make_options(options))

    def make_options(self, values: dict[str, Any] | None = None):
        """The options dataclass from ``values``: strings (from the command line) are parsed, other values
        type-checked; an unknown name or a bad value is an ``InputError`` of one line."""
        hints = typing.get_type_hints(self.options)
        known = {f.name for f in fields(self.options)}
        parsed = {}
        for key, value in (values or {}).items():
            if key not in known:
                taken = f"its options: {', '.join(sorted(known))}" if known else "it takes none"
                raise InputError(f"--model-option {key}: model {self.name} has no option {key!r} ({taken}); "
                                 f"see python -m train --help")
            parsed[key] = _convert(hints[key], value, f"--model-option {key}={_shown(value)}: {self.name}'s {key}")
        try:
            return self.options(**parsed)
        except ValueError as err:  # a range the dataclass checks
            raise InputError(f"--model-option: model {self.name}: {err}") from None

    def resolved_options(self, values: dict[str, Any] | None = None) -> dict[str, Any]:
        """Every option of the model, defaults included, as JSON-ready values (for config.json)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self.make_options(values)).items()}

    def describe_options(self) -> list[tuple[str, str]]:
        """(``key=default``, what it takes and its help) per option: for ``--help``."""
        hints = typing.get_type_hints(self.options)
        rows = []
        for f in fields(self.options):
            default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
            text = f.metadata.get("help")
            rows.append((f"{f.name}={_shown(default)}", _describe(hints[f.name]) + (f"; {text}" if text else "")))
        return rows


def parse_pairs(pairs: list[str] | None) -> dict[str, str]:
    """``["small=true", "dropout=0.1"]`` -> ``{"small": "true", "dropout": "0.1"}``; a pair without ``=``
    or a key given twice is one line."""
    options: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise InputError(f"--model-option {pair!r}: write KEY=VALUE, e.g. --model-option dropout=0.2")
        if key in options:
            raise InputError(f"--model-option {key} is given twice ({options[key]!r} and {value!r}); give it once")
        options[key] = value.strip()
    return options


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def _convert(kind, value, where: str):
    """``value`` as the annotated type ``kind``: parsed from a string, or checked."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and (value is None or (isinstance(value, str) and value.lower() == "none")):
            return None
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            try:
                return _convert(rest[0], value, where)
            except InputError:
                raise InputError(f"{where} takes {_describe(kind)}, got {_shown(value)}") from None
        raise TypeError(f"{where}: unions other than X | None are not supported")
    if origin is typing.Literal:
        for choice in args:
            if value == choice or (isinstance(value, str) and str(choice) == value):
                return choice
        raise InputError(f"{where} must be one of {', '.join(map(str, args))}, got {_shown(value)}")
    if origin is tuple:
        item = args[0]
        if isinstance(value, str):
            value = [v for v in value.split(",") if v.strip()]
        if isinstance(value, (list, tuple)) and value:
            try:
                return tuple(_convert(item, v, where) for v in value)
            except InputError:
                pass
        raise InputError(f"{where} takes {_describe(kind)}, got {_shown(value)}")
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
            return value.lower() in _TRUE
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
    elif kind is float:
        number = value
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                number = None
        if isinstance(number, (int, float)) and not isinstance(number, bool) and math.isfinite(number):
            return float(number)
    elif kind is str:
        if isinstance(value, str):
            return value
    else:
        raise TypeError(f"{where}: option type {kind!r} is not supported (see train/models/base.py)")
    raise InputError(f"{where} takes {_describe(kind)}, got {_shown(value)}")


def _describe(kind) -> str:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args if a is not type(None)) + " or none"
    if origin is typing.Literal:
        return "one of " + ", ".join(map(str, args))
    if origin is tuple:
        plural = {int: "whole numbers", float: "numbers", str: "words"}.get(args[0], str(args[0]))
        return f"{plural} separated by commas"
    return {bool: "true or false", int: "a whole number", float: "a number", str: "text"}.get(kind, str(kind))


def _shown(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
