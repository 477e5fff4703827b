"""The prefixed transformer: its residual-stream layout, its layers, the model and the
prefixes it takes (which record the model they were built for)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .._validation import ArrayLike, as_float64, check_sequences
from ..attention import AttentionHead

__all__ = ["HeadPrefixReport", "PrefixedTransformer", "TransformerPrefixes"]


# ------------------------------------------------------------------------------- layout
class _Layout:
    """Named slots of the residual stream."""

    def __init__(self, sizes: Sequence[tuple[str, int]]) -> None:
        self.slots: dict[str, slice] = {}
        start = 0
        for name, size in sizes:
            self.slots[name] = slice(start, start + size)
            start += size
        self.d_model = start

    def __getitem__(self, name: str) -> slice:
        return self.slots[name]

    def read(self, names: Sequence[str], rows: int | None = None) -> torch.Tensor:
        """A matrix (rows, D) copying the named slots, in order, into its rows."""
        width = sum(self.slots[n].stop - self.slots[n].start for n in names)
        matrix = torch.zeros((width if rows is None else rows, self.d_model), dtype=torch.float64)
        row = 0
        for name in names:
            for column in range(self.slots[name].start, self.slots[name].stop):
                matrix[row, column] = 1.0
                row += 1
        return matrix

    def write(self, name: str, width: int) -> torch.Tensor:
        """W_O (D, width) adding a head's output into slot `name`."""
        return self.read([name]).T[:, :width].clone()


