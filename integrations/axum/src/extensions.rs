//! What the layer reads from axum's request extensions: the matched route and the peer
//! address. Each supported axum version has its own extension types, so both are looked up
//! when both versions are enabled (an app may mix them through a shared library).

use http::Extensions;
use std::net::{IpAddr, SocketAddr};

#[cfg(not(any(feature = "axum-08", feature = "axum-07")))]
compile_error!("ddtrace-axum needs the `axum-08` or the `axum-07` feature (or both)");

/// The route template axum matched (`/users/{id}` in 0.8, `/users/:id` in 0.7).
pub(crate) fn matched_path(extensions: &Extensions) -> Option<&str> {
    #[cfg(feature = "axum-08")]
    if let Some(path) = extensions.get::<axum::extract::MatchedPath>() {
        return Some(path.as_str());
    }
    #[cfg(feature = "axum-07")]
    if let Some(path) = extensions.get::<axum07::extract::MatchedPath>() {
        return Some(path.as_str());
    }
    None
}

/// The peer address, when the app serves with `into_make_service_with_connect_info`.
pub(crate) fn peer_ip(extensions: &Extensions) -> Option<IpAddr> {
    #[cfg(feature = "axum-08")]
    if let Some(info) = extensions.get::<axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(info.0.ip());
    }
    #[cfg(feature = "axum-07")]
    if let Some(info) = extensions.get::<axum07::extract::ConnectInfo<SocketAddr>>() {
        return Some(info.0.ip());
    }
    None
}
