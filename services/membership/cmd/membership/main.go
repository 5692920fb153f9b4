// Command membership runs the membership service as its own process.
package main

import (
	"os"

	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/membership"
)

func main() { os.Exit(node.Main(membership.Factory)) }
