"""Local stand-ins that let a project's real CD4ML pipeline run without Docker.

- :class:`SeaweedS3` (:mod:`lab.localforge.seaweed`): a real S3 server (SeaweedFS) on
  127.0.0.1 behind a counting relay, with the lab's DVC identity made as ``lab up``
  makes it: the S3 remote of the local driver and the integration tests;
- :class:`S3StandIn` (:mod:`lab.localforge.s3`): moto's S3 server on 127.0.0.1 with
  authentication enforced and a request log, kept as the mock ``make bench`` compares
  SeaweedFS with;
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
from lab.localforge.seaweed import SeaweedS3

__all__ = ["ForgeRequest", "LocalForge", "S3StandIn", "SeaweedS3"]
