"""Local stand-ins that let the real CD4ML pipeline run without Docker.

- :class:`S3StandIn`: moto's S3 server (auth enforced, object GETs countable)
- :class:`LocalForge`: git smart-HTTP + the Gitea REST subset the pipeline uses
- :mod:`lab.localforge.pipeline`: runs a project's ``ci/pipeline.yaml`` stages
  with the environment Jenkins would give them
"""

from lab.localforge.forge import LocalForge
from lab.localforge.s3 import S3StandIn

__all__ = ["LocalForge", "S3StandIn"]
