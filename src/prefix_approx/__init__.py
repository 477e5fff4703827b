"""prefix_approx: the constructions of *Prompting a Pretrained Transformer Can Be a Universal
Approximator* (Petrov, Torr & Bibi, ICML 2024), made runnable.

Modules are named after the paper's objects:

- `attention`: a single attention head with fixed weights, evaluated against a prefix followed by
  input tokens with a streaming softmax; the prefix decomposition lemma.
- `sphere`: point sets on S^m, geodesic distance, certified delta-nets, covering radii and
  covering numbers.
- `reproducibility`: the settings every chapter applies first.
- `plotting`: the book's figure style.
- `catalogue`: the public objects and the chapters that use them.
"""

from .attention import (
    DEFAULT_BLOCK_ELEMENTS,
    AttentionHead,
    PartialAttention,
    PrefixDecomposition,
    merge_partial,
)
from .catalogue import PublicObject, public_objects
from .plotting import use_book_style
from .reproducibility import set_deterministic_defaults
from .sphere import (
    SphereNet,
    cap_fraction,
    circle_points,
    covering_number_lower_bound,
    covering_radius,
    cubed_sphere_net,
    delta_net,
    fibonacci_sphere,
    geodesic_distance,
    nearest_point,
    random_sphere_points,
)

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_BLOCK_ELEMENTS",
    "AttentionHead",
    "PartialAttention",
    "PrefixDecomposition",
    "PublicObject",
    "SphereNet",
    "cap_fraction",
    "circle_points",
    "covering_number_lower_bound",
    "covering_radius",
    "cubed_sphere_net",
    "delta_net",
    "fibonacci_sphere",
    "geodesic_distance",
    "merge_partial",
    "nearest_point",
    "public_objects",
    "random_sphere_points",
    "set_deterministic_defaults",
    "use_book_style",
]
