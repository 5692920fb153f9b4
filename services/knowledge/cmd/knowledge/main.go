// Command knowledge runs the knowledge service as its own process.
package main

import (
	"os"

	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/knowledge"
)

func main() { os.Exit(node.Main(knowledge.Factory)) }
