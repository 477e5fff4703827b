"""A single attention head with fixed weights, evaluated against a prefix followed by inputs.

The head maps a query token h and context tokens t_1..t_M (all in R^D) to

    H(h; t_1..t_M) = sum_i softmax_i(<W_Q h, W_K t_i>) W_V t_i,

with any 1/sqrt(d) scale folded into the weights. The weights are fixed ("pretrained"):
they are buffers, not trainable parameters. Only the context changes, and in prefix-tuning
the context of every query is [p_1..p_N, x_1..x_T]: N prefix tokens, then T input tokens.

Long contexts are evaluated block by block with a streaming ("online") softmax in float64.
Each block is summarised by a `PartialAttention` (the log of its softmax normaliser and its
own softmax average), and two summaries are combined by `merge_partial`, which is exactly the
prefix decomposition lemma of the chapter "Attention, prefixes and prompts". Memory therefore
depends on the block size, not on the prefix length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.utils.checkpoint

from ._validation import (
    ArrayLike,
    as_float64,
    check_flag,
    check_nonnegative_float,
    check_positive_int,
    check_seed,
)

#: Default number of query-token scores held in memory at once (16 MiB in float64).
DEFAULT_BLOCK_ELEMENTS = 2**21

#: Default largest number of float64 weight entries a head builds (2^27 entries, 1 GiB)
#: before refusing; the keyword `max_weights` raises it.
DEFAULT_MAX_WEIGHTS = 2**27

#: Shifted scores below this are raised to it before exponentiating (exp(-700) ~ 1e-304).
_LOWEST_EXPONENT = -700.0

__all__ = [
    "DEFAULT_BLOCK_ELEMENTS",
    "DEFAULT_MAX_WEIGHTS",
    "AttentionHead",
    "PartialAttention",
    "PrefixDecomposition",
    "merge_partial",
]


@dataclass(frozen=True)
class PartialAttention:
    """Softmax attention of a batch of queries restricted to one block of the context.

    `log_normaliser` has shape (..., Q): log Z = log sum_i exp(score_i) over the block's tokens,
    -inf for a query that sees no token of the block. `output` has shape (..., Q, d_v): the
    softmax-weighted average of the block's values (zeros where the block is empty).

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    log_normaliser: torch.Tensor
    output: torch.Tensor


@dataclass(frozen=True)
class PrefixDecomposition:
    """The three outputs and the mixing weight of the prefix decomposition lemma.

    All outputs have shape (..., Q, d_v) and `rho` has shape (..., Q):
    `output` = H(x; P, X), the head's output with prefix and inputs in the context;
    `prefix_output` = H(x; P), the output with only the prefix;
    `input_output` = H(x; X), the output with only the inputs;
    `rho` = Z_P / (Z_P + Z_X), the share of attention that goes to the prefix.
    Then output = (1 - rho) * input_output + rho * prefix_output.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """

    output: torch.Tensor
    prefix_output: torch.Tensor
    input_output: torch.Tensor
    rho: torch.Tensor


