//! Cost of encrypting one ID Token for each JWE alg/enc pair: what op-token
//! adds to the plain flow for a client that registered
//! `id_token_encrypted_response_alg`/`enc` (parse the client's JWK Set,
//! select the key, encrypt a signed ID Token of typical size).
//!
//!     cargo run --release --example jwe_bench -p authrim-jose [ITERATIONS]
//!
//! Single-threaded, so the wall time per operation is its CPU time.
//! Native code: components run the same code compiled to wasm32-wasip2
//! under wasmtime, typically 1.5-2.5x slower.

use std::time::Instant;

use authrim_jose::jwe::{encrypt_compact, ContentEnc, KeyAlg};
use authrim_jose::{b64, Alg, Jwks, SigningKey};

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300);
    let rsa = SigningKey::generate(Alg::RS256).expect("RSA key");
    let ec = SigningKey::generate(Alg::ES256).expect("EC key");
    let jwk = |key: &SigningKey, kid: &str| {
        key.public_key()
            .to_jwk_json(kid, key.alg())
            .replace(r#""use":"sig","alg":"RS256","#, r#""use":"enc","#)
            .replace(r#""use":"sig","alg":"ES256","#, r#""use":"enc","#)
    };
    let jwks_json = format!(
        r#"{{"keys":[{},{}]}}"#,
        jwk(&rsa, "rsa-enc"),
        jwk(&ec, "ec-enc")
    );
    // A signed ID Token of typical size (~800 bytes).
    let claims = format!(
        r#"{{"iss":"https://id.example.com","sub":"{}","aud":"rp","exp":1800003600,"iat":1800000000,"auth_time":1800000000,"nonce":"n-0S6_WzA2Mj","at_hash":"77QmUPtjPfzWtF2AnpK9RQ","sid":"{}","email":"alice@example.com","email_verified":true,"name":"Alice Doe"}}"#,
        "u".repeat(43),
        "s".repeat(43)
    );
    let id_token =
        authrim_jose::jws::sign_compact(&rsa, &rsa.kid(), Some("JWT"), claims.as_bytes())
            .expect("sign");
    println!(
        "ID Token: {} bytes; {iterations} iterations per pair",
        id_token.len()
    );
    println!("| alg | enc | CPU-ms per ID Token | JWE bytes |");
    println!("|---|---|---:|---:|");
    for &alg in KeyAlg::ALL {
        for &enc in ContentEnc::ALL {
            let mut size = 0;
            let start = Instant::now();
            for _ in 0..iterations {
                let jwks = Jwks::parse(&jwks_json).expect("jwks");
                let key = jwks.select_encryption(alg).expect("key");
                let jwe = encrypt_compact(key, alg, enc, Some("JWT"), id_token.as_bytes())
                    .expect("encrypt");
                size = jwe.len();
            }
            let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(iterations);
            println!("| {alg} | {enc} | {ms:.3} | {size} |");
        }
    }
    // For scale: one RS256 and one ES256 signature of the same token.
    for key in [&rsa, &ec] {
        let start = Instant::now();
        for _ in 0..iterations {
            key.sign(b64::encode(claims.as_bytes()).as_bytes())
                .expect("sign");
        }
        let ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(iterations);
        println!("for scale: one {} signature: {ms:.3} CPU-ms", key.alg());
    }
}
