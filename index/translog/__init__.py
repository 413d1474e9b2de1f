"""The write-ahead log of one shard (see index/translog/translog.py for the file layout).

Must never: import anything outside index/, or know about documents beyond their seq_no.
"""

from index.translog.translog import DURABILITY_POLICIES, Location, Translog, TranslogStatistics

__all__ = ["DURABILITY_POLICIES", "Location", "Translog", "TranslogStatistics"]
