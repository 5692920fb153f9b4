// Command notify runs the notify service as its own process.
package main

import (
	"os"

	"github.com/copnet/copnet/pkg/node"
	"github.com/copnet/copnet/services/notify"
)

func main() { os.Exit(node.Main(notify.Factory)) }
