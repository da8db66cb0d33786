//! [`Host`]: a network namespace standing for another machine — its own
//! loopback, one veth pair to the test's namespace with addresses the test
//! kit assigns (`10.77.N.2` inside, `10.77.N.1` on the test's side), a default
//! route through it. Processes started with [`Host::command`] see only that
//! network: they reach PostgreSQL through a proxy the test binds on the
//! host's side (a [`crate::StallProxy`] at [`Host::gateway`]), so the test
//! decides when the host is partitioned. Traffic never leaves the machine.
//!
//! Invariants: needs root (`ip netns`); names carry the test process's id,
//! so concurrent test processes never collide, and namespaces of test
//! processes that died are deleted by the next one; dropping a `Host`
//! deletes its namespace (which deletes the veth pair with it).

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

const PREFIX: &str = "oncely-";

/// A network namespace with a veth pair to the test's namespace.
#[derive(Debug)]
pub struct Host {
    name: String,
    gateway: Ipv4Addr,
    address: Ipv4Addr,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running ip {}: {e} (install iproute2)", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {} failed: {} (network namespaces need root)",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Host {
    /// Creates host number `index` (0..=63) of this test process.
    pub fn create(index: u8) -> Result<Host, String> {
        if index > 63 {
            return Err("at most 64 hosts per test process".into());
        }
        remove_stale();
        let pid = std::process::id();
        let name = format!("{PREFIX}{pid}-{index}");
        // Interface names: at most 15 bytes.
        let outside = format!("ov{}h{index}", pid % 100_000);
        let inside = format!("ov{}n{index}", pid % 100_000);
        // One /30 per host: 64 per process, 4 processes' worth of subnets
        // before two could meet (the pid picks the block).
        let block = (pid % 4) as u8 * 64 + index;
        let gateway = Ipv4Addr::new(10, 77, block, 1);
        let address = Ipv4Addr::new(10, 77, block, 2);
        let _ = ip(&["netns", "del", &name]);
        ip(&["netns", "add", &name])?;
        let host = Host {
            name,
            gateway,
            address,
        };
        let cidr = |a: Ipv4Addr| format!("{a}/30");
        ip(&[
            "link", "add", &outside, "type", "veth", "peer", "name", &inside,
        ])?;
        ip(&["link", "set", &inside, "netns", &host.name])?;
        ip(&["addr", "add", &cidr(gateway), "dev", &outside])?;
        ip(&["link", "set", &outside, "up"])?;
        let inns = |args: &[&str]| {
            let mut all = vec!["netns", "exec", host.name.as_str(), "ip"];
            all.extend_from_slice(args);
            ip(&all)
        };
        inns(&["addr", "add", &cidr(address), "dev", &inside])?;
        inns(&["link", "set", &inside, "up"])?;
        inns(&["link", "set", "lo", "up"])?;
        inns(&["route", "add", "default", "via", &gateway.to_string()])?;
        Ok(host)
    }

    /// The test's end of the veth pair: bind what this host may reach here.
    pub fn gateway(&self) -> Ipv4Addr {
        self.gateway
    }

    /// The host's own address.
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// `program` to run inside this host's namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = ip(&["netns", "del", &self.name]);
    }
}

/// Deletes namespaces of test processes that no longer run.
fn remove_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
        else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !std::path::Path::new("/proc").join(pid).exists() {
            let _ = ip(&["netns", "del", name]);
        }
    }
}
