"""Regression tests for the robustness faults of the transformer and Kolmogorov-Arnold code:
no stale guarantee after an edit, prefixes checked against the model they were built for,
representations checked against their targets, sizes estimated before anything is built,
and method "Used in:" lines derived from the notebooks."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import time
from pathlib import Path

import pytest
import torch

from prefix_approx import (
    HeadPrefixReport,
    KARepresentation,
    PrefixedTransformer,
    TransformerPrefixes,
    gather_prefix_length,
    gather_prefixes,
    gather_transformer,
    ka_centering,
    ka_prefixes,
    ka_transformer,
    key_writing_prefixes,
    key_writing_transformer,
    mixing_prefixes,
    mixing_transformer,
)
from prefix_approx.catalogue import _used_in

BOOK = Path(__file__).resolve().parent.parent / "book"
F64 = torch.float64


def _mixing() -> tuple[PrefixedTransformer, TransformerPrefixes]:
    model = mixing_transformer(2)
    prefixes = mixing_prefixes(model, lambda xj, m, j: xj[:, None], lipschitz=1.0, eps=0.3)
    return model, prefixes


def _sequences(n: int, batch: int = 400, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand((batch, n), generator=generator, dtype=F64)


# ----------------------------------------------------------- 1. no stale guarantee
@pytest.mark.parametrize(
    "change",
    [
        {"tokens": "first ten"},
        {"n": 3},
        {"n": None},
        {"k": 2},
        {"eps": 0.5},
        {"guaranteed": 1e-9},
        {"route": "gather"},
        {"reports": ()},
    ],
    ids=lambda c: next(iter(c)),
)
def test_replaced_transformer_prefixes_are_refused(change: dict) -> None:
    _, prefixes = _mixing()
    if change.get("tokens") == "first ten":
        change = {"tokens": (None, prefixes.tokens[1][:10])}
    with pytest.raises(ValueError, match="TransformerPrefixes"):
        dataclasses.replace(prefixes, **change)


def test_hand_made_transformer_prefixes_are_refused() -> None:
    _, prefixes = _mixing()
    with pytest.raises(ValueError, match="fingerprint"):
        TransformerPrefixes(prefixes.tokens, "mixing", 0.3, 0.0, prefixes.reports, 2, 1)


def test_replaced_head_report_is_refused() -> None:
    _, prefixes = _mixing()
    report = prefixes.reports[0]
    for change in ({"n_tokens": 3}, {"lam": 1.0}, {"guaranteed": 0.0}, {"tolerance": 9.0}):
        with pytest.raises(ValueError, match="HeadPrefixReport"):
            dataclasses.replace(report, **change)
    with pytest.raises(ValueError, match="fingerprint"):
        HeadPrefixReport("apply", 3, 1.0, 0.1, 0.3, 0.2)


def test_tokens_changed_in_place_are_refused_when_run_and_when_the_guarantee_is_read() -> None:
    model, prefixes = _mixing()
    x = _sequences(2, 50)
    assert prefixes.guaranteed <= 0.3  # readable while untouched
    tokens = prefixes.tokens[1]
    assert tokens is not None
    tokens[0, 0] += 1.0
    with pytest.raises(ValueError, match="changed in place"):
        model(x, prefixes)
    with pytest.raises(ValueError, match="changed in place"):
        _ = prefixes.guaranteed
    tokens[0, 0] -= 1.0  # restored exactly: the tokens are again those the guarantee is for
    error = float((model(x, prefixes)[..., 0] - x).abs().max())
    assert error <= prefixes.guaranteed


def test_copies_of_builder_prefixes_keep_their_guarantee() -> None:
    import copy

    model, prefixes = _mixing()
    twin = copy.deepcopy(prefixes)
    x = _sequences(2, 100)
    error = float((model(x, twin)[..., 0] - x).abs().max())
    assert error <= twin.guaranteed == prefixes.guaranteed


# ---------------------------------------------- 2. raw tokens checked against the model
def test_raw_tokens_built_for_another_model_are_refused() -> None:
    _, prefixes = _mixing()
    other = mixing_transformer(3)
    with pytest.raises(ValueError, match=r"built by a prefix builder .* n = 2"):
        other(_sequences(3, 4), prefixes.tokens)
    with pytest.raises(ValueError, match=r"built by a prefix builder .* n = 2"):
        other(_sequences(3, 4), list(prefixes.tokens))
    # A copy runs, without any guarantee attached.
    assert other(_sequences(3, 4), [None, prefixes.tokens[1].clone()]).shape == (4, 3, 1)


def test_raw_tokens_in_another_layer_are_refused() -> None:
    model = key_writing_transformer(3)
    prefixes = key_writing_prefixes(model, eps=0.1)
    x = _sequences(3, 4)
    assert model(x, list(prefixes.tokens)).shape == (4, 3, 1)  # where they were built
    with pytest.raises(ValueError, match=r"layer 1 .* for layer 0"):
        model(x, [None, prefixes.tokens[0]])


def test_string_or_dict_prefixes_are_a_clear_type_error() -> None:
    model, _ = _mixing()
    for bad in ("abc", b"ab", {0: None}):
        with pytest.raises(TypeError, match="prefixes must be a TransformerPrefixes"):
            model(_sequences(2, 2), bad)


# ------------------------------------------- 3. a representation must match its target
def test_ka_prefixes_refuses_a_representation_that_does_not_add_up_to_its_target() -> None:
    model, rep = ka_transformer(2), ka_centering(2)
    dropped = dataclasses.replace(rep, terms=(0, 1))
    with pytest.raises(ValueError, match="does not represent its target"):
        ka_prefixes(model, dropped, eps=0.3)

    def zero(x: torch.Tensor) -> torch.Tensor:
        return torch.zeros((x.shape[0], 2, 1), dtype=F64)

    with pytest.raises(ValueError, match="does not represent its target"):
        ka_prefixes(model, dataclasses.replace(rep, target=zero), eps=0.3)


def test_ka_prefixes_guarantee_holds_against_the_target() -> None:
    model, rep = ka_transformer(2), ka_centering(2)
    prefixes = ka_prefixes(model, rep, eps=0.3)
    x = torch.cat([_sequences(2, 2000), torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 1.0]])])
    measured = float(torch.linalg.vector_norm(model(x, prefixes) - rep(x), dim=-1).max())
    assert measured <= prefixes.guaranteed <= 0.3


# -------------------------------------------------- 4. key writing at a tiny eps
def test_key_writing_refuses_an_eps_below_float64_rounding() -> None:
    model = key_writing_transformer(3)
    with pytest.raises(ValueError, match="eps must be >= 1e-12"):
        key_writing_prefixes(model, eps=1e-308)


def test_key_writing_at_the_smallest_eps_is_finite_and_holds() -> None:
    model = key_writing_transformer(3)
    prefixes = key_writing_prefixes(model, eps=1e-12)
    assert all(t is None or bool(torch.isfinite(t).all()) for t in prefixes.tokens)
    x = _sequences(3, 2000)
    measured = float((model(x, prefixes)[..., 0] - x.roll(1, 1)).abs().max())
    assert 0 < prefixes.guaranteed <= 1e-12
    assert measured <= prefixes.guaranteed


def test_key_writing_refuses_more_tokens_than_max_tokens() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        key_writing_prefixes(key_writing_transformer(50), eps=0.1, max_tokens=10)


# ---------------------------------------- 5. the gather length is estimated in logs
@pytest.mark.parametrize("n", [10**6, 10**15])
def test_gather_prefix_length_of_a_huge_n_is_refused_at_once(n: int) -> None:
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"about 10\^.* tokens \(log10 = "):
        gather_prefix_length(n, lipschitz=1.0, eps=1e-3)
    assert time.perf_counter() - start < 2.0


def test_gather_prefix_length_stays_exact_below_the_limit() -> None:
    length = gather_prefix_length(20, lipschitz=1.0, eps=1e-6)
    assert isinstance(length, int) and length > 10**100 and length % 20 == 0
    model = gather_transformer(2)

    def target(x: torch.Tensor) -> torch.Tensor:
        return (x * x.mean(1, keepdim=True))[..., None]

    built = gather_prefixes(model, target, lipschitz=1.6, eps=0.15)
    assert gather_prefix_length(2, lipschitz=1.6, eps=0.15) == built.total_tokens


# ----------------------------------------------- 6. weights estimated before allocation
@pytest.mark.parametrize(
    "build, n", [(ka_transformer, 2000), (gather_transformer, 10**5)], ids=["ka", "gather"]
)
def test_large_models_are_refused_with_their_size(build, n: int) -> None:
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"float64 weights \([\d.e+]+ GiB\).*max_weights"):
        build(n)
    assert time.perf_counter() - start < 1.0


def test_weight_budget_is_a_keyword() -> None:
    with pytest.raises(ValueError, match="max_weights"):
        ka_transformer(2, max_weights=100)
    assert gather_transformer(2, max_weights=10**6).depth == 3


def test_trace_refuses_more_states_than_its_budget() -> None:
    model, prefixes = _mixing()
    with pytest.raises(ValueError, match="max_entries"):
        model.trace(_sequences(2, 100), prefixes, max_entries=1000)
    states = model.trace(_sequences(2, 3), prefixes)
    assert len(states) == model.depth + 1
    out = model(_sequences(2, 3), prefixes)
    assert torch.equal(model.slot(states[-1], "OUT"), out)


# --------------------------------------------------- 7. shapes of inner and outer
def test_inner_of_the_wrong_shape_is_named() -> None:
    rep = dataclasses.replace(ka_centering(2), inner=lambda x, p, q: x[:, None])
    with pytest.raises(ValueError, match=r"inner\(x, 0, 0\) must return one value per token"):
        ka_prefixes(ka_transformer(2), rep, eps=0.3)
    with pytest.raises(ValueError, match=r"inner\(x, 0, 0\)"):
        rep.evaluate(_sequences(2, 3))


def test_outer_of_the_wrong_shape_or_nan_is_named() -> None:
    rep = dataclasses.replace(ka_centering(2), outer=lambda z, j, q: z)
    with pytest.raises(ValueError, match=r"outer\(z, 0, 0\) must return shape \(B, k\)"):
        ka_prefixes(ka_transformer(2), rep, eps=0.3)
    nan = dataclasses.replace(ka_centering(2), outer=lambda z, j, q: (z * float("nan"))[:, None])
    with pytest.raises(ValueError, match=r"outer\(z, 0, 0\) must be finite"):
        ka_prefixes(ka_transformer(2), nan, eps=0.3)


def test_target_of_the_wrong_shape_is_named() -> None:
    rep = dataclasses.replace(ka_centering(2), target=lambda x: x)
    with pytest.raises(ValueError, match=r"target\(x\) must return shape \(B, n, k\)"):
        rep(_sequences(2, 3))


# ------------------------------------------------ 8. method "Used in:" lines are derived
def _code(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def _chapters_calling_method(name: str) -> tuple[str, ...]:
    """Notebooks that build a transformer (`pa.<route>_transformer(`) and call `.<name>(`."""
    found = []
    for path in sorted(BOOK.glob("*.ipynb")):
        code = _code(path)
        builds = re.search(r"\bpa\.(ka|gather|mixing|key_writing)_transformer\(", code)
        if builds and re.search(rf"\.{name}\(", code):
            found.append(f"book/{path.name}")
    return tuple(found)


@pytest.mark.parametrize(
    "cls", [PrefixedTransformer, TransformerPrefixes, HeadPrefixReport, KARepresentation]
)
def test_method_used_in_lines_are_derived_from_the_notebooks(cls: type) -> None:
    wrong = []
    for name, member in vars(cls).items():
        if not inspect.isfunction(member) or (name.startswith("_") and name != "__call__"):
            continue
        if name == "extra_repr":  # torch's printing hook, not API
            continue
        doc = inspect.getdoc(member) or ""
        named, has = _used_in(doc)
        if cls is PrefixedTransformer and not has:
            wrong.append(f"{cls.__name__}.{name}: no 'Used in:' paragraph")
            continue
        if not has:
            continue
        paragraph = doc[doc.index("Used in:") :].split("\n\n")[0]
        if "chapter" in paragraph and "no chapter by name" not in paragraph:
            wrong.append(f"{cls.__name__}.{name}: names chapters by title: {paragraph!r}")
        derived = _chapters_calling_method(name)
        if named != derived:
            wrong.append(f"{cls.__name__}.{name}: docstring {named}, notebooks {derived}")
    assert not wrong, "\n".join(wrong)
