//! The CRUD handlers, written once for every resource: each parses the request, calls one
//! operation of the resource's [`Resource`] inside `db::run`, and renders its view. A
//! resource's module says how it appears in the API by implementing [`Rest`] and lists
//! the handlers in its route table (`rest::list::<Carriers>`…).

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::api::{created, force_param, no_content, ok, page, parse_body, patched};
use crate::auth::Caller;
use crate::config::Config;
use crate::db;
use crate::error::AppResult;
use crate::ids::Id;
use crate::listing::ListParams;
use crate::ops::Resource;
use crate::AppState;

/// How a resource appears in the JSON API.
pub trait Rest: Resource<Input: DeserializeOwned> + 'static {
    /// The collection's path, e.g. `/carriers`; items are at `{PATH}/{id}`.
    const PATH: &'static str;
    /// Body fields the server owns besides `id`, `createdAt` and `updatedAt`: accepted
    /// back in a PUT or PATCH but ignored.
    const READ_ONLY: &'static [&'static str] = &[];
    /// Whether DELETE takes `?force=true` (otherwise the query is not read).
    const DELETE_TAKES_FORCE: bool = false;
    /// Whether an explicit `null` in a PATCH stays `null` (as in a PUT) instead of
    /// removing the member, which RFC 7386 says and which brings back a field's default.
    const PATCH_KEEPS_NULLS: bool = false;

    type View: Serialize;

    /// The JSON view of an object as `caller` may see it (fails only on a stored value
    /// that no longer parses).
    fn view(object: Self::Object, caller: &Caller) -> AppResult<Self::View>;
}

/// The input of a POST or PUT body.
fn input_of<R: Rest>(body: Value, config: &Config) -> AppResult<R::Input> {
    parse_body(body, R::READ_ONLY).map(|input| R::with_config(input, config))
}

pub async fn list<R: Rest>(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    R::may_list(&caller)?;
    let params = ListParams::parse(&req, R::filters(&caller), R::ORDER)?;
    let asking = caller.clone();
    let (params, (total, objects)) = db::run(&state.pool, move |conn| {
        let found = R::list(conn, &asking, &params)?;
        Ok((params, found))
    })
    .await?;
    let views = objects.into_iter().map(|object| R::view(object, &caller));
    Ok(page(
        &req,
        &params,
        total,
        views.collect::<AppResult<Vec<_>>>()?,
    ))
}

pub async fn get<R: Rest>(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let (id, asking) = (R::Id::parse(&id)?, caller.clone());
    let object = db::run(&state.pool, move |conn| R::find(conn, &asking, &id)).await?;
    Ok(ok(&R::view(object, &caller)?))
}

pub async fn create<R: Rest>(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let (config, asking) = (state.config.clone(), caller.clone());
    let read = move || input_of::<R>(body.into_inner(), &config);
    let object = db::run(&state.pool, move |conn| R::create_from(conn, &asking, read)).await?;
    let location = format!("{}/{}", R::PATH, R::id_of(&object));
    Ok(created(location, &R::view(object, &caller)?))
}

/// PUT replaces, PATCH merges (RFC 7386) into the current object's view: either way one
/// `update`, which reads the input only once the caller may change the object.
pub async fn update<R: Rest>(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> AppResult<HttpResponse> {
    let (id, asking, merging) = (R::Id::parse(&id)?, caller.clone(), caller.clone());
    let (merge, body, config) = (
        req.method() == Method::PATCH,
        body.into_inner(),
        state.config.clone(),
    );
    let read = move |current: &R::Object| match merge {
        true => {
            let view = R::view(current.clone(), &merging)?;
            let input = patched(&view, body, R::READ_ONLY, R::PATCH_KEEPS_NULLS)?;
            Ok(R::with_config(input, &config))
        }
        false => input_of::<R>(body, &config),
    };
    let object = db::run(&state.pool, move |conn| R::update(conn, &asking, &id, read)).await?;
    Ok(ok(&R::view(object, &caller)?))
}

pub async fn delete<R: Rest>(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let id = R::Id::parse(&id)?;
    let force = R::DELETE_TAKES_FORCE && force_param(&req)?;
    db::run(&state.pool, move |conn| {
        R::delete(conn, &caller, &id, force)
    })
    .await?;
    Ok(no_content())
}
