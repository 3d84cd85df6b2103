"""cd4ml-trainkit: durable training results on S3 (the lab's private package)."""

__version__ = "0.1.0"
