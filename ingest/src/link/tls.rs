//! TLS for what crosses a network: the console's HTTPS, the broker's remote listener and the
//! patrol unit's connection to the centre. rustls on ring only (no OpenSSL).
//!
//! A centre brings its own certificate (`--tls-cert FILE --tls-key FILE`, PEM), or on first
//! start outside loopback Tidewatch makes a self-signed one, keeps it in the data directory
//! (the key readable by its owner only) and prints its SHA-256 fingerprint: patrol units and
//! browsers pin or check that fingerprint, since no public authority vouches for it.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};

/// The crypto provider every TLS configuration of Tidewatch uses.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate chain and its private key, as a server presents them.
#[derive(Debug)]
pub struct Identity {
    /// The chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
    /// Where it came from, for the operator (`--tls-cert FILE`, or the generated file).
    pub source: String,
    /// True when Tidewatch made it (self-signed): clients pin its fingerprint.
    pub self_signed: bool,
}

impl Identity {
    /// Read a PEM certificate chain and private key.
    pub fn load(cert: &Path, key: &Path) -> Result<Identity> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .with_context(|| format!("{}: cannot read the certificate", cert.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}: not a PEM certificate chain", cert.display()))?;
        if chain.is_empty() {
            bail!("{}: no certificate in it", cert.display());
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .with_context(|| format!("{}: not a PEM private key", key.display()))?;
        let id = Identity {
            chain,
            key,
            source: cert.display().to_string(),
            self_signed: false,
        };
        // Refused at start, naming the files, rather than at the first client.
        id.server_config()
            .with_context(|| format!("{} does not go with its key", cert.display()))?;
        Ok(id)
    }

    /// The identity kept in `dir` (`cert.pem`, `key.pem`), made there first if there is none:
    /// self-signed for `names` (host names or addresses), valid ten years.
    pub fn self_signed_in(dir: &Path, names: &[String]) -> Result<Identity> {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        if !cert.exists() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let (cert_pem, key_pem) = make_self_signed(names)?;
            write_private(&key, key_pem.as_bytes())?;
            std::fs::write(&cert, cert_pem)
                .with_context(|| format!("cannot write {}", cert.display()))?;
        }
        let mut id = Identity::load(&cert, &key)?;
        id.self_signed = true;
        Ok(id)
    }

    /// A self-signed identity for `names`, kept nowhere (a console without a data
    /// directory).
    pub fn self_signed_ephemeral(names: &[String]) -> Result<Identity> {
        let (cert_pem, key_pem) = make_self_signed(names)?;
        Ok(Identity {
            chain: vec![CertificateDer::from_pem_slice(cert_pem.as_bytes())?],
            key: PrivateKeyDer::from_pem_slice(key_pem.as_bytes())?,
            source: "made at start, kept nowhere".into(),
            self_signed: true,
        })
    }

    /// SHA-256 of the leaf certificate (DER), as `AB:CD:…` (what `openssl x509 -noout
    /// -fingerprint -sha256` prints).
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.chain[0])
    }

    /// A rustls server configuration presenting this identity (TLS 1.2 and 1.3), offering
    /// `alpn` protocols.
    pub fn server_config_alpn(&self, alpn: &[&[u8]]) -> Result<rustls::ServerConfig> {
        let mut c = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())?;
        c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(c)
    }

    /// [`Identity::server_config_alpn`] without ALPN.
    pub fn server_config(&self) -> Result<rustls::ServerConfig> {
        self.server_config_alpn(&[])
    }
}

/// SHA-256 of a certificate (DER), `AB:CD:…`.
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    Sha256::digest(cert.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A fingerprint as given by an operator (`AB:CD:…`, or plain hex, any case), normalised
/// to `AB:CD:…`; an error when it is not 32 bytes of hex.
pub fn parse_fingerprint(s: &str) -> Result<String> {
    let hex: String = s
        .trim()
        .chars()
        .filter(|c| *c != ':')
        .collect::<String>()
        .to_ascii_uppercase();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("{s:?} is not a SHA-256 fingerprint (64 hex digits, colons allowed)");
    }
    Ok(hex
        .as_bytes()
        .chunks(2)
        .map(|c| std::str::from_utf8(c).expect("hex is ASCII"))
        .collect::<Vec<_>>()
        .join(":"))
}

