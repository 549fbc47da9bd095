//! The client population: who the users are and which public IP each one shows.
//!
//! Users `0..users` are numbered; the first users belong to the proxy groups in order
//! (a group of `u` users and `k` IPs gives user `j` of the group IP `j mod k`), and every
//! other user has an IP of its own. Nothing is stored per user for this.

use crate::scenario::model::ClientSpec;

#[derive(Clone, Debug)]
pub struct Population {
    pub users: u32,
    /// (first user, users, first IP, IPs) per proxy group.
    groups: Vec<(u32, u32, u32, u32)>,
    /// First user not behind a proxy, and the first IP given to such users.
    direct_from: u32,
    direct_ip: u32,
}

impl Population {
    pub fn new(spec: &ClientSpec) -> Population {
        let mut groups = Vec::new();
        let (mut user, mut ip) = (0u32, 0u32);
        for g in &spec.proxies {
            groups.push((user, g.users as u32, ip, g.ips as u32));
            user += g.users as u32;
            ip += g.ips as u32;
        }
        Population { users: spec.users as u32, groups, direct_from: user, direct_ip: ip }
    }

    /// The public IP (as a number) that user `user` connects from.
    #[inline]
    pub fn ip_of(&self, user: u32) -> u32 {
        if user >= self.direct_from {
            return self.direct_ip + (user - self.direct_from);
        }
        for &(first, n, ip0, ips) in &self.groups {
            if user < first + n {
                return ip0 + (user - first) % ips;
            }
        }
        unreachable!("user below direct_from belongs to a group")
    }

    /// Whether a user is behind a proxy group (they are numbered first).
    pub fn proxied(&self, user: u32) -> bool {
        user < self.direct_from
    }

    /// Whether the population has proxy groups.
    pub fn has_proxies(&self) -> bool {
        !self.groups.is_empty()
    }

    /// The proxy group a user is behind, if any.
    pub fn group_of(&self, user: u32) -> Option<usize> {
        self.groups.iter().position(|&(first, n, _, _)| user >= first && user < first + n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::{ProxyGroup, Workload};

    #[test]
    fn proxied_users_share_ips_others_do_not() {
        let spec = ClientSpec {
            users: 10,
            workload: Workload::Open { rate_per_sec: 1.0 },
            timeout: None,
            proxies: vec![ProxyGroup { name: "nat".into(), users: 4, ips: 2 }],
            idempotent_share: 0.0,
            abuser: None,
            profile: None,
        };
        let p = Population::new(&spec);
        let ips: Vec<u32> = (0..10).map(|u| p.ip_of(u)).collect();
        assert_eq!(ips, [0, 1, 0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(p.group_of(3), Some(0));
        assert_eq!(p.group_of(4), None);
    }
}
