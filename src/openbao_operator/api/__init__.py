"""The OpenBaoCluster API: pydantic models of spec and status, defaults, validation and CRD generation.

Nothing else of the project is imported here, so every other layer can depend on the models.
"""
