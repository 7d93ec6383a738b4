//! The console over HTTPS, as a centre deploys it: `tidewatch console` on an address outside
//! loopback makes and keeps a self-signed certificate, prints its fingerprint, and serves
//! TLS only (HSTS, secure cookies); a client that pins the printed fingerprint gets in, one
//! that pins another does not, and plain HTTP gets no page.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Console {
    child: Child,
    port: u16,
    fingerprint: String,
    /// The first administrator's one-time password, on a first start.
    password: Option<String>,
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tidewatch console` on every interface (port chosen by the system), until it says where
/// it is and which certificate it serves.
fn console(data: &std::path::Path, extra: &[&str]) -> Console {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args(["console", "--broker", "127.0.0.1:9", "--http", "0.0.0.0:0"])
        .arg("--data")
        .arg(data)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tidewatch starts");
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    // Its stderr, line by line, drained for as long as it runs.
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let (mut port, mut fingerprint, mut password) = (None, None, None);
    let mut said = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    // Until it says where it is and which certificate it serves, and (on a first start) the
    // administrator's one-time password, which it says right after.
    while port.is_none()
        || fingerprint.is_none()
        || (password.is_none() && !said.contains("(check it"))
    {
        let l = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .unwrap_or_else(|_| panic!("the console did not say where it is: {said}"));
        said.push_str(&l);
        said.push('\n');
        if let Some(rest) = l.trim().strip_prefix("console      -> https://") {
            let addr: std::net::SocketAddr = rest.trim_end_matches('/').parse().unwrap();
            port = Some(addr.port());
        }
        if let Some(f) = l.trim().strip_prefix("certificate  -> SHA-256 ") {
            fingerprint = Some(f.trim().to_owned());
        }
        assert!(
            !l.contains("console      -> http://"),
            "plain HTTP outside loopback: {said}"
        );
    }
    // On a first start the password follows, though not always on the next line: the
    // console's own log lines (its broker is unreachable) may come between (a CI run read
    // one there and failed).
    let until = std::time::Instant::now() + Duration::from_secs(5);
    while let Ok(l) = rx.recv_timeout(until.saturating_duration_since(std::time::Instant::now())) {
        if let Some((_, p)) = l.split_once("one-time password: ") {
            password = Some(p.trim().to_owned());
            break;
        }
    }
    Console {
        child,
        port: port.unwrap(),
        fingerprint: fingerprint.unwrap(),
        password,
    }
}

/// GET `path` over TLS pinning `pin`; the response, or the TLS error.
async fn get(port: u16, pin: &str, path: &str) -> Result<String, String> {
    request(port, pin, "GET", path, "").await
}

/// `method` `path` with a JSON `body` over TLS pinning `pin`; the response, or the TLS error.
async fn request(
    port: u16,
    pin: &str,
    method: &str,
    path: &str,
    body: &str,
) -> Result<String, String> {
    let config = ingest::link::tls::pinned_client_config(pin).map_err(|e| e.to_string())?;
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("tidewatch.invalid").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(
        format!(
            "{method} {path} HTTP/1.1\r\nhost: tidewatch\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut out)).await;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test]
async fn the_console_outside_loopback_serves_https_only_with_the_fingerprint_it_printed() {
    let data = tempfile::tempdir().unwrap();
    let c = console(data.path(), &[]);
    assert_eq!(c.fingerprint.len(), 95, "{}", c.fingerprint);
    // A login over HTTPS sets a Secure cookie.
    let password = c
        .password
        .clone()
        .expect("a first start says the admin's password");
    let r = request(
        c.port,
        &c.fingerprint,
        "POST",
        "/api/login",
        &format!(r#"{{"username":"admin","password":"{password}"}}"#),
    )
    .await
    .unwrap();
    let cookie = r
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("{r}"));
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // The pinned client is served, with HSTS.
    let head = get(c.port, &c.fingerprint, "/api/health").await.unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let lower = head.to_ascii_lowercase();
    for h in [
        "strict-transport-security: max-age=31536000",
        "x-frame-options: deny",
        "x-content-type-options: nosniff",
        "cache-control: no-store",
        "referrer-policy: no-referrer",
    ] {
        assert!(lower.contains(h), "{h}: {head}");
    }
    // Another pin is refused in the handshake.
    let other = support::another_pin(&c.fingerprint);
    let e = get(c.port, &other, "/api/health").await.unwrap_err();
    assert!(e.contains("fingerprint"), "{e}");
    // Plain HTTP on the same port gets no page.
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", c.port))
        .await
        .unwrap();
    tcp.write_all(b"GET /api/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut out)).await;
    assert!(
        !String::from_utf8_lossy(&out).contains("200 OK"),
        "plain HTTP answered"
    );
    // The key is its owner's alone, and the certificate is kept: the same fingerprint
    // after a restart, so patrol units keep their pin.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data.path().join("tls/key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
    let first = c.fingerprint.clone();
    drop(c);
    let c = console(data.path(), &[]);
    assert_eq!(c.fingerprint, first);
    // The console's page itself is served over HTTPS.
    let head = get(c.port, &c.fingerprint, "/").await.unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

#[tokio::test]
async fn a_certificate_given_by_the_centre_is_served_and_a_bad_one_refused_at_start() {
    let data = tempfile::tempdir().unwrap();
    let certs = tempfile::tempdir().unwrap();
    // A centre's own certificate (made here as any CA-less one would be).
    let id = ingest::link::tls::Identity::self_signed_in(certs.path(), &["console.example".into()])
        .unwrap();
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    let c = console(
        data.path(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert_eq!(c.fingerprint, id.fingerprint());
    let head = get(c.port, &c.fingerprint, "/api/health").await.unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        !data.path().join("tls").exists(),
        "no self-signed one is made"
    );
    drop(c);
    // The key given as the certificate: refused at start, naming the file.
    let out = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .args(["console", "--broker", "127.0.0.1:9", "--http", "0.0.0.0:0"])
        .arg("--data")
        .arg(data.path())
        .arg("--tls-cert")
        .arg(&key)
        .arg("--tls-key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("key.pem"), "{said}");
}
