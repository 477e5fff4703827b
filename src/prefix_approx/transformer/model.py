"""The prefixed transformer: its residual-stream layout, its layers, the model and the
prefixes it takes (which record the model they were built for)."""

from __future__ import annotations

import hashlib
import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .._validation import ArrayLike, as_float64, check_positive_int, check_sequences
from ..attention import AttentionHead

__all__ = ["HeadPrefixReport", "PrefixedTransformer", "TransformerPrefixes"]

#: Default budget of `PrefixedTransformer.trace`: numbers held in all its states (2 GiB).
DEFAULT_MAX_TRACE_ENTRIES = 2**28


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


# ------------------------------------------------------------------------------ prefixes
#: The routes the builders make prefixes for (`PrefixedTransformer.route`).
ROUTES = ("kolmogorov-arnold", "gather", "mixing", "key-writing")

_SALT = b"prefix_approx.transformer prefixes v1"


def _digest(*parts: object) -> str:
    """A BLAKE2b digest of numbers, strings, None and float64 tensors (their shape and bytes):
    what a builder's guarantee was computed for."""
    hasher = hashlib.blake2b(_SALT, digest_size=20)
    for part in parts:
        if isinstance(part, torch.Tensor):
            values = part.detach().to(device="cpu", dtype=torch.float64).contiguous()
            hasher.update(f"tensor{tuple(values.shape)}".encode())
            hasher.update(values.numpy().data)
        elif isinstance(part, float):
            hasher.update(f"float {part.hex()};".encode())
        else:
            hasher.update(f"{type(part).__name__} {part!r};".encode())
    return hasher.hexdigest()


_STALE = (
    "the guarantee was proved for the fields as the builder made them (the tokens, n, k, "
    "route, eps and reports); it does not apply to edited ones. Build new prefixes with "
    "the builder (ka_prefixes, gather_prefixes, mixing_prefixes, key_writing_prefixes), or "
    "pass edited tokens to the model as a list, one per layer, which carries no guarantee"
)


@dataclass(frozen=True)
class HeadPrefixReport:
    """What the builder chose for one layer's prefix: `layer` name, `n_tokens`, inverse
    temperature `lam`, net radius `radius` (radians), the head's `tolerance` and the error
    `guaranteed` for it (0 tokens for layers without a prefix).

    Only the builders make reports: `fingerprint` is a digest of the other fields, and a
    report whose fields do not match it (one edited with `dataclasses.replace`, or made by
    hand) raises ValueError, so that no edited report states a guarantee.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    layer: str
    n_tokens: int
    lam: float
    radius: float
    tolerance: float
    guaranteed: float
    fingerprint: str = field(default="", repr=False, compare=False, kw_only=True)

    def __post_init__(self) -> None:
        if self.fingerprint != _report_digest(self):
            raise ValueError(
                f"this HeadPrefixReport (layer {self.layer!r}) does not match its fingerprint: "
                "it was edited or made by hand; " + _STALE
            )


def _report_digest(report: HeadPrefixReport) -> str:
    fields = ("layer", "n_tokens", "lam", "radius", "tolerance", "guaranteed")
    return _digest(*(getattr(report, name) for name in fields))


def _report(
    layer: str, n_tokens: int, lam: float, radius: float, tolerance: float, guaranteed: float
) -> HeadPrefixReport:
    """A builder's report, with its fingerprint."""
    layer, n_tokens = str(layer), int(n_tokens)
    numbers = (float(lam), float(radius), float(tolerance), float(guaranteed))
    fingerprint = _digest(layer, n_tokens, *numbers)
    return HeadPrefixReport(layer, n_tokens, *numbers, fingerprint=fingerprint)


