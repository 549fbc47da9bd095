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

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free loopback port")
}

/// Waits until something accepts connections on the address.
pub fn wait_listening(addr: &str, within: Duration) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < within {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("nothing listens on {addr} after {within:?}"))
}

/// A redis-server on a free loopback port, with no persistence.
pub fn start_redis() -> Result<(Proc, String), String> {
    let port = free_port();
    let dir = std::env::temp_dir();
    let p = Proc::spawn(
        "redis-server",
        Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no", "--protected-mode", "yes"])
            .current_dir(dir),
        None,
    )?;
    let addr = format!("127.0.0.1:{port}");
    wait_listening(&addr, Duration::from_secs(5))?;
    Ok((p, addr))
}

/// Whether a program is on the PATH (or at an absolute path).
pub fn have(program: &str) -> bool {
    Command::new(program).arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}
