mod home;
mod not_found;
mod org;

pub use home::HomePage;
pub use not_found::NotFound;
pub use org::OrgPage;
