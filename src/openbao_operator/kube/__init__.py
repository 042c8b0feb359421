"""The only package that talks to the Kubernetes API server: client setup, typed errors, server-side apply.
"""
