"""Struct-of-arrays helpers: every per-series quantity is one numpy array indexed by slot (axis 0).

A state bundle is a dataclass whose fields are all such arrays; these helpers copy, flatten and
restore any bundle generically, so adding a field to a bundle is a one-line change.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt


class SlotArrays(Protocol):
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]


def _arrays(bundle: SlotArrays) -> dict[str, npt.NDArray[Any]]:
    return {f.name: getattr(bundle, f.name) for f in dataclasses.fields(bundle)}


def capacity_of(bundle: SlotArrays) -> int:
    first = next(iter(_arrays(bundle).values()))
    return int(first.shape[0])


def copy_slots(target: SlotArrays, source: SlotArrays) -> None:
    """target[:n] = source for every field (target has room for at least source's n slots)."""
    for name, array in _arrays(source).items():
        getattr(target, name)[: array.shape[0]] = array


def to_arrays(bundle: SlotArrays, prefix: str) -> dict[str, npt.NDArray[Any]]:
    return {f"{prefix}.{name}": array for name, array in _arrays(bundle).items()}


def fill_from(bundle: SlotArrays, arrays: dict[str, npt.NDArray[Any]], prefix: str) -> None:
    """Overwrite the bundle from `to_arrays` output; shapes and dtypes must match exactly."""
    for name, target in _arrays(bundle).items():
        source = _field(arrays, f"{prefix}.{name}")
        if source.shape != target.shape or source.dtype != target.dtype:
            expected = f"{target.shape} {target.dtype}"
            raise ValueError(
                f"state field {prefix}.{name} is {source.shape} {source.dtype}, expected {expected}"
            )
        target[...] = source


def rows_of(
    bundle: SlotArrays, slot: int | npt.NDArray[np.int64], prefix: str
) -> dict[str, npt.NDArray[Any]]:
    """One series' state (or several: an array of slots), detached from the bundle."""
    return {f"{prefix}.{name}": np.array(array[slot]) for name, array in _arrays(bundle).items()}


def put_rows(bundle: SlotArrays, slot: int, arrays: dict[str, npt.NDArray[Any]], prefix: str) -> None:
    for name, target in _arrays(bundle).items():
        source = _field(arrays, f"{prefix}.{name}")
        if source.shape != target.shape[1:] or source.dtype != target.dtype:
            raise ValueError(
                f"series state field {prefix}.{name} is {source.shape} {source.dtype}, "
                f"expected {target.shape[1:]} {target.dtype}"
            )
        target[slot] = source


def _field(arrays: dict[str, npt.NDArray[Any]], key: str) -> npt.NDArray[Any]:
    if key not in arrays:
        raise ValueError(f"state is missing {key!r}")
    return arrays[key]
