"""Local stand-ins that let a project's real CD4ML pipeline run without Docker.

- :class:`SeaweedS3` (:mod:`lab.localforge.seaweed`): a real S3 server (SeaweedFS) on
  127.0.0.1 behind a counting relay, with the lab's DVC identity made as ``lab up``
  makes it: the S3 remote of the local driver and the integration tests;
- :class:`S3StandIn` (:mod:`lab.localforge.s3`): moto's S3 server on 127.0.0.1 with
  authentication enforced and a request log, kept as the mock ``make bench`` compares
  SeaweedFS with;
- :class:`LocalForge` (:mod:`lab.localforge.forge`): git smart HTTP (``git http-backend``)
  with Gitea-style auth plus the small subset of Gitea's REST API the pipeline uses;
- :class:`PrivateIndex` (:mod:`lab.localforge.pypi`): the lab's private package index,
  pypiserver with htpasswd auth on 127.0.0.1, which can refuse requests on demand.

Used by the scenario engine's ``local`` driver, ``lab run``, the integration tests and
the benchmarks; the pipeline itself runs in :mod:`lab.pipeline`. Nothing on ``lab up``'s
path imports this package.
"""

from lab.localforge.forge import ForgeRequest, LocalForge
from lab.localforge.pypi import PrivateIndex
from lab.localforge.s3 import S3StandIn
from lab.localforge.seaweed import SeaweedS3

__all__ = ["ForgeRequest", "LocalForge", "PrivateIndex", "S3StandIn", "SeaweedS3"]
