// Command registry runs the registry service as its own process.
package main

import (
	"os"

	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/registry"
)

func main() { os.Exit(node.Main(registry.Factory)) }
