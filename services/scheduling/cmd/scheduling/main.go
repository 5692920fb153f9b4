// Command scheduling runs the scheduling service as its own process.
package main

import (
	"os"

	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/scheduling"
)

func main() { os.Exit(node.Main(scheduling.Factory)) }
