//! The system as a graph: clients, proxy groups, the load balancer and servers as
//! nodes, network hops as edges carrying their latency distributions. The world takes
//! its hop latencies from these edges, and `topology.dot` is this graph.

use crate::engine::Distribution;
use crate::policies::UploadStore;
use crate::scenario::model::{System, Workload};
use petgraph::dot::{Config, Dot};
use petgraph::graph::{Graph, NodeIndex};
use std::fmt::Write;

#[derive(Clone, Debug)]
pub enum Node {
    Clients {
        users: u64,
        open: bool,
    },
    Proxy {
        name: String,
        users: u64,
        ips: u64,
    },
    LoadBalancer {
        policy: &'static str,
    },
    Server {
        name: String,
        cores: u32,
    },
    Redis,
    Database {
        connections: u32,
    },
    /// Object storage for uploads; `direct` when clients upload with pre-signed URLs.
    S3 {
        direct: bool,
    },
    JobQueue {
        visibility_timeout: crate::engine::SimDuration,
    },
    Workers {
        count: u32,
    },
}

#[derive(Clone, Debug)]
pub struct Hop {
    pub latency: Distribution,
}

impl Hop {
    /// The hop's latency in words; empty for a hop the model gives no latency.
    pub fn label(&self) -> String {
        match self.latency {
            Distribution::Constant { value: 0.0 } => String::new(),
            ref d => describe(d),
        }
    }
}

pub struct Topology {
    pub graph: Graph<Node, Hop>,
    pub clients: NodeIndex,
    pub lb: NodeIndex,
    pub servers: Vec<NodeIndex>,
    pub redis: Option<NodeIndex>,
    pub database: Option<NodeIndex>,
    pub s3: Option<NodeIndex>,
    pub queue: Option<NodeIndex>,
    pub workers: Option<NodeIndex>,
}

impl Topology {
    pub fn build(system: &System) -> Topology {
        let mut g = Graph::new();
        let behind: u64 = system.clients.proxies.iter().map(|p| p.users).sum();
        let clients = g.add_node(Node::Clients {
            users: system.clients.users - behind.min(system.clients.users),
            open: matches!(system.clients.workload, Workload::Open { .. }),
        });
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
            .collect::<Vec<_>>();
        let redis = system.uses_redis().then(|| {
            let r = g.add_node(Node::Redis);
            let rtt = &system.redis.round_trip;
            for &s in &servers {
                g.add_edge(s, r, Hop { latency: rtt.clone() });
            }
            r
        });
        let uses_db = system.sessions.store != crate::policies::SessionStoreKind::None || system.carts.store == crate::policies::CartStoreKind::Database;
        let database = uses_db.then(|| {
            let d = g.add_node(Node::Database { connections: system.database.connections });
            for &s in &servers {
                g.add_edge(s, d, Hop { latency: system.database.read.clone() });
            }
            d
        });
        let s3 = system.uploads.as_ref().filter(|u| u.store != UploadStore::LocalDisk).map(|u| {
            let direct = u.store == UploadStore::Presigned;
            let n = g.add_node(Node::S3 { direct });
            let hop = Hop { latency: u.s3_first_byte.clone() };
            if direct {
                g.add_edge(clients, n, hop);
            } else {
                for &s in &servers {
                    g.add_edge(s, n, hop.clone());
                }
            }
            n
        });
        // The queue is a managed service reached at no modelled latency.
        let no_latency = Hop { latency: Distribution::Constant { value: 0.0 } };
        let (queue, workers) = match system.jobs.as_ref().filter(|j| j.queued) {
            Some(j) => {
                let q = g.add_node(Node::JobQueue { visibility_timeout: j.visibility_timeout });
                for &s in &servers {
                    g.add_edge(s, q, no_latency.clone());
                }
                let w = g.add_node(Node::Workers { count: j.workers });
                g.add_edge(q, w, no_latency.clone());
                (Some(q), Some(w))
            }
            None => (None, None),
        };
        Topology { graph: g, clients, lb, servers, redis, database, s3, queue, workers }
    }

    /// The nodes in columns from clients to back ends, for drawing.
    pub fn layers(&self) -> Vec<Vec<NodeIndex>> {
        let mut first = vec![self.clients];
        first.extend(self.graph.node_indices().filter(|&n| matches!(self.graph[n], Node::Proxy { .. })));
        let back: Vec<NodeIndex> = self.redis.into_iter().chain(self.database).chain(self.s3).chain(self.queue).collect();
        let mut layers = vec![first, vec![self.lb], self.servers.clone()];
        if !back.is_empty() {
            layers.push(back);
        }
        if let Some(w) = self.workers {
            layers.push(vec![w]);
        }
        layers
    }

    /// A node's label, in lines.
    pub fn label(&self, n: NodeIndex) -> Vec<String> {
        match &self.graph[n] {
            Node::Clients { users, open } => {
                vec!["clients".into(), format!("{users} users"), if *open { "open arrivals".into() } else { "think, then send".into() }]
            }
            Node::Proxy { name, users, ips } => vec![name.clone(), format!("{users} users"), format!("{ips} public IP{}", if *ips == 1 { "" } else { "s" })],
            Node::LoadBalancer { policy } => vec!["load balancer".into(), policy.to_string()],
            Node::Server { name, cores } => vec![format!("{name} ({cores} cores)")],
            Node::Redis => vec!["Redis".into(), "one command thread".into()],
            Node::Database { connections } => vec!["database".into(), format!("{connections} connections")],
            Node::S3 { direct } => vec!["S3".into(), if *direct { "clients upload directly".into() } else { "uploads via the servers".into() }],
            Node::JobQueue { visibility_timeout } => vec!["job queue".into(), format!("visibility {visibility_timeout}")],
            Node::Workers { count } => vec![format!("{count} workers")],
        }
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
            Node::Redis => "Redis".to_string(),
            Node::Database { connections } => format!("database\\n{connections} connections"),
            Node::S3 { direct } => format!("S3\\n{}", if *direct { "clients upload directly" } else { "uploads via the servers" }),
            Node::JobQueue { visibility_timeout } => format!("job queue\\nvisibility {visibility_timeout}"),
            Node::Workers { count } => format!("{count} workers"),
        };
        let edge_attrs = |_: &Graph<Node, Hop>, e: petgraph::graph::EdgeReference<'_, Hop>| format!("label=\"{}\"", e.weight().label());
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
