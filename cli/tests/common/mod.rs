//! Helpers shared by the binary's integration tests: an isolated `ferry` command and
//! `ferry serve` on a free port.
// Each test crate uses its own subset of these helpers.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The binary under test.
pub const FERRY: &str = env!("CARGO_BIN_EXE_ferry");
/// The keys `ferry serve` is started with.
pub const KEY: &str = "FERRYTESTKEY00000000";
pub const SECRET: &str = "ferrytestsecret0000000000000000000000000";

/// How many times, 50 ms apart, to try connecting to a starting `ferry serve`.
const LISTEN_POLLS: usize = 400;

/// A `ferry` command isolated from the user's AWS files and variables (its state directory
/// is `HOME/.local/state/ferry`). EC2 instance metadata is switched off, so that a command
/// without keys never asks 169.254.169.254.
pub fn ferry(home: &Path) -> Command {
    let mut cmd = Command::new(FERRY);
    cmd.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

/// Runs `cmd` to the end, capturing its output.
pub fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output().expect("ferry runs")
}

/// A [`ferry`] command signing with [`KEY`] for `server`.
pub fn client(home: &Path, server: &Server) -> Command {
    let mut cmd = ferry(home);
    cmd.env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_ENDPOINT_URL", &server.url);
    cmd
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `ferry serve` on a free port, with [`KEY`] and [`SECRET`]; killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `ferry serve` for `root` and waits until it accepts connections.
pub fn serve(home: &Path, root: &Path) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = ferry(home)
        .args(["serve", "--root"])
        .arg(root)
        .args([
            "--address",
            &format!("127.0.0.1:{port}"),
            "--access-key",
            KEY,
        ])
        .env("FERRY_SERVE_SECRET_KEY", SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ferry serve starts");
    let listening = (0..LISTEN_POLLS).any(|_| {
        let up = TcpStream::connect(("127.0.0.1", port)).is_ok();
        if !up {
            std::thread::sleep(Duration::from_millis(50));
        }
        up
    });
    assert!(listening, "ferry serve did not listen on port {port}");
    Server {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        url: format!("http://127.0.0.1:{port}"),
    }
}
