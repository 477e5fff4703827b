"""A prefix of millions of tokens is evaluated in memory that does not grow with its length.

Each measurement runs in a fresh process, resets its peak resident size (Linux's
/proc/self/clear_refs) just before the call, and reads how far the peak rose. glibc is told
to serve every block above 128 KiB by mmap, so freed blocks go back to the system at once and
the peak reflects the largest amount of memory live at one time, not allocator leftovers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SETUP = textwrap.dedent(
    """
    import json, sys, torch
    from prefix_approx import AttentionHead

    def status_mib(key):
        for line in open("/proc/self/status"):
            if line.startswith(key):
                return int(line.split()[1]) / 1024

    def reset_peak():
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the peak (VmHWM) to the current resident size
        return status_mib("VmRSS")

    torch.set_num_threads(1)
    n_prefix = int(sys.argv[1])
    g = torch.Generator().manual_seed(0)
    head = AttentionHead.random(8, 8, 4, seed=1)
    prefix = torch.randn((n_prefix, 8), generator=g, dtype=torch.float64)
    queries = torch.randn((256, 8), generator=g, dtype=torch.float64)
    """
)

FORWARD = SETUP + textwrap.dedent(
    """
    head(queries, prefix[:1000])  # load the kernels once: measure data, not code pages
    before = reset_peak()
    out = head(queries, prefix)
    grown = status_mib("VmHWM") - before
    err = float((out[:2] - head.dense(queries[:2], prefix)).abs().max())
    print(json.dumps({"grown_mib": grown, "err": err}))
    """
)

BACKWARD = SETUP + textwrap.dedent(
    """
    warm = prefix[:1000].clone().requires_grad_(True)
    head(queries, warm).sum().backward()  # load the kernels once
    prefix.requires_grad_(True)
    before = reset_peak()
    head(queries, prefix).square().sum().backward()
    grown = status_mib("VmHWM") - before
    print(json.dumps({"grown_mib": grown, "prefix_mib": prefix.numel() * 8 / 2**20}))
    """
)


def measure(script: str, n_prefix: int) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", script, str(n_prefix)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        env={**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
def test_prefix_of_millions_of_tokens_in_bounded_memory() -> None:
    """Dense scores for 4 x 10^6 tokens would take 256 x 4e6 x 8 bytes = 7.6 GiB."""
    small = measure(FORWARD, 500_000)
    big = measure(FORWARD, 4_000_000)
    assert big["err"] < 1e-12 and small["err"] < 1e-12
    # A few score tiles of 16 MiB each, whatever the prefix length.
    assert big["grown_mib"] < 64, big
    # 8x more tokens, no more memory: one full-size temporary of the prefix would add 244 MiB.
    assert big["grown_mib"] - small["grown_mib"] < 8, (small, big)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")
def test_backward_through_a_long_prefix_in_bounded_memory() -> None:
    """Autograd through a dense softmax would keep the 256 x N attention matrix (781 MiB at
    N = 4 x 10^5); the checkpointed streaming softmax keeps a few tiles and small per-block
    summaries (measured: about 60 MiB above the prefix and its gradient)."""
    n = 400_000
    measured = measure(BACKWARD, n)
    dense_mib = 256 * n * 8 / 2**20
    # The gradient of the prefix (one prefix-sized tensor) plus a few tiles.
    assert measured["grown_mib"] < 2 * measured["prefix_mib"] + 96, measured
    assert measured["grown_mib"] < dense_mib / 5, (measured, dense_mib)
