"""The one exception hierarchy of raft/.

Owns every error raft/ raises on purpose. It must never be raised from inside the replicated
method or from ``apply`` (DESIGN §8: an exception there re-runs the log entry forever and wedges
the cluster); there, problems become a rejected ``CommandOutcome`` instead. node/ translates these
to HTTP in its one table; raft/ knows nothing of status codes.

    RaftError
    ├── RaftConfigurationError     the adapter's configuration is invalid (names the field)
    ├── RaftBindError              the Raft port could not be bound (names the address)
    ├── CommandDecodeError         command bytes are not a valid versioned command
    ├── StateDecodeError           cluster state JSON does not match the schema, or the
    │                              Raft snapshot / journal on disk is unreadable (names the file)
    └── AdapterClosedError         the adapter was closed
"""

from __future__ import annotations


class RaftError(Exception):
    """Base of every error raft/ raises on purpose."""


class RaftConfigurationError(RaftError):
    pass


class RaftBindError(RaftError):
    pass


class CommandDecodeError(RaftError):
    pass


class StateDecodeError(RaftError):
    pass


class AdapterClosedError(RaftError):
    pass
