"""Local stand-ins that let a project's real CD4ML pipeline run without Docker.

- :class:`S3StandIn` (:mod:`lab.localforge.s3`): moto's S3 server on 127.0.0.1 with
  authentication enforced and a request log (object GETs and bytes served);
- :class:`LocalForge` (:mod:`lab.localforge.forge`): git smart HTTP (``git http-backend``)
  with Gitea-style auth plus the small subset of Gitea's REST API the pipeline uses;
- :mod:`lab.localforge.pipeline`: runs the stages a project declares in
  ``ci/pipeline.yaml`` with the environment Jenkins would give them, and seeds a DVC
  remote with a project's data.

Used by the scenario engine's ``local`` driver, the integration tests, ``lab up``
(seeding) and the benchmarks.
"""

from lab.localforge.forge import ForgeRequest, LocalForge
from lab.localforge.s3 import S3StandIn

__all__ = ["ForgeRequest", "LocalForge", "S3StandIn"]
