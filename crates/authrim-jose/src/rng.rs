//! Randomness from the platform: the OS natively, `wasi:random` on
//! `wasm32-wasip2` (through `getrandom`).

use rand_core::{CryptoRng, RngCore};

use crate::JoseError;

/// Fills `dest` with cryptographically secure random bytes.
pub fn fill(dest: &mut [u8]) -> Result<(), JoseError> {
    getrandom::fill(dest).map_err(|_| JoseError::Random)
}

/// Returns `N` random bytes.
pub fn bytes<const N: usize>() -> Result<[u8; N], JoseError> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}

/// A `rand_core` 0.6 generator over [`fill`], for the RustCrypto crates.
///
/// `fill_bytes` cannot report failure, so it panics if the platform
/// generator fails; call [`SystemRng::new`] first, which probes the
/// generator and reports failure as an error instead.
#[derive(Debug, Clone, Copy)]
pub struct SystemRng(());

impl SystemRng {
    /// Probes the platform generator.
    pub fn new() -> Result<Self, JoseError> {
        bytes::<8>()?;
        Ok(SystemRng(()))
    }
}

impl RngCore for SystemRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // Infallible by the probe in `new`; a later failure is a broken
        // platform, and continuing without entropy would be worse.
        fill(dest).expect("platform random generator failed"); // ok: see above
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        const FAILED: core::num::NonZeroU32 =
            match core::num::NonZeroU32::new(rand_core::Error::CUSTOM_START) {
                Some(code) => code,
                None => unreachable!(),
            };
        fill(dest).map_err(|_| rand_core::Error::from(FAILED))
    }
}

impl CryptoRng for SystemRng {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn produces_different_bytes() {
        let a = bytes::<32>().unwrap();
        let b = bytes::<32>().unwrap();
        assert_ne!(a, b);
        let mut rng = SystemRng::new().unwrap();
        assert_ne!(rng.next_u64(), rng.next_u64());
    }
}
