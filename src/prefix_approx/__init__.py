"""prefix_approx: the constructions of *Prompting a Pretrained Transformer Can Be a Universal
Approximator* (Petrov, Torr & Bibi, ICML 2024), made runnable.

Modules are named after the paper's objects:

- `attention`: a single attention head with fixed weights, evaluated against a prefix followed by
  input tokens with a streaming softmax; the prefix decomposition lemma.
- `core_head`: the core head, its prefixes, and `build_prefix` (result C).
- `paper_route`: the paper's route (vMF smoothing, then a partition of S^m) through the core
  head, with the book's normaliser and bound.
- `deconvolution`: deconvolved prefix values on the circle, past the saturation of result D.
- `bounds`: error bounds and the parameters they imply.
- `designs`: spherical t-designs on S^2 and S^3 with a certified quadrature defect.
- `design_prefixes`: prefixes on spherical designs for polynomial targets on S^m, with values
  f or deconvolved values, and their proved bounds.
- `kolmogorov_arnold`: explicit Kolmogorov-Arnold representations of sequence targets.
- `transformer`: the prefixed transformer of Part III, its two routes, the two models of the
  chapter on mixing, and their prefixes.
- `targets`: targets shared by chapters and tests, with their constants.
- `sphere`: point sets on S^m, geodesic distance, certified delta-nets, covering radii (sampled,
  and exact through the deepest hole) and covering numbers.
- `reproducibility`: the settings every chapter applies first, the chapter list and budgets.
- `lower_bounds`: lower bounds on the prefix length (the book's own).
- `plotting`: the book's figure style.
- `catalogue`: the public objects and the chapters that use them.
"""

from ._validation import ArrayLike
from .attention import (
    DEFAULT_BLOCK_ELEMENTS,
    AttentionHead,
    PartialAttention,
    PrefixDecomposition,
    merge_partial,
)
from .bounds import (
    DensityParameters,
    SmoothParameters,
    bessel_ratios,
    density_error_bound,
    density_parameters,
    lipschitz_delta,
    lipschitz_error_bound,
    lipschitz_parameters,
    lipschitz_prefix_length_bound,
    modulus_delta,
    paper_prefix_length_exponent,
    smooth_circle_error_bound,
    smooth_circle_parameters,
)
from .catalogue import PublicObject, public_objects
from .core_head import (
    MIN_LAM,
    CoreHead,
    CorePrefix,
    build_prefix,
    circle_fourier_norms,
    core_prefix,
    smooth_circle_prefix,
    sup_error,
)
from .deconvolution import (
    RATIO_RELATIVE_ERROR,
    DeconvolutionParameters,
    deconvolved_circle_error_bound,
    deconvolved_circle_prefix,
)
from .design_prefixes import (
    DesignParameters,
    design_error_bound,
    design_prefix,
    funk_hecke_ratios,
    harmonic_sup_norms,
)
from .designs import (
    SphericalDesign,
    compute_spherical_design,
    design_defects,
    harmonic_dimension,
    shipped_design_strengths,
    spherical_design,
)
from .kolmogorov_arnold import (
    KARepresentation,
    ka_centering,
    ka_log_sum_exp,
    ka_product,
    ka_root_mean,
    ka_shift,
    ka_times_mean,
)
from .lower_bounds import (
    continuous_prefix_length_lower_bound,
    continuous_prefix_size_lower_bound_on_cube,
    packing_number_lower_bound,
    prefix_weight_upper_bound,
)
from .paper_route import (
    PaperRouteParameters,
    cell_measure_ratio_bound,
    paper_route_error_bound,
    paper_route_parameters,
    paper_route_prefix,
    vmf_mean_distance_bound,
)
from .plotting import (
    figure_legend,
    figure_size,
    panel_legend,
    phone_version,
    smallest_text_pt,
    use_book_style,
)
from .reproducibility import (
    CHAPTER_MEMORY_BUDGET_MIB,
    CHAPTER_SECONDS_BUDGET,
    NotebookRun,
    book_chapters,
    book_pages,
    budget_problems,
    execute_and_measure,
    package_versions,
    peak_memory_mib,
    set_deterministic_defaults,
)
from .sphere import (
    SphereNet,
    cap_fraction,
    circle_points,
    covering_number_lower_bound,
    covering_radius,
    cubed_sphere_corners,
    cubed_sphere_net,
    cubed_sphere_size,
    deepest_hole,
    delta_net,
    delta_net_size_bound,
    fibonacci_sphere,
    geodesic_distance,
    nearest_point,
    random_sphere_points,
)
from .targets import exp_sin_fourier_norms
from .transformer import (
    HeadPrefixReport,
    PrefixedTransformer,
    TransformerPrefixes,
    gather_prefix_length,
    gather_prefixes,
    gather_transformer,
    ka_prefixes,
    ka_transformer,
    key_writing_prefixes,
    key_writing_transformer,
    mixing_prefixes,
    mixing_transformer,
)

