//! `tls` of a webhook (docs/api.md §17): a client certificate for mutual TLS and CA
//! certificates that replace the public roots. PEM is parsed, and the key matched to the
//! certificate, when the webhook is written, so a stored configuration always builds a client.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::api::field::ObjectFields;
use crate::error::FieldError;

/// Each PEM field's size limit: a certificate chain or a CA bundle of a few dozen roots.
const MAX_PEM: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TlsConfig {
    /// The client certificate (chain), end-entity first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<String>,
    /// Its private key (PKCS#8, PKCS#1 or SEC1 PEM). Write-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
    /// Roots the receiver's certificate must chain to, instead of the public ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificates: Option<String>,
}

/// `tls` as responses show it: the key only as `client_key_set`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TlsView {
    pub client_certificate: Option<String>,
    pub client_key_set: bool,
    pub ca_certificates: Option<String>,
}

impl From<&TlsConfig> for TlsView {
    fn from(t: &TlsConfig) -> TlsView {
        TlsView {
            client_certificate: t.client_certificate.clone(),
            client_key_set: t.client_key.is_some(),
            ca_certificates: t.ca_certificates.clone(),
        }
    }
}

impl TlsConfig {
    /// What tells two configurations apart: deliveries with equal fingerprints share a client.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        for part in [&self.client_certificate, &self.client_key, &self.ca_certificates] {
            let text = part.as_deref().unwrap_or_default();
            h.update((text.len() as u64).to_be_bytes());
            h.update(text.as_bytes());
        }
        h.finalize().into()
    }

    /// The `tls` to store after a change: a `PATCH` that gives a certificate but no key keeps
    /// the stored key (it is write-only, so a form cannot send it back).
    pub fn merge(self, stored: Option<&TlsConfig>) -> TlsConfig {
        let client_key = match (&self.client_key, &self.client_certificate, stored) {
            (None, Some(_), Some(old)) => old.client_key.clone(),
            _ => self.client_key,
        };
        TlsConfig { client_key, ..self }
    }

    /// The client identity for reqwest: certificate chain and key, as one PEM.
    pub fn identity_pem(&self) -> Option<Vec<u8>> {
        let (cert, key) = (self.client_certificate.as_deref()?, self.client_key.as_deref()?);
        Some(format!("{cert}\n{key}\n").into_bytes())
    }
}

fn certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem.as_bytes()).collect();
    match certs {
        Ok(c) if !c.is_empty() => Ok(c),
        Ok(_) => Err("must contain a PEM certificate (-----BEGIN CERTIFICATE-----)".into()),
        Err(e) => Err(format!("is not valid PEM: {e}")),
    }
}

fn private_key(pem: &str) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes())
        .map_err(|_| "must be a PEM private key (PKCS#8, PKCS#1 or SEC1: -----BEGIN PRIVATE KEY-----)".to_string())
}

fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

fn pem_field(s: &str, parse: impl FnOnce(&str) -> Result<(), String>) -> Result<(), String> {
    if s.len() > MAX_PEM {
        return Err(format!("must be at most {} KiB", MAX_PEM / 1024));
    }
    parse(s)
}

/// Each certificate of `pem` as a trust anchor, or why one cannot be.
fn check_roots(pem: &str) -> Result<(), String> {
    let mut store = rustls::RootCertStore::empty();
    for (i, der) in certificates(pem)?.into_iter().enumerate() {
        store.add(der).map_err(|e| format!("certificate {} is not a usable CA certificate: {e}", i + 1))?;
    }
    Ok(())
}

/// Checks a `tls` object's shape and each PEM on its own, as `tls/<field>`; whether the key
/// matches the certificate is `check_complete`'s (it needs the stored key on a `PATCH`).
pub fn parse_tls(v: &Value) -> Result<TlsConfig, Vec<(String, String)>> {
    let Some(obj) = v.as_object() else {
        return Err(vec![("tls".into(), "must be an object or null".into())]);
    };
    let mut errors = Vec::new();
    let mut f = ObjectFields { object: "tls", obj, errors: &mut errors };
    f.only(&["client_certificate", "client_key", "ca_certificates"], &["client_key_set"]);
    let client_certificate = f.get("client_certificate", false, |s| pem_field(s, |s| certificates(s).map(|_| ())));
    let client_key = f.get("client_key", false, |s| {
        pem_field(s, |s| {
            let key = private_key(s)?;
            provider()
                .key_provider
                .load_private_key(key)
                .map(|_| ())
                .map_err(|_| "is not a supported private key (RSA, ECDSA P-256/P-384 or Ed25519)".to_string())
        })
    });
    let ca_certificates = f.get("ca_certificates", false, |s| pem_field(s, check_roots));
    if errors.is_empty() {
        Ok(TlsConfig { client_certificate, client_key, ca_certificates })
    } else {
        Err(errors)
    }
}

