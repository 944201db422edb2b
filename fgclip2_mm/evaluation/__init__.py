"""Datasets-agnostic metrics (retrieval, box classification, FG-OVD) live here."""
