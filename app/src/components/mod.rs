mod copy_field;
mod error_notice;
mod session;
mod sign_in_form;
mod signed_in_card;
pub mod time;

pub use copy_field::CopyField;
pub use error_notice::ErrorNotice;
pub use session::{provide_session, use_session};
pub use sign_in_form::SignInForm;
pub use signed_in_card::SignedInCard;
