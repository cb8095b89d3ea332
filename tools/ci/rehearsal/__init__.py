"""The workflow rehearsal behind tools/ci/rehearse_workflow.py: one module a job, listed in tools/ci/README.md.

Standard library plus PyYAML only, so that the host's /usr/bin/python3 runs it outside Bazel.
"""
