"""A small transformer whose weights are fixed by n and the construction alone, and the
prefixes that make it approximate sequence-to-sequence maps.

Sequences have n scalar tokens x_p in [0, 1] (d = 1). Every layer has one attention head with
fixed W_Q, W_K, W_V and an output projection W_O; the residual stream adds each layer's output:
h <- h + W_O H(h; [prefix_l, h]). Attention is bidirectional (every position sees every
token). Only the per-layer prefixes depend on the target.

The fixed embedding writes, for token x at position p,

    X = x,   E = (cos t, sin t) with t = (2 pi / n)(p + x / 2),   P = (cos f_p, sin f_p) with
    f_p = 2 pi p / n,   ONE = 1,

so E places the token on one of n disjoint arcs of the circle (a rotary positional encoding of
the value) and P is a plain positional encoding. Four architectures:

- `ka_transformer(n, k)`: the Kolmogorov-Arnold route, 3 (2n + 1) layers: for each term q an
  inner core head (query E) writes psi_q(x_p), a uniform head writes the mean over positions,
  an outer core head (query (mean, 1, P)) adds chi_(j,q)(mean) to the output.
- `gather_transformer(n, k)`: n fixed copy heads put every token into its own slot at every
  position, then one core head (query (x_0..x_(n-1), 1, P)) approximates g directly.
- `mixing_transformer(k)`: a uniform head then one core head (query (x_j, mean, 1, P)); used to
  show what prefixes cannot do.
- `key_writing_transformer(n)`: a head whose prefix writes keys (query P), then a head whose
  keys read them (query P, value x); used to show that a prefix in one layer can set the
  attention pattern of the next.

Core-head prefixes cover only the set of queries that can occur (arcs or boxes, one per
position), with the density bound of Part II; `TransformerPrefixes.guaranteed` adds up the
per-head guarantees through the target's representation.

Modules: `model` (the layout, layers, `PrefixedTransformer`, `TransformerPrefixes`),
`factories` (the four architectures), `prefixes` (query geometry and the prefix builders).
"""

from __future__ import annotations

from .factories import (
    COPY_SHARPNESS,
    gather_transformer,
    ka_transformer,
    key_writing_transformer,
    mixing_transformer,
)
from .model import HeadPrefixReport, PrefixedTransformer, TransformerPrefixes
from .prefixes import (
    gather_prefix_length,
    gather_prefixes,
    ka_prefixes,
    key_writing_prefixes,
    mixing_prefixes,
)

__all__ = [
    "COPY_SHARPNESS",
    "HeadPrefixReport",
    "PrefixedTransformer",
    "TransformerPrefixes",
    "gather_prefix_length",
    "gather_prefixes",
    "gather_transformer",
    "ka_prefixes",
    "ka_transformer",
    "key_writing_prefixes",
    "key_writing_transformer",
    "mixing_prefixes",
    "mixing_transformer",
]
