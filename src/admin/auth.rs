//! The admin token: `Authorization: Bearer TOKEN`, or HTTP Basic with the token as password.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use base64::Engine;

use super::routes::ApiError;
use super::AdminState;

/// Present in a handler's arguments: the request carried the token (or none is configured).
pub struct Authorized;

impl FromRequest for Authorized {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AdminState>>() else {
            return ready(Err(ApiError::Internal("admin state missing".into())));
        };
        let Some(token) = &state.shared.config.admin.token else {
            return ready(Ok(Authorized));
        };
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(presented);
        ready(match given {
            Some(g) if same(g.as_bytes(), token.expose().as_bytes()) => Ok(Authorized),
            _ => Err(ApiError::Unauthorized),
        })
    }
}

/// The token a header value presents.
fn presented(value: &str) -> Option<String> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.trim().to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        return text.split_once(':').map(|(_, p)| p.to_string());
    }
    None
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_basic_present_the_token() {
        assert_eq!(presented("Bearer abc").as_deref(), Some("abc"));
        // "admin:s3cret"
        assert_eq!(
            presented("Basic YWRtaW46czNjcmV0").as_deref(),
            Some("s3cret")
        );
        assert_eq!(presented("Digest x"), None);
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
    }
}
