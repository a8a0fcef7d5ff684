"""Outputs: annotated video, JSON lines and the Parquet table, each written atomically."""
