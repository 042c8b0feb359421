"""The openbao-operator command line: crd, render and run. Thin: the logic lives in the layers below."""
