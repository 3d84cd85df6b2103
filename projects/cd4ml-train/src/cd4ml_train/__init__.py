"""cd4ml-train: a small classifier trained on datasets bundled in scikit-learn."""
