// Package allinone holds the all-in-one's settings. It is a package of its own, not part of
// the command, so that the deployment tests (e2e) can check compose files against it.
package allinone

import (
	"errors"
	"fmt"

	"github.com/copnet/copnet/pkg/config"
)

// Settings are the settings of the all-in-one `copnet`: the shared ones, where it keeps its
// data, and how its embedded NATS server joins the federation.
type Settings struct {
	config.Base
	DataDir    string `envconfig:"COPNET_DATA_DIR" default:"./var"`
	NATSListen string `envconfig:"COPNET_NATS_LISTEN"`
	// ParentLeafURL joins this node to its parent as a leaf (credentials from the parent's
	// POST /v1/nodes); LeafListen accepts child nodes, which dial LeafAdvertise.
	ParentLeafURL string `envconfig:"COPNET_PARENT_LEAF_URL"`
	LeafListen    string `envconfig:"COPNET_LEAF_LISTEN"`
	LeafAdvertise string `envconfig:"COPNET_LEAF_ADVERTISE"`
	// ChildNodes are children an external NATS server's configuration already accepts
	// (deploy/nats/federation); this node sources their streams.
	ChildNodes []string `envconfig:"COPNET_CHILD_NODES"`
}

// Validate adds the all-in-one's own rules to the shared ones.
func (s Settings) Validate() error {
	var errs []error
	if err := s.Base.Validate(); err != nil {
		errs = append(errs, err)
	}
	if s.NATSURL != "" && (s.ParentLeafURL != "" || s.LeafListen != "") {
		errs = append(errs, errors.New("COPNET_PARENT_LEAF_URL and COPNET_LEAF_LISTEN configure the embedded NATS server; with COPNET_NATS_URL configure the external server instead (deploy/nats)"))
	}
	for _, c := range s.ChildNodes {
		if !config.ValidToken(c) || c == s.NodeID {
			errs = append(errs, fmt.Errorf("COPNET_CHILD_NODES: %q is not a child node id", c))
		}
	}
	if s.NodeTier != config.TierNational && s.ParentLeafURL == "" && s.NATSURL == "" {
		errs = append(errs, fmt.Errorf("COPNET_PARENT_LEAF_URL is required for a %s node", s.NodeTier))
	}
	return errors.Join(errs...)
}
