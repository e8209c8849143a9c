//! The HTTP routes of the sync protocol (`docs/sync-protocol.md`), with the cross-cutting
//! layers: a body size limit, gzip both ways, a rate limit per peer, and one structured log
//! line per request (on stderr, JSON).

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use calstore_core::accounts::ConnectionOutcome;
use calstore_core::ical::datetime::format_utc;
use calstore_core::sync::server::{self as sync_server, Access, ProtocolError};
use calstore_core::sync::wire::{
    ErrorBody, FreeBusyRequest, LoginRequest, LoginResponse, PROTOCOL_VERSION, PullRequest,
    PushRequest,
};
use calstore_core::{RecordOptions, StoreError};
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;

use crate::AppState;
use crate::auth::{self, AuthError};
use crate::pool::PoolError;

type App = Arc<AppState>;

/// The router: the sync protocol under `/sync/v1/`, `/healthz`, and, with
/// [`crate::config::Config::web_root`], the files of that directory at `/` (the web
/// calendar; `index.html` for a directory). The protocol's paths are matched first, so no
/// file shadows them; an unknown path under `/sync/` is the protocol's `not_found`.
pub fn router(state: App) -> Router {
    let max_body = state.config.max_body;
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/sync/v1/login", post(login))
        .route("/sync/v1/logout", post(logout))
        .route("/sync/v1/push", post(push))
        .route("/sync/v1/pull", post(pull))
        .route("/sync/v1/freebusy", post(freebusy))
        .merge(crate::caldav::router());
    if let Some(root) = &state.config.web_root {
        router = router
            .route("/sync/{*rest}", axum::routing::any(no_endpoint))
            .fallback_service(web_files(root));
    }
    router
        .layer(DefaultBodyLimit::max(max_body))
        // A declared length over the limit is refused before any of the body is read.
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(RequestDecompressionLayer::new())
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            limit_and_log,
        ))
        .with_state(state)
}

/// The web root's files (`serve --web-root`): `index.html` for a directory, precompressed
/// `.br`/`.gz` siblings when the client accepts them. Also used by CalDAV's `/` for the
/// methods that are not CalDAV's.
pub(crate) fn web_files(root: &std::path::Path) -> tower_http::services::ServeDir {
    tower_http::services::ServeDir::new(root)
        .append_index_html_on_directories(true)
        .precompressed_br()
        .precompressed_gzip()
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, error: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                error: error.to_owned(),
                message: message.into(),
                protocol: None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Db(db) if db.is_retryable() => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                db.to_string(),
            ),
            StoreError::InvalidData(m) => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", m),
            other => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                other.to_string(),
            ),
        }
    }
}

impl From<PoolError> for ApiError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Store(s) => s.into(),
            PoolError::Closed => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the server is shutting down",
            ),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::LoginFailed => {
                ApiError::new(StatusCode::UNAUTHORIZED, "login_failed", "login failed")
            }
            AuthError::Refused(why) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", why),
            AuthError::Unauthenticated => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "not logged in, or the session has ended",
            ),
            AuthError::Store(s) => s.into(),
        }
    }
}

impl From<ProtocolError> for ApiError {
    fn from(e: ProtocolError) -> Self {
        match e {
            ProtocolError::Incompatible(m) => ApiError {
                status: StatusCode::CONFLICT,
                body: ErrorBody {
                    error: "incompatible".into(),
                    message: m,
                    protocol: Some(PROTOCOL_VERSION),
                },
            },
            ProtocolError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", m),
            ProtocolError::BadRequest(m) => {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_request", m)
            }
            ProtocolError::Store(s) => s.into(),
        }
    }
}

/// Rate limit per peer, then one log line per request.
async fn limit_and_log(
    State(state): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let dav = crate::caldav::is_dav_request(&method, &path);
    let response = if state.rate.allow(peer.ip()) {
        let r = next.run(request).await;
        if dav { r } else { as_error_body(r) }
    } else {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests: try again later",
        )
        .into_response()
    };
    let line = serde_json::json!({
        "time": format_utc(state.clock.now()),
        "peer": peer.to_string(),
        "method": method.as_str(),
        "path": path,
        "status": response.status().as_u16(),
        "ms": started.elapsed().as_secs_f64() * 1000.0,
    });
    eprintln!("{line}");
    response
}

