"""cd4ml-demo: a small, genuine ML pipeline (breast cancer classification) driven by DVC."""
