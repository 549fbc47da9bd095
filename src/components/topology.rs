//! The system as a graph: clients, proxy groups, the load balancer and servers as
//! nodes, network hops as edges carrying their latency distributions. The world takes
//! its hop latencies from these edges. [`Overview`] merges the graphs of a model's
//! variants into one, each node and hop once with the variants that have it: that is
//! what `topology.dot` and the topology picture show.

use crate::engine::Distribution;
use crate::policies::{CartStoreKind, SessionStoreKind, UploadStore, WsMode};
use crate::scenario::model::{System, Workload};
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
    /// The rate-limit model's abusive client: one user, one IP, sending at its own rate.
    Abuser {
        rate_per_sec: f64,
        burst_every: Option<crate::engine::SimDuration>,
    },
    LoadBalancer {
        policy: &'static str,
    },
    /// The WebSocket gateway: holds every connection and calls a stateless handler on
    /// any server.
    Gateway,
    Server {
        name: String,
        cores: u32,
    },
    Redis,
    Database {
        connections: u32,
        /// Job workers record each job's status here.
        job_status: bool,
    },
    /// Object storage: for uploads (`direct` when clients upload with pre-signed URLs)
    /// and for the results of queued jobs.
    S3 {
        uploads: Option<bool>,
        job_results: bool,
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
    pub abuser: Option<NodeIndex>,
    pub lb: NodeIndex,
    pub gateway: Option<NodeIndex>,
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
        let client_to_lb = Hop { latency: system.network.client_to_lb.clone() };
        g.add_edge(clients, lb, client_to_lb.clone());
        for p in &system.clients.proxies {
            let n = g.add_node(Node::Proxy { name: p.name.clone(), users: p.users, ips: p.ips });
            g.add_edge(n, lb, client_to_lb.clone());
        }
        let abuser = system.clients.abuser.as_ref().map(|a| {
            let n = g.add_node(Node::Abuser { rate_per_sec: a.rate_per_sec, burst_every: a.burst_every });
            g.add_edge(n, lb, client_to_lb.clone());
            n
        });
        let gateway = system.websockets.as_ref().filter(|w| w.mode == WsMode::Gateway).map(|_| {
            let n = g.add_node(Node::Gateway);
            g.add_edge(clients, n, client_to_lb.clone());
            n
        });
        let servers = (0..system.servers.count as usize)
            .map(|i| {
                let s = g.add_node(Node::Server { name: System::server_name(i), cores: system.servers.cores });
                g.add_edge(lb, s, Hop { latency: system.network.lb_to_server.clone() });
                if let Some(gw) = gateway {
                    g.add_edge(gw, s, Hop { latency: system.network.lb_to_server.clone() });
                }
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
        let queued_jobs = system.jobs.as_ref().filter(|j| j.queued);
        let servers_use_db = system.sessions.store != SessionStoreKind::None || system.carts.store == CartStoreKind::Database;
        let database = (servers_use_db || queued_jobs.is_some()).then(|| {
            let d = g.add_node(Node::Database { connections: system.database.connections, job_status: queued_jobs.is_some() });
            if servers_use_db {
                for &s in &servers {
                    g.add_edge(s, d, Hop { latency: system.database.read.clone() });
                }
            }
            d
        });
        let uploads = system.uploads.as_ref().filter(|u| u.store != UploadStore::LocalDisk);
        let s3 = (uploads.is_some() || queued_jobs.is_some()).then(|| {
            let direct = uploads.map(|u| u.store == UploadStore::Presigned);
            let n = g.add_node(Node::S3 { uploads: direct, job_results: queued_jobs.is_some() });
            if let Some(u) = uploads {
                let hop = Hop { latency: u.s3_first_byte.clone() };
                if direct == Some(true) {
                    g.add_edge(clients, n, hop);
                } else {
                    for &s in &servers {
                        g.add_edge(s, n, hop.clone());
                    }
                }
            }
            n
        });
        // The queue is a managed service reached at no modelled latency; a worker's
        // result write (to S3 and the database together) is one modelled cost.
        let no_latency = Hop { latency: Distribution::Constant { value: 0.0 } };
        let (queue, workers) = match queued_jobs {
            Some(j) => {
                let q = g.add_node(Node::JobQueue { visibility_timeout: j.visibility_timeout });
                for &s in &servers {
                    g.add_edge(s, q, no_latency.clone());
                }
                let w = g.add_node(Node::Workers { count: j.workers });
                g.add_edge(q, w, no_latency.clone());
                let write = Hop { latency: j.result_write.clone() };
                for back in [s3, database].into_iter().flatten() {
                    g.add_edge(w, back, write.clone());
                }
                (Some(q), Some(w))
            }
            None => (None, None),
        };
        Topology { graph: g, clients, abuser, lb, gateway, servers, redis, database, s3, queue, workers }
    }

    /// A node's label, in lines.
    pub fn label(&self, n: NodeIndex) -> Vec<String> {
        match &self.graph[n] {
            Node::Clients { users, open } => {
                vec!["clients".into(), format!("{users} users"), if *open { "open arrivals".into() } else { "think, then send".into() }]
            }
            Node::Proxy { name, users, ips } => vec![name.clone(), format!("{users} users"), format!("{ips} public IP{}", if *ips == 1 { "" } else { "s" })],
            Node::Abuser { rate_per_sec, burst_every } => vec![
                "abusive client".into(),
                format!("{rate_per_sec} requests/s"),
                match burst_every {
                    Some(every) => format!("in bursts every {every}"),
                    None => "steadily".into(),
                },
            ],
            Node::LoadBalancer { policy } => vec!["load balancer".into(), policy.to_string()],
            Node::Gateway => vec!["WebSocket gateway".into(), "holds every connection".into()],
            Node::Server { name, cores } => vec![format!("{name} ({cores} cores)")],
            Node::Redis => vec!["Redis".into(), "one command thread".into()],
            Node::Database { connections, job_status } => {
                let mut lines = vec!["database".into(), format!("{connections} connections")];
                if *job_status {
                    lines.push("job status".into());
                }
                lines
            }
            Node::S3 { uploads, job_results } => {
                let mut lines = vec!["S3".to_string()];
                match uploads {
                    Some(true) => lines.push("clients upload directly".into()),
                    Some(false) => lines.push("uploads via the servers".into()),
                    None => {}
                }
                if *job_results {
                    lines.push("job results".into());
                }
                lines
            }
            Node::JobQueue { visibility_timeout } => vec!["job queue".into(), format!("visibility {visibility_timeout}")],
            Node::Workers { count } => vec![format!("{count} workers")],
        }
    }

    /// The latency of the hop from `a` to `b`.
    pub fn hop(&self, a: NodeIndex, b: NodeIndex) -> &Distribution {
        let e = self.graph.find_edge(a, b).expect("hop exists in the topology");
        &self.graph[e].latency
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

/// What a node is, for its column and colour in a drawing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Clients, proxy groups, the abuser: where requests come from.
    Clients,
    /// The load balancer and the WebSocket gateway.
    Balancer,
    /// Web servers.
    Server,
    /// Redis, the database, S3 and the job queue.
    Backend,
    /// Job workers.
    Worker,
}

impl Node {
    pub fn role(&self) -> Role {
        match self {
            Node::Clients { .. } | Node::Proxy { .. } | Node::Abuser { .. } => Role::Clients,
            Node::LoadBalancer { .. } | Node::Gateway => Role::Balancer,
            Node::Server { .. } => Role::Server,
            Node::Redis | Node::Database { .. } | Node::S3 { .. } | Node::JobQueue { .. } => Role::Backend,
            Node::Workers { .. } => Role::Worker,
        }
    }

    /// What makes a node the same node in two variants' graphs.
    fn identity(&self) -> String {
        match self {
            Node::Clients { .. } => "clients".into(),
            Node::Proxy { name, .. } => format!("proxy {name}"),
            Node::Abuser { .. } => "abuser".into(),
            Node::LoadBalancer { .. } => "load balancer".into(),
            Node::Gateway => "gateway".into(),
            Node::Server { name, .. } => name.clone(),
            Node::Redis => "redis".into(),
            Node::Database { .. } => "database".into(),
            Node::S3 { .. } => "s3".into(),
            Node::JobQueue { .. } => "job queue".into(),
            Node::Workers { .. } => "workers".into(),
        }
    }
}

/// A node of the [`Overview`]: its label merged over the variants that have it.
#[derive(Clone, Debug)]
pub struct OverviewNode {
    pub role: Role,
    /// Label lines; a line that differs between variants lists each value once, in
    /// variant order, joined by " / ".
    pub lines: Vec<String>,
    /// The variants (by index) that have this node.
    pub variants: Vec<usize>,
}

/// A hop of the [`Overview`]: its latency in words, each distinct value once.
#[derive(Clone, Debug)]
pub struct OverviewHop {
    pub label: String,
    pub variants: Vec<usize>,
}

/// Every variant's topology as one graph: each node and hop once, with the variants
/// that have it, so one picture shows what any variant adds (a Redis, a queue, a
/// fifth server) and what differs (the load balancer's policy).
pub struct Overview {
    pub variants: Vec<String>,
    pub graph: Graph<OverviewNode, OverviewHop>,
}

impl Overview {
    pub fn new<'a>(variants: impl IntoIterator<Item = (&'a str, &'a System)>) -> Overview {
        let mut names = Vec::new();
        let mut graph: Graph<OverviewNode, OverviewHop> = Graph::new();
        let mut by_identity: Vec<(String, NodeIndex, Vec<Vec<String>>)> = Vec::new();
        for (v, (name, system)) in variants.into_iter().enumerate() {
            names.push(name.to_string());
            let t = Topology::build(system);
            let mut index = std::collections::BTreeMap::new();
            for n in t.graph.node_indices() {
                let id = t.graph[n].identity();
                let lines = t.label(n);
                let o = match by_identity.iter_mut().find(|(i, ..)| *i == id) {
                    Some((_, o, seen)) => {
                        graph[*o].variants.push(v);
                        seen.push(lines);
                        *o
                    }
                    None => {
                        let o = graph.add_node(OverviewNode { role: t.graph[n].role(), lines: Vec::new(), variants: vec![v] });
                        by_identity.push((id, o, vec![lines]));
                        o
                    }
                };
                index.insert(n, o);
            }
            for e in t.graph.edge_indices() {
                let (a, b) = t.graph.edge_endpoints(e).expect("edge");
                let (a, b) = (index[&a], index[&b]);
                let label = t.graph[e].label();
                match graph.find_edge(a, b) {
                    Some(oe) => {
                        let hop = &mut graph[oe];
                        hop.variants.push(v);
                        if !label.is_empty() && !hop.label.split(" / ").any(|l| l == label) {
                            if !hop.label.is_empty() {
                                hop.label.push_str(" / ");
                            }
                            hop.label.push_str(&label);
                        }
                    }
                    None => {
                        graph.add_edge(a, b, OverviewHop { label, variants: vec![v] });
                    }
                }
            }
        }
        for (_, o, seen) in by_identity {
            let longest = seen.iter().map(Vec::len).max().unwrap_or(0);
            graph[o].lines = (0..longest)
                .map(|i| {
                    let mut distinct: Vec<&str> = Vec::new();
                    for line in seen.iter().filter_map(|l| l.get(i)) {
                        if !distinct.contains(&line.as_str()) {
                            distinct.push(line);
                        }
                    }
                    distinct.join(" / ")
                })
                .collect();
        }
        Overview { variants: names, graph }.with_server_runs_merged()
    }

    /// In a fleet of more than ten servers, three or more in a row that the same
    /// variants have, with the same cores, become one node ("server-5 to server-16"),
    /// so a fleet that one variant grows does not fill the picture with identical boxes.
    fn with_server_runs_merged(self) -> Overview {
        let g = &self.graph;
        let is_server = |n: NodeIndex| g[n].role == Role::Server;
        let cores = |n: NodeIndex| g[n].lines.first().and_then(|l| l.find(" (").map(|i| l[i..].to_string())).unwrap_or_default();
        let name = |n: NodeIndex| g[n].lines.first().map(|l| l.split(" (").next().unwrap_or(l).to_string()).unwrap_or_default();
        let mut runs: Vec<Vec<NodeIndex>> = Vec::new();
        for n in g.node_indices() {
            match runs.last_mut() {
                Some(run) if is_server(n) && is_server(run[0]) && g[run[0]].variants == g[n].variants && cores(run[0]) == cores(n) => run.push(n),
                _ => runs.push(vec![n]),
            }
        }
        if g.node_indices().filter(|&n| is_server(n)).count() <= 10 || runs.iter().all(|r| r.len() < 3) {
            return self;
        }
        let mut graph: Graph<OverviewNode, OverviewHop> = Graph::new();
        let mut to_new = std::collections::BTreeMap::new();
        for run in runs {
            let first = run[0];
            let node = if run.len() >= 3 {
                let last = *run.last().expect("a run");
                let lines = vec![format!("{} to {}", name(first), name(last)), format!("{} servers{}", run.len(), cores(first))];
                OverviewNode { role: Role::Server, lines, variants: g[first].variants.clone() }
            } else {
                g[first].clone()
            };
            let new = graph.add_node(node);
            for &n in &run {
                to_new.insert(n, new);
            }
        }
        for e in g.edge_indices() {
            let (a, b) = g.edge_endpoints(e).expect("edge");
            let (a, b) = (to_new[&a], to_new[&b]);
            if graph.find_edge(a, b).is_none() {
                graph.add_edge(a, b, g[e].clone());
            }
        }
        Overview { variants: self.variants, graph }
    }

    /// The nodes in columns from clients to back ends, each column in the order the
    /// nodes first appear.
    pub fn layers(&self) -> Vec<Vec<NodeIndex>> {
        let roles = [Role::Clients, Role::Balancer, Role::Server, Role::Backend, Role::Worker];
        roles.iter().map(|&r| self.graph.node_indices().filter(|&n| self.graph[n].role == r).collect::<Vec<_>>()).filter(|l| !l.is_empty()).collect()
    }

    /// The names of the variants that have node `n`, or `None` when every variant has it.
    pub fn only_in(&self, n: NodeIndex) -> Option<Vec<&str>> {
        let v = &self.graph[n].variants;
        (v.len() < self.variants.len()).then(|| v.iter().map(|&i| self.variants[i].as_str()).collect())
    }

    /// Graphviz DOT text of the overview; a node or hop that only some variants have
    /// names them.
    pub fn to_dot(&self) -> String {
        let only = |variants: &[usize]| {
            if variants.len() == self.variants.len() {
                String::new()
            } else {
                let names: Vec<&str> = variants.iter().map(|&i| self.variants[i].as_str()).collect();
                format!("\\nonly in {}", names.join(", "))
            }
        };
        let mut s = String::from("digraph {\n");
        for n in self.graph.node_indices() {
            let node = &self.graph[n];
            let label = node.lines.join("\\n").replace('"', "'");
            writeln!(s, "    {} [label=\"{label}{}\" shape=box]", n.index(), only(&node.variants)).expect("write to string");
        }
        for e in self.graph.edge_indices() {
            let (a, b) = self.graph.edge_endpoints(e).expect("edge");
            let hop = &self.graph[e];
            writeln!(s, "    {} -> {} [label=\"{}\"]", a.index(), b.index(), hop.label.replace('"', "'")).expect("write to string");
        }
        s.push_str("}\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_file;

    fn overview(model: &str) -> Overview {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(format!("{model}.toml"));
        let model = load_file(&path, &[]).expect("a bundled model loads");
        Overview::new(model.variants.iter().map(|v| (v.name.as_str(), &v.system)))
    }

    fn node(o: &Overview, first_line: &str) -> NodeIndex {
        o.graph.node_indices().find(|&n| o.graph[n].lines[0] == first_line).unwrap_or_else(|| panic!("a node {first_line}"))
    }

    #[test]
    fn every_variants_nodes_are_drawn_once_with_the_variants_that_have_them() {
        let o = overview("rate-limits");
        assert_eq!(o.variants.len(), 16);
        let redis = node(&o, "Redis");
        let with_redis = o.only_in(redis).expect("not every variant uses Redis");
        assert!(with_redis.iter().all(|v| v.starts_with("redis") || v.starts_with("playbook-redis")) && with_redis.len() == 12, "{with_redis:?}");
        assert_eq!(o.only_in(node(&o, "load balancer")), None, "every variant has the load balancer");
        // The policies of the variants, each once.
        assert_eq!(o.graph[node(&o, "load balancer")].lines[1], "round-robin / random / ip-hash");
        assert_eq!(o.graph.node_indices().filter(|&n| o.graph[n].lines[0] == "Redis").count(), 1);
    }

    #[test]
    fn the_abuser_the_gateway_and_the_workers_links_are_in_the_graph() {
        let o = overview("rate-limits");
        let (abuser, lb) = (node(&o, "abusive client"), node(&o, "load balancer"));
        assert!(o.graph.find_edge(abuser, lb).is_some(), "the abuser sends to the load balancer");

        let o = overview("websockets");
        let gateway = node(&o, "WebSocket gateway");
        assert_eq!(o.only_in(gateway), Some(vec!["gateway", "gateway-node-dies"]));
        assert!(o.graph.neighbors(gateway).any(|n| o.graph[n].role == Role::Server), "the gateway calls the servers");

        let o = overview("long-jobs");
        let workers = o.graph.node_indices().find(|&n| o.graph[n].role == Role::Worker).expect("workers");
        let writes: Vec<&str> = o.graph.neighbors(workers).map(|n| o.graph[n].lines[0].as_str()).collect();
        assert!(writes.contains(&"S3") && writes.contains(&"database"), "workers write results to S3 and status to the database: {writes:?}");
        assert!(o.graph.find_edge(node(&o, "job queue"), workers).is_some());
    }

    #[test]
    fn a_long_run_of_alike_servers_is_one_node_and_a_short_fleet_is_not() {
        let o = overview("websockets");
        let run = node(&o, "server-5 to server-16");
        assert_eq!(o.graph[run].lines[1], "12 servers (4 cores)");
        assert_eq!(o.only_in(run), Some(vec!["pubsub-16-servers", "playbook-1000-servers-fanout", "playbook-1000-servers-per-user-channels"]));
        let rest = node(&o, "server-17 to server-1000");
        assert_eq!(o.graph[rest].lines[1], "984 servers (4 cores)");
        assert_eq!(o.only_in(rest), Some(vec!["playbook-1000-servers-fanout", "playbook-1000-servers-per-user-channels"]));
        let o = overview("crash-test");
        assert_eq!(o.graph.node_indices().filter(|&n| o.graph[n].role == Role::Server).count(), 10);
        assert!(o.to_dot().contains("server-10"));
    }
}
