"""Private helpers shared by the spatial analyses: random generators and input checks."""

from __future__ import annotations

from typing import Any

import numpy as np

from crimeprev.errors import InvalidInputError

RandomLike = np.random.Generator | int | None


def resolve_rng(rng: RandomLike) -> tuple[np.random.Generator, int | None]:
    """Return a generator and the seed that recreates it (None for a caller's generator).

    When ``rng`` is None a fresh seed is drawn from the operating system and
    recorded, so that every result can be reproduced from what it reports.
    """
    if isinstance(rng, np.random.Generator):
        return rng, None
    if rng is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
        return np.random.default_rng(seed), seed
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)):
        raise InvalidInputError(
            f"rng must be a numpy Generator, an integer seed or None, got {rng!r}"
        )
    return np.random.default_rng(int(rng)), int(rng)


def as_float_array(values: Any, name: str) -> np.ndarray:
    """Return ``values`` as a 1-D float array whose entries are all finite."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"{name} must be numbers: {error}") from error
    if array.ndim != 1:
        raise InvalidInputError(f"{name} must be one-dimensional, got shape {array.shape}")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise InvalidInputError(
            f"{name} has {bad.size} missing or infinite value(s), first at position "
            f"{int(bad[0])} ({array[bad[0]]!r}); drop or fix those events first",
            field=name,
            row=int(bad[0]),
        )
    return array


def same_length(**arrays: np.ndarray) -> int:
    """Return the common length of the arrays, or raise naming the mismatch."""
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise InvalidInputError(f"arrays must have the same length, got {lengths}")
    return next(iter(lengths.values()))


def as_breaks(values: Any, name: str) -> np.ndarray:
    """Return band breaks as a strictly increasing float array (``inf`` allowed last)."""
    breaks = np.asarray(values, dtype=float)
    if breaks.ndim != 1 or breaks.size < 2:
        raise InvalidInputError(
            f"{name} must list at least two break points (one band), got {values!r}"
        )
    if np.isnan(breaks).any() or np.isinf(breaks[:-1]).any() or breaks[0] < 0:
        raise InvalidInputError(
            f"{name} must be finite, non-negative numbers (only the last may be inf), "
            f"got {values!r}"
        )
    if np.any(np.diff(breaks) <= 0):
        raise InvalidInputError(f"{name} must be strictly increasing, got {values!r}")
    return breaks
