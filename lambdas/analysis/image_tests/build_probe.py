"""Stands for a code-only change: the push test's second image differs from :image by this file alone."""

CHANGED = True
