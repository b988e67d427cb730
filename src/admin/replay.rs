//! Replaying a dead letter from the console or the API: back to Pending, delivered at once.

use super::routes::ApiError;
use super::AdminState;

/// Puts dead letter `id` back in the queue.
pub async fn replay(data: &AdminState, id: u64) -> Result<(), ApiError> {
    let store = data.shared.store.clone();
    actix_web::web::block(move || store.replay(id).map(|_| ()))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::from)
}
