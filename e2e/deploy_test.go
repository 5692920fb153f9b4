package e2e

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/nats-io/nats-server/v2/server"

	"github.com/copnet/copnet/cmd/copnet/broker"
)

// repoRoot is the workspace root: tests run in the e2e module's directory.
const repoRoot = ".."

// exampleEnv is .env.example as compose reads it: the values an operator starts from are
// the values every deployment file is proven with.
func exampleEnv(t *testing.T) map[string]string {
	t.Helper()
	env, err := dotenv.GetEnvFromFile(map[string]string{}, []string{filepath.Join(repoRoot, ".env.example")})
	if err != nil {
		t.Fatalf(".env.example: %v", err)
	}
	return env
}

// natsConf is one config file under deploy/nats, the node it serves and the topology
// cmd/copnet/broker would render for that node: the file must configure what the all-in-one runs.
type natsConf struct {
	file string
	// env beyond .env.example that the file's container is given (compose sets these).
	env  map[string]string
	topo func(env map[string]string) broker.Topology
	// routes is the cluster's route count (0 outside a cluster).
	routes int
}

const (
	storeDir     = "/data"
	clientListen = "0.0.0.0:4222"
	appUser      = "copnet"
	// leafHost is where deploy/compose/federation.yml's regional nodes dial national.
	leafHost = "national-nats:7422"
)

func natsConfs() []natsConf {
	node := func(env map[string]string) broker.Topology {
		return broker.Topology{NodeID: env["COPNET_NODE_ID"], StoreDir: storeDir, ClientListen: clientListen,
			AppUser: appUser, AppPassword: env["COPNET_NATS_PASSWORD"]}
	}
	regional := func(id string) func(env map[string]string) broker.Topology {
		return func(env map[string]string) broker.Topology {
			t := node(env)
			t.NodeID, t.ParentLeafURL = id, env["COPNET_PARENT_LEAF_URL"]
			return t
		}
	}
	leafURL := func(id string) map[string]string {
		return map[string]string{"COPNET_PARENT_LEAF_URL": "nats-leaf://leaf_" + id + ":${COPNET_LEAF_" + strings.ToUpper(id) + "_PASSWORD}@" + leafHost}
	}
	confs := []natsConf{
		{file: "single.conf", topo: node},
		{file: "federation/national.conf", topo: func(env map[string]string) broker.Topology {
			t := node(env)
			t.NodeID, t.LeafListen = "national", "0.0.0.0:7422"
			t.Children = []broker.Child{
				{ID: "vic", LeafPassword: env["COPNET_LEAF_VIC_PASSWORD"]},
				{ID: "wa", LeafPassword: env["COPNET_LEAF_WA_PASSWORD"]},
			}
			return t
		}},
		{file: "federation/vic.conf", env: leafURL("vic"), topo: regional("vic")},
		{file: "federation/wa.conf", env: leafURL("wa"), topo: regional("wa")},
	}
	for i := 1; i <= 3; i++ {
		confs = append(confs, natsConf{file: "cluster/nats-" + strconv.Itoa(i) + ".conf", topo: node, routes: 3})
	}
	return confs
}

