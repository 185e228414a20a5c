mod home;
mod not_found;
mod org;
mod signed_out;

pub use home::HomePage;
pub use not_found::NotFound;
pub use org::OrgPage;
pub use signed_out::SignedOutPage;
