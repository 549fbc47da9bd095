//! The system as a graph: clients, proxy groups, the load balancer and servers as
//! nodes, network hops as edges carrying their latency distributions. The world takes
//! its hop latencies from these edges, and `topology.dot` is this graph.

use crate::engine::Distribution;
use crate::scenario::model::{System, Workload};
use petgraph::dot::{Config, Dot};
use petgraph::graph::{Graph, NodeIndex};
use std::fmt::Write;

#[derive(Clone, Debug)]
pub enum Node {
    Clients { users: u64, open: bool },
    Proxy { name: String, users: u64, ips: u64 },
    LoadBalancer { policy: &'static str },
    Server { name: String, cores: u32 },
}

#[derive(Clone, Debug)]
pub struct Hop {
    pub latency: Distribution,
}

pub struct Topology {
    pub graph: Graph<Node, Hop>,
    pub clients: NodeIndex,
    pub lb: NodeIndex,
    pub servers: Vec<NodeIndex>,
}

impl Topology {
    pub fn build(system: &System) -> Topology {
        let mut g = Graph::new();
        let behind: u64 = system.clients.proxies.iter().map(|p| p.users).sum();
        let clients = g.add_node(Node::Clients { users: system.clients.users - behind.min(system.clients.users), open: matches!(system.clients.workload, Workload::Open { .. }) });
        let lb = g.add_node(Node::LoadBalancer { policy: system.load_balancer.policy.name() });
        g.add_edge(clients, lb, Hop { latency: system.network.client_to_lb.clone() });
        for p in &system.clients.proxies {
            let n = g.add_node(Node::Proxy { name: p.name.clone(), users: p.users, ips: p.ips });
            g.add_edge(n, lb, Hop { latency: system.network.client_to_lb.clone() });
        }
        let servers = (0..system.servers.count as usize)
            .map(|i| {
                let s = g.add_node(Node::Server { name: System::server_name(i), cores: system.servers.cores });
                g.add_edge(lb, s, Hop { latency: system.network.lb_to_server.clone() });
                s
            })
            .collect();
        Topology { graph: g, clients, lb, servers }
    }

    /// The latency of the hop from `a` to `b`.
    pub fn hop(&self, a: NodeIndex, b: NodeIndex) -> &Distribution {
        let e = self.graph.find_edge(a, b).expect("hop exists in the topology");
        &self.graph[e].latency
    }

    /// Graphviz DOT text of the topology.
    pub fn to_dot(&self) -> String {
        let label = |n: &Node| match n {
            Node::Clients { users, open } => format!("clients\\n{users} users ({})", if *open { "open" } else { "closed" }),
            Node::Proxy { name, users, ips } => format!("{name}\\n{users} users, {ips} IP{}", if *ips == 1 { "" } else { "s" }),
            Node::LoadBalancer { policy } => format!("load balancer\\n{policy}"),
            Node::Server { name, cores } => format!("{name}\\n{cores} cores"),
        };
        let edge_attrs = |_: &Graph<Node, Hop>, e: petgraph::graph::EdgeReference<'_, Hop>| format!("label=\"{}\"", describe(&e.weight().latency));
        let node_attrs = |_: &Graph<Node, Hop>, (_, n): (NodeIndex, &Node)| format!("label=\"{}\" shape=box", label(n));
        let dot = Dot::with_attr_getters(&self.graph, &[Config::EdgeNoLabel, Config::NodeNoLabel], &edge_attrs, &node_attrs);
        let mut s = String::new();
        write!(s, "{dot:?}").expect("write to string");
        s
    }
}

/// Short text for a latency distribution, e.g. `10ms` or `exp 15ms`.
pub fn describe(d: &Distribution) -> String {
    let t = |ns: f64| crate::engine::SimDuration::from_nanos_f64(ns).to_string();
    match d {
        Distribution::Constant { value } => t(*value),
        Distribution::Exponential { mean } => format!("exp {}", t(*mean)),
        Distribution::Uniform { min, max } => format!("{}..{}", t(*min), t(*max)),
        Distribution::Lognormal { mean, cv, .. } => format!("lognormal {} cv {cv}", t(*mean)),
        Distribution::Empirical { values, .. } => format!("one of {}", values.len()),
    }
}
