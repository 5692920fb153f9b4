// Command feedback runs the feedback service as its own process.
package main

import (
	"os"

	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/feedback"
)

func main() { os.Exit(node.Main(feedback.Factory)) }
