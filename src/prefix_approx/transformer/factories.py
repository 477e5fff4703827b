"""The fixed architectures: the Kolmogorov-Arnold route, the gather route, the mixing model
and the key-writing model. Their weights depend on n and k only."""

from __future__ import annotations

import math

import torch

from .._validation import check_positive_int
from ..attention import AttentionHead
from .model import PrefixedTransformer, _Layer, _Layout

__all__ = [
    "COPY_SHARPNESS",
    "DEFAULT_MAX_WEIGHTS",
    "gather_transformer",
    "ka_transformer",
    "key_writing_transformer",
    "mixing_transformer",
]

#: Inverse temperature of the fixed copy heads of the gather route. A wrong position gets a
#: weight at most exp(-COPY_SHARPNESS (1 - cos(2 pi / n))), zero in float64 for n <= 8.
COPY_SHARPNESS = 2000.0

#: Default budget of `ka_transformer` and `gather_transformer`: float64 weight entries
#: (2^27, 1 GiB), checked before any weight is allocated.
DEFAULT_MAX_WEIGHTS = 2**27


def _check_weights(builder: str, n: int, entries: int, max_weights: object) -> None:
    """ValueError, with the estimate, when a model would hold more than max_weights float64
    weight entries."""
    budget = check_positive_int(max_weights, "max_weights")
    if entries > budget:
        raise ValueError(
            f"{builder}(n = {n}) would hold about {entries:.3g} float64 weights "
            f"({entries * 8 / 2**30:.3g} GiB), more than max_weights = {budget:.3g}: its "
            "weights grow like n^2. A smaller n lowers it; raise max_weights if the memory "
            "is there"
        )


def _core_layer(
    layout: _Layout, name: str, query_slots: tuple[str, ...], k: int, out: str, term=None
) -> _Layer:
    width = sum(layout[s].stop - layout[s].start for s in query_slots)
    head = AttentionHead(layout.read(query_slots), layout.read(["KEY"])[:width], _value(layout, k))
    return _Layer(name, "core", head, layout.write(out, k), term, query_slots)


def _value(layout: _Layout, k: int) -> torch.Tensor:
    return layout.read(["VAL"])[:k]


def _uniform_layer(layout: _Layout, name: str, source: str, out: str, term=None) -> _Layer:
    zero = torch.zeros((1, layout.d_model), dtype=torch.float64)
    head = AttentionHead(zero, zero, layout.read([source]))
    return _Layer(name, "mean", head, layout.write(out, 1), term)


def ka_transformer(
    n: int, k: int = 1, *, max_weights: int = DEFAULT_MAX_WEIGHTS
) -> PrefixedTransformer:
    """The Kolmogorov-Arnold route for sequences of n tokens: 2n + 1 terms, 3 layers each
    (inner core head, uniform head, outer core head), so depth 3(2n + 1), whatever the
    accuracy.

    The residual stream has width D = 4n + 2k + 12 and the weights about
    (2n + 1)(20 + 3k) D float64 entries, at most `max_weights` (default 2^27, 1 GiB; about
    n <= 850 for k = 1): ValueError with the estimate before anything is allocated
    otherwise. TypeError or ValueError naming n or k for values that are not integers >= 1.

    Used in: book/course.ipynb, book/prefix_mixing.ipynb, book/seq2seq_universality.ipynb.
    """
    n = check_positive_int(n, "n")
    k = check_positive_int(k, "k")
    terms = 2 * n + 1
    _check_weights(
        "ka_transformer", n, terms * (20 + 3 * k) * (2 * terms + k + 10 + k), max_weights
    )
    sizes = [("X", 1), ("E", 2), ("P", 2), ("ONE", 1)]
    sizes += [(f"A{q}", 1) for q in range(terms)] + [(f"M{q}", 1) for q in range(terms)]
    sizes += [("OUT", k), ("KEY", 4), ("VAL", max(k, 1))]
    layout = _Layout(sizes)
    layers = []
    for q in range(terms):
        inner = _core_layer(layout, f"inner {q}", ("E",), 1, f"A{q}", q)
        inner.kind = "inner"
        outer = _core_layer(layout, f"outer {q}", (f"M{q}", "ONE", "P"), k, "OUT", q)
        outer.kind = "outer"
        layers += [inner, _uniform_layer(layout, f"mean {q}", f"A{q}", f"M{q}", q), outer]
    return PrefixedTransformer("kolmogorov-arnold", n, k, layout, layers)


