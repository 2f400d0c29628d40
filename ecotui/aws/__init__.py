"""AWS for EKS users: native EKS tokens, cluster discovery, cluster/node-group info, EC2 instances of nodes, EBS
snapshots and SigV4 for Amazon Managed Prometheus.

boto3/botocore are imported only inside the functions that talk to AWS (never at module import), so start-up
of a user without AWS contexts does not pay for them (`tests/unit/aws/test_startup_imports.py`).
"""
