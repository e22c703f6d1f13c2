// CoreDNS with only the plugins kubeadm's Corefile uses (plus log), for the offline kind node image
// (../build.sh builds it from a generated go.mod that requires github.com/coredns/coredns). The stock
// build links every plugin, and the cloud ones alone pull about 2 GB of SDK modules.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/loop"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

// The directives of the plugins imported above (metrics registers "prometheus").
var linked = map[string]bool{
	"cache": true, "errors": true, "forward": true, "health": true, "kubernetes": true, "loadbalance": true,
	"log": true, "loop": true, "prometheus": true, "ready": true, "reload": true,
}

// The server runs a block's plugins in the order of dnsserver.Directives, so the upstream list is
// filtered rather than rewritten; a Corefile naming any other plugin is then refused at startup.
func init() {
	var directives []string
	for _, name := range dnsserver.Directives {
		if linked[name] {
			directives = append(directives, name)
		}
	}
	dnsserver.Directives = directives
}

func main() {
	coremain.Run()
}
