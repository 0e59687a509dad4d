//! Client certificates (mutual TLS): what a client shows a server that
//! asks for a certificate, like reqwest's `Identity` and httpx's `cert=`.
//!
//! Owns: [`Identity`], the certificate chain and private key given to
//! [`ClientBuilder::client_cert`](crate::ClientBuilder::client_cert), read
//! from PEM and installed in rustls' client settings. Must not: print the
//! key (no `Debug`, and no error quotes its bytes), or decide how a
//! server's refusal reads (that is `tls`).
//!
//! Design: rustls offers the certificate only to a server that asks
//! (`CertificateRequest`); any other server never sees it. The chain is
//! the `CERTIFICATE` sections of its PEM, the client's own first, then
//! the intermediates; the key is the first private key section of its
//! PEM (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or SEC1 `EC
//! PRIVATE KEY`), so one file holding both can be given twice. rustls
//! checks that the key is the certificate's. Everything is checked at
//! [`build`](crate::ClientBuilder::build): a bad PEM, a key of a kind
//! `ring` does not sign with, or a key that is not the certificate's is
//! an error of kind [`Tls`](crate::ErrorKind::Tls) there, not at the
//! first handshake.

use rustls::client::WantsClientCert;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, ConfigBuilder};

use crate::error::{Error, ErrorKind};

/// A client certificate chain and its private key, PEM, as given.
#[derive(Clone)]
pub(crate) struct Identity {
    pub(crate) chain_pem: Vec<u8>,
    pub(crate) key_pem: Vec<u8>,
}

impl Identity {
    /// rustls' client settings presenting this identity.
    pub(crate) fn install(
        &self,
        builder: ConfigBuilder<ClientConfig, WantsClientCert>,
    ) -> Result<ClientConfig, Error> {
        let chain = self.chain()?;
        let key = self.key()?;
        builder.with_client_auth_cert(chain, key).map_err(|e| {
            let what = match &e {
                rustls::Error::InconsistentKeys(_) => "the client key is not the key of the \
                    client certificate (the first CERTIFICATE of the chain)"
                    .to_owned(),
                other => format!("the client certificate or key cannot be used: {other}"),
            };
            Error::new(ErrorKind::Tls, what).with_source(e)
        })
    }

    fn chain(&self) -> Result<Vec<CertificateDer<'static>>, Error> {
        let pem = &self.chain_pem;
        if !is_pem(pem) {
            return Err(bad("the client certificate chain is not PEM text \
                 (-----BEGIN CERTIFICATE----- sections)"));
        }
        let chain = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad("the client certificate chain is not valid PEM").with_source(e))?;
        if chain.is_empty() {
            return Err(bad(
                "the client certificate chain is PEM without a CERTIFICATE section",
            ));
        }
        Ok(chain)
    }

    fn key(&self) -> Result<PrivateKeyDer<'static>, Error> {
        let pem = &self.key_pem;
        if !is_pem(pem) {
            return Err(bad(
                "the client key is not PEM text (a -----BEGIN PRIVATE KEY----- section)",
            ));
        }
        PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
            let encrypted = pem.windows(9).any(|w| w == b"ENCRYPTED");
            match e {
                pem::Error::NoItemsFound if encrypted => bad(
                    "the client key is encrypted (ENCRYPTED PRIVATE KEY): decrypt it first, \
                     e.g. `openssl pkey -in key.pem -out plain.pem`",
                ),
                pem::Error::NoItemsFound => bad(
                    "the client key is PEM without a private key section (PRIVATE KEY, \
                     RSA PRIVATE KEY or EC PRIVATE KEY)",
                ),
                e => bad("the client key is not valid PEM").with_source(e),
            }
        })
    }
}

fn is_pem(given: &[u8]) -> bool {
    given.windows(11).any(|w| w == b"-----BEGIN ")
}

fn bad(what: &str) -> Error {
    Error::new(
        ErrorKind::Tls,
        format!("{what} (ClientBuilder::client_cert takes the chain and the key in PEM)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::{client_config, TlsOptions};

    fn with(chain: &[u8], key: &[u8]) -> Result<(), Error> {
        let opts = TlsOptions {
            identity: Some(Identity {
                chain_pem: chain.to_vec(),
                key_pem: key.to_vec(),
            }),
            ..TlsOptions::default()
        };
        client_config(&opts).map(|_| ())
    }

    fn made() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["client.test".to_owned()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn a_chain_and_its_key_are_accepted_apart_or_in_one_file() {
        let (cert, key) = made();
        with(cert.as_bytes(), key.as_bytes()).unwrap();
        let both = format!("{key}{cert}");
        with(both.as_bytes(), both.as_bytes()).unwrap();
        let (other_cert, _) = made();
        let chain = format!("{cert}{other_cert}");
        with(chain.as_bytes(), key.as_bytes()).unwrap();
    }

    #[test]
    fn bad_pem_and_mismatched_keys_are_tls_errors_that_say_which() {
        let (cert, key) = made();
        let (_, other_key) = made();
        let says = |r: Result<(), Error>, text: &str| {
            let e = r.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Tls);
            assert!(e.to_string().contains(text), "{e}");
            let key_line = key.lines().nth(1).unwrap();
            assert!(!e.to_string().contains(key_line), "no key bytes: {e}");
        };
        says(with(b"junk", key.as_bytes()), "chain is not PEM");
        says(
            with(key.as_bytes(), key.as_bytes()),
            "without a CERTIFICATE",
        );
        let cut = &cert[..cert.len() / 2];
        says(
            with(cut.as_bytes(), key.as_bytes()),
            "chain is not valid PEM",
        );
        says(with(cert.as_bytes(), b"junk"), "key is not PEM");
        says(
            with(cert.as_bytes(), cert.as_bytes()),
            "without a private key",
        );
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        says(
            with(cert.as_bytes(), encrypted.as_bytes()),
            "decrypt it first",
        );
        says(
            with(cert.as_bytes(), other_key.as_bytes()),
            "is not the key of",
        );
    }
}
