"""One reconcile of an OpenBaoCluster: observe, render, plan, apply, rollout step, status."""
