"""Redline: policy-driven safety evaluation and safety-data operations for AI models."""

__version__ = "0.1.0"
