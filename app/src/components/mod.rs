mod error_notice;
mod signed_in_card;

pub use error_notice::ErrorNotice;
pub use signed_in_card::SignedInCard;
