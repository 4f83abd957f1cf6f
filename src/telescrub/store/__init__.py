"""The output store: filesystem interface, layout and discovery, Parquet files and footers, manifests, atomic writes, the lock, audit, commit, report files."""