class _Layer(torch.nn.Module):
    """One residual attention layer: h <- h + W_O H(h; [prefix, h])."""

    def __init__(
        self,
        name: str,
        kind: str,
        head: AttentionHead,
        w_out: torch.Tensor,
        term: int | None = None,
        query_slots: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.name, self.kind, self.term, self.query_slots = name, kind, term, query_slots
        self.head = head
        self.register_buffer("w_out", w_out)

    def forward(self, h: torch.Tensor, prefix: torch.Tensor | None) -> torch.Tensor:
        return h + self.head(h, prefix, h) @ self.w_out.T


# -------------------------------------------------------------------------- transformer
@dataclass(frozen=True)
class HeadPrefixReport:
    """What the builder chose for one layer's prefix: `layer` name, `n_tokens`, inverse
    temperature `lam`, net radius `radius` (radians), the head's `tolerance` and the error
    `guaranteed` for it (0 tokens for layers without a prefix).

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    layer: str
    n_tokens: int
    lam: float
    radius: float
    tolerance: float
    guaranteed: float


@dataclass(frozen=True)
class TransformerPrefixes:
    """One prefix per layer (a tensor (N_l, D), or None for no prefix) for a
    `PrefixedTransformer`, with the end-to-end sup error they guarantee (`guaranteed` <=
    `eps`) and a report per layer. `route`, `n` and `k` record the model they were built
    for; a model refuses prefixes built for another.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    tokens: tuple[torch.Tensor | None, ...]
    route: str
    eps: float
    guaranteed: float
    reports: tuple[HeadPrefixReport, ...] = field(default=())
    n: int | None = None
    k: int | None = None

    @property
    def total_tokens(self) -> int:
        """Total prefix length over all layers."""
        return sum(0 if t is None else t.shape[0] for t in self.tokens)


class PrefixedTransformer(torch.nn.Module):
    """A transformer with fixed weights for sequences of `n` scalar tokens and outputs in
    R^k. Build it with `ka_transformer`, `gather_transformer`, `mixing_transformer` or
    `key_writing_transformer`; call it as `model(x, prefixes)` with x (B, n) in [0, 1] and one
    prefix per layer; it returns (B, n, k). No weight ever changes after construction.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    def __init__(self, route: str, n: int, k: int, layout: _Layout, layers: list[_Layer]):
        super().__init__()
        self.route, self.n, self.k = route, n, k
        self.layout = layout
        self.layers = torch.nn.ModuleList(layers)

    @property
    def depth(self) -> int:
        """Number of layers (one attention head each)."""
        return len(self.layers)

    @property
    def d_model(self) -> int:
        """Width of the residual stream."""
        return self.layout.d_model

    def extra_repr(self) -> str:
        return (
            f"route={self.route!r}, n={self.n}, k={self.k}, depth={self.depth}, "
            f"d_model={self.d_model}"
        )

    def embed(self, x: ArrayLike) -> torch.Tensor:
        """The fixed embedding (B, n, D) of sequences x (B, n) in [0, 1] (module docstring).

        Used in: chapter "Sequence-to-sequence universality".
        """
        seq = check_sequences(x, self.n)
        batch = seq.shape[0]
        h = torch.zeros((batch, self.n, self.d_model), dtype=torch.float64)
        p = torch.arange(self.n, dtype=torch.float64)
        angle = 2 * math.pi / self.n * (p + seq / 2)
        phase = (2 * math.pi * p / self.n).expand(batch, -1)
        h[..., self.layout["X"]] = seq[..., None]
        h[..., self.layout["E"]] = torch.stack((torch.cos(angle), torch.sin(angle)), -1)
        h[..., self.layout["P"]] = torch.stack((torch.cos(phase), torch.sin(phase)), -1)
        h[..., self.layout["ONE"]] = 1.0
        return h

    def _check_prefixes(
        self, prefixes: TransformerPrefixes | Sequence[object | None]
    ) -> list[torch.Tensor | None]:
        if isinstance(prefixes, TransformerPrefixes):
            built_for = (prefixes.route, prefixes.n, prefixes.k)
            this = (self.route, self.n, self.k)
            if any(b is not None and b != t for b, t in zip(built_for, this, strict=True)):
                raise ValueError(
                    f"these prefixes were built for the {prefixes.route!r} route with "
                    f"n = {prefixes.n}, k = {prefixes.k}; this model is the {self.route!r} "
                    f"route with n = {self.n}, k = {self.k}"
                )
            prefixes = prefixes.tokens
        if isinstance(prefixes, torch.Tensor) or not isinstance(prefixes, Sequence):
            raise TypeError("prefixes must be a TransformerPrefixes or a sequence, one per layer")
        if len(prefixes) != self.depth:
            raise ValueError(
                f"need one prefix (or None) per layer: the model has {self.depth} layers, got "
                f"{len(prefixes)} prefixes"
            )
        checked: list[torch.Tensor | None] = []
        for layer, prefix in zip(self.layers, prefixes, strict=True):
            if prefix is None:
                checked.append(None)
                continue
            tokens = as_float64(prefix, f"prefix of layer {layer.name}", ndim=2)
            if tokens.shape[1] != self.d_model:
                raise ValueError(
                    f"prefix of layer {layer.name} must have {self.d_model} columns; got "
                    f"shape {tuple(tokens.shape)}"
                )
            checked.append(tokens if tokens.shape[0] else None)
        return checked

    def forward(
        self, x: ArrayLike, prefixes: TransformerPrefixes | Sequence[object | None]
    ) -> torch.Tensor:
        """Outputs (B, n, k) for sequences x (B, n) and one prefix per layer.

        Used in: chapters "Sequence-to-sequence universality", "Element-wise prefixes,
        pretrained mixing".
        """
        return self.trace(x, prefixes)[-1][..., self.layout["OUT"]]

    def trace(
        self, x: ArrayLike, prefixes: TransformerPrefixes | Sequence[object | None]
    ) -> list[torch.Tensor]:
        """The residual stream (B, n, D) after the embedding and after every layer: depth + 1
        tensors. `slot(h, name)` reads a named slot out of one of them.

        Used in: chapter "Sequence-to-sequence universality".
        """
        tokens = self._check_prefixes(prefixes)
        states = [self.embed(x)]
        for layer, prefix in zip(self.layers, tokens, strict=True):
            states.append(layer(states[-1], prefix))
        return states

    def slot(self, h: torch.Tensor, name: str) -> torch.Tensor:
        """The named slot of residual streams h (..., D), e.g. "OUT", "M0" or "G1".

        Used in: chapter "Sequence-to-sequence universality".
        """
        if name not in self.layout.slots:
            raise ValueError(f"no slot {name!r}; the slots are {list(self.layout.slots)}")
        return h[..., self.layout[name]]

    @property
    def layer_names(self) -> list[str]:
        """Names of the layers, in order."""
        return [str(layer.name) for layer in self.layers]

    def blank_prefixes(self) -> list[None]:
        """No prefix in any layer.

        Used in: chapter "Element-wise prefixes, pretrained mixing".
        """
        return [None] * self.depth
