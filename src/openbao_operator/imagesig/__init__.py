"""Registry client and cosign signature verification; never touches Kubernetes objects."""
