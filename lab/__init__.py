"""cd4ml-lab: a local Jenkins + DVC CD4ML lab, as code."""

__version__ = "0.1.0"
