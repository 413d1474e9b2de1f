"""node/cluster: the bridge between raft/'s pysyncobj adapter (its own thread) and the trio node.

metadata.py applies committed cluster states in version order and lets the API layer submit
commands with a deadline; membership.py bootstraps the cluster and registers this node;
master.py makes the leader's allocation decisions. Nothing here decides what a command means.
"""
