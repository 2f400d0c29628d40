//go:build tools

// Package tools pins etcd for the testbed (built by testbed/build.py).
package tools

import _ "go.etcd.io/etcd/server/v3"