def gather_transformer(
    n: int, k: int = 1, *, max_weights: int = DEFAULT_MAX_WEIGHTS
) -> PrefixedTransformer:
    """The gather route for sequences of n tokens: n fixed copy heads (head i attends to
    position i from every position, with sharpness COPY_SHARPNESS) fill slots G0..G(n-1), then
    one core head reads (G, 1, P). Depth n + 1.

    The residual stream has width D = 2n + 2k + 9 and the weights (8n + 2k + 6) D float64
    entries, at most `max_weights` (default 2^27, 1 GiB; about n <= 2900): ValueError with
    the estimate before anything is allocated otherwise. TypeError or ValueError naming n or
    k for values that are not integers >= 1.

    Used in: book/seq2seq_universality.ipynb.
    """
    n = check_positive_int(n, "n")
    k = check_positive_int(k, "k")
    _check_weights("gather_transformer", n, (8 * n + 2 * k + 6) * (2 * n + 2 * k + 9), max_weights)
    sizes = [("X", 1), ("E", 2), ("P", 2), ("ONE", 1)] + [(f"G{i}", 1) for i in range(n)]
    sizes += [("OUT", k), ("KEY", n + 3), ("VAL", k)]
    layout = _Layout(sizes)
    layers = []
    for i in range(n):
        w_query = torch.zeros((2, layout.d_model), dtype=torch.float64)
        phase = 2 * math.pi * i / n
        w_query[0, layout["ONE"].start] = COPY_SHARPNESS * math.cos(phase)
        w_query[1, layout["ONE"].start] = COPY_SHARPNESS * math.sin(phase)
        head = AttentionHead(w_query, layout.read(["P"]), layout.read(["X"]))
        layers.append(_Layer(f"copy {i}", "copy", head, layout.write(f"G{i}", 1), i))
    slots = (*[f"G{i}" for i in range(n)], "ONE", "P")
    layers.append(_core_layer(layout, "approximate", slots, k, "OUT"))
    return PrefixedTransformer("gather", n, k, layout, layers)


def mixing_transformer(n: int, k: int = 1) -> PrefixedTransformer:
    """A uniform head that writes the mean of the tokens (slot M), then one core head reading
    (x_j, mean, 1, P): whatever its prefixes, its output at j is a function of x_j, the mean
    and j only.

    Used in: book/course.ipynb, book/prefix_mixing.ipynb.
    """
    n = check_positive_int(n, "n")
    k = check_positive_int(k, "k")
    layout = _Layout(
        [("X", 1), ("E", 2), ("P", 2), ("ONE", 1), ("M", 1), ("OUT", k), ("KEY", 5), ("VAL", k)]
    )
    layers = [
        _uniform_layer(layout, "mean", "X", "M"),
        _core_layer(layout, "apply", ("X", "M", "ONE", "P"), k, "OUT"),
    ]
    return PrefixedTransformer("mixing", n, k, layout, layers)


def key_writing_transformer(n: int) -> PrefixedTransformer:
    """Two layers in which the first layer's prefix writes the keys that the second layer's
    attention reads, so that a prefix can set the next layer's attention pattern. For
    sequences of n >= 2 tokens, outputs in R^1 (k = 1); depth 2, residual width 13.

    Layer 1 ("write keys") has W_Q reading the positional encoding P = (cos f_p, sin f_p),
    W_K reading slot KEY and W_V reading slot VAL, and adds its output to slot K (width 2).
    The embedding leaves KEY, VAL and K at zero, so the input tokens score 0 and carry the
    value 0 in layer 1: only prefix tokens can write into K. Layer 2 ("mix") has W_Q reading
    P, W_K reading K and W_V reading the token X, and adds its output to slot OUT. Without a
    prefix in layer 1 every key of layer 2 is zero and layer 2 is a uniform head: it writes
    the mean of the tokens at every position. `key_writing_prefixes` builds a layer-1 prefix
    that makes layer 2 shift the sequence cyclically.

    Raises TypeError if n is not an integer and ValueError if n < 2 (a shift needs two
    tokens).

    Used in: book/prefix_mixing.ipynb.
    """
    n = check_positive_int(n, "n", minimum=2)
    layout = _Layout(
        [("X", 1), ("E", 2), ("P", 2), ("ONE", 1), ("K", 2), ("OUT", 1), ("KEY", 2), ("VAL", 2)]
    )
    write = AttentionHead(layout.read(["P"]), layout.read(["KEY"]), layout.read(["VAL"]))
    mix = AttentionHead(layout.read(["P"]), layout.read(["K"]), layout.read(["X"]))
    layers = [
        _Layer("write keys", "core", write, layout.write("K", 2), None, ("P",)),
        _Layer("mix", "keyed", mix, layout.write("OUT", 1)),
    ]
    return PrefixedTransformer("key-writing", n, 1, layout, layers)
