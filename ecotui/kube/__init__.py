"""Kubernetes data side: kubeconfig, async client, informers, snapshots, row rendering. No UI imports."""