fn make_self_signed(names: &[String]) -> Result<(String, String)> {
    let mut names: Vec<String> = names.to_vec();
    for n in ["localhost", "127.0.0.1", "::1"] {
        if !names.iter().any(|x| x == n) {
            names.push(n.to_owned());
        }
    }
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .context("cannot make a key pair")?;
    let mut params = rcgen::CertificateParams::new(names).context("the certificate's names")?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Tidewatch (self-signed)");
    let now = jiff::Timestamp::now();
    let (y, m, d) = {
        let z = now.to_zoned(jiff::tz::TimeZone::UTC);
        (z.year() as i32, z.month() as u8, z.day() as u8)
    };
    params.not_before = rcgen::date_time_ymd(y, m, d);
    params.not_after = rcgen::date_time_ymd(y + 10, m, d.min(28));
    let cert = params
        .self_signed(&key)
        .context("cannot sign the certificate")?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Write a secret file readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// True for a loopback address: the only place plain (unencrypted) listeners are allowed.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// The names a self-signed certificate for a listener on `addr` should carry: its address
/// when it is a specific one, and the machine's host name.
pub fn names_for(addr: &SocketAddr) -> Vec<String> {
    let mut v = Vec::new();
    if !addr.ip().is_unspecified() {
        v.push(addr.ip().to_string());
    }
    if let Ok(h) = std::fs::read_to_string("/etc/hostname") {
        let h = h.trim();
        if !h.is_empty() && rcgen::CertificateParams::new(vec![h.to_owned()]).is_ok() {
            v.push(h.to_owned());
        }
    }
    v
}

/// How a server on `addr` is secured: the operator's certificate when given; none on
/// loopback; otherwise the self-signed identity kept in `dir` (made on first start), or one
/// made for this run when there is no `dir`.
pub fn for_listener(
    addr: &SocketAddr,
    files: Option<(&Path, &Path)>,
    dir: Option<&Path>,
) -> Result<Option<Identity>> {
    match files {
        Some((cert, key)) => Identity::load(cert, key).map(Some),
        None if is_loopback(addr) => Ok(None),
        None => match dir {
            Some(d) => Identity::self_signed_in(d, &names_for(addr)).map(Some),
            None => Identity::self_signed_ephemeral(&names_for(addr)).map(Some),
        },
    }
}

/// Where the self-signed identity is kept under a data directory.
pub fn default_dir(data: &Path) -> PathBuf {
    data.join("tls")
}

/// A client configuration that trusts exactly one certificate, named by its SHA-256
/// fingerprint (a centre's self-signed certificate, carried to the vessel with its
/// credentials): no authority, no name check, the pin alone.
pub fn pinned_client_config(fingerprint_sha256: &str) -> Result<rustls::ClientConfig> {
    let pin = parse_fingerprint(fingerprint_sha256)?;
    let verifier = Arc::new(Pinned {
        pin,
        provider: provider(),
    });
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// Accepts the one certificate whose fingerprint is pinned, and checks the handshake's
/// signatures with it.
#[derive(Debug)]
struct Pinned {
    pin: String,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let got = fingerprint(end_entity);
        if got == self.pin {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the server's certificate has fingerprint {got}, not the pinned {}",
                self.pin
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The address a listener's clients would use to reach `addr` (loopback for an unspecified
/// address), for messages to the operator.
pub fn reachable(addr: &SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        let ip: IpAddr = if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        };
        SocketAddr::new(ip, addr.port())
    } else {
        *addr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_identity_is_made_once_kept_private_and_pinned_by_its_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let addr: SocketAddr = "0.0.0.0:8443".parse().unwrap();
        let a = for_listener(&addr, None, Some(dir.path()))
            .unwrap()
            .unwrap();
        let b = for_listener(&addr, None, Some(dir.path()))
            .unwrap()
            .unwrap();
        assert!(a.self_signed);
        assert_eq!(a.fingerprint(), b.fingerprint(), "kept, not made again");
        assert_eq!(a.fingerprint().len(), 95);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key is its owner's alone: {mode:o}");
        }
        // Loopback stays plain unless a certificate is given.
        let lo: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert!(for_listener(&lo, None, Some(dir.path())).unwrap().is_none());
        let given = for_listener(
            &lo,
            Some((&dir.path().join("cert.pem"), &dir.path().join("key.pem"))),
            None,
        )
        .unwrap()
        .unwrap();
        assert!(!given.self_signed);
        assert_eq!(
            parse_fingerprint(&a.fingerprint().replace(':', "").to_lowercase()).unwrap(),
            a.fingerprint()
        );
        assert!(parse_fingerprint("AB:CD").is_err());
    }

    #[test]
    fn a_certificate_that_does_not_go_with_its_key_is_refused_at_start() {
        let d1 = tempfile::tempdir().unwrap();
        let d2 = tempfile::tempdir().unwrap();
        Identity::self_signed_in(d1.path(), &[]).unwrap();
        Identity::self_signed_in(d2.path(), &[]).unwrap();
        let e =
            Identity::load(&d1.path().join("cert.pem"), &d2.path().join("key.pem")).unwrap_err();
        assert!(
            format!("{e:#}").contains("does not go with its key"),
            "{e:#}"
        );
        let e = Identity::load(&d1.path().join("key.pem"), &d1.path().join("key.pem")).unwrap_err();
        assert!(format!("{e:#}").contains("cert"), "{e:#}");
    }
}
