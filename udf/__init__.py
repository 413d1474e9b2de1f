"""udf package."""