def _token_block(n_tokens: int, n_rows: int, block_elements: int) -> int:
    """Tokens per block: about `block_elements` scores for `n_rows` query rows, at least 256
    tokens (or all of them) so that short tiles do not dominate."""
    block = max(1, min(n_tokens, block_elements // max(1, n_rows)))
    return max(block, min(n_tokens, 256))


def _check_weight_budget(entries: int, max_weights: object, what: str, lower: str) -> None:
    """Raise ValueError, before anything is allocated, if a head's weights would have more
    than `max_weights` float64 entries; the message gives the estimate and what lowers it."""
    max_weights = check_positive_int(max_weights, "max_weights")
    if entries > max_weights:
        raise ValueError(
            f"{what} would hold {entries:.3g} float64 weight entries "
            f"({8 * entries / 2**30:.3g} GiB), more than max_weights = {max_weights:.3g} "
            f"({8 * max_weights / 2**30:.3g} GiB): {lower}, or raise max_weights if the "
            "memory is there"
        )


def _needs_grad(*tensors: torch.Tensor) -> bool:
    """True when autograd must see the computation (a tensor requires grad, grad enabled)."""
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


#: Above this bound on |score| = |<W_Q h, W_K t>| a tile is checked for overflow.
_SCORE_CHECK_BOUND = 1e300


def _check_scores(scores: torch.Tensor, query_norm: float, keys: torch.Tensor) -> None:
    """Raise ValueError if finite tokens gave a non-finite score (float64 overflow), which
    the softmax would silently turn into NaN or into a zero weight."""
    if keys.numel() == 0:
        return
    scores, keys = scores.detach(), keys.detach()
    key_norm = float(torch.linalg.vector_norm(keys, dim=-1).max())
    if math.isnan(query_norm) or math.isnan(key_norm):
        return  # a NaN token: the NaN propagates to the output
    if query_norm * key_norm <= _SCORE_CHECK_BOUND:
        return
    if not bool(torch.isfinite(scores).all()):
        raise ValueError(
            "attention scores <W_Q h, W_K t> overflow float64 (|score| > 1.8e308) although "
            f"every token is finite: the largest |W_Q h| is {query_norm:.3g} and the largest "
            f"|W_K t| is {key_norm:.3g}. Scale the weights or the tokens down."
        )


def merge_partial(first: PartialAttention, second: PartialAttention) -> PartialAttention:
    """Combine the attention over two disjoint blocks of a context into attention over both.

    With Z_1, Z_2 the blocks' normalisers, the result has log normaliser log(Z_1 + Z_2) and
    output w H_1 + (1 - w) H_2 with w = Z_1 / (Z_1 + Z_2): the prefix decomposition lemma.
    Computed with log-sum-exp, so it is exact for scores of any size. A query that sees
    neither block keeps log normaliser -inf and output 0.

    Used in: no chapter by name (the chapters reach it through other functions of the package).
    """
    if not isinstance(first, PartialAttention) or not isinstance(second, PartialAttention):
        raise TypeError("merge_partial expects two PartialAttention objects")
    first, second = _float64_partial(first, "first"), _float64_partial(second, "second")
    for name, part in (("first", first), ("second", second)):
        if part.log_normaliser.shape != part.output.shape[:-1]:
            raise ValueError(
                f"{name}: log_normaliser must have shape output.shape[:-1] = "
                f"{tuple(part.output.shape[:-1])}; got {tuple(part.log_normaliser.shape)}"
            )
    if first.output.shape != second.output.shape:
        raise ValueError(
            "the two blocks must summarise the same queries: output shapes "
            f"{tuple(first.output.shape)} and {tuple(second.output.shape)} differ"
        )
    log_z = torch.logaddexp(first.log_normaliser, second.log_normaliser)
    w_first, w_second = _block_weights(first.log_normaliser, second.log_normaliser)
    output = w_first[..., None] * first.output + w_second[..., None] * second.output
    return PartialAttention(log_normaliser=log_z, output=output)


def _value_scale(tokens: torch.Tensor, w_value: torch.Tensor) -> float:
    """1.0, or a power of two 2^-e such that the sum of all |W_V t| over `tokens` (..., M, D),
    scaled by it, stays below 2^1000. Bounded through max |t_i| and max |W_ij| in the log
    domain: |W_V t| <= max|W| sqrt(#W) max|t| sqrt(D). NaN or infinite entries give 1.0 (they
    propagate as they are)."""
    if tokens.numel() == 0 or w_value.numel() == 0:
        return 1.0
    low, high = torch.aminmax(tokens)  # no |tokens| copy: a prefix may be gigabytes
    largest_token = max(-float(low), float(high))
    largest_weight = float(w_value.abs().amax())
    if not (math.isfinite(largest_token) and math.isfinite(largest_weight)):
        return 1.0
    if largest_token == 0.0 or largest_weight == 0.0:
        return 1.0
    log2_bound = (
        math.log2(largest_token)
        + math.log2(largest_weight)
        + 0.5 * math.log2(w_value.numel() * tokens.shape[-1])
        + math.log2(tokens.shape[-2])
    )
    if log2_bound < 1000:
        return 1.0
    # Finite values are below 2^1024, so 2^-1000 always suffices (and stays a normal float).
    return 2.0 ** -min(math.ceil(log2_bound) - 1000, 1000)


def _float64_partial(part: PartialAttention, name: str) -> PartialAttention:
    """`part` with float64 CPU tensors; integer or other float tensors are converted. Anything
    else is a TypeError naming the field (-inf and NaN are legitimate entries here)."""
    fields = {}
    for field in ("log_normaliser", "output"):
        value = getattr(part, field)
        if not isinstance(value, torch.Tensor) or value.is_complex() or value.dtype == torch.bool:
            kind = type(value).__name__ if not isinstance(value, torch.Tensor) else value.dtype
            raise TypeError(
                f"{name}.{field} must be a real torch tensor, as AttentionHead.attend returns; "
                f"got {kind}"
            )
        fields[field] = value.to(device="cpu", dtype=torch.float64)
    if bool((fields["log_normaliser"] == math.inf).any()):
        raise ValueError(
            f"{name}.log_normaliser has +inf entries: a block's log normaliser is finite, or "
            "-inf for a query that sees none of its tokens"
        )
    return PartialAttention(**fields)


def _block_weights(
    log_first: torch.Tensor, log_second: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Shares w = Z_1 / (Z_1 + Z_2) and 1 - w of two blocks from their log normalisers.

    Computed as sigmoid(log Z_1 - log Z_2), which depends only on the difference: exp of
    (log Z_i - log(Z_1 + Z_2)) would lose the log 2 of two equal normalisers of size 1e308
    (it is absorbed in the sum) and give weights 1 and 1. A query that sees neither block
    (both -inf) gets weights 0 and 0; a NaN stays NaN.
    """
    difference = log_first - log_second
    neither = torch.isneginf(log_first) & torch.isneginf(log_second)
    difference = torch.where(neither, torch.zeros_like(difference), difference)
    w_first = torch.where(neither, torch.zeros_like(difference), torch.sigmoid(difference))
    w_second = torch.where(neither, torch.zeros_like(difference), torch.sigmoid(-difference))
    return w_first, w_second


class AttentionHead(torch.nn.Module):
    """One softmax attention head with fixed query, key and value matrices.

    `w_query` and `w_key` have shape (d_qk, D) and `w_value` has shape (d_v, D), where D is
    the token (model) dimension. Scores are <W_Q h, W_K t> with no extra scaling. The weights
    are stored as float64 buffers: they never change after construction.

    Its methods (`random`, `attend`, `decompose`, `forward`, `attention_weights`, `dense`)
    carry no "Used in:" line of their own: the class's line below, derived from the notebooks
    that call `pa.AttentionHead`, covers them.

    Used in: book/attention_prefixes_prompts.ipynb, book/corollary2_elementwise.ipynb,
    book/course.ipynb.
    """

    w_query: torch.Tensor
    w_key: torch.Tensor
    w_value: torch.Tensor

    def __init__(self, w_query: ArrayLike, w_key: ArrayLike, w_value: ArrayLike) -> None:
        super().__init__()
        w_query = as_float64(w_query, "w_query", ndim=2)
        w_key = as_float64(w_key, "w_key", ndim=2)
        w_value = as_float64(w_value, "w_value", ndim=2)
        if w_query.shape != w_key.shape:
            raise ValueError(
                "w_query and w_key must both have shape (d_qk, D); got "
                f"{tuple(w_query.shape)} and {tuple(w_key.shape)}"
            )
        if w_value.shape[1] != w_query.shape[1]:
            raise ValueError(
                f"w_value must have shape (d_v, D) with D = {w_query.shape[1]} as in w_query; "
                f"got {tuple(w_value.shape)}"
            )
        if min(*w_query.shape, *w_value.shape) == 0:
            raise ValueError("the weight matrices must not have a zero dimension")
        self.register_buffer("w_query", w_query)
        self.register_buffer("w_key", w_key)
        self.register_buffer("w_value", w_value)

    @classmethod
    def random(
        cls,
        d_model: int,
        d_qk: int,
        d_value: int,
        *,
        seed: int,
        scale: float = 1.0,
        max_weights: int = DEFAULT_MAX_WEIGHTS,
    ) -> AttentionHead:
        """A head with i.i.d. Gaussian weights of standard deviation `scale / sqrt(d_model)`:
        W_Q, W_K of shape (d_qk, d_model) and W_V of shape (d_value, d_model), float64.

        Raises TypeError or ValueError, naming the argument, for dimensions that are not
        integers >= 1, a seed that is not an integer >= 0 or a scale that is not a finite
        number >= 0; and ValueError, before allocating, if the weights would have more than
        `max_weights` entries ((2 d_qk + d_value) d_model; default 2^27, 1 GiB).
        """
        d_model = check_positive_int(d_model, "d_model")
        d_qk = check_positive_int(d_qk, "d_qk")
        d_value = check_positive_int(d_value, "d_value")
        _check_weight_budget(
            (2 * d_qk + d_value) * d_model,
            max_weights,
            f"AttentionHead.random(d_model={d_model}, d_qk={d_qk}, d_value={d_value})",
            "use smaller dimensions",
        )
        generator = torch.Generator().manual_seed(check_seed(seed))
        std = check_nonnegative_float(scale, "scale") / math.sqrt(d_model)

        def draw(rows: int) -> torch.Tensor:
            shape = (rows, d_model)
            return std * torch.randn(shape, generator=generator, dtype=torch.float64)

        return cls(draw(d_qk), draw(d_qk), draw(d_value))

    @property
    def d_model(self) -> int:
        """Token dimension D."""
        return self.w_query.shape[1]

    @property
    def d_value(self) -> int:
        """Output dimension d_v."""
        return self.w_value.shape[0]

    def extra_repr(self) -> str:
        d_qk = self.w_query.shape[0]
        return f"d_model={self.d_model}, d_qk={d_qk}, d_value={self.d_value}"

    # ----------------------------------------------------------------------------- checks
    def _tokens(self, value: ArrayLike, name: str) -> torch.Tensor:
        tokens = as_float64(value, name, min_ndim=2, last_dim=self.d_model)
        return tokens

    def _context_parts(
        self, queries: ArrayLike, prefix: ArrayLike | None, inputs: ArrayLike | None, causal: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        check_flag(causal, "causal")
        q = self._tokens(queries, "queries")
        p = None if prefix is None else self._tokens(prefix, "prefix")
        x = None if inputs is None else self._tokens(inputs, "inputs")
        if p is not None and p.shape[-2] == 0:
            p = None
        if x is not None and x.shape[-2] == 0:
            x = None
        if p is None and x is None:
            raise ValueError("the context is empty: give a prefix, inputs or both")
        for part, name in ((p, "prefix"), (x, "inputs")):
            if part is not None:
                try:
                    torch.broadcast_shapes(part.shape[:-2], q.shape[:-2])
                except RuntimeError as err:
                    raise ValueError(
                        f"{name} has batch shape {tuple(part.shape[:-2])}, which does not "
                        f"broadcast with the queries' batch shape {tuple(q.shape[:-2])}"
                    ) from err
        if causal:
            if x is None:
                raise ValueError("causal=True needs inputs: the mask applies to input tokens")
            if x.shape[-2] != q.shape[-2]:
                raise ValueError(
                    "causal=True needs one query per input token (query i sees inputs 0..i); "
                    f"got {q.shape[-2]} queries and {x.shape[-2]} inputs"
                )
        return q, p, x

    # -------------------------------------------------------------------------- evaluation
    def attend(
        self,
        queries: ArrayLike,
        tokens: ArrayLike,
        *,
        causal: bool = False,
        block_elements: int = DEFAULT_BLOCK_ELEMENTS,
    ) -> PartialAttention:
        """Attention of `queries` (..., Q, D) over one block of context `tokens` (M, D) or
        (..., M, D), evaluated with a streaming softmax in blocks of about `block_elements`
        scores. With `causal=True`, query i sees tokens 0..i only (needs Q == M).
        """
        causal = check_flag(causal, "causal")
        q = self._tokens(queries, "queries")
        t = self._tokens(tokens, "tokens")
        if t.shape[-2] == 0:
            raise ValueError("tokens is empty: give at least one context token")
        if causal and t.shape[-2] != q.shape[-2]:
            raise ValueError(
                f"causal=True needs Q == M; got {q.shape[-2]} queries and {t.shape[-2]} tokens"
            )
        block_elements = check_positive_int(block_elements, "block_elements")
        return self._stream(q, t, causal=causal, block_elements=block_elements)

    def _stream(
        self, q: torch.Tensor, tokens: torch.Tensor, *, causal: bool, block_elements: int
    ) -> PartialAttention:
        batch = torch.broadcast_shapes(q.shape[:-2], tokens.shape[:-2])
        n_queries, n_tokens = q.shape[-2], tokens.shape[-2]
        if n_queries == 0 or math.prod(batch) == 0:  # nothing to attend for: empty results
            return PartialAttention(
                log_normaliser=torch.full((*batch, n_queries), -math.inf, dtype=torch.float64),
                output=torch.zeros((*batch, n_queries, self.d_value), dtype=torch.float64),
            )
        if _needs_grad(q, tokens):
            return self._stream_differentiable(q, tokens, causal, block_elements)
        if tokens.ndim == 2 and not causal and math.prod(q.shape[:-2]) > 1:
            # One context shared by every sequence (a prefix): all queries of all sequences
            # form a single block, so the scores come from one large matrix product.
            flat = self._stream(
                q.reshape(1, -1, self.d_model), tokens, causal=False, block_elements=block_elements
            )
            return PartialAttention(
                log_normaliser=flat.log_normaliser.reshape(*batch, n_queries),
                output=flat.output.reshape(*batch, n_queries, self.d_value),
            )
        q, tokens = self._flatten_batch(q, tokens, batch)
        n_batch = q.shape[0]
        projected = q @ self.w_query.T  # (B, Q, d_qk)

        # Block sizes: about block_elements scores per (batch, query-block, token-block) tile.
        token_block = _token_block(n_tokens, n_batch * n_queries, block_elements)
        query_block = max(1, min(n_queries, block_elements // max(1, n_batch * token_block)))

        # Scores are finite for finite tokens unless |W_Q h| |W_K t| passes float64's range;
        # only then are the tiles checked (see _check_scores), so the usual case costs nothing.
        query_norm = float(torch.linalg.vector_norm(projected, dim=-1).max()) if n_queries else 0.0
        # Values are summed unnormalised: scale them by a power of two (exact) when the sum
        # of every value could pass float64's range (two values of 1.5e308 would give inf).
        value_scale = _value_scale(tokens, self.w_value)
        running_max = torch.full((n_batch, n_queries), -math.inf, dtype=torch.float64)
        running_sum = torch.zeros((n_batch, n_queries), dtype=torch.float64)
        accumulator = torch.zeros((n_batch, n_queries, self.d_value), dtype=torch.float64)
        for start in range(0, n_tokens, token_block):
            chunk = tokens[:, start : start + token_block]
            keys = chunk @ self.w_key.T  # (1 or B, k, d_qk)
            values = chunk @ self.w_value.T  # (1 or B, k, d_v)
            if value_scale != 1.0:
                values = values * value_scale
            for q_start in range(0, n_queries, query_block):
                rows = slice(q_start, q_start + query_block)
                scores = projected[:, rows] @ keys.transpose(-1, -2)  # (B, q, k)
                _check_scores(scores, query_norm, keys)
                hidden = None
                if causal:
                    query_index = torch.arange(q_start, q_start + scores.shape[1])
                    token_index = torch.arange(start, start + scores.shape[2])
                    hidden = token_index[None, :] > query_index[:, None]
                    scores = scores.masked_fill(hidden, -math.inf)
                new_max = torch.maximum(running_max[:, rows], scores.amax(dim=-1))
                shift = torch.where(torch.isfinite(new_max), new_max, torch.zeros_like(new_max))
                rescale = torch.exp(running_max[:, rows] - shift)
                # In place, one tile in memory. Clamping at -700 keeps exp out of the slow
                # denormal range: a weight of 1e-304 instead of 0 changes no sum in float64.
                weights = scores.sub_(shift[..., None]).clamp_(min=_LOWEST_EXPONENT).exp_()
                if hidden is not None:
                    weights.masked_fill_(hidden, 0.0)
                running_sum[:, rows] = running_sum[:, rows] * rescale + weights.sum(dim=-1)
                accumulator[:, rows] = accumulator[:, rows] * rescale[..., None] + weights @ values
                running_max[:, rows] = new_max

        # A query saw no token only if its running sum is exactly 0. A NaN sum (a NaN score
        # or value) is "seen", so the NaN reaches the output instead of turning into 0.
        seen = running_sum != 0
        log_z = torch.where(seen, running_max + torch.log(running_sum.clamp_min(1e-300)), -math.inf)
        output = torch.where(
            seen[..., None],
            accumulator / running_sum.clamp_min(1e-300)[..., None],
            torch.zeros_like(accumulator),
        )
        if value_scale != 1.0:
            output = output / value_scale
        return PartialAttention(
            log_normaliser=log_z.reshape(*batch, n_queries),
            output=output.reshape(*batch, n_queries, self.d_value),
        )

    def _flatten_batch(
        self, q: torch.Tensor, tokens: torch.Tensor, batch: torch.Size
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Queries (B, Q, D) and tokens (1 or B, M, D) with the batch axes broadcast and
        flattened: a 2-D context is shared by every sequence and stays a single copy."""
        n_queries, n_tokens = q.shape[-2], tokens.shape[-2]
        q = q.expand(*batch, n_queries, self.d_model).reshape(-1, n_queries, self.d_model)
        if tokens.ndim == 2:
            return q, tokens[None]
        tokens = tokens.expand(*batch, n_tokens, self.d_model)
        return q, tokens.reshape(-1, n_tokens, self.d_model)

    def _stream_differentiable(
        self, q: torch.Tensor, tokens: torch.Tensor, causal: bool, block_elements: int
    ) -> PartialAttention:
        """The streaming softmax for inputs that require gradients: the same block-by-block
        log-sum-exp, with out-of-place operations, and each token block's attention
        recomputed in the backward pass (activation checkpointing) instead of stored.

        Backward memory: one tile of scores (about `block_elements`) at a time, plus, per
        token block, its (log Z, output) summary of size B Q (1 + d_v): O(N / block) small
        tensors instead of the B Q N attention matrix.
        """
        batch = torch.broadcast_shapes(q.shape[:-2], tokens.shape[:-2])
        n_queries, n_tokens = q.shape[-2], tokens.shape[-2]
        q, tokens = self._flatten_batch(q, tokens, batch)
        n_batch = q.shape[0]
        token_block = _token_block(n_tokens, n_batch * n_queries, block_elements)
        w_query, w_key, w_value = self.w_query, self.w_key, self.w_value

        def block(
            q: torch.Tensor, chunk: torch.Tensor, start: torch.Tensor
        ) -> tuple[torch.Tensor, torch.Tensor]:
            projected, keys = q @ w_query.T, chunk @ w_key.T
            scores = projected @ keys.transpose(-1, -2)
            with torch.no_grad():
                query_norm = float(torch.linalg.vector_norm(projected, dim=-1).max())
                _check_scores(scores, query_norm, keys)
            if causal:
                offset = int(start)
                query_index = torch.arange(n_queries)
                token_index = torch.arange(offset, offset + chunk.shape[-2])
                hidden = token_index[None, :] > query_index[:, None]
                scores = scores.masked_fill(hidden, -math.inf)
            log_z = torch.logsumexp(scores, dim=-1)
            seen = ~torch.isneginf(log_z)
            weights = torch.exp(scores - torch.where(seen, log_z, 0.0)[..., None])
            output = weights @ (chunk @ w_value.T)
            return log_z, torch.where(seen[..., None], output, torch.zeros_like(output))

        merged: PartialAttention | None = None
        for start in range(0, n_tokens, token_block):
            chunk = tokens[:, start : start + token_block]
            log_z, output = torch.utils.checkpoint.checkpoint(
                block, q, chunk, torch.tensor(start), use_reentrant=False
            )
            part = PartialAttention(log_normaliser=log_z, output=output)
            merged = part if merged is None else merge_partial(merged, part)
        assert merged is not None  # n_tokens >= 1
        return PartialAttention(
            log_normaliser=merged.log_normaliser.reshape(*batch, n_queries),
            output=merged.output.reshape(*batch, n_queries, self.d_value),
        )

    def decompose(
        self,
        queries: ArrayLike,
        prefix: ArrayLike | None = None,
        inputs: ArrayLike | None = None,
        *,
        causal: bool = False,
        block_elements: int = DEFAULT_BLOCK_ELEMENTS,
    ) -> PrefixDecomposition:
        """Evaluate the head with context [prefix, inputs] and return every piece of the
        prefix decomposition. `queries` (..., Q, D); `prefix` (N, D) or (..., N, D);
        `inputs` (T, D) or (..., T, D). Either context part may be None or empty, not both.
        With `causal=True`, query i sees the whole prefix and inputs 0..i (needs Q == T).
        """
        q, p, x = self._context_parts(queries, prefix, inputs, causal)
        block_elements = check_positive_int(block_elements, "block_elements")
        batch = q.shape[:-2]
        if p is not None:
            batch = torch.broadcast_shapes(batch, p.shape[:-2])
        if x is not None:
            batch = torch.broadcast_shapes(batch, x.shape[:-2])
        empty = PartialAttention(
            log_normaliser=torch.full((*batch, q.shape[-2]), -math.inf, dtype=torch.float64),
            output=torch.zeros((*batch, q.shape[-2], self.d_value), dtype=torch.float64),
        )

        def part(tokens: torch.Tensor | None, masked: bool) -> PartialAttention:
            if tokens is None:
                return empty
            result = self._stream(q, tokens, causal=masked, block_elements=block_elements)
            return PartialAttention(
                result.log_normaliser.expand(empty.log_normaliser.shape),
                result.output.expand(empty.output.shape),
            )

        from_prefix = part(p, False)
        from_inputs = part(x, causal)
        both = merge_partial(from_prefix, from_inputs)
        rho, _ = _block_weights(from_prefix.log_normaliser, from_inputs.log_normaliser)
        return PrefixDecomposition(
            output=both.output,
            prefix_output=from_prefix.output,
            input_output=from_inputs.output,
            rho=rho,
        )

    def forward(
        self,
        queries: ArrayLike,
        prefix: ArrayLike | None = None,
        inputs: ArrayLike | None = None,
        *,
        causal: bool = False,
        block_elements: int = DEFAULT_BLOCK_ELEMENTS,
    ) -> torch.Tensor:
        """The head's output (..., Q, d_v) for `queries` (..., Q, D) with context
        [prefix, inputs], evaluated in bounded memory (see `decompose` for the shapes).
        """
        return self.decompose(
            queries, prefix, inputs, causal=causal, block_elements=block_elements
        ).output

    def attention_weights(
        self,
        queries: ArrayLike,
        prefix: ArrayLike | None = None,
        inputs: ArrayLike | None = None,
        *,
        causal: bool = False,
    ) -> torch.Tensor:
        """Dense softmax weights (..., Q, N + T) over the context [prefix, inputs], computed
        with `torch.softmax` on the full score matrix: a reference for small contexts.
        """
        q, p, x = self._context_parts(queries, prefix, inputs, causal)
        context = self._dense_context(q, p, x)
        projected, keys = q @ self.w_query.T, context @ self.w_key.T
        scores = projected @ keys.transpose(-1, -2)
        query_norm = (
            float(torch.linalg.vector_norm(projected.detach(), dim=-1).max()) if q.numel() else 0.0
        )
        _check_scores(scores, query_norm, keys)
        if causal:
            n_prefix = 0 if p is None else p.shape[-2]
            t = x.shape[-2]  # type: ignore[union-attr]
            hidden = torch.zeros(q.shape[-2], n_prefix + t, dtype=torch.bool)
            hidden[:, n_prefix:] = torch.ones(t, t, dtype=torch.bool).triu(diagonal=1)
            scores = scores.masked_fill(hidden, -math.inf)
        return torch.softmax(scores, dim=-1)

    def dense(
        self,
        queries: ArrayLike,
        prefix: ArrayLike | None = None,
        inputs: ArrayLike | None = None,
        *,
        causal: bool = False,
    ) -> torch.Tensor:
        """The head's output computed directly with `torch.softmax` over the concatenated
        context, holding every score in memory: the reference the streaming evaluation is
        tested against. Same shapes as `forward`.
        """
        q, p, x = self._context_parts(queries, prefix, inputs, causal)
        weights = self.attention_weights(q, p, x, causal=causal)
        context = self._dense_context(q, p, x)
        return weights @ (context @ self.w_value.T)

    @staticmethod
    def _dense_context(
        q: torch.Tensor, p: torch.Tensor | None, x: torch.Tensor | None
    ) -> torch.Tensor:
        parts = [t for t in (p, x) if t is not None]
        batch = q.shape[:-2]
        for t in parts:
            batch = torch.broadcast_shapes(batch, t.shape[:-2])
        parts = [t.expand(*batch, *t.shape[-2:]) for t in parts]
        return torch.cat(parts, dim=-2)
