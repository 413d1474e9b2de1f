"""The sitecustomize of nodes started under libfaketime (a package only so that it is installed)."""