__version__ = "0.1.0"

__all__ = [
    "CHAPTER_MEMORY_BUDGET_MIB",
    "CHAPTER_SECONDS_BUDGET",
    "DEFAULT_BLOCK_ELEMENTS",
    "MIN_LAM",
    "RATIO_RELATIVE_ERROR",
    "ArrayLike",
    "AttentionHead",
    "CoreHead",
    "CorePrefix",
    "DeconvolutionParameters",
    "DensityParameters",
    "DesignParameters",
    "HeadPrefixReport",
    "KARepresentation",
    "NotebookRun",
    "PaperRouteParameters",
    "PartialAttention",
    "PrefixDecomposition",
    "PrefixedTransformer",
    "PublicObject",
    "SmoothParameters",
    "SphereNet",
    "SphericalDesign",
    "TransformerPrefixes",
    "bessel_ratios",
    "book_chapters",
    "book_pages",
    "budget_problems",
    "build_prefix",
    "cap_fraction",
    "cell_measure_ratio_bound",
    "circle_fourier_norms",
    "circle_points",
    "compute_spherical_design",
    "continuous_prefix_length_lower_bound",
    "continuous_prefix_size_lower_bound_on_cube",
    "core_prefix",
    "covering_number_lower_bound",
    "covering_radius",
    "cubed_sphere_corners",
    "cubed_sphere_net",
    "cubed_sphere_size",
    "deconvolved_circle_error_bound",
    "deconvolved_circle_prefix",
    "deepest_hole",
    "delta_net",
    "delta_net_size_bound",
    "density_error_bound",
    "density_parameters",
    "design_defects",
    "design_error_bound",
    "design_prefix",
    "execute_and_measure",
    "exp_sin_fourier_norms",
    "fibonacci_sphere",
    "figure_legend",
    "figure_size",
    "funk_hecke_ratios",
    "gather_prefix_length",
    "gather_prefixes",
    "gather_transformer",
    "geodesic_distance",
    "harmonic_dimension",
    "harmonic_sup_norms",
    "ka_centering",
    "ka_log_sum_exp",
    "ka_prefixes",
    "ka_product",
    "ka_root_mean",
    "ka_shift",
    "ka_times_mean",
    "ka_transformer",
    "key_writing_prefixes",
    "key_writing_transformer",
    "lipschitz_delta",
    "lipschitz_error_bound",
    "lipschitz_parameters",
    "lipschitz_prefix_length_bound",
    "merge_partial",
    "mixing_prefixes",
    "mixing_transformer",
    "modulus_delta",
    "nearest_point",
    "package_versions",
    "packing_number_lower_bound",
    "panel_legend",
    "paper_prefix_length_exponent",
    "paper_route_error_bound",
    "paper_route_parameters",
    "paper_route_prefix",
    "peak_memory_mib",
    "phone_version",
    "prefix_weight_upper_bound",
    "public_objects",
    "random_sphere_points",
    "set_deterministic_defaults",
    "shipped_design_strengths",
    "smallest_text_pt",
    "smooth_circle_error_bound",
    "smooth_circle_parameters",
    "smooth_circle_prefix",
    "spherical_design",
    "sup_error",
    "use_book_style",
    "vmf_mean_distance_bound",
]
