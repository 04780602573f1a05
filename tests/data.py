"""Test data sets with fixed seeds."""

import numpy as np


def make_blobs_data(rng, n_samples, n_features, n_centers, dtype=np.float64, std=0.3):
    """Well-separated Gaussian blobs (continuous values: no exact distance ties)."""
    means = rng.uniform(-10, 10, size=(n_centers, n_features))
    which = rng.integers(0, n_centers, size=n_samples)
    X = means[which] + rng.normal(scale=std, size=(n_samples, n_features))
    return X.astype(dtype)