/// A `tls` to store: a certificate and its key together, the key the certificate's, and at
/// least something to do.
pub fn check_complete(t: &TlsConfig) -> Vec<FieldError> {
    match (&t.client_certificate, &t.client_key) {
        (Some(cert), Some(key)) => {
            let (Ok(certs), Ok(key)) = (certificates(cert), private_key(key)) else {
                return vec![FieldError::new("tls/client_key", "could not be read")];
            };
            match rustls::sign::CertifiedKey::from_der(certs, key, &provider()) {
                Ok(_) => Vec::new(),
                Err(rustls::Error::InconsistentKeys(_)) => {
                    vec![FieldError::new("tls/client_key", "does not match client_certificate")]
                }
                Err(e) => vec![FieldError::new("tls/client_certificate", format!("could not be used: {e}"))],
            }
        }
        (Some(_), None) => vec![FieldError::new("tls/client_key", "is required with client_certificate")],
        (None, Some(_)) => vec![FieldError::new("tls/client_certificate", "is required with client_key")],
        (None, None) if t.ca_certificates.is_none() => {
            vec![FieldError::new("tls", "needs client_certificate and client_key, ca_certificates, or both")]
        }
        (None, None) => Vec::new(),
    }
}

/// An HTTP client builder set up for `t`: the client certificate presented, and the given CA
/// certificates as the only roots.
pub fn configure(builder: reqwest::ClientBuilder, t: &TlsConfig) -> Result<reqwest::ClientBuilder, String> {
    let mut builder = builder;
    if let Some(pem) = t.identity_pem() {
        builder = builder.identity(reqwest::Identity::from_pem(&pem).map_err(|e| e.to_string())?);
    }
    if let Some(ca) = &t.ca_certificates {
        let roots = reqwest::Certificate::from_pem_bundle(ca.as_bytes()).map_err(|e| e.to_string())?;
        builder = builder.tls_certs_only(roots);
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pair() -> (String, String) {
        let k = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["client.test".into()]).unwrap().self_signed(&k).unwrap();
        (cert.pem(), k.serialize_pem())
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_certificate_and_its_key_pass() {
        let (cert, key) = pair();
        let t = parse_tls(&json!({"client_certificate": cert, "client_key": key, "ca_certificates": cert})).unwrap();
        assert!(check_complete(&t).is_empty());
        assert!(configure(reqwest::Client::builder(), &t).unwrap().build().is_ok());
    }

    #[test]
    fn a_key_of_another_certificate_is_refused_on_client_key() {
        let (cert, _) = pair();
        let (_, other_key) = pair();
        let t = parse_tls(&json!({"client_certificate": cert, "client_key": other_key})).unwrap();
        assert_eq!(fields(check_complete(&t)), ["tls/client_key"]);
    }

    #[test]
    fn bad_pem_is_refused_on_its_field() {
        let (cert, key) = pair();
        let errors = parse_tls(&json!({"client_certificate": "hello", "client_key": cert, "ca_certificates": key}))
            .expect_err("refused");
        let named: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(named, ["tls/client_certificate", "tls/client_key", "tls/ca_certificates"]);
        let errors = parse_tls(&json!({"client_certificate": cert, "extra": 1})).expect_err("refused");
        assert_eq!(errors[0].0, "tls/extra");
    }

    #[test]
    fn halves_and_nothing_are_refused() {
        let (cert, key) = pair();
        let only_cert = TlsConfig { client_certificate: Some(cert), ..TlsConfig::default() };
        assert_eq!(fields(check_complete(&only_cert)), ["tls/client_key"]);
        let only_key = TlsConfig { client_key: Some(key), ..TlsConfig::default() };
        assert_eq!(fields(check_complete(&only_key)), ["tls/client_certificate"]);
        assert_eq!(fields(check_complete(&TlsConfig::default())), ["tls"]);
    }

    #[test]
    fn a_patch_with_a_certificate_keeps_the_stored_key() {
        let (cert, key) = pair();
        let stored =
            TlsConfig { client_certificate: Some(cert.clone()), client_key: Some(key.clone()), ca_certificates: None };
        let change = TlsConfig { client_certificate: Some(cert), client_key: None, ca_certificates: None };
        assert_eq!(change.merge(Some(&stored)), stored);
        assert_ne!(stored.fingerprint(), TlsConfig::default().fingerprint());
    }
}