// TestNATSConfigs parses every config under deploy/nats with nats-server's own parser and
// compares it with what cmd/copnet/broker renders for the same node: JetStream on with the node's
// domain and sync_interval always, the same accounts, users, exports and imports, and the
// same leaf settings.
func TestNATSConfigs(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "deploy/nats/*.conf"))
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join(repoRoot, "deploy/nats/*/*.conf"))
	files = append(files, more...)
	confs := natsConfs()
	if len(files) != len(confs) {
		t.Errorf("deploy/nats holds %d configs, this test knows %d: %v", len(files), len(confs), files)
	}
	for _, c := range confs {
		t.Run(c.file, func(t *testing.T) {
			env := exampleEnv(t)
			env["COPNET_NATS_STORE_DIR"] = storeDir
			for k, v := range c.env {
				env[k] = os.Expand(v, func(name string) string { return env[name] })
			}
			for k, v := range env {
				t.Setenv(k, v)
			}
			opts, err := server.ProcessConfigFile(filepath.Join(repoRoot, "deploy/nats", c.file))
			if err != nil {
				t.Fatal(err)
			}
			topo := c.topo(env)
			if !opts.JetStream || !opts.SyncAlways || opts.JetStreamDomain != topo.NodeID {
				t.Errorf("jetstream %v, sync always %v, domain %q: want on, always, %q",
					opts.JetStream, opts.SyncAlways, opts.JetStreamDomain, topo.NodeID)
			}
			if opts.SystemAccount != "SYS" {
				t.Errorf("system account %q, want SYS", opts.SystemAccount)
			}
			if got := len(opts.Routes); got != c.routes {
				t.Errorf("%d cluster routes, want %d", got, c.routes)
			}
			if c.routes > 0 && opts.Cluster.Name == "" {
				t.Error("cluster has no name")
			}
			if opts.HTTPPort != 8222 {
				t.Errorf("monitoring port %d, want 8222 (compose's healthcheck calls it)", opts.HTTPPort)
			}
			want := &server.Options{}
			if err := want.ProcessConfigString(topo.Render()); err != nil {
				t.Fatalf("rendered topology: %v", err)
			}
			got, exp := describeNATS(opts), describeNATS(want)
			if c.routes > 0 {
				// Servers of one cluster share the node's domain but each has its own name.
				exp.Server = strings.TrimSuffix(filepath.Base(c.file), ".conf")
			}
			for _, child := range topo.Children {
				// The renderer and the file could agree on nothing: insist on the isolation.
				if !strings.Contains(got.Accounts[child.Account()], "$JS."+child.ID+".API.CONSUMER.CREATE.COPNET") ||
					strings.Contains(got.Accounts[child.Account()], "$JS.national.") {
					t.Errorf("account %s exports %q", child.Account(), got.Accounts[child.Account()])
				}
			}
			if topo.ParentLeafURL != "" && (len(got.Remotes) != 1 || got.Reconnect != 100*time.Millisecond) {
				t.Errorf("leaf remotes %v reconnect %s: want one remote to the parent, reconnect 100ms", got.Remotes, got.Reconnect)
			}
			if topo.LeafListen != "" && !got.NoAdvertise {
				t.Error("the parent's leaf listener gossips its own address (no_advertise missing)")
			}
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("%s differs from cmd/copnet/broker's rendering of node %q:\n got %+v\nwant %+v", c.file, topo.NodeID, got, exp)
			}
		})
	}
}

// natsShape is what a config decides about a node, in comparable form.
type natsShape struct {
	Server, Domain, StoreDir string
	Host                     string
	Port                     int
	Users                    []string
	// Accounts maps each account to its service imports count and the subjects it exports
	// as services, out of every subject any account mentions.
	Accounts map[string]string
	// Leaf settings: where children dial, whether this server gossips it, the parent link.
	LeafHost    string
	LeafPort    int
	NoAdvertise bool
	Reconnect   time.Duration
	Remotes     []string
}

func describeNATS(o *server.Options) natsShape {
	s := natsShape{Server: o.ServerName, Domain: o.JetStreamDomain, StoreDir: o.StoreDir, Host: o.Host, Port: o.Port,
		Accounts: map[string]string{}, LeafHost: o.LeafNode.Host, LeafPort: o.LeafNode.Port,
		NoAdvertise: o.LeafNode.NoAdvertise, Reconnect: o.LeafNode.ReconnectInterval}
	for _, u := range o.Users {
		if u.Account != nil && u.Account.Name == "SYS" {
			s.Users = append(s.Users, "sys@SYS")
			continue
		}
		acct := ""
		if u.Account != nil {
			acct = u.Account.Name
		}
		s.Users = append(s.Users, u.Username+":"+u.Password+"@"+acct)
	}
	sort.Strings(s.Users)
	subjects := []string{"$JS.FC.x.y"}
	for _, node := range []string{"national", "vic", "wa"} {
		subjects = append(subjects, "$JS."+node+".API.CONSUMER.CREATE.COPNET",
			"$JS."+node+".API.STREAM.INFO.COPNET", "$JS."+node+".API.STREAM.MSG.GET.COPNET")
	}
	for _, a := range o.Accounts {
		var exported []string
		for _, subj := range subjects {
			if a.IsExportService(subj) {
				exported = append(exported, subj)
			}
		}
		s.Accounts[a.Name] = strings.Join(append([]string{"imports=" + strconv.Itoa(a.NumServiceImports())}, exported...), " ")
	}
	for _, r := range o.LeafNode.Remotes {
		for _, u := range r.URLs {
			s.Remotes = append(s.Remotes, u.String()+"@"+r.LocalAccount)
		}
	}
	slices.Sort(s.Remotes)
	return s
}
