// Command registry runs the registry service as its own process, with the node's
// federation routes (GET /v1/federation, GET /v1/nodes) riding along.
package main

import (
	"os"

	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/federation"
	"github.com/copnet/copnet/services/registry"
)

func main() { os.Exit(node.Main(registry.Factory, federation.SplitFactory())) }