@dataclass(frozen=True)
class TransformerPrefixes:
    """One prefix per layer (a tensor (N_l, D), or None for no prefix) for a
    `PrefixedTransformer`, with the end-to-end sup error they guarantee (`guaranteed` <=
    `eps`) and a report per layer. `route`, `n` and `k` record the model they were built
    for; a model refuses prefixes built for another.

    Only the builders make them: `fingerprint` is a digest of the other fields (the tokens'
    values included). Prefixes whose fields do not match it raise ValueError: at
    construction (an edit with `dataclasses.replace`, say of `n` or `tokens`, or prefixes
    made by hand), and, for token tensors changed in place, when a model runs them or
    `guaranteed` is read. A guarantee is therefore only ever reported for the tokens it was
    proved for. Token tensors taken out of a `TransformerPrefixes` and passed to a model
    as a list keep the record of the model and layer they were built for, and a model
    refuses them elsewhere (pass `tensor.clone()` to run them without a guarantee).

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    tokens: tuple[torch.Tensor | None, ...]
    route: str
    eps: float
    guaranteed: float
    reports: tuple[HeadPrefixReport, ...] = field(default=())
    n: int | None = None
    k: int | None = None
    fingerprint: str = field(default="", repr=False, compare=False, kw_only=True)

    def __post_init__(self) -> None:
        values = self.__dict__
        if not isinstance(values["tokens"], tuple) or not all(
            t is None or isinstance(t, torch.Tensor) for t in values["tokens"]
        ):
            raise TypeError("TransformerPrefixes tokens must be a tuple of tensors or None")
        if not all(isinstance(r, HeadPrefixReport) for r in values["reports"]):
            raise TypeError("TransformerPrefixes reports must be HeadPrefixReport objects")
        if values["route"] not in ROUTES:
            raise ValueError(
                f"TransformerPrefixes route must be one of {ROUTES}; got {values['route']!r:.40}"
            )
        for name in ("n", "k"):
            value = values[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"TransformerPrefixes {name} must be the integer >= 1 the prefixes were "
                    f"built for; got {value!r:.40}. " + _STALE
                )
        if values["fingerprint"] != _prefixes_digest(self):
            raise ValueError(
                "these TransformerPrefixes do not match their fingerprint: they were edited "
                "(dataclasses.replace) or made by hand; " + _STALE
            )
        object.__setattr__(self, "_seen", _token_state(values["tokens"]))

    def __getattribute__(self, name: str) -> object:
        if name == "guaranteed":
            object.__getattribute__(self, "_verify")()
        return object.__getattribute__(self, name)

    def _verify(self) -> None:
        """ValueError if a token tensor was changed in place since the prefixes were built
        (a cheap check of the tensors' version counters, then the digest)."""
        values = self.__dict__
        seen = values.get("_seen")
        if seen is None:  # still being constructed
            return
        state = _token_state(values["tokens"])
        if state == seen:
            return
        if values["fingerprint"] != _prefixes_digest(self):
            raise ValueError(
                "the token tensors of these TransformerPrefixes were changed in place after "
                "they were built; " + _STALE
            )
        object.__setattr__(self, "_seen", state)

    @property
    def total_tokens(self) -> int:
        """Total prefix length over all layers."""
        return sum(0 if t is None else t.shape[0] for t in self.tokens)


def _token_state(tokens: tuple[torch.Tensor | None, ...]) -> tuple[object, ...]:
    return tuple(None if t is None else (t.data_ptr(), t._version, t.shape) for t in tokens)


def _prefixes_digest(prefixes: TransformerPrefixes) -> str:
    values = prefixes.__dict__
    reports = tuple(r.fingerprint for r in values["reports"])
    head = (values["route"], values["n"], values["k"], values["eps"], values["guaranteed"])
    return _digest(*head, reports, *values["tokens"])


#: Token tensors made by a builder: id -> (weak reference, route, n, k, layer index).
_BUILT_FOR: dict[int, tuple[weakref.ref, str, int, int, int]] = {}


def _seal(
    tokens: Sequence[torch.Tensor | None],
    model: PrefixedTransformer,
    eps: float,
    guaranteed: float,
    reports: Sequence[HeadPrefixReport],
) -> TransformerPrefixes:
    """The builders' TransformerPrefixes for `model`: every token finite and the guarantee a
    finite number >= 0 (ValueError otherwise), fingerprinted, and every token tensor recorded
    as built for this model and layer."""
    tokens = tuple(tokens)
    for layer, t in zip(model.layers, tokens, strict=True):
        if t is not None and not _all_finite(t):
            raise ValueError(
                f"the prefix of layer {layer.name!r} has NaN or infinite entries: the "
                "construction overflowed float64 for these arguments (a larger eps or a "
                "smaller target lowers its entries)"
            )
    if not (math.isfinite(guaranteed) and guaranteed >= 0):
        raise ValueError(f"the guaranteed error came out as {guaranteed}: not a finite bound")
    head = (model.route, model.n, model.k, float(eps), float(guaranteed))
    reports = tuple(reports)
    fingerprint = _digest(*head, tuple(r.fingerprint for r in reports), *tokens)
    prefixes = TransformerPrefixes(
        tokens,
        model.route,
        float(eps),
        float(guaranteed),
        reports,
        model.n,
        model.k,
        fingerprint=fingerprint,
    )
    for index, t in enumerate(tokens):
        if t is not None:
            key = id(t)
            _BUILT_FOR[key] = (weakref.ref(t), model.route, model.n, model.k, index)
            weakref.finalize(t, _BUILT_FOR.pop, key, None)
    return prefixes


def _all_finite(tokens: torch.Tensor) -> bool:
    """Whether every entry is finite: a NaN or infinite entry makes its column's sum
    non-finite, so the column sums decide unless one of them overflowed."""
    return bool(torch.isfinite(tokens.sum(dim=0)).all()) or bool(torch.isfinite(tokens).all())


def _built_for(tensor: object) -> tuple[str, int, int, int] | None:
    """(route, n, k, layer index) of a token tensor a builder made, or None."""
    entry = _BUILT_FOR.get(id(tensor))
    if entry is None or entry[0]() is not tensor:
        return None
    return entry[1:]


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
        """The fixed embedding (B, n, D), float64, of sequences x (B, n) in [0, 1] (module
        docstring). Raises ValueError for x of another shape or outside [0, 1].

        Used in: no chapter by name (the chapters run the model, which embeds).
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
            prefixes._verify()
            built_for = (prefixes.route, prefixes.n, prefixes.k)
            if built_for != (self.route, self.n, self.k):
                raise ValueError(
                    f"these prefixes were built for the {prefixes.route!r} route with "
                    f"n = {prefixes.n}, k = {prefixes.k}; this model is the {self.route!r} "
                    f"route with n = {self.n}, k = {self.k}"
                )
            prefixes = prefixes.tokens
        if isinstance(prefixes, torch.Tensor | str | bytes) or not isinstance(prefixes, Sequence):
            raise TypeError(
                "prefixes must be a TransformerPrefixes or a sequence, one per layer (a "
                f"list or tuple of {self.depth} tensors (N, {self.d_model}) or None); got "
                f"{type(prefixes).__name__}"
            )
        if len(prefixes) != self.depth:
            raise ValueError(
                f"need one prefix (or None) per layer: the model has {self.depth} layers, got "
                f"{len(prefixes)} prefixes"
            )
        checked: list[torch.Tensor | None] = []
        for index, (layer, prefix) in enumerate(zip(self.layers, prefixes, strict=True)):
            if prefix is None:
                checked.append(None)
                continue
            origin = _built_for(prefix)
            if origin is not None and origin != (self.route, self.n, self.k, index):
                route, n, k, built_index = origin
                raise ValueError(
                    f"the prefix given for layer {index} ({layer.name!r}) was built by a "
                    f"prefix builder for layer {built_index} of the {route!r} route with "
                    f"n = {n}, k = {k}; this model is the {self.route!r} route with n = "
                    f"{self.n}, k = {self.k}, and the builder's guarantee does not carry "
                    "over. Pass tensor.clone() to run it here without a guarantee"
                )
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
        """Outputs (B, n, k), float64, for sequences x (B, n) in [0, 1] and one prefix per
        layer: a `TransformerPrefixes` built for this model, or a list or tuple of tensors
        (N_l, D) or None. Only the current residual stream is kept, so memory grows with
        B n D, not with the depth.

        Raises TypeError for prefixes of the wrong kind (a string, a tensor, a dict) and
        ValueError for x outside [0, 1]^n, the wrong number of prefixes, a prefix of the
        wrong width, prefixes built for another model or layer, or prefixes edited after
        they were built (see `TransformerPrefixes`).

        Used in: no chapter by name (the chapters call the model, `model(x, prefixes)`).
        """
        tokens = self._check_prefixes(prefixes)
        h = self.embed(x)
        for layer, prefix in zip(self.layers, tokens, strict=True):
            h = layer(h, prefix)
        return h[..., self.layout["OUT"]]

    def trace(
        self,
        x: ArrayLike,
        prefixes: TransformerPrefixes | Sequence[object | None],
        *,
        max_entries: int = DEFAULT_MAX_TRACE_ENTRIES,
    ) -> list[torch.Tensor]:
        """The residual stream (B, n, D), float64, after the embedding and after every layer:
        depth + 1 tensors. `slot(h, name)` reads a named slot out of one of them. They
        hold (depth + 1) B n D numbers in all, at most `max_entries` (default 2^28, 2 GiB):
        ValueError with the size before anything is computed otherwise (fewer sequences
        lower it). Errors otherwise as for `forward`.

        Used in: book/prefix_mixing.ipynb, book/seq2seq_universality.ipynb.
        """
        max_entries = check_positive_int(max_entries, "max_entries")
        tokens = self._check_prefixes(prefixes)
        seq = check_sequences(x, self.n)
        entries = (self.depth + 1) * seq.shape[0] * self.n * self.d_model
        if entries > max_entries:
            raise ValueError(
                f"the trace would hold {entries:.3g} numbers ({entries * 8 / 2**30:.3g} GiB: "
                f"{self.depth + 1} states of {seq.shape[0]} x {self.n} x {self.d_model}), "
                f"more than max_entries = {max_entries:.3g}. Fewer sequences lower it; "
                "forward keeps only the last state"
            )
        states = [self.embed(seq)]
        for layer, prefix in zip(self.layers, tokens, strict=True):
            states.append(layer(states[-1], prefix))
        return states

    def slot(self, h: torch.Tensor, name: str) -> torch.Tensor:
        """The named slot (..., width) of residual streams h (..., D), e.g. "OUT", "M0" or
        "G1". Raises ValueError for a name that is not a slot of this model.

        Used in: book/prefix_mixing.ipynb, book/seq2seq_universality.ipynb.
        """
        if not isinstance(name, str) or name not in self.layout.slots:
            raise ValueError(f"no slot {name!r}; the slots are {list(self.layout.slots)}")
        return h[..., self.layout[name]]

    @property
    def layer_names(self) -> list[str]:
        """Names of the layers, in order."""
        return [str(layer.name) for layer in self.layers]

    def blank_prefixes(self) -> list[None]:
        """No prefix in any layer: a list of depth Nones.

        Used in: no chapter by name (tests and the probe harness use it).
        """
        return [None] * self.depth
