"""Annotation projects (to come)."""
