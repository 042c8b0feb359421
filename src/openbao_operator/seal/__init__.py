"""Seal material (the static unseal key) and its lifecycle decisions; never talks to the API server.
"""
