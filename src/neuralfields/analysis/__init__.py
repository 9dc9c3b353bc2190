"""Analysis of what a field learned: embeddings, similarity, pair selection, interpolation; training curves."""

from .curves import capped_auc, crossover_step, make_triples, running_mean, steps_to
from .embeddings import item_embeddings
from .frequency import FrequencyChoice, frequency_candidates, grid_search, radial_spectrum, spectrum_distance, suggest_frequency
from .mesh import Mesh, extract_mesh
from .interpolation import Interpolation, blend_distance, interpolate
from .places import PLACES
from .similarity import METRICS, select_pairs, similarity_matrix
from .upsampling import upsampling_table
from .sample_quality import FeatureNet, SampleJudge, SampleQuality, class_coverage, frechet_distance, nearest_distances

__all__ = [
    "SampleJudge",
    "SampleQuality",
    "FeatureNet",
    "frechet_distance",
    "nearest_distances",
    "class_coverage",
    "Mesh",
    "extract_mesh",
    "PLACES",
    "item_embeddings",
    "METRICS",
    "similarity_matrix",
    "select_pairs",
    "Interpolation",
    "interpolate",
    "blend_distance",
    "upsampling_table",
    "capped_auc",
    "running_mean",
    "crossover_step",
    "steps_to",
    "make_triples",
    "suggest_frequency",
    "FrequencyChoice",
    "frequency_candidates",
    "grid_search",
    "radial_spectrum",
    "spectrum_distance",
]
