//! `_X_AMZN_TRACE_ID`: the invocation's X-Ray trace id, in the environment
//! for the length of the invocation, as Lambda's own runtimes do with one
//! invocation at a time. With several at once (Lambda Managed Instances) one
//! variable cannot hold each one's id: the runtime then leaves the
//! environment alone and the id travels only in the invocation's context
//! ([`crate::invocation::Context`]), as the AWS runtimes' concurrent modes do.
//!
//! `std::env::set_var` cannot be used per invocation: glibc's `setenv`
//! never frees a replaced value, so a new trace id each time grows memory
//! without bound (measured: 3 MB per 20 000 invocations). Instead one
//! buffer is handed to `putenv` once, and later ids are written into it.

use std::ffi::c_char;
use std::sync::Mutex;

const NAME: &[u8] = b"_X_AMZN_TRACE_ID=";
/// Longest trace id kept in the fixed buffer (X-Ray ids are ~100 bytes).
const MAX_VALUE: usize = 1024;
const BUFFER_LEN: usize = NAME.len() + MAX_VALUE + 1;

extern "C" {
    fn putenv(string: *mut c_char) -> i32;
}

/// The buffer given to `putenv`, once installed.
static BUFFER: Mutex<Option<&'static mut [u8; BUFFER_LEN]>> = Mutex::new(None);

/// Sets `_X_AMZN_TRACE_ID` to `trace` (empty for `None`).
pub fn set(trace: Option<&str>) {
    let value = trace.unwrap_or("").as_bytes();
    let mut slot = BUFFER.lock().unwrap_or_else(|e| e.into_inner());
    if value.len() > MAX_VALUE || value.contains(&0) {
        // Too long for the buffer: the (leaky) standard way, and the buffer
        // is no longer the environment's entry.
        *slot = None;
        std::env::set_var(
            "_X_AMZN_TRACE_ID",
            String::from_utf8_lossy(value).replace('\0', ""),
        );
        return;
    }
    let installed = slot.is_some();
    let buffer = slot.get_or_insert_with(|| Box::leak(Box::new([0u8; BUFFER_LEN])));
    buffer[..NAME.len()].copy_from_slice(NAME);
    buffer[NAME.len()..NAME.len() + value.len()].copy_from_slice(value);
    buffer[NAME.len() + value.len()] = 0;
    if !installed {
        // SAFETY: the buffer is leaked, so it lives as long as the process,
        // and is NUL-terminated. It is only written while this mutex is
        // held, by the single-worker runtime loop, which runs on the only
        // thread that reads the environment.
        unsafe {
            putenv(buffer.as_mut_ptr().cast::<c_char>());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_variable_follows_each_invocation() {
        set(Some("Root=1-aaaa;Parent=1;Sampled=1"));
        assert_eq!(
            std::env::var("_X_AMZN_TRACE_ID").unwrap(),
            "Root=1-aaaa;Parent=1;Sampled=1"
        );
        set(Some("Root=1-bb"));
        assert_eq!(std::env::var("_X_AMZN_TRACE_ID").unwrap(), "Root=1-bb");
        set(None);
        assert_eq!(std::env::var("_X_AMZN_TRACE_ID").unwrap(), "");
        let long = "x".repeat(MAX_VALUE + 1);
        set(Some(&long));
        assert_eq!(std::env::var("_X_AMZN_TRACE_ID").unwrap(), long);
        set(Some("Root=1-cc"));
        assert_eq!(std::env::var("_X_AMZN_TRACE_ID").unwrap(), "Root=1-cc");
    }
}
