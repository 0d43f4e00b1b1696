"""Command-line options derived from config dataclasses, so each default and its help live in one place.

A field's ``metadata`` may hold ``help`` (the text) and ``choices``; the flag is the field's
name with dashes (``shard_size`` -> ``--shard-size``), its default the field's default.
"""
from __future__ import annotations

import argparse
from dataclasses import fields

from .errors import InputError


def add_options(group, cls, prefix: str = "") -> None:
    """One flag per field of the dataclass ``cls`` (``prefix`` namespaces flags and destinations)."""
    for f in fields(cls):
        flag = "--" + (prefix + f.name).replace("_", "-")
        text = f.metadata.get("help", "")
        if isinstance(f.default, bool):
            group.add_argument(flag, dest=prefix + f.name, action=argparse.BooleanOptionalAction,
                               default=f.default, help=f"{text} (default: %(default)s)")
        else:
            group.add_argument(flag, dest=prefix + f.name, type=type(f.default), default=f.default,
                               choices=f.metadata.get("choices"), metavar=f.name.split("_")[-1].upper(),
                               help=f"{text} (default: %(default)s)")


def from_options(cls, args: argparse.Namespace, prefix: str = ""):
    """The dataclass ``cls`` built from the flags ``add_options`` made; a refused value is one line."""
    try:
        return cls(**{f.name: getattr(args, prefix + f.name) for f in fields(cls)})
    except ValueError as err:
        raise InputError(str(err)) from None
