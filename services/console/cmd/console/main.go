// Command console runs the console (pages and read API) as its own process.
package main

import (
	"os"

	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/console"
)

func main() { os.Exit(node.Main(console.Factory)) }
