//! Child processes the testbed starts (redis-server, haproxy, its web servers): each is
//! registered so that it is stopped when the testbed ends, fails or gets Ctrl-C.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// A started process, killed when dropped.
pub struct Proc {
    child: Child,
}

impl Proc {
    /// Starts `cmd`; its stderr goes to `log` when given.
    pub fn spawn(name: &str, cmd: &mut Command, log: Option<&std::path::Path>) -> Result<Proc, String> {
        let err = match log.and_then(|p| std::fs::File::create(p).ok()) {
            Some(f) => Stdio::from(f),
            None => Stdio::null(),
        };
        let child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(err).spawn().map_err(|e| format!("cannot start {name}: {e}"))?;
        CHILDREN.lock().unwrap().push(child.id());
        Ok(Proc { child })
    }

    /// The exit status, if the process has ended.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL now (the fault), and reap it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        CHILDREN.lock().unwrap().retain(|&p| p != self.child.id());
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// On SIGINT or SIGTERM: kill every registered child, then exit 130 or 143.
pub fn stop_children_on_signals() {
    if let Ok(mut signals) = signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM]) {
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                for &pid in CHILDREN.lock().unwrap().iter() {
                    // SAFETY: kill(2) on a pid this process started and has not reaped.
                    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                }
                eprintln!("interrupted: every process the testbed started was stopped");
                std::process::exit(128 + signal);
            }
        });
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago. Only a hint: another socket can
/// take it before the process it is meant for binds it, which `spawn_listening` survives.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free loopback port")
}

/// How many ports `spawn_listening` tries before it gives up.
const PORT_ATTEMPTS: u32 = 5;

/// Starts the server that `command_for(port)` builds on a free loopback port and waits
/// until it accepts connections there. A free port is only free until someone takes it (a
/// connection's local port can land on it between the check and the server's bind), so
/// when the server exits before it listens, it is started again on a fresh port, up to
/// `PORT_ATTEMPTS` times. A server that stays up but does not listen within `within` is
/// an error at once. Returns the process and its port.
pub fn spawn_listening(
    name: &str,
    log: Option<&std::path::Path>,
    within: Duration,
    mut command_for: impl FnMut(u16) -> Result<Command, String>,
) -> Result<(Proc, u16), String> {
    let mut exits = Vec::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut p = Proc::spawn(name, &mut command_for(port)?, log)?;
        let start = Instant::now();
        loop {
            let answered = std::net::TcpStream::connect(&addr).is_ok();
            // Read after the connect: an answer while this server has exited came from
            // another process that took the port.
            if let Some(status) = p.exited() {
                exits.push(format!("port {port}: {status}"));
                break;
            }
            if answered {
                return Ok((p, port));
            }
            if start.elapsed() >= within {
                return Err(format!("{name} was started but nothing listens on {addr} after {within:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let log = log.map(|l| format!("; its log: {}", l.display())).unwrap_or_default();
    Err(format!("{name} exited before it listened, on {PORT_ATTEMPTS} ports in turn ({}){log}", exits.join(", ")))
}

/// A redis-server on a free loopback port, with no persistence.
pub fn start_redis() -> Result<(Proc, String), String> {
    let (p, port) = spawn_listening("redis-server", None, Duration::from_secs(5), |port| Ok(redis_command(port)))?;
    Ok((p, format!("127.0.0.1:{port}")))
}

/// redis-server on 127.0.0.1:`port`, with no persistence, run from the temporary directory.
fn redis_command(port: u16) -> Command {
    let mut cmd = Command::new("redis-server");
    cmd.args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no", "--protected-mode", "yes"])
        .current_dir(std::env::temp_dir());
    cmd
}

/// Whether a program is on the PATH (or at an absolute path).
pub fn have(program: &str) -> bool {
    Command::new(program).arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The race the testbed met in CI: the port `free_port` found is taken before the
    /// server binds it (here by a bound socket that does not listen, as a connection's
    /// local port would), so the server exits. It must come up on a fresh port.
    #[test]
    fn a_testbed_server_whose_port_was_taken_comes_up_on_a_fresh_port() {
        if !have("redis-server") {
            assert!(std::env::var_os("CI").is_none(), "redis-server is not installed, and CI needs this test to run");
            eprintln!("skipped: redis-server is not installed");
            return;
        }
        let mut taken = None;
        let (mut redis, port) = spawn_listening("redis-server", None, Duration::from_secs(5), |port| {
            if taken.is_none() {
                let squatter = tokio::net::TcpSocket::new_v4().map_err(|e| e.to_string())?;
                squatter.bind(([127, 0, 0, 1], port).into()).map_err(|e| e.to_string())?;
                taken = Some((port, squatter));
            }
            Ok(redis_command(port))
        })
        .expect("redis-server comes up on a second port");
        let (taken_port, _squatter) = taken.expect("the first port was taken");
        assert_ne!(port, taken_port, "the server was handed the taken port");
        assert!(redis.exited().is_none(), "the server that listens is the one returned");
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    }
}