/// An unknown path under `/sync/` when files are served: never a file.
async fn no_endpoint() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// Answers axum gave itself (a body too large, malformed JSON, an unknown path) in the
/// protocol's error shape, so that clients parse every error the same way.
fn as_error_body(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    // A file's 304 Not Modified or a directory's redirect pass as they are.
    if status.is_success() || status.is_redirection() || is_json {
        return response;
    }
    let (error, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", "the request body is too large"),
        StatusCode::NOT_FOUND => ("not_found", "no such endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => ("bad_request", "method not allowed"),
        s if s.is_client_error() => ("bad_request", "the request could not be read"),
        _ => ("internal", "the server failed"),
    };
    ApiError::new(status, error, message).into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .ok_or_else(|| AuthError::Unauthenticated.into())
}

/// The account of the request's token, and what it may do.
async fn authenticate(state: &App, headers: &HeaderMap) -> Result<Access, ApiError> {
    let token = bearer(headers)?;
    let now = state.clock.now();
    let result = state
        .pool
        .run(move |store| {
            let (account, _) = match auth::session_of(store, &token, now) {
                Ok(s) => s,
                Err(AuthError::Store(e)) => return Err(e),
                Err(_) => return Ok(None),
            };
            match auth::access(store, account) {
                Ok(a) => Ok(Some(a)),
                Err(AuthError::Store(e)) => Err(e),
                Err(_) => Ok(None),
            }
        })
        .await?;
    result.ok_or_else(|| AuthError::Unauthenticated.into())
}

/// The body, or a `bad_request` (`too_large` past the limit) saying what is wrong with it.
fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    match payload {
        Ok(Json(v)) => Ok(v),
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the request body is too large",
        )),
        Err(r) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            r.body_text(),
        )),
    }
}

async fn login(
    State(state): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    payload: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Json<LoginResponse>, ApiError> {
    let req = body(payload)?;
    if req.login.len() > 256 || req.password.len() > 4096 {
        return Err(AuthError::LoginFailed.into());
    }
    let who = req.login.clone();
    let st = Arc::clone(&state);
    let session = tokio::task::spawn_blocking(move || {
        let mut guard = st.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        let conn = guard.as_mut().ok_or(AuthError::Store(StoreError::invalid(
            "the server is stopping",
        )))?;
        let attempt = auth::Attempt {
            login: &req.login,
            password: &req.password,
            peer,
            client: req.client.as_deref(),
        };
        auth::login(
            conn,
            &st.key,
            &st.policy,
            &attempt,
            st.clock.now(),
            st.config.session_days,
        )
    })
    .await
    .map_err(|_| ApiError::from(PoolError::Closed))??;
    Ok(Json(LoginResponse {
        token: session.token,
        expires: format_utc(session.expires),
        login: who,
        protocol: PROTOCOL_VERSION,
    }))
}

async fn logout(
    State(state): State<App>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let token = bearer(&headers)?;
    let st = Arc::clone(&state);
    tokio::task::spawn_blocking(move || -> Result<(), AuthError> {
        let mut guard = st.accounts.lock().unwrap_or_else(PoisonError::into_inner);
        let conn = guard.as_mut().ok_or(AuthError::Store(StoreError::invalid(
            "the server is stopping",
        )))?;
        let hash = auth::token_hash(&token);
        let row = calstore_core::sql::SqlConnectionExt::query_opt(
            conn,
            "SELECT connection_id FROM sync_sessions WHERE token_hash = $1",
            &[hash.as_str().into()],
        )?
        .ok_or(AuthError::Unauthenticated)?;
        let connection: Option<i64> = row.get(0)?;
        auth::end_session(
            conn,
            &hash,
            connection,
            ConnectionOutcome::NormalClientSideTermination,
            st.clock.now(),
        )
    })
    .await
    .map_err(|_| ApiError::from(PoolError::Closed))??;
    Ok(Json(serde_json::json!({})))
}

async fn push(
    State(state): State<App>,
    headers: HeaderMap,
    payload: Result<Json<PushRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let access = authenticate(&state, &headers).await?;
    let req = body(payload)?;
    let now = state.clock.now();
    let response = state
        .pool
        .run(move |store| {
            let opts = RecordOptions::new(now);
            Ok(sync_server::push_scheduling(store, &access, &req, &opts))
        })
        .await??;
    Ok(Json(response).into_response())
}

async fn pull(
    State(state): State<App>,
    headers: HeaderMap,
    payload: Result<Json<PullRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let access = authenticate(&state, &headers).await?;
    let req = body(payload)?;
    let epoch = state.epoch.clone();
    let response = state
        .pool
        .run(move |store| Ok(sync_server::pull(store, &access, &req, &epoch)))
        .await??;
    Ok(Json(response).into_response())
}

/// Other users' busy times for a scheduling view (`sync_server::freebusy`).
async fn freebusy(
    State(state): State<App>,
    headers: HeaderMap,
    payload: Result<Json<FreeBusyRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let access = authenticate(&state, &headers).await?;
    let req = body(payload)?;
    let response = state
        .pool
        .run(move |store| Ok(sync_server::freebusy(store, &access, &req)))
        .await??;
    Ok(Json(response).into_response())
}
