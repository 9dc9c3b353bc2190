"""Analysis of what a field learned: embeddings, similarity, pair selection."""

from .similarity import METRICS, select_pairs, similarity_matrix

__all__ = ["METRICS", "similarity_matrix", "select_pairs"]
