"""Declarative Jenkinsfiles without Jenkins: the model and its executor.

- ``model``: the declarative pipeline extracted from a Jenkinsfile with Groovy's own
  parser (``extract.groovy``, one JVM for many files) as JSON in the shape of Jenkins'
  declarative AST (the ``pipeline-model-converter/toJson`` output, checked against the
  plugin's ``ast-schema.json``), with the line of each construct beside it.
- ``executor`` (with ``steps`` and ``groovyexpr``): runs that model with Declarative's
  semantics on this host; constructs it cannot run stop the build with "needs the stack
  driver" and the Jenkinsfile line.

Around them: ``checkout`` (Jenkins' git checkout of a build's commit), ``buildenv`` (the
environment the lab's Jenkins gives a build), ``build`` (one build: checkout, model,
executor; what the local driver runs) and ``localrun`` (``lab run``). The local driver
and ``lab run`` use this package. Nothing here is imported on
``lab up``'s path, and this module imports nothing heavy.
"""
